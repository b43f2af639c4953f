"""Scenario and worker helpers for the tide tests (the worker must be importable by spawned
processes, hence a module of its own)."""

from __future__ import annotations

import multiprocessing
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from parking.audit.models import AuditEvent
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.extensions import db
from parking.households.models import Household, Strike
from parking.notifications.models import Notification
from parking.windows.models import Garage, Window

SH = ZoneInfo("Asia/Shanghai")
TIDE_KINDS = ("no_show", "reclaim_reminder", "overstayed", "suspended")


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in Shanghai in December 2026 (T0 is 1 Dec 10:00)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SH)


def check_in(booking: Booking, *, inside: bool = True) -> None:
    """What the gate does (the only columns the tide and the gate share)."""
    booking = db.session.get(Booking, booking.id)
    window = db.session.get(Window, booking.window_id)
    booking.status = BookingStatus.CHECKED_IN
    booking.inside = True
    booking.entered_at = window.opens_at + timedelta(minutes=30)
    if not inside:
        booking.inside = False
        booking.exited_at = window.opens_at + timedelta(hours=2)
    db.session.commit()


@dataclass
class Scenario:
    garage: Garage
    windows: dict[int, Window]  # by day of December
    offender: Household
    bookings: dict[str, list[int]] = field(default_factory=dict)


def busy_nights(factory) -> Scenario:
    """Three nights (1 to 3 Dec) of one garage, to be settled at 4 Dec 07:10:

    - 1 Dec (quota 9): 4 confirmed who never come (one is the offender's), 3 cars still inside,
      2 that came and left, 2 waitlisted;
    - 2 Dec: the offender again, never comes;
    - 3 Dec: the offender a third time, never comes; 2 cars inside when the reminder is due.
    """
    template = factory.template(default_quota=9)
    garage = template.garage
    windows = {d: factory.window(template=template, quota=9, day=sh(d, 0).date()) for d in (1, 2, 3)}
    offender = factory.household(garage)
    user, plate = offender.members[0], offender.vehicles[0].plate
    b: dict[str, list[int]] = {"no_show": [], "inside": [], "left": [], "waitlisted": [], "remind": []}
    for d in (1, 2, 3):
        b["no_show"].append(factory.booking(windows[d], user=user, plate=plate).id)
    b["no_show"] += [factory.booking(windows[1]).id for _ in range(3)]
    for _ in range(3):
        booking = factory.booking(windows[1])
        check_in(booking)
        b["inside"].append(booking.id)
    for _ in range(2):
        booking = factory.booking(windows[1])
        check_in(booking, inside=False)
        b["left"].append(booking.id)
    b["waitlisted"] += [factory.booking(windows[1], waitlist=True).id for _ in range(2)]
    for _ in range(2):
        booking = factory.booking(windows[3])
        check_in(booking)
        b["remind"].append(booking.id)
    return Scenario(garage, windows, offender, b)


SETTLE_AT = sh(4, 7, 10)

#: What settling `busy_nights` must leave, however many passes ran.
EXPECTED_AUDIT = Counter(
    {
        "window.opened": 3,
        "window.closed": 2,
        "booking.no_show": 6,
        "booking.overstayed": 3,
        "booking.completed": 2,
        "booking.reminded": 2,
        "booking.waitlist_expired": 2,
        "household.suspended": 1,
    }
)
EXPECTED_NOTES = Counter({"no_show": 6, "overstayed": 3, "reclaim_reminder": 2, "suspended": 1})


def tide_audit() -> Counter:
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor_id.is_(None)))
    return Counter(a for a in actions if a.startswith(("window.", "booking.", "household.suspended")))


def tide_notes() -> Counter:
    kinds = db.session.scalars(sa.select(Notification.kind).where(Notification.kind.in_(TIDE_KINDS)))
    return Counter(kinds)


def strikes() -> Counter:
    return Counter(k.value for k in db.session.scalars(sa.select(Strike.kind)))


def statuses(ids: list[int]) -> list[str]:
    return [db.session.get(Booking, i).status.value for i in ids]


def counters_match_holders() -> bool:
    """Every window's counter equals the bookings that hold a space in it."""
    for window in db.session.scalars(sa.select(Window)):
        holding = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Booking)
            .where(Booking.window_id == window.id, Booking.status.in_(SPACE_HOLDING))
        )
        if holding != window.booked:
            return False
    return True


def assert_busy_nights_settled(s: Scenario) -> None:
    db.session.expire_all()
    assert tide_audit() == EXPECTED_AUDIT
    assert tide_notes() == EXPECTED_NOTES
    assert strikes() == Counter({"no_show": 6, "overstay": 3})
    assert statuses(s.bookings["no_show"]) == ["no_show"] * 6
    assert statuses(s.bookings["inside"]) == ["overstayed"] * 3
    assert statuses(s.bookings["left"]) == ["completed"] * 2
    assert statuses(s.bookings["waitlisted"]) == ["cancelled"] * 2
    assert statuses(s.bookings["remind"]) == ["checked_in"] * 2
    assert all(db.session.get(Booking, i).reminded_at == SETTLE_AT for i in s.bookings["remind"])
    assert [db.session.get(Window, s.windows[d].id).state.value for d in (1, 2, 3)] == ["closed", "closed", "open"]
    assert [db.session.get(Window, s.windows[d].id).booked for d in (1, 2, 3)] == [3, 0, 2]
    assert counters_match_holders()
    offender = db.session.get(Household, s.offender.id)
    assert offender.suspended_until == SETTLE_AT + timedelta(days=14)


def tide_worker(url: str, now_iso: str, serialise: bool, barrier, results, batch: int | None = None) -> None:
    """One scheduler instance: its own app, engine and connection; waits for the others, then
    runs one pass at the same instant and commits. With `batch`: as the scheduler's job does
    (`run_tide(commit=…)`, the retention's further batches each committed), `batch` rows a table
    a batch."""
    try:
        from config import TestConfig
        from parking import create_app
        from parking.tide import retention
        from parking.tide.services import run_tide

        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            db.session.execute(sa.select(1))  # connect before the start signal
            db.session.rollback()
            barrier.wait(timeout=60)
            now = datetime.fromisoformat(now_iso)
            if batch is None:
                summary = run_tide(now, serialise=serialise)
            else:
                retention.BATCH = batch
                summary = run_tide(now, serialise=serialise, commit=db.session.commit)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        results.put(("ok", summary))
    except Exception:
        results.put(("error", traceback.format_exc()))


def race_tide_processes(
    app, now: datetime, serialise: bool, processes: int = 3, batch: int | None = None
) -> list[dict]:
    """Run the tide at `now` in `processes` separate processes released together; their summaries.
    The processes fork from a forkserver that imported the app's code once: each still builds its
    own app, engine and connections, but the suite does not pay for importing Flask each time."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["config", "parking", "parking.tide.services", "tests.tide_helpers"])
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    workers = [
        ctx.Process(target=tide_worker, args=(url, now.isoformat(), serialise, barrier, results, batch))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    errors = [detail for status, detail in outcomes if status != "ok"]
    assert not errors, errors[0]
    return [detail for _status, detail in outcomes]
