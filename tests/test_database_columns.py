"""On PostgreSQL the app's cursors describe a result's columns when asked (parking.database
`DescribedOnDemand`): the same entries as psycopg's own description, for the result they were
given for, and a warmed request whose statements SQLAlchemy knows from its cache builds none."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import psycopg
import pytest

from parking.database import Described, DescribedOnDemand
from parking.extensions import db as _db


@pytest.fixture
def cursor(app):
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("psycopg's cursors are PostgreSQL's")
    with _db.engine.connect() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        yield cur
        cur.close()
        conn.rollback()


def _entries(description) -> list[tuple]:
    return [(c.name, c.type_code, *tuple(c)) for c in description]


QUERY = (
    "SELECT 1::int AS n, 'x'::varchar(12) AS label, 2.5::numeric(6, 2) AS price, now() AS at,"
    " NULL::bytea AS nonce, true AS flag, '{}'::jsonb AS params, '中文' AS words"
)


def test_the_apps_cursors_describe_the_same_columns_as_psycopg(cursor):
    assert isinstance(cursor, DescribedOnDemand)
    cursor.execute(QUERY)
    ours = cursor.description
    assert isinstance(ours, Described)
    theirs = psycopg.Cursor.description.fget(cursor)  # psycopg's own, built at once
    assert len(ours) == len(theirs) == 8
    assert _entries(ours) == _entries(theirs)
    assert [c.name for c in ours] == ["n", "label", "price", "at", "nonce", "flag", "params", "words"]
    assert ours[-1].name == "words" and [c.name for c in ours[1:3]] == ["label", "price"]
    assert (ours[2].precision, ours[2].scale) == (6, 2)
    with pytest.raises(IndexError):
        ours[8]
    assert cursor.fetchone()[2] == Decimal("2.50")


def test_a_description_stays_with_its_result_and_a_result_without_rows_has_none(cursor):
    cursor.execute(QUERY)
    first = cursor.description
    cursor.execute("SELECT 'y' AS other")
    assert [c.name for c in cursor.description] == ["other"]
    assert first[0].name == "n" and len(first) == 8  # read after the next statement: still its own
    cursor.execute("SET LOCAL statement_timeout = 0")
    assert cursor.description is None
    cursor.execute("SELECT WHERE false")  # rows of no columns: described, as psycopg does
    assert cursor.description is not None and len(cursor.description) == 0


@contextlib.contextmanager
def columns_built():
    built = []
    original = psycopg.Column.__init__

    def counting(self, cursor, index):
        built.append(index)
        original(self, cursor, index)

    psycopg.Column.__init__ = counting
    try:
        yield built
    finally:
        psycopg.Column.__init__ = original


def test_a_warmed_request_builds_no_column_description(app, client, factory):
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("psycopg's cursors are PostgreSQL's")
    user, _plate = factory.resident(factory.garage())
    headers = factory.headers(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # compiles and caches
    with columns_built() as built:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    # the caller's statement alone has over 70 columns; psycopg's description built them all
    assert built == []
