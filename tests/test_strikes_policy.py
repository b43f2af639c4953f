"""One strikes policy: the gate charging a late exit (one booking) and the tide charging a car
still inside (set-based) count the same strikes, suspend alike, and leave alone alike a household
whose earlier strikes a suspension already answered for."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.households.models import Household, Strike, StrikeKind
from parking.tide.services import run_tide
from tests.gate_helpers import booked, scan, token_of


def _with_strikes(factory, db, s, count: int, *, used_up: bool = False) -> None:
    earlier = [factory.booking(factory.window(s.garage, quota=5)) for _ in range(count)]
    at = clock.now() - timedelta(days=2)
    for booking in earlier:
        db.session.add(
            Strike(household_id=s.booking.household_id, booking_id=booking.id, kind=StrikeKind.NO_SHOW, at=at)
        )
    if used_up:  # a suspension already answered for these strikes
        db.session.get(Household, s.booking.household_id).suspended_at = at + timedelta(hours=1)
    db.session.commit()


def _suspension(db, household_id: int) -> tuple[timedelta | None, str | None]:
    db.session.expire_all()
    household = db.session.get(Household, household_id)
    reason = db.session.scalar(
        sa.select(AuditEvent.reason).where(
            AuditEvent.object_type == "household",
            AuditEvent.object_id == household_id,
            AuditEvent.action == "household.suspended",
        )
    )
    length = household.suspended_until - household.suspended_at if household.suspended_until else None
    return length, reason


def test_the_gate_and_the_tide_suspend_by_the_one_condition(client, factory, db):
    window = factory.window(quota=10)
    by_gate, by_tide, gate_used, tide_used = (booked(factory, window=window) for _ in range(4))
    for s, used_up in ((by_gate, False), (by_tide, False), (gate_used, True), (tide_used, True)):
        _with_strikes(factory, db, s, 2, used_up=used_up)
    tokens = {
        s.booking.id: token_of(client, factory, s.resident, s.booking.id)
        for s in (by_gate, by_tide, gate_used, tide_used)
    }
    clock.set_now(window.opens_at)
    for s in (by_gate, by_tide, gate_used, tide_used):
        assert scan(client, factory, s.attendant, s.garage.id, token=tokens[s.booking.id]).json["result"] == "accepted"

    late = window.closes_at + timedelta(minutes=30)
    clock.set_now(late)
    for s in (by_gate, gate_used):  # the gate: out after the exit grace, before the tide ran
        out = scan(client, factory, s.attendant, s.garage.id, token=tokens[s.booking.id], direction="out")
        assert out.json["result"] == "accepted", out.json
    summary = run_tide(clock.now())  # the tide: the two cars still inside
    db.session.commit()
    assert summary["overstayed"] == 2

    gate_says, tide_says = _suspension(db, by_gate.booking.household_id), _suspension(db, by_tide.booking.household_id)
    assert gate_says == tide_says == (timedelta(days=14), "3 strikes in 30 days")
    for s in (gate_used, tide_used):  # two of the three strikes were used up by a suspension
        assert db.session.get(Household, s.booking.household_id).suspended_until is None
