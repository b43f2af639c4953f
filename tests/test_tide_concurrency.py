"""Exactly once under real concurrency: several scheduler instances (processes, each with its own
app, engine and connections) run the same tide pass at the same moment, against the SQLite file
database and PostgreSQL. Every transition, strike, notification and audit event happens once, and
every row past its retention is masked and counted once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from parking.audit.models import AuditEvent
from parking.bookings.models import Booking
from parking.extensions import db as _db
from parking.gate.models import PlateEvent, Scan
from parking.notifications.models import Notification
from parking.tide import retention
from parking.tide.retention import anonymise
from parking.tide.services import drain_retention, run_tide
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


PERSONAL = {
    "audit_events": AuditEvent,
    "bookings": Booking,
    "notifications": Notification,
    "plate_events": PlateEvent,
    "scans": Scan,
}


def _stamped(db, at) -> dict[str, int]:
    """Rows of each personal table the tide stamped as masked at `at`."""
    db.session.expire_all()
    return {
        name: db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.anonymised_at == at))
        for name, model in PERSONAL.items()
    }


@pytest.mark.parametrize("serialise", [True, False], ids=["whole-pass-with-advisory-lock", "row-locks-only"])
def test_three_scheduler_processes_draining_the_retention_backlog_mask_each_row_once(app, db, factory, serialise):
    """The job's path (`run_tide(commit=…)`): a pass masks a batch of 2 rows a table, then further
    batches each in its own transaction while they come back full; three processes drain the
    same backlog at once, and between them count each masked row once."""
    busy_nights(factory)
    run_tide(SETTLE_AT)
    db.session.commit()
    later = SETTLE_AT + timedelta(days=400)
    summaries = race_tide_processes(app, later, serialise, batch=2)
    stamped = _stamped(db, later)
    counted = {name: sum(s[f"anonymised_{name}"] for s in summaries) for name in PERSONAL}
    assert counted == stamped, (counted, stamped)
    assert stamped["audit_events"] > 2 * 3 and stamped["bookings"] > 2, stamped  # batches were repeated
    assert all(n == 0 for n in anonymise(later).values())  # nothing left due
    db.session.rollback()
    assert all("*" in b.plate for b in db.session.scalars(sa.select(Booking).where(Booking.anonymised_at == later)))


def test_a_pass_masks_a_bounded_batch_and_the_drain_the_rest_once(app, db, factory, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    busy_nights(factory)
    run_tide(SETTLE_AT)
    db.session.commit()
    later = SETTLE_AT + timedelta(days=400)
    first = anonymise(later)
    db.session.commit()
    assert max(first.values()) == 2 and first["anonymised_audit_events"] == 2, first
    drained = drain_retention(later, db.session.commit)
    stamped = _stamped(db, later)
    assert {name: first[f"anonymised_{name}"] + drained[f"anonymised_{name}"] for name in PERSONAL} == stamped
    assert all(n == 0 for n in anonymise(later).values())
