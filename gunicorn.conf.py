"""gunicorn's settings, read from the working directory by `gunicorn … wsgi:app`.

The access log records the path without its query string (`%(U)s`, never `%(r)s` or `%(q)s`) and
no referer (`%(f)s` carries the previous page's query string): a plate or a phone in a query
string must not reach a log (personal information, docs/privacy.md)."""

accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'

# Request heads. The application refuses a request line over 4,096 bytes (414) and header fields
# over 8,190 bytes each, 100 of them or 32 KB in all (431) in its own error shape
# (parking/request_limits.py). gunicorn answers its own limits with an HTML page of its own, so
# its limits sit above the application's, and the application is the one that refuses:
# - the request line: 8190, the largest gunicorn takes short of 0; 0 would be unlimited, and
#   gunicorn would then hold a request line of any length in memory while it waits for its end;
# - a header field: twice the application's limit (0 is not unlimited here: gunicorn reads it as
#   its default, 8190 with the line's CRLF counted, just below the application's limit);
# - the number of fields: twice the application's. gunicorn buffers at most
#   fields * (field size + 2) bytes of head per request, here about 3 MB.
limit_request_line = 8190
limit_request_field_size = 2 * 8190
limit_request_fields = 200
