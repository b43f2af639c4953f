"""A request that only reads runs outside a transaction on PostgreSQL, so that its statements are
prepared on the connection and planned once (parking.database.RequestSession); a request that
writes keeps its transaction; SQLite keeps its transactions for both."""

from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from config import TestConfig
from parking import create_app
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


def _one_connection_app(tmp_path, url: str, reads_in_autocommit: bool):
    """The app on the test database with a pool of one connection, so that the next checkout
    after the requests is the connection they used."""
    return create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0},
        DATABASE_READS_IN_AUTOCOMMIT=reads_in_autocommit,
        SCHEDULER_ENABLED=False,
        INSTANCE_PATH=tmp_path,
    )


@pytest.mark.parametrize("reads_in_autocommit", [True, False], ids=["autocommit", "transactions"])
def test_a_pages_statements_are_prepared_on_the_connection_after_a_few_requests(
    app, factory, tmp_path, reads_in_autocommit
):
    """psycopg prepares a statement on its fifth run on a connection and forgets its count at every
    rollback: a read that ends in a rollback is planned by the server on every request."""
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's; SQLite plans from its own cache")
    factory.garage()
    one = _one_connection_app(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], reads_in_autocommit)
    client = one.test_client()
    try:
        for _ in range(8):
            response = client.get("/api/v1/garages")
            assert response.status_code == 200, response.json
            assert response.json
        with one.app_context(), _db.engine.connect() as conn:
            prepared = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    finally:
        with one.app_context():
            _db.engine.dispose()
    listing = [statement for statement in prepared if "FROM garages" in statement]
    if reads_in_autocommit:
        assert listing, prepared
    else:
        assert listing == [], prepared
