"""A request that only reads runs outside a transaction on PostgreSQL, so that its statements are
prepared on the connection and planned once (parking.database.RequestSession); a request that
writes keeps its transaction; SQLite keeps its transactions for both. A transaction that wrote
nothing ends with COMMIT instead of ROLLBACK, so that psycopg keeps what it prepared."""

from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from config import TestConfig
from parking import clock, create_app
from parking.extensions import db as _db


@contextlib.contextmanager
def transaction_states(engine):
    """For each statement sent while the block runs: whether a transaction was open for it."""
    seen: list[bool] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("BEGIN"):
            return  # SQLite's BEGIN IMMEDIATE (parking.database) opens the transaction it is in
        dbapi = conn.connection.dbapi_connection
        if conn.dialect.name == "postgresql":
            # psycopg opens a transaction with the first statement unless the connection is in
            # autocommit: before the statement is sent, an open one shows as INTRANS.
            seen.append(not dbapi.autocommit or dbapi.info.transaction_status != TransactionStatus.IDLE)
        else:
            seen.append(dbapi.in_transaction)  # the app's BEGIN IMMEDIATE was sent before it

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_a_get_reads_outside_a_transaction_on_postgresql_and_a_post_keeps_its_transaction(app, client, factory):
    user, _plate = factory.resident(factory.garage())
    headers = factory.headers(user)
    postgresql = _db.engine.dialect.name == "postgresql"
    with transaction_states(_db.engine) as reads:
        assert client.get("/api/v1/bookings", headers=headers).status_code == 200
    assert reads, "the GET sent no statement"
    assert set(reads) == {not postgresql}
    with transaction_states(_db.engine) as writes:
        response = client.post("/api/v1/auth/logout", headers=headers)
    assert response.status_code in (200, 204), response.json
    assert writes and set(writes) == {True}


def _prepared_after(app, tmp_path, requests, **overrides) -> list[str]:
    """The statements prepared on the connection that `requests(client)` used: the app on the test
    database again, with `overrides` and a pool of one connection, so that the next checkout after
    the requests is the connection they used."""
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's; SQLite plans from its own cache")
    one = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0},
        SCHEDULER_ENABLED=False,
        INSTANCE_PATH=tmp_path,
        **overrides,
    )
    try:
        requests(one.test_client())
        with one.app_context(), _db.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    finally:
        with one.app_context():
            _db.engine.dispose()


@pytest.mark.parametrize("reads_in_autocommit", [True, False], ids=["autocommit", "transactions"])
def test_a_pages_statements_are_prepared_on_the_connection_after_a_few_requests(
    app, factory, tmp_path, reads_in_autocommit
):
    """psycopg prepares a statement on its fifth run on a connection and forgets its count at every
    rollback: a read that ends in a rollback is planned by the server on every request."""
    factory.garage()

    def list_garages(client):
        for _ in range(8):
            response = client.get("/api/v1/garages")
            assert response.status_code == 200, response.json
            assert response.json

    prepared = _prepared_after(
        app,
        tmp_path,
        list_garages,
        DATABASE_READS_IN_AUTOCOMMIT=reads_in_autocommit,
        DATABASE_COMMIT_UNWRITTEN=False,  # the reads' own transactions, as they were
    )
    listing = [statement for statement in prepared if "FROM garages" in statement]
    if reads_in_autocommit:
        assert listing, prepared
    else:
        assert listing == [], prepared


@pytest.mark.parametrize("commit_unwritten", [True, False], ids=["commit", "rollback"])
def test_a_refusal_that_wrote_nothing_keeps_the_connections_prepared_statements(
    app, factory, tmp_path, commit_unwritten
):
    """A booking refused before anything is written (the night has no quota) ends with COMMIT, so
    psycopg keeps what it prepared; a ROLLBACK would make it forget (and the server plan again)."""
    window = factory.window(quota=0)
    user, plate = factory.resident(window.garage)
    headers = factory.headers(user)

    def book(client):
        for _ in range(8):
            response = client.post("/api/v1/bookings", json={"window_id": window.id, "plate": plate}, headers=headers)
            assert response.status_code == 422, response.json
            assert response.json["error"] == "booking_closed"

    prepared = _prepared_after(app, tmp_path, book, DATABASE_COMMIT_UNWRITTEN=commit_unwritten)
    assert _db.session.execute(sa.text("SELECT count(*) FROM bookings")).scalar_one() == 0
    caller = [statement for statement in prepared if "FROM users" in statement]
    if commit_unwritten:
        assert caller, prepared
    else:
        assert caller == [], prepared


def test_a_transaction_that_wrote_is_still_rolled_back(app, factory):
    """Only a transaction that sent no write ends with COMMIT: one that wrote is undone."""
    user, _plate = factory.resident(factory.garage())
    jti = "r" * 32
    _db.session.commit()  # the factory's transaction ended: SQLite has one writer
    with _db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM revoked_tokens")).scalar_one() == 0
        conn.execute(
            sa.text("INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES (:jti, :user_id, :at)"),
            {"jti": jti, "user_id": user.id, "at": clock.now()},
        )
        conn.rollback()
        assert (
            conn.execute(sa.text("SELECT count(*) FROM revoked_tokens WHERE jti = :jti"), {"jti": jti}).scalar_one()
            == 0
        )
