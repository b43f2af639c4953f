"""What a log line never holds, whatever the log level: a query string in an access log (a plate
or a phone typed into a GET form, a token in a link), a statement's parameters or a result row
(phones, plates, password hashes).

- gunicorn's access format (gunicorn.conf.py) logs the path alone (`%(U)s`, never `%(r)s`, `%(q)s`
  or the referer); the development server's request lines pass through `NoQueryStrings` on the
  `werkzeug` logger.
- The engine is made with `hide_parameters` (create_app); the rows and columns SQLAlchemy logs at
  DEBUG are dropped by `NoResultRows` on its engine loggers."""

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


class NoResultRows(logging.Filter):
    """SQLAlchemy's DEBUG records of result rows (`Row %r`) and columns (`Col %r`), dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(("Row ", "Col ")))


_FILTERS = {
    "werkzeug": NoQueryStrings,
    "sqlalchemy.engine": NoResultRows,
    "sqlalchemy.engine.Engine": NoResultRows,
}


def install() -> None:
    """Idempotent: each filter once on its logger."""
    for name, kind in _FILTERS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(existing, kind) for existing in logger.filters):
            logger.addFilter(kind())
