"""gunicorn's settings, read from the working directory by `gunicorn … wsgi:app`.

The access log records the path without its query string (`%(U)s`, never `%(r)s` or `%(q)s`) and
no referer (`%(f)s` carries the previous page's query string): a plate or a phone in a query
string must not reach a log (personal information, docs/privacy.md)."""

accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'
