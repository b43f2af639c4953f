"""Fixtures: `app`, `client`, `db`, the moved clock, and factories. Every database test runs on a
SQLite *file* database and, when TEST_DATABASE_URL points at PostgreSQL, again on PostgreSQL."""

from __future__ import annotations

import contextlib
import contextvars
import gc
import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient

from config import TestConfig
from parking import clock, create_app
from parking import models as _all_models  # noqa: F401  (every mapper, before any test module builds a query)
from parking.auth.lockout import forget_all_failures
from parking.extensions import db as _db
from tests.statement_helpers import never_cached


def _per_worker(url: str) -> str:
    """Under pytest-xdist each worker gets a fresh PostgreSQL database of its own (the configured
    name plus the worker id): the workers would otherwise truncate each other's tables. Its
    commits do not wait for the disk."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url.startswith("postgresql") or not worker:
        return url
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # A test database need not outlive a crash of its server: its commits do not wait for the
        # disk (1.5 ms a commit on this machine's disk, thousands of commits a worker). What other
        # connections see is the same; only a crash of PostgreSQL itself would lose the last commits.
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _per_worker(os.environ.get("TEST_DATABASE_URL", ""))
BACKENDS = ["sqlite", "postgresql"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: The default test instant: 10:00 in Shanghai on 1 Dec 2026, before the evening's window opens.
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)

_skipped_pg = {"count": 0}
#: Figures that tests measure (concurrency runs); printed at the end of the session.
FIGURES: list[str] = []
#: Tables a test prints (the authorization matrix), by title: printed at the end of the session too,
#: so that they reach the output from xdist workers. A test adds one to its report's
#: `user_properties` as ("table", (title, text)).
TABLES: dict[str, str] = {}


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: a test about SQLite behaviour alone")
    config.addinivalue_line(
        "markers",
        "one_database: what the test proves does not depend on the database (an image decoder's "
        "tolerance of noise): it runs on SQLite alone, while its path through the database runs on "
        "both in a sibling test",
    )


def _postgresql_half_of_a_sqlite_test(item) -> bool:
    params = getattr(item, "callspec", None)
    return (
        params is not None
        and params.params.get("backend_app") == "postgresql"
        and (item.get_closest_marker("sqlite_only") or item.get_closest_marker("one_database")) is not None
    )


def pytest_collection_modifyitems(config, items):
    """`sqlite_only` and `one_database` tests run on SQLite alone."""
    dropped = [item for item in items if _postgresql_half_of_a_sqlite_test(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not _postgresql_half_of_a_sqlite_test(item)]


def pytest_collection_finish(session):
    """What every test shares is loaded by now (the app's modules, the test modules, the libraries):
    the garbage collector stops walking it. Its collections took about 5 % of a test process's CPU,
    half of it spent re-scanning these long-lived objects."""
    gc.freeze()


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production: its own app context, session and
    `g`, not the test's. Afterwards the test's session forgets what it had loaded."""

    def open(self, *args, **kwargs):
        if has_app_context():
            _db.session.commit()  # end the test's transaction: on SQLite it holds the write lock
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            _db.session.expire_all()
        return response


def _database_url(backend: str, tmp_path_factory) -> str:
    if backend == "postgresql":
        return PG_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session", params=BACKENDS)
def backend_app(request, tmp_path_factory):
    backend = request.param
    if backend == "postgresql" and not PG_URL.startswith("postgresql"):
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but TEST_DATABASE_URL does not point at PostgreSQL")
        _skipped_pg["count"] += 1
        pytest.skip("PostgreSQL half skipped: TEST_DATABASE_URL is not set")
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=_database_url(backend, tmp_path_factory), INSTANCE_PATH=instance
    )
    app.config["BACKEND"] = backend
    app.test_client_class = IsolatedClient
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _restart_sequences(tables) -> str:
    """The calls that set every table's id sequence back to 1 (tables without one give NULL)."""
    calls = [
        f"setval(pg_get_serial_sequence('{table.name}', '{column.name}'), 1, false)"
        for table in tables
        for column in table.primary_key.columns
        if isinstance(column.type, sa.Integer) and column.autoincrement in (True, "auto")
    ]
    return ", ".join(calls)


