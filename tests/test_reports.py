"""The nights report: one row per window, counted in one grouped query; CSV for Excel."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import sqlalchemy as sa

from parking import clock
from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db as _db
from parking.windows.models import Window
from tests.manager_helpers import api, assert_error, book_many, check_in


def report(client, factory, manager, garage, query=""):
    return api(client, factory, manager, "GET", f"/garages/{garage.id}/reports/nights{query}")


def set_status(booking_id, status, *, gives_back=False, entered=False):
    booking = _db.session.get(Booking, booking_id)
    booking.status = status
    if entered:
        booking.entered_at = clock.now()
    if gives_back:
        booking.slot = None
        _db.session.execute(sa.update(Window).where(Window.id == booking.window_id).values(booked=Window.booked - 1))
    _db.session.commit()


def busy_night(factory, db):
    window = factory.window(quota=10)
    made = book_many(factory, window, 7)
    check_in(made[0])
    check_in(made[1])
    set_status(made[2].id, BookingStatus.OVERSTAYED, entered=True)
    set_status(made[3].id, BookingStatus.NO_SHOW, gives_back=True)
    set_status(made[4].id, BookingStatus.CANCELLED, gives_back=True)
    set_status(made[5].id, BookingStatus.BUMPED, gives_back=True)
    window = db.session.get(Window, window.id)
    window.quota = 4  # made[6] confirmed + 3 inside = 4 held
    db.session.commit()
    book_many(factory, window, 2, waitlist=True)
    return window


def test_report_counts_each_kind_of_booking_per_window(client, factory, db):
    window = busy_night(factory, db)
    manager = factory.manager(window.garage)
    clock.set_now(window.opens_at + timedelta(hours=4))
    day = window.service_date.isoformat()
    response = report(client, factory, manager, window.garage, f"?from={day}&to={day}")
    assert response.status_code == 200, response.json
    (row,) = response.json["rows"]
    assert row == {
        "service_date": day,
        "window_id": window.id,
        "template": "Overnight",
        "state": "open",
        "quota": 4,
        "booked": 4,
        "checked_in": 3,
        "no_shows": 1,
        "overstays": 1,
        "cancellations": 1,
        "bumped": 1,
        "waitlisted": 2,
        "utilisation": 0.75,  # the window has opened: cars that entered / quota
    }
    assert response.json["totals"]["checked_in"] == 3
    assert response.json["from"] == day


def test_utilisation_before_opening_counts_spaces_held(client, factory, db):
    window = factory.window(quota=4)
    book_many(factory, window, 1)
    manager = factory.manager(window.garage)
    (row,) = report(client, factory, manager, window.garage).json["rows"]
    assert row["utilisation"] == 0.25


def test_report_runs_a_fixed_number_of_queries_whatever_the_number_of_windows(client, factory, db):
    window = factory.window(quota=3)
    manager = factory.manager(window.garage)
    day = window.service_date
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def run(days):
        for i in range(1, days):
            other = factory.window(template=window.template, day=day + timedelta(days=i), quota=3)
            book_many(factory, other, 2)
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = report(client, factory, manager, window.garage, f"?from={day}&to={day + timedelta(days=9)}")
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200
        # Only the report's own queries (the test's session reloads the manager around the request).
        data = [s for s in statements if "FROM windows" in s or "FROM bookings" in s or "JOIN bookings" in s]
        return len(response.json["rows"]), len(data)

    rows_small, queries_small = run(1)
    rows_large, queries_large = run(6)
    assert (rows_small, rows_large) == (1, 6)
    assert queries_small == queries_large == 1


def test_csv_has_a_bom_chinese_headers_and_a_filename(client, factory, db):
    window = factory.window(quota=4)
    book_many(factory, window, 2)
    manager = factory.manager(window.garage)
    day = window.service_date.isoformat()
    response = report(client, factory, manager, window.garage, f"?from={day}&to={day}&format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"nights-{window.garage_id}-{day}-{day}.csv" in disposition
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "服务日期 Service date" and "利用率 Utilisation" in rows[0]
    assert rows[1][0] == day and rows[1][5] == "2"
    assert len(rows) == 2


def test_report_rejects_bad_ranges_and_formats(client, factory):
    window = factory.window(quota=4)
    manager = factory.manager(window.garage)
    garage = window.garage
    assert_error(report(client, factory, manager, garage, "?from=2026-12-05&to=2026-12-01"), 422, "invalid_range")
    assert_error(report(client, factory, manager, garage, "?from=2020-01-01&to=2026-12-01"), 422, "invalid_range")
    assert_error(report(client, factory, manager, garage, "?from=yesterday"), 422, "validation_error")
    assert_error(report(client, factory, manager, garage, "?format=xlsx"), 422, "validation_error")
