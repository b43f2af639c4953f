"""The two probes. `/healthz`: the process answers (what a load balancer watches, so that a
database outage still reaches people as the 503 page in their language rather than as no
answer). `/readyz`: this instance can serve, for start-up and deploys: the database answers and
its schema is at the migrations' head; the rate-limit storage is reported, not required (the
limits fall back to memory without it), and so is the delivery backlog: notifications due to the
garages' gateways and not yet sent (a growing number: a gateway down, or no scheduler running)."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from parking import clock
from parking.errors import error_body
from parking.extensions import db, limiter
from parking.notifications.delivery import backlog

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> Any:
    checks: dict[str, Any] = {"database": "down", "migrations": "unknown", "redis": _redis_state()}
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            checks["database"] = "ok"
            checks["migrations"] = "head" if _database_revisions(conn) == migration_heads() else "behind"
            checks["delivery_backlog"] = _backlog(conn)
    except Exception as exc:  # whatever failed, the answer is "not ready", never a 500
        log.warning("readyz: database check failed: %s", type(exc).__name__)
    ready = checks["database"] == "ok" and checks["migrations"] == "head"
    if ready:
        return jsonify({"ready": True, **checks})
    body: dict[str, Any] = error_body(
        503, "not_ready", "The database does not answer or its schema is not at the migrations' head.", details=checks
    )
    response = jsonify({**body, "ready": False, **checks})
    response.status_code = 503
    response.headers["Retry-After"] = str(current_app.config["UNAVAILABLE_RETRY_AFTER_SECONDS"])
    return response


def migration_heads() -> set[str]:
    """The head revisions of the migrations shipped with this code (read once per process)."""
    heads = current_app.extensions.get("migration_heads")
    if heads is None:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory(str(current_app.config["BASE_DIR"] / "migrations"))
        heads = current_app.extensions["migration_heads"] = set(script.get_heads())
    return heads


def _database_revisions(conn: sa.Connection) -> set[str]:
    if not sa.inspect(conn).has_table("alembic_version"):
        return set()
    return set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def _backlog(conn: sa.Connection) -> int | str:
    """Reported, not required: on a schema without the deliveries table, "unknown"."""
    try:
        with conn.begin_nested():
            return backlog(clock.now(), conn)
    except sa.exc.SQLAlchemyError:
        return "unknown"


def _redis_state() -> str:
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if uri.startswith("memory://"):
        return "not_configured"
    try:
        return "ok" if limiter.storage.check() else "down"
    except Exception:
        return "down"