def _emptying_block(tables) -> str:
    """PostgreSQL: one `DO` block that deletes every table's rows, child tables first, and restarts
    the id sequences: one round trip instead of one a table."""
    deletes = "".join(f'DELETE FROM "{table.name}"; ' for table in tables)
    return f"DO $$ BEGIN {deletes}PERFORM {_restart_sequences(tables)}; END $$"


def _clean(app) -> None:
    with app.app_context():
        _db.session.remove()
        tables = list(reversed(_db.metadata.sorted_tables))
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # DELETE child tables first, then restart the id sequences: on a test's few rows this
                # takes a few ms where one TRUNCATE of every table takes 85 ms (new files for each
                # table); all in one statement, since a round trip a table cost more than the deletes.
                conn.exec_driver_sql(_emptying_block(tables))
            else:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                for table in tables:
                    conn.execute(table.delete())
                conn.exec_driver_sql("DELETE FROM sqlite_sequence") if conn.execute(
                    sa.text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")
                ).first() else None
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def empty_database(app) -> None:
    """Within a test: what the test wrote is gone, as before the next test (the clock at T0, no
    failed sign-ins counted); the test's app context stays."""
    _db.session.remove()
    forget_all_failures()
    clock.set_now(T0)
    _clean(app)


@contextlib.contextmanager
def app_at_t0(backend_app, *, clean: bool = True):
    """A test's app: its context pushed with the clock at T0; afterwards no failed sign-ins are
    remembered and, unless `clean` is false (a module that keeps its rows, test_bad_input), every
    row the test wrote is gone."""
    clock.set_now(T0)
    ctx = backend_app.app_context()
    ctx.push()
    try:
        with never_cached(_db.engine) as uncached:
            yield backend_app
    finally:
        _db.session.remove()
        forget_all_failures()  # one test's failed sign-ins must not lock a phone in the next
        ctx.pop()
        clock.set_now(None)
        if clean:
            _clean(backend_app)
    # A statement without a cache key is compiled on every execution: the dialects' own
    # `insert(…).on_conflict_do_nothing()` was a third of a booking's CPU (docs/benchmarks.md,
    # "Compiled once"). Every statement the app or a test runs must be cacheable.
    if uncached:
        pytest.fail("statements compiled on every execution (no cache key):\n" + "\n".join(sorted(set(uncached))))


@pytest.fixture
def app(backend_app):
    with app_at_t0(backend_app) as app:
        yield app


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def factory(app):
    from tests.factories import Factory

    return Factory(app)


@pytest.fixture(autouse=True)
def _figures_travel_with_the_report(request):
    """Figures a test measures ride on its report, so that they reach the summary from xdist workers."""
    seen = len(FIGURES)
    yield
    request.node.user_properties.extend(("figure", line) for line in FIGURES[seen:])


def pytest_runtest_logreport(report):
    if report.when == "teardown" and os.environ.get("PYTEST_XDIST_WORKER") is None:
        for key, value in report.user_properties:
            if key == "figure" and value not in FIGURES:
                FIGURES.append(value)
            if key == "table":
                title, text = value
                TABLES[title] = text


def pytest_terminal_summary(terminalreporter):
    for title, text in TABLES.items():
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line(text)
    if FIGURES:
        terminalreporter.write_sep("-", "measured figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
    if _skipped_pg["count"] or not PG_URL:
        terminalreporter.write_line("")
        terminalreporter.write_line(
            "NOTE: the PostgreSQL half of the suite was SKIPPED (TEST_DATABASE_URL not set); "
            "only SQLite ran. `.ci/run` runs both.",
            yellow=True,
            bold=True,
        )
