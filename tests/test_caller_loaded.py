"""The signed-in caller is read by one Core statement and its instances made from the row
(`parking.database.AsLoaded`): they must be what a query would have loaded. Nothing pending,
nothing to write, every relationship the statement brings readable without another statement, an
instance the session already had kept (with what it had expired filled in), and after a rollback
the whole caller read again in its one statement."""

from __future__ import annotations

import contextvars

import sqlalchemy as sa

from parking.auth import access
from parking.auth.models import GarageStaff, User
from parking.extensions import db as _db
from tests.statement_helpers import is_dml, sent


def _in_a_request(app, headers, work):
    """`work()` inside a fresh request (its own app context and session), as the client runs one;
    the test's own transaction ended first (on SQLite it holds the write lock)."""
    _db.session.commit()

    def run():
        with app.test_request_context("/api/v1/me", method="POST", headers=headers):
            try:
                return work()
            finally:
                _db.session.rollback()

    return contextvars.Context().run(run)


def test_the_bearer_caller_is_loaded_clean_with_household_garage_and_no_staff(app, factory):
    garage = factory.garage()
    resident, _ = factory.resident(garage)
    headers, garage_name = factory.headers(resident), garage.name

    def work():
        with sent(is_dml) as seen:
            user = access.bearer_user()
        assert len(seen) == 1, seen
        session = _db.session()
        assert not session.new and not session.dirty, (session.new, session.dirty)
        assert user in session and sa.inspect(user).persistent
        with sent(is_dml) as more:
            assert user.household.garage.name == garage_name
            assert user.household.members  # not loaded by the statement: loads on its own
            assert user.staff_of == [] and not user.is_staff_of(garage.id)
        assert len(more) == 1 and "FROM users" in more[0], more  # only the members' list was read
        with sent(lambda statement: True) as flushed:
            session.flush()
        assert flushed == [], flushed  # made as loaded: there is nothing to write
        assert list(sa.inspect(user).attrs.household.history.unchanged) == [user.household]
        return user.id

    assert _in_a_request(app, headers, work) == resident.id


def test_a_member_of_staff_brings_each_garage_they_work_for_in_the_same_statement(app, factory):
    first, second = factory.garage(), factory.garage()
    manager = factory.manager(first)
    _db.session.add(GarageStaff(user_id=manager.id, garage_id=second.id))
    headers = factory.headers(manager)

    def work():
        with sent(is_dml) as seen:
            user = access.bearer_user()
            names = [link.garage.name for link in user.staff_of]
        assert len(seen) == 1, seen
        assert user.household is None
        assert user.is_staff_of(first.id) and user.is_staff_of(second.id)
        return names

    assert _in_a_request(app, headers, work) == [first.name, second.name]


def test_an_instance_the_session_had_is_kept_and_its_expired_columns_filled(app, factory):
    garage = factory.garage()
    resident, _ = factory.resident(garage)
    headers = factory.headers(resident)

    def work():
        had = _db.session.get(User, resident.id)
        had.name = "changed, not flushed"
        _db.session.expire(had, ["locale"])
        user = access.bearer_user()
        assert user is had
        assert user.name == "changed, not flushed"  # a change the session holds is kept
        assert "locale" in sa.inspect(user).dict  # the expired column filled from the row
        return user.locale

    assert _in_a_request(app, headers, work) == resident.locale


def test_after_a_rollback_the_caller_is_read_again_in_its_one_statement(app, factory):
    garage = factory.garage()
    resident, _ = factory.resident(garage)
    headers, garage_name = factory.headers(resident), garage.name

    def work():
        user = access.bearer_user()
        _db.session.rollback()
        assert "household" not in sa.inspect(user).dict  # expired by the rollback
        with sent(is_dml) as seen:
            access.read_caller_again()
            name = user.household.garage.name
        assert len(seen) == 1, seen
        return name

    assert _in_a_request(app, headers, work) == garage_name


def test_a_row_made_again_refreshes_the_instance_only_when_asked(app, factory):
    """`AsLoaded.adopt(refresh=True)` sets every column of an instance the session had from the row,
    as `populate_existing` does (the gate's claim of a scan written meanwhile by Core); without it
    the instance keeps what it had loaded, as a plain query keeps it."""
    from parking.database import AsLoaded
    from parking.windows.models import Garage

    garage = factory.garage(name="Before")
    _db.session.commit()
    garages = AsLoaded(Garage)
    statement = sa.select(*garages.selected).where(Garage.__table__.c.id == garage.id)
    _db.session.execute(sa.update(Garage.__table__).where(Garage.__table__.c.id == garage.id).values(name="After"))
    row = _db.session.execute(statement).one()
    assert garages.adopt(_db.session(), row, 0) is garage and garage.name == "Before"
    assert garages.adopt(_db.session(), row, 0, refresh=True) is garage and garage.name == "After"
    assert not _db.session.dirty  # set as loaded: nothing to write
