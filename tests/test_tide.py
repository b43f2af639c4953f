"""The tide pass: each time-based transition at its instant, audited, notified, exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.bookings.models import Booking, BookingStatus
from parking.households.models import Household, Strike
from parking.notifications.models import Notification
from parking.tide.services import run_tide
from parking.windows.models import Window, WindowState
from tests.tide_helpers import (
    SETTLE_AT,
    assert_busy_nights_settled,
    busy_nights,
    check_in,
    counters_match_holders,
    sh,
    statuses,
    strikes,
    tide_audit,
    tide_notes,
)


def tide(db, at):
    summary = run_tide(clock.as_utc(at))
    db.session.commit()
    return summary


def audit_of(db, object_type, object_id):
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
            .order_by(AuditEvent.id)
        )
    )


def notes_of(db, booking_id, kind):
    return list(
        db.session.scalars(
            sa.select(Notification).where(Notification.booking_id == booking_id, Notification.kind == kind)
        )
    )


def test_window_opens_at_opens_at_once_and_is_audited_at_that_instant(db, factory):
    window = factory.window(quota=5)
    assert tide(db, sh(1, 18, 59))["opened"] == 0
    assert db.session.get(Window, window.id).state == WindowState.PLANNED
    assert tide(db, sh(1, 19, 0))["opened"] == 1
    assert tide(db, sh(1, 19, 1))["opened"] == 0
    db.session.expire_all()
    assert db.session.get(Window, window.id).state == WindowState.OPEN
    events = [e for e in audit_of(db, "window", window.id) if e.action == "window.opened"]
    assert len(events) == 1
    assert (events[0].at, events[0].before, events[0].after) == (
        window.opens_at,
        {"state": "planned"},
        {"state": "open"},
    )


def test_pass_materialises_windows_up_to_the_horizon_for_every_garage(db, factory):
    templates = [factory.template(), factory.template()]
    summary = tide(db, sh(1, 10))
    assert summary["windows_created"] == 2 * 15  # today … today + 14 days
    for template in templates:
        dates = set(db.session.scalars(sa.select(Window.service_date).where(Window.template_id == template.id)))
        assert max(dates) == sh(15, 0).date()
    assert tide(db, sh(1, 10, 1))["windows_created"] == 0


def test_no_show_frees_the_space_charges_one_strike_and_notifies_once(db, factory):
    window = factory.window(quota=3)
    absent = factory.booking(window)
    present = factory.booking(window)
    check_in(present)
    assert tide(db, sh(1, 21, 59))["no_shows"] == 0  # deadline is opens_at + 3 h
    summary = tide(db, sh(1, 22, 0))
    assert (summary["no_shows"], summary["strikes"]) == (1, 1)
    assert tide(db, sh(1, 22, 1))["no_shows"] == 0
    db.session.expire_all()
    assert statuses([absent.id, present.id]) == ["no_show", "checked_in"]
    assert db.session.get(Booking, absent.id).slot is None
    assert db.session.get(Window, window.id).booked == 1
    strike = db.session.scalar(sa.select(Strike).where(Strike.booking_id == absent.id))
    assert strike.kind.value == "no_show"
    assert strike.at == window.opens_at + timedelta(hours=3)
    notes = notes_of(db, absent.id, "no_show")
    assert len(notes) == 1
    assert notes[0].params == {"plate": absent.plate, "date": "2026-12-01"}
    event = [e for e in audit_of(db, "booking", absent.id) if e.action == "booking.no_show"]
    assert len(event) == 1
    assert event[0].before["status"] == "confirmed" and event[0].after == {
        **event[0].before,
        "status": "no_show",
        "slot": None,
    }
    assert event[0].actor_id is None


def test_no_show_moves_the_waitlist_while_booking_is_still_open(db, factory):
    garage = factory.garage(no_show_minutes=60, booking_cutoff_minutes=120)
    window = factory.window(garage, quota=1)
    absent = factory.booking(window)
    waiting = factory.booking(window, waitlist=True)
    tide(db, sh(1, 20, 0))
    db.session.expire_all()
    assert statuses([absent.id, waiting.id]) == ["no_show", "confirmed"]
    assert db.session.get(Window, window.id).booked == 1
    assert len(notes_of(db, waiting.id, "booking_promoted")) == 1
    assert counters_match_holders()


def test_no_show_after_booking_closed_leaves_the_waitlist_for_the_close(db, factory):
    window = factory.window(quota=1)
    absent = factory.booking(window)
    waiting = factory.booking(window, waitlist=True)
    tide(db, sh(1, 22, 0))  # booking closed at 21:00
    db.session.expire_all()
    assert statuses([absent.id, waiting.id]) == ["no_show", "waitlisted"]
    tide(db, sh(2, 7, 30))
    db.session.expire_all()
    assert statuses([waiting.id]) == ["cancelled"]
    events = [e for e in audit_of(db, "booking", waiting.id) if e.action == "booking.waitlist_expired"]
    assert len(events) == 1 and events[0].reason == "waitlist expired" and events[0].at == window.closes_at


def test_car_still_inside_is_reminded_once_before_reclaim(db, factory):
    window = factory.window(quota=3)
    inside = factory.booking(window)
    left = factory.booking(window)
    check_in(inside)
    check_in(left, inside=False)
    assert tide(db, sh(2, 6, 59))["reminded"] == 0
    assert tide(db, sh(2, 7, 0))["reminded"] == 1
    assert tide(db, sh(2, 7, 5))["reminded"] == 0
    db.session.expire_all()
    assert db.session.get(Booking, inside.id).reminded_at == sh(2, 7, 0)
    assert db.session.get(Booking, left.id).reminded_at is None
    notes = notes_of(db, inside.id, "reclaim_reminder")
    assert len(notes) == 1 and notes[0].params["time"] == "07:30"


def test_close_then_grace_overstays_cars_inside_and_completes_those_that_left(db, factory):
    window = factory.window(quota=3)
    inside, left = factory.booking(window), factory.booking(window)
    check_in(inside)
    check_in(left, inside=False)
    summary = tide(db, sh(2, 7, 30))
    assert (summary["closed"], summary["overstayed"], summary["completed"]) == (1, 0, 0)
    db.session.expire_all()
    assert db.session.get(Window, window.id).state == WindowState.CLOSED
    assert tide(db, sh(2, 7, 44))["overstayed"] == 0
    summary = tide(db, sh(2, 7, 45))
    assert (summary["overstayed"], summary["completed"], summary["strikes"]) == (1, 1, 1)
    assert tide(db, sh(2, 8, 0)) == {k: 0 for k in summary}
    db.session.expire_all()
    assert statuses([inside.id, left.id]) == ["overstayed", "completed"]
    assert db.session.get(Window, window.id).booked == 1  # the overstayer still holds its space
    assert strikes() == Counter({"overstay": 1})
    notes = notes_of(db, inside.id, "overstayed")
    assert len(notes) == 1 and notes[0].params["time"] == "07:45"
    closed = [e for e in audit_of(db, "window", window.id) if e.action == "window.closed"]
    assert len(closed) == 1 and closed[0].at == window.closes_at


def test_third_strike_suspends_the_household_once_and_the_api_shows_it(client, db, factory):
    template = factory.template(default_quota=5)
    garage = template.garage
    household = factory.household(garage)
    user, plate = household.members[0], household.vehicles[0].plate
    for day in (1, 2, 3):
        factory.booking(factory.window(template=template, quota=5, day=sh(day, 0).date()), user=user, plate=plate)
    tide(db, sh(2, 8))
    clock.set_now(sh(2, 8))
    body = client.get(f"/api/v1/households/{household.id}", headers=factory.headers(user)).json
    assert (body["strikes"], body["suspended_until"]) == (1, None)
    tide(db, sh(3, 8))
    summary = tide(db, sh(4, 8))
    assert (summary["no_shows"], summary["suspended"]) == (1, 1)
    assert tide(db, sh(4, 9))["suspended"] == 0
    clock.set_now(sh(4, 9))
    body = client.get(f"/api/v1/households/{household.id}", headers=factory.headers(user)).json
    assert body["strikes"] == 3
    assert body["suspended_until"] == (sh(4, 8) + timedelta(days=14)).astimezone(clock.UTC).isoformat()
    db.session.expire_all()
    assert len(db.session.scalars(sa.select(Notification).where(Notification.kind == "suspended")).all()) == 1
    assert [e.action for e in audit_of(db, "household", household.id)].count("household.suspended") == 1
    refused = client.post(
        "/api/v1/bookings",
        json={"window_id": factory.window(template=template, day=sh(5, 0).date()).id, "plate": plate},
        headers=factory.headers(user),
    )
    assert (refused.status_code, refused.json["error"]) == (403, "suspended")


def test_strikes_answered_by_a_suspension_do_not_renew_it(db, factory):
    template = factory.template(default_quota=5)
    household = factory.household(template.garage)
    user, plate = household.members[0], household.vehicles[0].plate
    for day in (1, 2, 3):
        factory.booking(factory.window(template=template, quota=5, day=sh(day, 0).date()), user=user, plate=plate)
    tide(db, sh(4, 8))
    db.session.expire_all()
    until = db.session.get(Household, household.id).suspended_until
    assert until == sh(4, 8) + timedelta(days=14)
    # The suspension ends while the three strikes are still within 30 days: no new suspension.
    assert tide(db, until + timedelta(minutes=1))["suspended"] == 0


def test_one_pass_after_days_of_downtime_settles_everything_in_order(db, factory):
    scenario = busy_nights(factory)
    summary = tide(db, SETTLE_AT)
    assert summary["no_shows"] == 6 and summary["suspended"] == 1
    assert_busy_nights_settled(scenario)
    # Each event carries the instant it was due, and they run in the night's order.
    window = scenario.windows[1]
    events = audit_of(db, "window", window.id)
    assert [(e.action, e.at) for e in events if e.actor_id is None] == [
        ("window.opened", window.opens_at),
        ("window.closed", window.closes_at),
    ]
    no_show = audit_of(db, "booking", scenario.bookings["no_show"][0])[-1]
    assert no_show.at == window.opens_at + timedelta(hours=3)
    # A second pass finds nothing left.
    again = tide(db, SETTLE_AT)
    assert all(value == 0 for key, value in again.items() if key != "windows_created")
    assert_busy_nights_settled(scenario)


def test_passes_every_minute_reach_the_same_state_as_one_catch_up_pass(db, factory):
    scenario = busy_nights(factory)
    instant = sh(1, 18, 0)
    while instant <= SETTLE_AT:
        tide(db, instant)
        instant += timedelta(minutes=37)
    tide(db, SETTLE_AT)
    db.session.expire_all()
    assert tide_audit() == Counter(
        {
            "window.opened": 3,
            "window.closed": 2,
            "booking.no_show": 6,
            "booking.overstayed": 3,
            "booking.completed": 2,
            "booking.reminded": 5,  # the 1 Dec cars inside were reminded that morning too
            "booking.waitlist_expired": 2,
            "household.suspended": 1,
        }
    )
    assert tide_notes()["no_show"] == 6 and tide_notes()["suspended"] == 1
    assert counters_match_holders()
    assert statuses(scenario.bookings["inside"]) == ["overstayed"] * 3


def test_cancelled_windows_are_neither_opened_nor_charged(db, factory):
    window = factory.window(quota=2)
    booking = factory.booking(window)
    window = db.session.get(Window, window.id)
    window.state = WindowState.CANCELLED
    db.session.commit()
    summary = tide(db, sh(2, 9))
    assert (summary["opened"], summary["no_shows"], summary["closed"]) == (0, 0, 0)
    db.session.expire_all()
    assert statuses([booking.id]) == ["confirmed"]
    assert db.session.get(Window, window.id).state == WindowState.CANCELLED


def test_booking_statuses_set_by_the_gate_are_left_alone(db, factory):
    window = factory.window(quota=2)
    booking = factory.booking(window)
    check_in(booking, inside=False)
    row = db.session.get(Booking, booking.id)
    row.status = BookingStatus.COMPLETED  # e.g. an overstayer the gate let out
    row.slot = None
    db.session.get(Window, window.id).booked -= 1
    db.session.commit()
    tide(db, sh(2, 9))
    db.session.expire_all()
    assert statuses([booking.id]) == ["completed"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Strike)) == 0
