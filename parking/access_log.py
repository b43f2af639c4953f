"""Access logs never record query strings: a plate or a phone typed into a GET form, or a token in
a link, would otherwise sit in every log line of the request. gunicorn's format (gunicorn.conf.py)
logs the path alone (`%(U)s`, never `%(r)s`, `%(q)s` or the referer); the development server's
request lines pass through `NoQueryStrings` on the `werkzeug` logger."""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"\?[^\s\x1b\"]*")


def without_query(line: str) -> str:
    """A request line (`GET /gate?plate=… HTTP/1.1`) without its query string."""
    return _QUERY.sub("", line)


class NoQueryStrings(logging.Filter):
    """Werkzeug's request line (`"%s" %s %s` with the method, the path and the protocol) with
    its query string cut off; every other record of the logger passes as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (without_query(record.args[0]), *record.args[1:])
        elif isinstance(record.msg, str) and record.msg.startswith(("GET ", "POST ")):
            record.msg = without_query(record.msg)
        return True


def install() -> None:
    """Idempotent: the filter once on the development server's logger."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(existing, NoQueryStrings) for existing in logger.filters):
        logger.addFilter(NoQueryStrings())
