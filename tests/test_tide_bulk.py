"""The tide at scale: the audit events, strikes and notices a pass produces inside the database carry
exactly the values the pass promises (instants per garage, local times per timezone, before/after
snapshots), and a pass issues a number of statements that does not grow with the bookings or the
garages it settles."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event

from parking import clock
from parking.audit.models import AuditEvent
from parking.auth.models import User
from parking.bookings.models import Booking
from parking.extensions import db as _db
from parking.households.models import Strike
from parking.notifications.models import Notification
from parking.tide.services import run_tide
from parking.windows.models import Garage, Window
from tests.statement_helpers import sent
from tests.tide_helpers import SETTLE_AT, busy_nights, check_in, sh

UTC_SETTLE = clock.as_utc(SETTLE_AT)


def _canon(value):
    return json.dumps(value, sort_keys=True)


def _booking_state() -> dict[int, dict]:
    return {
        b.id: {"slot": b.slot, "priority": b.priority, "late_cancel": b.late_cancel}
        for b in _db.session.scalars(sa.select(Booking))
    }


def _members(household_id: int) -> list[int]:
    return list(_db.session.scalars(sa.select(User.id).where(User.household_id == household_id).order_by(User.id)))


def _booking_event(booking, action, frm, to, at, reason, *, releases, state):
    before = {"status": frm, **state[booking.id]}
    after = {**before, "status": to, "slot": None if releases else before["slot"]}
    return (at, None, action, "booking", booking.id, booking.garage_id, _canon(before), _canon(after), reason)


def _audit_rows() -> set[tuple]:
    return {
        (
            e.at,
            e.actor_id,
            e.action,
            e.object_type,
            e.object_id,
            e.garage_id,
            _canon(e.before),
            _canon(e.after),
            e.reason,
        )
        for e in _db.session.scalars(sa.select(AuditEvent).where(AuditEvent.actor_id.is_(None)))
    }


def _note_rows() -> set[tuple]:
    return {
        (n.user_id, n.kind, _canon(n.params), n.booking_id, n.dedupe_key, n.created_at, n.delivered_at, n.read_at)
        for n in _db.session.scalars(
            sa.select(Notification).where(
                Notification.kind.in_(["no_show", "reclaim_reminder", "overstayed", "suspended"])
            )
        )
    }


def _second_garage(factory):
    """A garage in another timezone with other rule minutes and two members per household: a
    no-show, a car inside, a car that left and a waitlisted booking, all on 1 Dec."""
    garage = factory.garage(timezone="Europe/London", no_show_minutes=60, exit_grace_minutes=20)
    window = factory.window(garage, quota=3)
    users = []
    for _ in range(4):
        household = factory.household(garage, members=2)
        users.append((household.members[0], household.vehicles[0].plate))
    absent = factory.booking(window, user=users[0][0], plate=users[0][1])
    inside = factory.booking(window, user=users[1][0], plate=users[1][1])
    left = factory.booking(window, user=users[2][0], plate=users[2][1])
    waiting = factory.booking(window, user=users[3][0], plate=users[3][1], waitlist=True)
    check_in(inside)
    check_in(left, inside=False)
    return garage, window, {"no_show": [absent.id], "inside": [inside.id], "left": [left.id], "waiting": [waiting.id]}


def test_catch_up_pass_produces_exactly_the_promised_audit_strike_and_notice_rows(db, factory):
    scenario = busy_nights(factory)
    _garage, london_window, london_bookings = _second_garage(factory)
    state = _booking_state()
    with sent(lambda statement: "INSERT INTO notifications" in statement) as notices:
        run_tide(UTC_SETTLE)
    db.session.commit()
    db.session.expire_all()
    # The no-shows' and the suspension's notices, each written by the one statement that queues
    # notices (`notices_from`: INSERT … SELECT … ON CONFLICT), none by a list of VALUES.
    assert len(notices) >= 2 and all(" SELECT " in " ".join(n.split()) and "ON CONFLICT" in n for n in notices), notices

    def booking(i):
        return db.session.get(Booking, i)

    def window_of(b):
        return db.session.get(Window, b.window_id)

    def garage_of(b):
        return db.session.get(Garage, b.garage_id)

    expected_audit, expected_strikes, expected_notes = set(), set(), set()
    no_shows = scenario.bookings["no_show"] + london_bookings["no_show"]
    for b in map(booking, no_shows):
        w, g = window_of(b), garage_of(b)
        at = w.opens_at + timedelta(minutes=g.no_show_minutes)
        expected_audit.add(
            _booking_event(
                b, "booking.no_show", "confirmed", "no_show", at, "not checked in", releases=True, state=state
            )
        )
        expected_strikes.add((b.household_id, b.id, "no_show", at))
        params = _canon({"plate": b.plate, "date": w.service_date.isoformat()})
        for user_id in _members(b.household_id):
            expected_notes.add((user_id, "no_show", params, b.id, f"no_show:{b.id}", UTC_SETTLE, None, None))
    for b in map(booking, scenario.bookings["inside"] + london_bookings["inside"]):
        w, g = window_of(b), garage_of(b)
        at = w.closes_at + timedelta(minutes=g.exit_grace_minutes)
        reason = "still inside after the exit grace"
        expected_audit.add(
            _booking_event(b, "booking.overstayed", "checked_in", "overstayed", at, reason, releases=False, state=state)
        )
        expected_strikes.add((b.household_id, b.id, "overstay", at))
        local = at.astimezone(ZoneInfo(g.timezone)).strftime("%H:%M")
        params = _canon({"plate": b.plate, "date": w.service_date.isoformat(), "time": local})
        for user_id in _members(b.household_id):
            expected_notes.add((user_id, "overstayed", params, b.id, f"overstayed:{b.id}", UTC_SETTLE, None, None))
    for b in map(booking, scenario.bookings["left"] + london_bookings["left"]):
        w, g = window_of(b), garage_of(b)
        at = w.closes_at + timedelta(minutes=g.exit_grace_minutes)
        expected_audit.add(
            _booking_event(b, "booking.completed", "checked_in", "completed", at, "left", releases=True, state=state)
        )
    for b in map(booking, scenario.bookings["waitlisted"] + london_bookings["waiting"]):
        at = window_of(b).closes_at
        expected_audit.add(
            _booking_event(
                b,
                "booking.waitlist_expired",
                "waitlisted",
                "cancelled",
                at,
                "waitlist expired",
                releases=True,
                state=state,
            )
        )
    for b in map(booking, scenario.bookings["remind"]):
        w, g = window_of(b), garage_of(b)
        expected_audit.add(
            (
                UTC_SETTLE,
                None,
                "booking.reminded",
                "booking",
                b.id,
                b.garage_id,
                _canon({"reminded_at": None}),
                _canon({"reminded_at": UTC_SETTLE.isoformat()}),
                "reclaim reminder",
            )
        )
        local = w.closes_at.astimezone(ZoneInfo(g.timezone)).strftime("%H:%M")
        params = _canon({"plate": b.plate, "date": w.service_date.isoformat(), "time": local})
        for user_id in _members(b.household_id):
            key = f"reclaim_reminder:{b.id}"
            expected_notes.add((user_id, "reclaim_reminder", params, b.id, key, UTC_SETTLE, None, None))
    for w in db.session.scalars(sa.select(Window).where(Window.opens_at <= UTC_SETTLE)):
        expected_audit.add(
            (
                w.opens_at,
                None,
                "window.opened",
                "window",
                w.id,
                w.garage_id,
                '{"state": "planned"}',
                '{"state": "open"}',
                None,
            )
        )
        if w.closes_at <= UTC_SETTLE:
            expected_audit.add(
                (
                    w.closes_at,
                    None,
                    "window.closed",
                    "window",
                    w.id,
                    w.garage_id,
                    '{"state": "open"}',
                    '{"state": "closed"}',
                    None,
                )
            )
    offender = scenario.offender
    until = UTC_SETTLE + timedelta(days=14)
    expected_audit.add(
        (
            UTC_SETTLE,
            None,
            "household.suspended",
            "household",
            offender.id,
            offender.garage_id,
            _canon({"suspended_until": None}),
            _canon({"suspended_until": until.isoformat()}),
            "3 strikes in 30 days",
        )
    )
    for user_id in _members(offender.id):
        params = _canon({"until": until.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()})
        key = f"suspended:{offender.id}:{UTC_SETTLE.strftime('%Y%m%dT%H%M%S')}"
        expected_notes.add((user_id, "suspended", params, None, key, UTC_SETTLE, None, None))

    assert london_window.id in {w.id for w in db.session.scalars(sa.select(Window))}
    assert _audit_rows() == expected_audit
    assert {(s.household_id, s.booking_id, s.kind.value, s.at) for s in db.session.scalars(sa.select(Strike))} == (
        expected_strikes
    )
    assert _note_rows() == expected_notes
    # The non-ASCII plates and the local times survive the round trip through SQL-built JSON.
    assert any("沪" in row[2] or "\\u6caa" in row[2] for row in expected_notes if row[1] == "no_show")


@contextmanager
def _statements():
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _city(factory, garages: int, per_kind: int) -> None:
    """`garages` garages (two rule settings), each with one window on 1 Dec and `per_kind` bookings
    of each kind: never arrive, came and left, still inside."""
    for g in range(garages):
        garage = factory.garage(no_show_minutes=180 if g % 2 else 150, exit_grace_minutes=15 if g % 2 else 25)
        window = factory.window(garage, quota=3 * per_kind)
        for _ in range(per_kind):
            factory.booking(window)
            check_in(factory.booking(window))
            check_in(factory.booking(window), inside=False)


def _passes(db) -> list[tuple[int, dict]]:
    """Statements and summary of the warm-up, no-show and close passes over the city."""
    counts = []
    for at in (sh(1, 19, 1), sh(1, 22, 31), sh(2, 7, 56)):
        with _statements() as seen:
            summary = run_tide(clock.as_utc(at))
            db.session.commit()
        counts.append((len(seen), summary))
    return counts


def test_statements_per_pass_do_not_grow_with_bookings_or_garages(db, factory):
    _city(factory, garages=2, per_kind=1)
    small = _passes(db)
    _db.session.execute(sa.delete(Garage))  # start the larger city from nothing
    db.session.commit()
    _city(factory, garages=6, per_kind=3)
    large = _passes(db)
    assert [s["no_shows"] for _n, s in small] == [0, 2, 0] and [s["no_shows"] for _n, s in large] == [0, 18, 0]
    assert [s["overstayed"] for _n, s in large] == [0, 0, 18] and [s["completed"] for _n, s in large] == [0, 0, 18]
    assert [n for n, _s in large] == [n for n, _s in small]


def test_a_list_of_more_ids_than_postgresql_takes_parameters_is_one_bound_value(db, factory):
    """A city's no-show pass names more bookings than PostgreSQL takes bind parameters (65,535):
    the list of ids is one value (an array; a JSON array on SQLite), in the tide's statements and
    in the question whether a promoted household was told (`untold_promotions`), which once sent
    an id each and stopped the pass at 1,000 garages."""
    from parking.dbtypes import id_among
    from parking.notifications.delivery import untold_promotions

    window = factory.window(quota=2)
    kept = [factory.booking(window).id for _ in range(2)]
    ids = [*range(10_000_000, 10_070_000), *kept]  # 70,002 ids, two of them real
    with _statements() as seen:
        found = db.session.scalars(sa.select(Booking.id).where(id_among(Booking.id, ids))).all()
        assert untold_promotions(ids) == set()
    assert sorted(found) == sorted(kept)
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, [s[:80] for s in seen]
