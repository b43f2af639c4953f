"""Tidal parking: a coach station lends its garage to the estate next door overnight."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from config import Config, instance_secret


def create_app(config: type[Config] | Config | None = None, **overrides: Any) -> Flask:
    """The application factory: configuration → extensions → blueprints → errors → CLI."""
    config = config or Config
    app = Flask(
        __name__, instance_path=str(config.INSTANCE_PATH), instance_relative_config=False, static_folder="web/static"
    )
    app.config.from_object(config)
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(config.INSTANCE_PATH, "secret_key")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Flask's default JSON provider has ensure_ascii
    _bound_database_connects(app)
    if app.config.get("PROXY_FIX_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]  # ProxyFix wraps the WSGI app, as Flask documents
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from parking import (
        database,  # engine event listeners, and the check at checkout
        private_logs,
    )
    from parking.extensions import api, babel, csrf, db, init_limiter_logging, limiter, login_manager, migrate
    from parking.fields import MAX_ID, IdConverter
    from parking.i18n import gettext, ngettext, select_locale
    from parking.openapi import init_openapi
    from parking.request_limits import init_request_limits
    from parking.web import page_locale

    private_logs.install()
    app.url_map.converters["id"] = IdConverter
    db.init_app(app)
    with app.app_context():
        if app.config["DATABASE_CHECK_AT_CHECKOUT"]:
            database.check_connections_at_checkout(db.engine)
        if app.config["DATABASE_READS_IN_AUTOCOMMIT"]:
            database.read_in_autocommit(db.engine)
        if app.config["DATABASE_COMMIT_UNWRITTEN"]:
            database.commit_transactions_that_wrote_nothing(db.engine)
    migrate.init_app(app, db, directory=str(config.BASE_DIR / "migrations"))
    babel.init_app(app, locale_selector=lambda: select_locale(page_locale))
    # The templates' `_()` and `ngettext`: the code's own, with the catalog found once per request.
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]  # the i18n extension adds it
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    init_limiter_logging()
    init_request_limits(app)
    init_openapi(api, app)
    api.register_converter(IdConverter, lambda converter: {"type": "integer", "minimum": 1, "maximum": MAX_ID})

    _register_models()
    _register_blueprints(app)

    from parking.errors import register_error_handlers

    register_error_handlers(app)

    from parking.cli import register_cli

    register_cli(app)

    from schedules import init_scheduler

    init_scheduler(app)
    return app


def _bound_database_connects(app: Flask) -> None:
    # A statement's parameters (phones, plates, password hashes) never reach a log line or an
    # error message, whatever the log level.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}),
        "hide_parameters": True,
    }
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = {
        "connect_timeout": app.config["DATABASE_CONNECT_TIMEOUT_SECONDS"],
        # No JIT: the app's statements are short, and a plan the planner over-costs (the retention
        # pass's claim of notifications, through their bookings) spent 20-450 ms compiling a
        # query that runs in under one (docs/benchmarks.md, "Years of history").
        "options": "-c jit=off",
        **options.get("connect_args", {}),
    }
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "connect_args": connect_args}


def _register_models() -> None:
    """Import every model module so that mappers and Alembic see the whole schema."""
    from parking import models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from parking.docs_assets import bp as docs_assets_bp
    from parking.extensions import api, csrf
    from parking.gate.camera_routes import register_security_scheme
    from parking.health import bp as health_bp
    from parking.web import init_web

    register_security_scheme(api)
    for blueprint in _api_blueprints():
        csrf.exempt(blueprint)  # bearer tokens, not cookies: nothing to forge across sites
        api.register_blueprint(blueprint)
    app.register_blueprint(docs_assets_bp)
    app.register_blueprint(health_bp)
    init_web(app)


def _api_blueprints() -> Any:
    from parking.auth.routes import blp as auth
    from parking.auth.sign_in_routes import blp as sign_ins
    from parking.bookings.ballot_routes import blp as ballot
    from parking.bookings.plate_release_routes import blp as plate_release
    from parking.garages.booking_routes import blp as bookings
    from parking.garages.routes import blp as garages
    from parking.garages.template_routes import blp as templates
    from parking.gate.camera_routes import blp as cameras
    from parking.gate.routes import blp as gate
    from parking.households.routes import blp as households
    from parking.monthly.routes import blp as monthly
    from parking.notifications.routes import blp as notifications
    from parking.passes.garage_admin_routes import blp as admin
    from parking.passes.routes import blp as passes
    from parking.privacy.routes import blp as privacy
    from parking.quotas.routes import blp as quotas
    from parking.reports.audit_routes import blp as audit
    from parking.reports.routes import blp as reports

    return [
        *(auth, sign_ins, garages, templates, households, plate_release, bookings, ballot, passes, gate, cameras),
        *(notifications, quotas, reports, audit, admin, monthly, privacy),
    ]
