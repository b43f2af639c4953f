"""`bench/instructions.py`: its count is read from callgrind's summary, and the bookings it counts
are confirmations at any hour (the seed made with the clock at several hours of the Shanghai day,
the requests answered by the bench's own app on the test database)."""

from __future__ import annotations

import pytest

from bench import common, instructions
from parking.bookings.models import Booking, BookingStatus
from tests.test_bench_seeds import HOURS, _at


def test_the_count_is_read_from_callgrinds_summary():
    summary = (
        "==4242== Events    : Ir\n==4242== Collected : 1,414,714,683\n==4242==\n==4242== I   refs:      1,414,714,683\n"
    )
    assert instructions.collected(summary) == 1_414_714_683
    with pytest.raises(SystemExit, match="no count"):
        instructions.collected("==4242== valgrind: the program crashed\n")


@pytest.mark.parametrize(("hour", "minute"), HOURS[::2], ids=[f"{h:02d}{m:02d}" for h, m in HOURS[::2]])
def test_the_counted_bookings_are_confirmed_at_any_hour(app, db, monkeypatch, hour, minute):
    monkeypatch.setattr(common, "SECRET_KEY", app.config["SECRET_KEY"])
    _at(hour, minute)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    spec = {"booking_url": url, "bookings": instructions.bookings(url, 3)}
    for book in instructions.requesters("booking", spec):
        book()  # each asserts its 201
    db.session.expire_all()
    held = db.session.scalars(db.select(Booking.status)).all()
    assert held == [BookingStatus.CONFIRMED] * 3
