"""Window templates: creation materialises the horizon; schedule and quota changes keep bookings safe."""

from __future__ import annotations

from datetime import time, timedelta

import sqlalchemy as sa

from parking import clock
from parking.bookings.models import BookingStatus
from parking.garages.services import ensure_windows
from parking.windows.models import Window, WindowState, WindowTemplate
from parking.windows.services import today, window_instants
from tests.manager_helpers import actions, api, assert_counter_consistent, assert_error, book_many, fresh, statuses

BODY = {
    "name": "Overnight",
    "weekdays": [1, 2, 3, 4, 5],
    "start_time": "19:30",
    "end_time": "07:00",
    "default_quota": 40,
    "mode": "first_come",
}


def windows_of(db, template_id):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Window).where(Window.template_id == template_id).order_by(Window.id)))


def test_new_template_materialises_its_windows_for_the_horizon(client, factory, db):
    garage = factory.garage(horizon_days=14)
    manager = factory.manager(garage)
    response = api(client, factory, manager, "POST", f"/garages/{garage.id}/templates", json=BODY)
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["weekdays"], body["start_time"], body["end_time"]) == ([1, 2, 3, 4, 5], "19:30", "07:00")
    start = today(garage, clock.now())
    expected = [start + timedelta(days=i) for i in range(15) if (start + timedelta(days=i)).isoweekday() <= 5]
    windows = windows_of(db, body["id"])
    assert [w.service_date for w in windows] == expected
    assert body["windows_created"] == len(expected)
    first = windows[0]
    assert first.quota == 40
    assert first.opens_at.isoformat() == f"{start.isoformat()}T11:30:00+00:00"  # 19:30 in Shanghai
    assert first.closes_at - first.opens_at == timedelta(hours=11, minutes=30)
    assert actions("template", body["id"]) == ["template.created"]
    listed = api(client, factory, manager, "GET", f"/garages/{garage.id}/templates").json
    assert [t["id"] for t in listed] == [body["id"]]
    one = api(client, factory, manager, "GET", f"/garages/{garage.id}/templates/{body['id']}")
    assert one.json["default_quota"] == 40


def test_changing_times_moves_unbooked_future_windows(client, factory, db):
    window = factory.window(quota=10)
    template, garage = window.template, window.garage
    ensure_windows(garage, window.service_date, window.service_date + timedelta(days=3), clock.now(), [template])
    db.session.commit()
    manager = factory.manager(garage)
    response = api(
        client,
        factory,
        manager,
        "PATCH",
        f"/garages/{garage.id}/templates/{template.id}",
        json={"start_time": "20:00", "end_time": "06:30"},
    )
    assert response.status_code == 200, response.json
    template = fresh(WindowTemplate, template.id)
    for w in windows_of(db, template.id):
        assert (w.opens_at, w.closes_at) == window_instants(template, w.service_date, garage.timezone)
        assert w.opens_at.astimezone(garage_tz(garage)).time() == time(20, 0)
    assert "window.rescheduled" in actions("window")
    assert actions("template", template.id)[-1] == "template.updated"


def garage_tz(garage):
    from zoneinfo import ZoneInfo

    return ZoneInfo(garage.timezone)


def test_changing_times_is_refused_while_a_future_window_has_bookings(client, factory, db):
    window = factory.window(quota=10)
    template, garage = window.template, window.garage
    tomorrow = factory.window(template=template, day=window.service_date + timedelta(days=1), quota=10)
    booking = factory.booking(tomorrow)
    (waiting,) = book_many(factory, window, 1)
    manager = factory.manager(garage)
    before = {w.id: (w.opens_at, w.closes_at) for w in windows_of(db, template.id)}

    response = api(
        client,
        factory,
        manager,
        "PATCH",
        f"/garages/{garage.id}/templates/{template.id}",
        json={"start_time": "21:00"},
    )
    body = assert_error(response, 409, "template_has_bookings")
    assert {a["window_id"] for a in body["details"]["affected"]} == {window.id, tomorrow.id}
    assert body["details"]["bookings"] == 2
    assert {w.id: (w.opens_at, w.closes_at) for w in windows_of(db, template.id)} == before
    assert fresh(WindowTemplate, template.id).start_time == time(19, 0)
    assert statuses(tomorrow.id)[booking.id] == BookingStatus.CONFIRMED
    assert waiting.id in statuses(window.id)


def test_dropping_a_weekday_removes_its_unbooked_windows_and_adding_it_back_restores_them(client, factory, db):
    garage = factory.garage()
    manager = factory.manager(garage)
    created = api(
        client,
        factory,
        manager,
        "POST",
        f"/garages/{garage.id}/templates",
        json={**BODY, "weekdays": [1, 2, 3, 4, 5, 6, 7]},
    ).json
    path = f"/garages/{garage.id}/templates/{created['id']}"
    assert len(windows_of(db, created["id"])) == 15

    response = api(client, factory, manager, "PATCH", path, json={"weekdays": [1, 2, 3, 4, 5]})
    assert response.status_code == 200, response.json
    remaining = windows_of(db, created["id"])
    assert all(w.service_date.isoweekday() <= 5 for w in remaining)
    assert len(remaining) < 15

    api(client, factory, manager, "PATCH", path, json={"weekdays": [1, 2, 3, 4, 5, 6, 7]})
    assert len(windows_of(db, created["id"])) == 15


