"""Exactly once under real concurrency: several scheduler instances (processes, each with its own
app, engine and connections) run the same tide pass at the same moment, against the SQLite file
database and PostgreSQL. Every transition, strike, notification and audit event happens once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from parking.extensions import db as _db
from parking.tide.services import run_tide
from parking.tide.windows import materialise, open_windows
from tests.tide_helpers import SETTLE_AT, assert_busy_nights_settled, busy_nights, race_tide_processes


def _prepare_race(db) -> None:
    """Materialise and open the windows first: creating windows makes concurrent passes queue
    behind each other's inserts, so without this step the race would never reach the bookings."""
    materialise(SETTLE_AT)
    open_windows(SETTLE_AT)
    db.session.commit()


@pytest.mark.parametrize(
    ("serialise", "prepared"),
    [(True, False), (False, True)],
    ids=["whole-pass-with-advisory-lock", "transitions-with-row-guards-only"],
)
def test_three_scheduler_processes_at_the_same_instant_settle_each_transition_once(
    app, db, factory, serialise, prepared
):
    scenario = busy_nights(factory)
    if prepared:
        _prepare_race(db)
    db.session.commit()
    summaries = race_tide_processes(app, SETTLE_AT, serialise)
    # Between them the passes did the work exactly once: the totals are one pass's worth.
    assert sum(s["no_shows"] for s in summaries) == 6
    assert sum(s["overstayed"] for s in summaries) == 3
    assert sum(s["suspended"] for s in summaries) == 1
    assert sum(s["opened"] for s in summaries) == (0 if prepared else 3)
    assert_busy_nights_settled(scenario)


def test_concurrent_passes_in_threads_settle_each_transition_once(app, db, factory):
    scenario = busy_nights(factory)
    _prepare_race(db)
    barrier = threading.Barrier(4)

    def one_pass(serialise: bool) -> dict:
        with app.app_context():
            barrier.wait()
            summary = run_tide(SETTLE_AT, serialise=serialise)
            _db.session.commit()
            return summary

    with ThreadPoolExecutor(max_workers=4) as pool:
        summaries = list(pool.map(one_pass, [True, False, True, False]))
    assert sum(s["no_shows"] for s in summaries) == 6
    assert sum(s["completed"] for s in summaries) == 2
    assert_busy_nights_settled(scenario)
