"""`bench/cpu_budget.py`: a confirmation's CPU measured in the application's process and in its
database's backends (on the test database, with the real app), the backends told apart by their
database, and the budget a target ratio leaves."""

from __future__ import annotations

import pytest

from bench import common, cpu_budget, instructions
from parking.bookings.models import Booking, BookingStatus


@pytest.fixture
def bench_db(app, monkeypatch):
    monkeypatch.setattr(common, "SECRET_KEY", app.config["SECRET_KEY"])
    return app.config["SQLALCHEMY_DATABASE_URI"]


def test_a_confirmations_cpu_is_measured_in_the_app_and_in_its_databases_backends(app, db, bench_db, monkeypatch):
    monkeypatch.setattr(cpu_budget, "WARM_UP", 1)
    spec = {"booking_url": bench_db, "bookings": instructions.bookings(bench_db, 4)}
    calls = {"booking": instructions.requesters("booking", spec)}
    database = bench_db.rsplit("/", 1)[1]
    # The test's own session leaves its connection idle in the database meanwhile: it is a backend
    # of the same database, but does no work while the bookings are made.
    db.session.commit()

    cost = cpu_budget.measure(calls, {"booking": database}, 3)["booking"]

    assert cost.requests == 3
    assert cost.app > 0
    if app.config["BACKEND"] == "postgresql":
        assert cost.db > 0  # the backends' CPU, read from /proc, grew with the bookings
    else:
        assert cost.db == 0  # SQLite works inside the app's process: there is no backend to read
    db.session.expire_all()
    assert db.session.scalars(db.select(Booking.status)).all() == [BookingStatus.CONFIRMED] * 4


def test_too_few_requests_for_the_rounds_stop_the_bench():
    with pytest.raises(SystemExit, match="needed"):
        cpu_budget.measure({"bare": [lambda: None] * 3}, {"bare": "x"}, 600)


def test_a_backend_is_counted_for_its_own_database_only():
    title = "postgres: postgres parking_bench_instructions 127.0.0.1(41234) idle"
    assert common.is_backend_of(title, "parking_bench_instructions")
    assert not common.is_backend_of(title, "parking_bench_instructions_pages")
    assert not common.is_backend_of(title.replace("instructions", "instructions_pages"), "parking_bench_instructions")
    assert not common.is_backend_of(
        "python -m bench.cpu_budget parking_bench_instructions ", "parking_bench_instructions"
    )


def test_the_budget_is_the_yardsticks_cost_over_the_target():
    costs = {
        "bare": cpu_budget.Cost(app=0.3, db=0.1, requests=100),  # 4 ms a request
        "booking": cpu_budget.Cost(app=0.9, db=0.3, requests=100),  # 12 ms
        "nights": cpu_budget.Cost(app=0.5, db=0.1, requests=50),  # 12 ms
    }
    rows = {row["request"]: row for row in cpu_budget.budget_rows(costs)}

    assert rows["bare"]["bare ÷ this"] == 1.0
    assert rows["bare"]["target"] == ""
    assert rows["booking"]["total ms"] == 12.0
    assert rows["booking"]["bare ÷ this"] == pytest.approx(1 / 3, abs=1e-3)
    assert rows["booking"]["total for it, at most"] == 8.0  # 4 ms ÷ 0.5
    assert rows["booking"]["app for it, at most"] == 5.0  # what its 3 ms of PostgreSQL leave
    assert rows["nights"]["PostgreSQL ms"] == 2.0
    assert rows["nights"]["app for it, at most"] == 6.0
