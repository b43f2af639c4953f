"""The benches run at any hour: each bench's seed, made with the clock at several hours of the
Shanghai day, gives requests that the application accepts at that hour (a booking confirmed, an
exit let out, a camera's plate admitted, the night list shown and a form booking made).

The seeds are the benches' own functions (scaled down); their requests are answered by the real
application on the test database, with the clock where the seed found it."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

import pytest

from bench import cameras, common, morning_exit, pages, rush
from bench.camera_client import event_body
from parking import clock
from tests.conftest import SHANGHAI

#: Shanghai wall-clock times across the day: past midnight, the morning exits, midday, the evening
#: release and just before midnight.
HOURS = [(0, 30), (6, 45), (12, 0), (18, 45), (23, 50)]


@pytest.fixture
def bench_db(app, monkeypatch):
    """The test database as the benches see it: their app is built on it with the test's key."""
    monkeypatch.setattr(common, "SECRET_KEY", app.config["SECRET_KEY"])
    return app.config["SQLALCHEMY_DATABASE_URI"]


def _at(hour: int, minute: int) -> datetime:
    instant = datetime(2026, 12, 14, hour, minute, tzinfo=SHANGHAI)
    clock.set_now(instant)
    return instant


def _send(client, request: common.Request):
    if request.raw is not None:
        return client.open(request.path, method=request.method, data=request.raw, headers=request.headers)
    return client.open(request.path, method=request.method, json=request.body, headers=request.headers)


@pytest.mark.parametrize(("hour", "minute"), HOURS, ids=[f"{h:02d}{m:02d}" for h, m in HOURS])
def test_rush_books_at_any_hour(app, bench_db, monkeypatch, hour, minute):
    _at(hour, minute)
    monkeypatch.setattr(rush, "HOUSEHOLDS", 3)
    _, requests = rush.seed(bench_db)
    client = app.test_client()
    answers = [_send(client, r) for r in requests]
    assert [a.status_code for a in answers] == [201] * 3, [a.get_json() for a in answers]
    assert {a.get_json()["status"] for a in answers} == {"confirmed"}


@pytest.mark.parametrize(("hour", "minute"), HOURS, ids=[f"{h:02d}{m:02d}" for h, m in HOURS])
def test_morning_exit_lets_out_at_any_hour(app, bench_db, monkeypatch, hour, minute):
    _at(hour, minute)
    monkeypatch.setattr(morning_exit, "CARS", 3)
    monkeypatch.setattr(morning_exit, "RESENDS", 1)
    _, requests = morning_exit.seed(bench_db)
    client = app.test_client()
    answers = [_send(client, r) for r in requests]
    bodies = [a.get_json() for a in answers]
    assert [a.status_code for a in answers] == [200] * 4, bodies
    assert {b["result"] for b in bodies} == {"accepted"}, bodies


@pytest.mark.parametrize(("hour", "minute"), HOURS, ids=[f"{h:02d}{m:02d}" for h, m in HOURS])
def test_cameras_admit_at_any_hour(app, bench_db, monkeypatch, hour, minute):
    now = _at(hour, minute)
    monkeypatch.setattr(cameras, "CAMERAS", 2)
    monkeypatch.setattr(cameras, "EVENTS_PER_CAMERA", 20)
    _, specs, _, reads = cameras.seed(bench_db)
    client = app.test_client()
    results = []
    for camera in specs:
        headers = {"Authorization": f"Camera {camera.credential}"}
        for n, read in enumerate(reads[camera.camera_id]):
            answer = client.post(
                "/api/v1/gate/plate-events", json=event_body(camera, f"c{n}", read, now), headers=headers
            )
            assert answer.status_code == 200, answer.get_json()
            results.append((read, answer.get_json()["result"]))
    booked = [result for read, result in results if read.confidence >= 0.9 and not read.plate.startswith("琼")]
    assert booked and set(booked) == {"accepted"}, results


@pytest.mark.parametrize(("hour", "minute"), HOURS, ids=[f"{h:02d}{m:02d}" for h, m in HOURS])
def test_pages_show_and_book_at_any_hour(app, bench_db, monkeypatch, hour, minute):
    _at(hour, minute)
    monkeypatch.setattr(pages, "HOUSEHOLDS", 2)
    monkeypatch.setattr(pages, "PAGE_LOADS", 2)
    window_id, loads, bookings = pages.seed(bench_db)
    client = app.test_client(use_cookies=False)
    for load in loads:
        page = _send(client, load)
        assert page.status_code == 200
        assert f'value="{window_id}"' in page.get_data(as_text=True)  # the bench's night takes bookings
    for booking in bookings:
        answer = _send(client, booking)
        assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
        assert urlsplit(answer.headers["Location"]).path != "/nights", "refused and shown again"
