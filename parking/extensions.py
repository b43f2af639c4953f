"""Unbound extensions; create_app() binds them."""

from __future__ import annotations

from flask import request
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

    def _load_user(self):  # type: ignore[no-untyped-def]
        if request.path == "/api" or request.path.startswith("/api/"):
            return self._update_request_context_with_user(None)
        return super()._load_user()


# Objects stay loaded after the unit of work commits, so views serialise them without a reload.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
api = Api()
babel = Babel()
csrf = CSRFProtect()
login_manager = PagesLoginManager()
limiter = Limiter(key_func=get_remote_address)
