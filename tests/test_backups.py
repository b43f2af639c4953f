"""Backups restore: a dump of a database with bookings, restored into a fresh database, holds the
same bookings and the same pass signing keys (the procedures of docs/operations.md)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from parking import clock
from parking.extensions import db
from parking.passes.services import active_key

BOOKINGS = "SELECT id, household_id, vehicle_id, window_id, status, plate FROM bookings ORDER BY id"
KEYS = "SELECT id, garage_id, kid, public_key, private_key_encrypted, retired_at FROM pass_keys ORDER BY id"


def _world(factory) -> None:
    window = factory.window(quota=5)
    for _ in range(3):
        factory.booking(window)
    active_key(window.garage_id, clock.now())
    db.session.commit()


def _rows(url: str) -> tuple[list, list]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(BOOKINGS))], [tuple(r) for r in conn.execute(sa.text(KEYS))]
    finally:
        engine.dispose()


def test_sqlite_online_backup_restores_the_same_bookings_and_keys(app, factory, runner, tmp_path):
    if app.config["BACKEND"] != "sqlite":
        pytest.skip("the SQLite procedure")
    _world(factory)
    before = _rows(str(db.engine.url))
    assert len(before[0]) == 3 and len(before[1]) == 1
    copy = tmp_path / "backup.db"
    result = runner.invoke(args=["backup", str(copy)])
    assert result.exit_code == 0, result.output
    restored = tmp_path / "restored.db"
    shutil.copy(copy, restored)  # restoring is putting the copy back in place while the service is stopped
    assert _rows(f"sqlite:///{restored}") == before
    again = runner.invoke(args=["backup", str(copy)])
    assert again.exit_code != 0 and "exists" in again.output


def test_postgres_dump_and_restore_into_a_fresh_database(app, factory, tmp_path):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("the PostgreSQL procedure")
    _world(factory)
    url = make_url(str(db.engine.url.render_as_string(hide_password=False)))
    before = _rows(url.render_as_string(hide_password=False))
    dump = tmp_path / "parking.dump"
    conn_args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    subprocess.run(["pg_dump", "-Fc", *conn_args, "-f", str(dump), url.database], check=True)
    fresh = f"{url.database}_restored"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{fresh}"'))
    try:
        subprocess.run(["pg_restore", *conn_args, "--no-owner", "-d", fresh, str(dump)], check=True)
        assert _rows(url.set(database=fresh).render_as_string(hide_password=False)) == before
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        admin.dispose()