def test_lowering_the_default_quota_follows_the_policy_and_spares_overridden_windows(client, factory, db):
    window = factory.window(quota=5)
    template, garage = window.template, window.garage
    tomorrow = factory.window(template=template, day=window.service_date + timedelta(days=1), quota=5)
    book_many(factory, window, 3)
    book_many(factory, tomorrow, 3)
    manager = factory.manager(garage)
    day = tomorrow.service_date.isoformat()
    kept = api(
        client,
        factory,
        manager,
        "POST",
        f"/garages/{garage.id}/overrides",
        json={"template_id": template.id, "start_date": day, "end_date": day, "quota": 5, "reason": "kept"},
    )
    assert kept.status_code == 201
    path = f"/garages/{garage.id}/templates/{template.id}"

    body = assert_error(
        api(client, factory, manager, "PATCH", path, json={"default_quota": 1}), 409, "quota_below_booked"
    )
    assert body["details"]["affected"] == 2
    assert fresh(WindowTemplate, template.id).default_quota == 5

    response = api(client, factory, manager, "PATCH", path, json={"default_quota": 1, "policy": "bump"})
    assert response.status_code == 200, response.json
    assert response.json["result"]["bumped"] == 2
    assert assert_counter_consistent(window.id).quota == 1
    assert assert_counter_consistent(tomorrow.id).quota == 5  # the override governs it


def test_malformed_templates_get_the_json_error_shape(client, factory, db):
    garage = factory.garage(capacity=100)
    manager = factory.manager(garage)
    path = f"/garages/{garage.id}/templates"
    cases = [
        ({"weekdays": [0, 1]}, "validation_error"),
        ({"weekdays": [8]}, "validation_error"),
        ({"weekdays": []}, "validation_error"),
        ({"weekdays": "Mon"}, "validation_error"),
        ({"start_time": "25:00"}, "validation_error"),
        ({"start_time": "7pm"}, "validation_error"),
        ({"default_quota": -1}, "validation_error"),
        ({"default_quota": 10**9}, "validation_error"),
        ({"default_quota": 101}, "quota_above_capacity"),
        ({"mode": "lottery"}, "validation_error"),
        ({"name": ""}, "validation_error"),
        ({"name": "a\x00b"}, "validation_error"),
    ]
    for patch, reason in cases:
        assert_error(api(client, factory, manager, "POST", path, json={**BODY, **patch}), 422, reason)
    missing = {k: v for k, v in BODY.items() if k != "start_time"}
    assert_error(api(client, factory, manager, "POST", path, json=missing), 422, "validation_error")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WindowTemplate)) == 0

    other = factory.window(quota=1).template
    assert_error(api(client, factory, manager, "GET", f"{path}/{other.id}"), 404, "not_found")
    assert_error(api(client, factory, manager, "PATCH", f"{path}/{other.id}", json={"name": "x"}), 404, "not_found")
    assert_error(api(client, factory, manager, "GET", f"{path}/99999999999"), 404, "not_found")


def test_closed_window_stays_closed_when_the_template_quota_changes(client, factory, db):
    window = factory.window(quota=5)
    manager = factory.manager(window.garage)
    day = window.service_date.isoformat()
    api(
        client,
        factory,
        manager,
        "POST",
        f"/garages/{window.garage_id}/overrides",
        json={
            "template_id": window.template_id,
            "start_date": day,
            "end_date": day,
            "closed": True,
            "reason": "station event",
        },
    )
    api(
        client,
        factory,
        manager,
        "PATCH",
        f"/garages/{window.garage_id}/templates/{window.template_id}",
        json={"default_quota": 8},
    )
    closed = fresh(Window, window.id)
    assert (closed.state, closed.quota) == (WindowState.CANCELLED, 0)


def test_dropped_weekday_window_with_past_cancellations_is_closed_not_deleted(client, factory, db):
    window = factory.window(quota=3)
    template, garage = window.template, window.garage
    tomorrow = factory.window(template=template, day=window.service_date + timedelta(days=1), quota=3)
    booking = factory.booking(tomorrow)
    client.post(f"/api/v1/bookings/{booking.id}/cancel", json={}, headers=factory.headers(booking.household.members[0]))
    manager = factory.manager(garage)
    keep = [d for d in range(1, 8) if d != tomorrow.service_date.isoweekday()]
    path = f"/garages/{garage.id}/templates/{template.id}"
    assert api(client, factory, manager, "PATCH", path, json={"weekdays": keep}).status_code == 200
    kept = fresh(Window, tomorrow.id)
    assert (kept.state, kept.quota, kept.closed_reason) == (WindowState.CANCELLED, 0, "not_scheduled")
    assert statuses(tomorrow.id)[booking.id] == BookingStatus.CANCELLED

    api(client, factory, manager, "PATCH", path, json={"weekdays": [1, 2, 3, 4, 5, 6, 7]})
    revived = fresh(Window, tomorrow.id)
    assert (revived.state, revived.quota) == (WindowState.PLANNED, 3)
