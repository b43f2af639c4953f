"""The yardstick: a bare Flask endpoint that does one INSERT and one COMMIT through the same
Flask-SQLAlchemy engine settings as the real app, served by the same gunicorn settings."""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy

from config import Config
from parking import database  # the app's engine behaviour: SQLite's pragmas, the check at checkout

db = SQLAlchemy()
bare = sa.Table(
    "bench_bare", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("payload", sa.String(64))
)


def create_bare_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = Config.SQLALCHEMY_ENGINE_OPTIONS
    db.init_app(app)
    with app.app_context():
        database.check_connections_at_checkout(db.engine)

    @app.post("/bare")
    def insert_one():
        payload = (request.get_json(silent=True) or {}).get("payload", "x")
        db.session.execute(bare.insert().values(payload=str(payload)[:64]))
        db.session.commit()
        return {"ok": True}, 201

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def prepare(database_url: str) -> None:
    """Create the yardstick's table before gunicorn starts: created by each worker as it boots, the
    two workers would race to create it, and a worker that fails to boot stops gunicorn."""
    engine = sa.create_engine(database_url)
    bare.create(engine, checkfirst=True)
    engine.dispose()
