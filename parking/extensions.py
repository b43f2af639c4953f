"""Unbound extensions; create_app() binds them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from parking.database import RequestSession

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PagesLoginManager(LoginManager):
    """Flask-Login for the pages only. Under /api nothing that touches `current_user` (a template,
    an error page, the locale) may read the session or remember cookie: the API's caller is the
    bearer token alone, and the remember cookie would otherwise sign a browser in there."""

    def _load_user(self):  # type: ignore[no-untyped-def]  # overrides an untyped Flask-Login method
        if request.path == "/api" or request.path.startswith("/api/"):
            return self._update_request_context_with_user(None)
        return super()._load_user()


# Objects stay loaded after the unit of work commits, so views serialise them without a reload.
# On PostgreSQL a request that only reads runs outside a transaction (parking.database).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False, "class_": RequestSession})
migrate = Migrate()
api = Api()
babel = Babel()
csrf = CSRFProtect()
login_manager = PagesLoginManager()
limiter = Limiter(key_func=get_remote_address)


@limiter.request_filter
def _limits_off_for_this_app() -> bool:
    # The limiter is one object for every app the process builds (the tests build many): each
    # app's own RATELIMIT_ENABLED decides for its requests.
    return not current_app.config.get("RATELIMIT_ENABLED", True)


class OncePerInterval(logging.Filter):
    """Lets one warning (or worse) through per interval and counts the ones it held back. With
    Redis down, Flask-Limiter would otherwise log its fallback and each swallowed error on every
    request that touches a limit."""

    def __init__(self, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True  # "Rate limit storage recovered" and the like: rare and worth seeing
        with self._lock:
            now = self.clock()
            if self._last is not None and now - self._last < self.seconds:
                self._held += 1
                return False
            held, self._last, self._held = self._held, now, 0
        if held:
            record.msg = f"{record.msg} ({held} similar messages held back since the last one)"
        return True


#: Loggers that report an unreachable rate-limit storage: the limiter itself, and the login failure
#: counters that live in the same storage.
LIMITER_STORAGE_LOGGERS = ("flask-limiter", "parking.auth.lockout")


def init_limiter_logging() -> None:
    """Rate-limit storage trouble is logged at most once a minute per process."""
    for name in LIMITER_STORAGE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, OncePerInterval) for existing in logger.filters):
            logger.addFilter(OncePerInterval(60.0))
