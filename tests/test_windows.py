from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from parking import clock
from parking.windows.models import Window
from parking.windows.services import window_instants

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_overnight_window_crosses_midnight_in_the_garage_timezone(factory):
    template = factory.template(start_time=time(19, 0), end_time=time(7, 30))
    opens, closes = window_instants(template, date(2026, 12, 31), "Asia/Shanghai")
    assert opens == datetime(2026, 12, 31, 19, 0, tzinfo=SHANGHAI)
    assert closes == datetime(2027, 1, 1, 7, 30, tzinfo=SHANGHAI)
    assert opens.utcoffset() == timedelta(0)  # stored in UTC


def test_windows_are_listed_with_counts_and_materialised_on_demand(client, factory):
    template = factory.template(default_quota=60)
    garage = template.garage
    response = client.get(f"/api/v1/garages/{garage.id}/windows?from=2026-12-01&to=2026-12-03")
    assert response.status_code == 200
    rows = response.json
    assert [r["service_date"] for r in rows] == ["2026-12-01", "2026-12-02", "2026-12-03"]
    first = rows[0]
    assert set(first) >= {
        "id",
        "template_id",
        "service_date",
        "opens_at",
        "closes_at",
        "quota",
        "booked",
        "available",
        "waitlisted",
        "state",
    }
    assert first["opens_at"] == "2026-12-01T11:00:00+00:00"
    assert first["closes_at"] == "2026-12-01T23:30:00+00:00"
    assert (first["quota"], first["booked"], first["available"], first["waitlisted"]) == (60, 0, 60, 0)
    assert first["state"] == "planned"


def test_window_state_comes_from_the_clock_even_if_no_job_ran(client, factory, db):
    window = factory.window()
    clock.set_now(window.opens_at + timedelta(minutes=1))
    rows = client.get(f"/api/v1/garages/{window.garage_id}/windows?from={window.service_date}&to={window.service_date}")
    assert rows.json[0]["state"] == "open"
    clock.set_now(window.closes_at)
    rows = client.get(f"/api/v1/garages/{window.garage_id}/windows?from={window.service_date}&to={window.service_date}")
    assert rows.json[0]["state"] == "closed"
    assert db.session.get(Window, window.id).state.value == "planned"  # the job never ran


def test_only_template_weekdays_get_windows(client, factory):
    template = factory.template(weekdays=0b0011111)  # Monday to Friday
    rows = client.get(f"/api/v1/garages/{template.garage_id}/windows?from=2026-12-04&to=2026-12-07").json
    assert [r["service_date"] for r in rows] == ["2026-12-04", "2026-12-07"]  # Fri, Mon


def test_windows_beyond_the_horizon_are_not_created(client, factory):
    template = factory.template()
    rows = client.get(f"/api/v1/garages/{template.garage_id}/windows?from=2026-12-14&to=2026-12-20").json
    assert [r["service_date"] for r in rows] == ["2026-12-14", "2026-12-15"]  # today + 14 days


def test_a_listing_shows_nights_not_made_yet_and_concurrent_bookings_make_each_once(app, client, factory, db):
    """A GET never writes: the nights the tide has not made are listed computed from their template,
    without an id. Six residents booking one of them at once through the API make it once and all
    get their space under its lock (booking does not wait for the tide)."""
    template = factory.template()
    url = f"/api/v1/garages/{template.garage_id}/windows?from=2026-12-01&to=2026-12-10"
    rows = client.get(url).json
    assert len(rows) == 10 and {row["id"] for row in rows} == {None}
    assert (rows[2]["service_date"], rows[2]["quota"], rows[2]["available"]) == ("2026-12-03", 60, 60)
    assert db.session.scalar(db.select(db.func.count()).select_from(Window)) == 0
    asks = []
    for _ in range(6):
        user, plate = factory.resident(template.garage)
        asks.append((factory.headers(user), plate))
    body = {"template_id": template.id, "service_date": "2026-12-03"}
    db.session.commit()  # the test's own read ends before the threads write

    def book(ask):
        headers, plate = ask
        return app.test_client().post("/api/v1/bookings", json={**body, "plate": plate}, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(book, asks)) == [201] * 6
    (window,) = db.session.scalars(db.select(Window))
    assert (window.service_date.isoformat(), window.booked) == ("2026-12-03", 6)
    listed = client.get(url).json
    assert [row["id"] for row in listed].count(window.id) == 1 and listed[2]["booked"] == 6


def test_a_booking_names_its_night(client, factory):
    template = factory.template()
    user, plate = factory.resident(template.garage)
    headers = factory.headers(user)
    missing = client.post("/api/v1/bookings", json={"plate": plate, "template_id": template.id}, headers=headers)
    assert missing.status_code == 422 and "window_id" in missing.json["errors"], missing.json
    unknown = {"plate": plate, "template_id": template.id + 1, "service_date": "2026-12-03"}
    assert client.post("/api/v1/bookings", json=unknown, headers=headers).status_code == 404
    beyond = {"plate": plate, "template_id": template.id, "service_date": "2027-03-01"}
    assert client.post("/api/v1/bookings", json=beyond, headers=headers).status_code == 404


def test_bad_ranges_are_refused(client, factory):
    template = factory.template()
    base = f"/api/v1/garages/{template.garage_id}/windows"
    assert client.get(f"{base}?from=2026-12-05&to=2026-12-01").json["error"] == "invalid_range"
    assert client.get(f"{base}?from=2026-01-01&to=2026-12-01").json["error"] == "invalid_range"
    assert client.get(f"{base}?from=yesterday").status_code == 422
    assert client.get("/api/v1/garages/999/windows").status_code == 404


def test_garages_are_public_with_their_rules(client, factory):
    template = factory.template()
    listed = client.get("/api/v1/garages").json
    assert listed[0]["rules"]["booking_cutoff_minutes"] == 120
    assert listed[0]["templates"][0]["weekdays"] == [1, 2, 3, 4, 5, 6, 7]
    assert listed[0]["templates"][0]["start_time"] == "19:00"
    one = client.get(f"/api/v1/garages/{template.garage_id}").json
    assert one["timezone"] == "Asia/Shanghai"
