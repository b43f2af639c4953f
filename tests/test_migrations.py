"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from config import TestConfig
from parking import create_app
from parking.extensions import db
from tests.conftest import PG_URL


def fresh_database(backend: str, tmp_path, suffix: str = "migrations") -> str:
    """A new, empty database of `backend` for a migration test (PostgreSQL: named after the test
    database plus `suffix`, dropped and created afresh)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{suffix}.db'}"
    if not PG_URL.startswith("postgresql"):
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not PostgreSQL")
        pytest.skip("PostgreSQL half skipped: TEST_DATABASE_URL is not set")
    url = make_url(PG_URL)
    name = f"{url.database}_{suffix}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_upgrade_to_exactly_the_models(backend, tmp_path):
    from flask_migrate import upgrade

    url = fresh_database(backend, tmp_path)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=tmp_path)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == [], diff


def test_the_history_indexes_are_built_concurrently_on_postgresql(tmp_path, capsys):
    """0013 indexes tables that hold years of rows in production: on PostgreSQL it builds them
    CONCURRENTLY, outside the migration's transaction, so bookings and scans go on meanwhile (the
    SQL the migration would run, written offline for the PostgreSQL dialect)."""
    from flask_migrate import upgrade

    app = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none", INSTANCE_PATH=tmp_path
    )
    with app.app_context():
        upgrade(revision="0012:0013", sql=True)
    written = capsys.readouterr().out
    creates = [line for line in written.splitlines() if line.startswith("CREATE INDEX")]
    assert len(creates) == 6, written
    assert all(line.startswith("CREATE INDEX CONCURRENTLY ") for line in creates), creates
    # the migration's transaction is committed before the first concurrent statement (none can
    # run inside one), and no transaction is begun again until the builds are done
    statements = [line for line in written.splitlines() if line and not line.startswith("--")]
    first = next(i for i, line in enumerate(statements) if "CONCURRENTLY" in line)
    last = max(i for i, line in enumerate(statements) if "CONCURRENTLY" in line)
    assert statements[first - 1] == "COMMIT;", statements[: first + 1]
    assert "BEGIN;" not in statements[first:last], statements
