"""Quota overrides: precedence, refuse/bump (invariant 3), closing, waitlist promotion."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from parking import clock
from parking.bookings.models import Booking, BookingStatus
from parking.garages.services import ensure_windows
from parking.households.models import Household
from parking.notifications.models import Notification
from parking.quotas.models import QuotaOverride
from parking.windows.models import Window, WindowState
from parking.windows.services import today
from tests.manager_helpers import (
    actions,
    api,
    assert_counter_consistent,
    assert_error,
    book_many,
    check_in,
    fresh,
    statuses,
)


def override(client, factory, manager, window, **body):
    payload = {
        "template_id": window.template_id,
        "start_date": window.service_date.isoformat(),
        "end_date": window.service_date.isoformat(),
        "reason": "Spring Festival peak",
        **body,
    }
    return api(client, factory, manager, "POST", f"/garages/{window.garage_id}/overrides", json=payload)


def test_lowering_below_booked_is_refused_with_the_number_affected_and_changes_nothing(client, factory, db):
    window = factory.window(quota=5)
    book_many(factory, window, 4)
    manager = factory.manager(window.garage)
    audit_before = actions()

    response = override(client, factory, manager, window, quota=1)

    body = assert_error(response, 409, "quota_below_booked")
    assert body["details"]["affected"] == 3
    assert body["details"]["windows"][0]["window_id"] == window.id
    assert fresh(Window, window.id).quota == 5
    assert db.session.scalar(sa.select(sa.func.count()).select_from(QuotaOverride)) == 0
    assert set(statuses(window.id).values()) == {BookingStatus.CONFIRMED}
    assert actions() == audit_before


def test_bump_policy_bumps_the_most_recent_bookings_notifies_and_gives_waitlist_priority(client, factory, db):
    window = factory.window(quota=5)
    bookings = book_many(factory, window, 4)
    manager = factory.manager(window.garage)

    response = override(client, factory, manager, window, quota=2, policy="bump")

    assert response.status_code == 201, response.json
    assert response.json["result"]["bumped"] == 2
    now = statuses(window.id)
    assert [now[b.id] for b in bookings] == [BookingStatus.CONFIRMED] * 2 + [BookingStatus.BUMPED] * 2
    window = assert_counter_consistent(window.id)
    assert (window.quota, window.booked) == (2, 2)
    for booking in bookings[2:]:
        household = fresh(Household, booking.household_id)
        assert household.waitlist_priority is True
        member = household.members[0]
        kinds = db.session.scalars(sa.select(Notification.kind).where(Notification.user_id == member.id)).all()
        assert "booking_bumped" in kinds
        assert actions("booking", booking.id)[-1] == "booking.bumped"
    assert "window.quota_changed" in actions("window", window.id)
    assert "override.created" in actions("override")
    assert actions("household").count("household.priority_granted") == 2


def test_bumped_household_goes_to_the_head_of_the_waitlist_next_time(client, factory, db):
    window = factory.window(quota=1)
    victim = factory.booking(window)
    manager = factory.manager(window.garage)
    assert override(client, factory, manager, window, quota=0, policy="bump").status_code == 201

    tomorrow = factory.window(template=window.template, day=window.service_date + timedelta(days=1), quota=1)
    factory.booking(tomorrow)
    early = book_many(factory, tomorrow, 2, waitlist=True)
    clock.advance(timedelta(minutes=5))
    victim_user = fresh(Household, victim.household_id).members[0]
    late = factory.booking(tomorrow, user=victim_user, plate=victim.plate, waitlist=True)
    assert late.priority is True
    assert fresh(Household, victim.household_id).waitlist_priority is False  # used up

    holder = db.session.scalar(
        sa.select(Booking).where(Booking.window_id == tomorrow.id, Booking.status == BookingStatus.CONFIRMED)
    )
    client.post(f"/api/v1/bookings/{holder.id}/cancel", json={}, headers=factory.headers(holder.household.members[0]))
    now = statuses(tomorrow.id)
    assert now[late.id] == BookingStatus.CONFIRMED
    assert [now[b.id] for b in early] == [BookingStatus.WAITLISTED] * 2


def test_cars_inside_are_never_bumped_and_a_cut_below_them_is_refused(client, factory, db):
    window = factory.window(quota=4)
    first, second, third = book_many(factory, window, 3)
    check_in(third)  # the most recent booking, but the car is already inside
    check_in(second)
    manager = factory.manager(window.garage)

    response = override(client, factory, manager, window, quota=2, policy="bump")
    assert response.status_code == 201, response.json
    now = statuses(window.id)
    assert now[first.id] == BookingStatus.BUMPED
    assert now[second.id] == now[third.id] == BookingStatus.CHECKED_IN

    refused = override(client, factory, manager, window, quota=1, policy="bump")
    body = assert_error(refused, 409, "cars_inside")
    assert body["details"]["windows"][0]["inside"] == 2
    assert fresh(Window, window.id).quota == 2


def test_closing_a_night_is_refused_while_booked_and_with_bump_cancels_the_waitlist(client, factory, db):
    window = factory.window(quota=1)
    holder = factory.booking(window)
    (waiting,) = book_many(factory, window, 1, waitlist=True)
    manager = factory.manager(window.garage)

    refused = override(client, factory, manager, window, closed=True)
    assert assert_error(refused, 409, "quota_below_booked")["details"]["affected"] == 1

    response = override(client, factory, manager, window, closed=True, policy="bump", reason="National Day")
    assert response.status_code == 201, response.json
    assert response.json["closed"] is True and response.json["quota"] is None
    window = assert_counter_consistent(window.id)
    assert (window.state, window.quota, window.closed_reason) == (WindowState.CANCELLED, 0, "National Day")
    now = statuses(window.id)
    assert (now[holder.id], now[waiting.id]) == (BookingStatus.BUMPED, BookingStatus.CANCELLED)
    member = waiting.household.members[0]
    kinds = db.session.scalars(sa.select(Notification.kind).where(Notification.user_id == member.id)).all()
    assert "window_closed" in kinds
    # A closed night takes no bookings.
    user, plate = factory.resident(window.garage)
    response = client.post(
        "/api/v1/bookings", json={"window_id": window.id, "plate": plate}, headers=factory.headers(user)
    )
    assert_error(response, 422, "booking_closed")


def test_raising_the_quota_promotes_the_waitlist(client, factory, db):
    window = factory.window(quota=1)
    factory.booking(window)
    waiting = book_many(factory, window, 3, waitlist=True)
    manager = factory.manager(window.garage)

    response = override(client, factory, manager, window, quota=3)
    assert response.status_code == 201, response.json
    assert response.json["result"]["promoted"] == 2
    now = statuses(window.id)
    assert [now[b.id] for b in waiting] == [BookingStatus.CONFIRMED, BookingStatus.CONFIRMED, BookingStatus.WAITLISTED]
    assert assert_counter_consistent(window.id).booked == 3


def test_single_date_beats_range_beats_template_default_for_existing_and_new_windows(client, factory, db):
    window = factory.window(quota=60)
    garage, template = window.garage, window.template
    day = window.service_date
    manager = factory.manager(garage)
    ensure_windows(garage, day, day + timedelta(days=6), clock.now(), [template])
    db.session.commit()

    week = {"start_date": day.isoformat(), "end_date": (day + timedelta(days=20)).isoformat()}
    assert override(client, factory, manager, window, quota=30, **week).status_code == 201
    single = (day + timedelta(days=2)).isoformat()
    assert override(client, factory, manager, window, quota=10, start_date=single, end_date=single).status_code == 201

    quotas = {
        w.service_date: w.quota for w in db.session.scalars(sa.select(Window).where(Window.template_id == template.id))
    }
    assert quotas[day] == 30 and quotas[day + timedelta(days=1)] == 30
    assert quotas[day + timedelta(days=2)] == 10
    # Windows materialised later follow the same rules.
    clock.advance(timedelta(days=7))
    ensure_windows(garage, day + timedelta(days=7), day + timedelta(days=25), clock.now(), [template])
    db.session.commit()
    later = {
        w.service_date: w.quota for w in db.session.scalars(sa.select(Window).where(Window.template_id == template.id))
    }
    assert later[day + timedelta(days=20)] == 30
    assert later[day + timedelta(days=21)] == 60


def test_weekday_filter_touches_only_those_weekdays(client, factory, db):
    window = factory.window(quota=60)
    garage, template, day = window.garage, window.template, window.service_date
    ensure_windows(garage, day, day + timedelta(days=6), clock.now(), [template])
    db.session.commit()
    manager = factory.manager(garage)
    response = override(
        client, factory, manager, window, quota=5, weekdays=[5, 6], end_date=(day + timedelta(days=6)).isoformat()
    )
    assert response.status_code == 201, response.json
    assert response.json["weekdays"] == [5, 6]
    for w in db.session.scalars(sa.select(Window).where(Window.template_id == template.id)):
        assert w.quota == (5 if w.service_date.isoweekday() in (5, 6) else 60), w.service_date


def test_deleting_an_override_recomputes_windows_and_follows_the_policy(client, factory, db):
    window = factory.window(quota=2)
    manager = factory.manager(window.garage)
    raised = override(client, factory, manager, window, quota=4).json
    book_many(factory, window, 3)
    path = f"/garages/{window.garage_id}/overrides/{raised['id']}"

    body = assert_error(api(client, factory, manager, "DELETE", path), 409, "quota_below_booked")
    assert body["details"]["affected"] == 1
    assert fresh(QuotaOverride, raised["id"]) is not None

    response = api(client, factory, manager, "DELETE", path + "?policy=bump")
    assert response.status_code == 200, response.json
    assert response.json == {
        "id": raised["id"],
        "deleted": True,
        "windows_changed": 1,
        "bumped": 1,
        "promoted": 0,
        "waitlist_cancelled": 0,
    }
    assert fresh(QuotaOverride, raised["id"]) is None
    assert assert_counter_consistent(window.id).quota == 2
    assert "override.deleted" in actions("override", raised["id"])


def test_listing_overrides_shows_the_garages_rules(client, factory):
    window = factory.window(quota=2)
    manager = factory.manager(window.garage)
    override(client, factory, manager, window, quota=4)
    response = api(client, factory, manager, "GET", f"/garages/{window.garage_id}/overrides")
    assert response.status_code == 200
    assert [(o["quota"], o["source"], o["weekdays"]) for o in response.json] == [(4, "manual", None)]


def test_malformed_overrides_get_the_json_error_shape(client, factory):
    window = factory.window(quota=2)
    other = factory.window(quota=2)
    manager = factory.manager(window.garage)
    day = window.service_date
    cases = [
        ({"quota": 1, "end_date": (day - timedelta(days=1)).isoformat()}, 422, "invalid_range"),
        ({"quota": 1, "template_id": other.template_id}, 422, "unknown_template"),
        ({"quota": 1, "template_id": 2**31}, 422, "validation_error"),
        ({"quota": 1, "closed": True}, 422, "quota_or_closed"),
        ({}, 422, "quota_or_closed"),
        ({"quota": -1}, 422, "validation_error"),
        ({"quota": 10**12}, 422, "validation_error"),
        ({"quota": 301}, 422, "quota_above_capacity"),
        ({"quota": "many"}, 422, "validation_error"),
        ({"quota": 1, "weekdays": [0]}, 422, "validation_error"),
        ({"quota": 1, "weekdays": [8]}, 422, "validation_error"),
        ({"quota": 1, "weekdays": [1, 1]}, 422, "validation_error"),
        ({"quota": 1, "weekdays": []}, 422, "validation_error"),
        ({"quota": 1, "policy": "evict"}, 422, "validation_error"),
        ({"quota": 1, "reason": ""}, 422, "validation_error"),
        ({"quota": 1, "reason": "x" * 300}, 422, "validation_error"),
        ({"quota": 1, "start_date": "2026-13-01"}, 422, "validation_error"),
        ({"quota": 1, "end_date": (day + timedelta(days=500)).isoformat()}, 422, "invalid_range"),
        ({"quota": 1, "start_date": "2020-01-01", "end_date": "2020-01-02"}, 422, "range_in_past"),
    ]
    for body, code, reason in cases:
        assert_error(override(client, factory, manager, window, **body), code, reason)
    response = api(client, factory, manager, "POST", f"/garages/{window.garage_id}/overrides", data="{not json")
    assert response.status_code in (400, 415, 422) and response.is_json
    reversed_list = api(
        client, factory, manager, "GET", f"/garages/{window.garage_id}/overrides?from=2026-12-05&to=2026-12-01"
    )
    assert_error(reversed_list, 422, "invalid_range")
    missing = api(client, factory, manager, "DELETE", f"/garages/{window.garage_id}/overrides/999")
    assert_error(missing, 404, "not_found")
    bad_policy = api(client, factory, manager, "DELETE", f"/garages/{window.garage_id}/overrides/1?policy=x")
    assert_error(bad_policy, 422, "validation_error")
    assert fresh(Window, window.id).quota == 2


def test_override_of_an_ended_night_leaves_it_alone(client, factory, db):
    window = factory.window(quota=3)
    book_many(factory, window, 2)
    garage = window.garage
    clock.set_now(window.closes_at + timedelta(minutes=1))
    manager = factory.manager(garage)
    assert today(garage, clock.now()) == window.service_date + timedelta(days=1)
    response = override(client, factory, manager, window, quota=0)
    assert response.status_code == 201, response.json
    assert response.json["result"]["windows_changed"] == 0
    assert fresh(Window, window.id).quota == 3


def test_deleting_a_closing_override_reopens_the_night_at_the_template_quota(client, factory, db):
    window = factory.window(quota=3)
    manager = factory.manager(window.garage)
    closed = override(client, factory, manager, window, closed=True).json
    assert fresh(Window, window.id).state == WindowState.CANCELLED
    response = api(client, factory, manager, "DELETE", f"/garages/{window.garage_id}/overrides/{closed['id']}")
    assert response.status_code == 200, response.json
    reopened = fresh(Window, window.id)
    assert (reopened.state, reopened.quota, reopened.closed_reason) == (WindowState.PLANNED, 3, None)
    user, plate = factory.resident(window.garage)
    booked = client.post(
        "/api/v1/bookings", json={"window_id": window.id, "plate": plate}, headers=factory.headers(user)
    )
    assert booked.status_code == 201
