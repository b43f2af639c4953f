"""One statement queues every notice (`parking.notifications.services.notices_from`): `notify`, a
new booking's trail and the tide's passes all write their notices through it, and the database keeps
a dedupe key to one notice a user, also when two transactions queue it at once."""

from __future__ import annotations

import threading
from typing import cast

import pytest
import sqlalchemy as sa

from parking import clock
from parking.auth.models import User
from parking.dbtypes import insert_skipping
from parking.extensions import db as _db
from parking.households.models import Strike
from parking.notifications.models import Notification
from parking.notifications.services import NOTICES, notices_from, notify
from parking.tide.services import run_tide
from tests.statement_helpers import sent
from tests.tide_helpers import sh


def _count(**where) -> int:
    _db.session.expire_all()
    query = sa.select(sa.func.count()).select_from(Notification)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return _db.session.scalar(query)


def notice_inserts():
    """The statements sent while the block runs that write notices."""
    return sent(lambda statement: "INSERT INTO notifications" in statement)


def test_a_dedupe_key_gives_each_member_one_notice_and_no_key_gives_one_a_call(app, factory):
    user, _plate = factory.resident(factory.garage(), members=3)
    members = [m.id for m in user.household.members]
    assert len(members) == 3
    assert notify(members, "no_show", {"plate": "沪A1", "date": "2026-12-01"}, dedupe_key="no_show:1") == 3
    assert notify(members, "no_show", {"plate": "沪A1", "date": "2026-12-01"}, dedupe_key="no_show:1") == 0
    assert notify(members[:1], "no_show", {"plate": "沪A1", "date": "2026-12-02"}, dedupe_key="no_show:2") == 1
    assert notify([*members, *members], "household_verified") == 3  # each user once a call
    assert notify(members, "household_verified") == 3
    assert notify([], "household_verified") == 0
    _db.session.commit()
    assert _count(dedupe_key="no_show:1") == 3
    assert _count(dedupe_key="no_show:2") == 1
    assert _count(kind="household_verified") == 6
    note = _db.session.scalar(sa.select(Notification).where(Notification.dedupe_key == "no_show:2"))
    assert (note.user_id, note.params, note.booking_id) == (members[0], {"plate": "沪A1", "date": "2026-12-02"}, None)
    assert note.created_at == clock.now()


def test_two_transactions_queueing_one_dedupe_key_at_once_leave_one_notice_a_member(app, factory):
    user, _plate = factory.resident(factory.garage(), members=3)
    members = [m.id for m in user.household.members]
    _db.session.commit()
    now = clock.now()
    barrier = threading.Barrier(4)
    queued: list[int] = []
    errors: list[BaseException] = []

    def queue() -> None:
        try:
            with app.app_context():
                barrier.wait()
                queued.append(
                    notify(members, "overstayed", {"plate": "沪A1", "time": "07:45"}, dedupe_key="o:1", now=now)
                )
                _db.session.commit()
                _db.session.remove()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=queue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(queued) == [0, 0, 0, 3]
    assert _count(dedupe_key="o:1") == 3


def test_notify_a_new_bookings_trail_and_the_tide_write_notices_by_the_one_statement(app, client, factory):
    window = factory.window(quota=3)
    user, plate = factory.resident(window.garage, members=2)
    with notice_inserts() as booking_trail:
        response = client.post(
            "/api/v1/bookings", json={"window_id": window.id, "plate": plate}, headers=factory.headers(user)
        )
    assert response.status_code == 201, response.get_json()
    assert _count(kind="booking_confirmed") == 2
    with notice_inserts() as told:
        notify([user.id], "household_verified")
        _db.session.commit()
    with notice_inserts() as tide:
        assert run_tide(clock.as_utc(sh(1, 22, 0)))["no_shows"] == 1
        _db.session.commit()
    assert _count(kind="no_show") == 2
    for statements in (booking_trail, told, tide):
        assert len(statements) == 1, statements
        assert "ON CONFLICT (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING" in " ".join(
            statements[0].split()
        )


def test_an_insert_skipping_duplicates_is_compiled_once_and_targets_the_models_unique_index(app):
    """`dbtypes.insert_skipping` renders ON CONFLICT as the SELECT's suffix, so the statement has a
    cache key (the dialects' `on_conflict_do_nothing()` has none in SQLAlchemy 2.0, and was
    compiled on every execution); the conflict target is read from the model's unique index or
    constraint, predicate included, and a name the model lacks is refused when the statement is
    built."""
    users = cast(sa.Table, User.__table__)
    rows = sa.select(users.c.id, *(sa.literal(None) for _ in range(5)))
    statement = notices_from(rows)
    assert statement._generate_cache_key() is not None
    rendered = " ".join(str(statement.compile(_db.engine)).split())
    assert rendered.endswith("ON CONFLICT (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING"), rendered
    strikes = insert_skipping(
        cast(sa.Table, Strike.__table__), ("household_id",), sa.select(users.c.id), "uq_strikes_booking_kind"
    )
    assert " ".join(str(strikes.compile(_db.engine)).split()).endswith("ON CONFLICT (booking_id, kind) DO NOTHING")
    with pytest.raises(LookupError):
        insert_skipping(NOTICES, ("user_id",), sa.select(users.c.id), "uq_no_such_index")
    other = sa.Table(
        "partial",
        sa.MetaData(),
        sa.Column("a", sa.Integer),
        sa.Index("uq_partial", "a", unique=True, sqlite_where=sa.text("a > 0"), postgresql_where=sa.text("a > 1")),
    )
    with pytest.raises(TypeError):  # one predicate, or SQLite and PostgreSQL would skip different rows
        insert_skipping(other, ("a",), sa.select(sa.literal(1)), "uq_partial")
