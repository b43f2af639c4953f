"""The ballot: requests until the close, then one seeded draw, then first come.

- Until `ballot_closes_at` a booking on a ballot night is a request (`requested`): it holds no
  space, one per household and per plate (unique partial indexes). It can be cancelled.
- The draw runs once, at the close, under the window's row lock: by the tide, or by the first
  booking request after the close if the tide has not run yet (invariant 6). A conditional
  `UPDATE … SET drawn_at WHERE drawn_at IS NULL` decides which of several racing passes draws; the
  others find nothing to do. The database refuses any confirmation on the night before its draw
  (CHECK `mode <> 'ballot' OR drawn_at IS NOT NULL OR booked = 0`).
- A request whose household is suspended or no longer verified at the close is withdrawn before
  the draw (it is not an entry).
- The published draw is stored with the window as it was drawn and never rewritten, so that a
  later quota cut (refuse/bump, invariant 3) or cancellation does not change what was published.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from parking.audit.services import record, snapshot
from parking.auth.models import User
from parking.bookings import draw
from parking.bookings.admission import (
    Car,
    check_window,
    hold,
    new_booking,
    notify_household,
    set_status,
    take_space,
    write_booking,
)
from parking.bookings.models import Booking, BookingStatus
from parking.errors import DuplicateBooking, NotFound
from parking.extensions import db
from parking.households.models import Household, HouseholdState
from parking.windows.locking import lock_window
from parking.windows.models import TemplateMode, Window, WindowState

#: A household's weight counts the draws it won in this many days before the close.
WINS_DAYS = 30
WINDOW_DRAW_FIELDS = ("drawn_at", "draw_quota")


def request_entry(actor: User, household: Household, window: Window, vehicle: Car, now: datetime) -> Booking | None:
    """A request for the draw of a ballot night, or None when the draw ran meanwhile (then the
    caller books first come)."""
    locked = lock_window(window.id)
    assert locked is not None
    window = locked
    check_window(window, household, now)
    if not window.awaits_draw or now >= window.ballot_closes_at:  # type: ignore[operator]  # a ballot window has its close instant
        return None
    mine = db.session.execute(
        sa.select(Booking.household_id, Booking.plate).where(
            Booking.window_id == window.id,
            Booking.status == BookingStatus.REQUESTED,
            sa.or_(Booking.household_id == household.id, Booking.plate == vehicle.plate),
        )
    ).first()
    if mine is not None:
        raise DuplicateBooking(details={"status": BookingStatus.REQUESTED.value})
    booking = new_booking(actor, household, window, vehicle, BookingStatus.REQUESTED, now)
    closes = window.ballot_closes_at.astimezone(ZoneInfo(window.garage.timezone))  # type: ignore[union-attr]  # a ballot window has its close instant
    extra = {"draw_date": closes.date().isoformat(), "time": closes.strftime("%H:%M")}
    return write_booking(booking, window, actor, "booking.requested", now, notice="ballot_requested", extra=extra)[0]


def run_due_draws(now: datetime, garage_id: int | None = None) -> dict[str, int]:
    """Run every draw due by `now` (of one garage, or of all): windows locked in id order (as
    every writer locks them), drawn in the order of their closes, so that a draw counts the wins
    of the draws that closed before it."""
    stmt = (
        sa.select(Window)
        .where(
            Window.mode == TemplateMode.BALLOT,
            Window.drawn_at.is_(None),
            Window.ballot_closes_at <= now,
            Window.state != WindowState.CANCELLED,
        )
        .order_by(Window.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if garage_id is not None:
        stmt = stmt.where(Window.garage_id == garage_id)
    due = list(db.session.scalars(stmt))
    summary = {"draws": 0, "drawn_confirmed": 0, "drawn_waitlisted": 0}
    for window in sorted(due, key=lambda w: (w.ballot_closes_at, w.id)):
        result = draw_window(window, now)
        if result is not None:
            summary["draws"] += 1
            summary["drawn_confirmed"] += result[0]
            summary["drawn_waitlisted"] += result[1]
    return summary


def _recent_wins(household_ids: list[int], close: datetime) -> dict[int, int]:
    if not household_ids:
        return {}
    rows = db.session.execute(
        sa.select(Booking.household_id, sa.func.count())
        .where(
            Booking.household_id.in_(household_ids),
            Booking.won_draw_at >= close - timedelta(days=WINS_DAYS),
            Booking.won_draw_at < close,
        )
        .group_by(Booking.household_id)
    ).tuples()
    return dict(rows.all())


def _withdraw_ineligible(requests: list[Booking], close: datetime, now: datetime) -> list[Booking]:
    """The requests whose household may still book at the close; the others are withdrawn."""
    households = {
        h.id: h
        for h in db.session.scalars(sa.select(Household).where(Household.id.in_({b.household_id for b in requests})))
    }
    eligible = []
    for booking in requests:
        household = households[booking.household_id]
        if household.state == HouseholdState.VERIFIED and not household.is_suspended(close):
            eligible.append(booking)
            continue
        why = "household suspended" if household.is_suspended(close) else "household not verified"
        booking.cancelled_at = close
        set_status(
            booking, BookingStatus.CANCELLED, None, close, action="booking.withdrawn", reason=f"{why} at the draw"
        )
        notify_household(booking, "booking_cancelled", now, dedupe=True)
    return eligible


def draw_window(window: Window, now: datetime) -> tuple[int, int] | None:
    """The draw of a locked ballot window: (confirmed, waitlisted), or None when another pass
    drew it first."""
    claimed = db.session.execute(
        sa.update(Window)
        .where(Window.id == window.id, Window.mode == TemplateMode.BALLOT, Window.drawn_at.is_(None))
        .values(drawn_at=now, draw_quota=window.quota)
        .returning(Window.id)
    ).scalar_one_or_none()
    if claimed is None:
        return None
    db.session.refresh(window, ["drawn_at", "draw_quota", "quota", "booked"])
    close = window.ballot_closes_at
    assert close is not None and window.ballot_seed is not None
    requests = list(
        db.session.scalars(
            sa.select(Booking)
            .where(Booking.window_id == window.id, Booking.status == BookingStatus.REQUESTED)
            .order_by(Booking.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    requests = _withdraw_ineligible(requests, close, now) if requests else []
    wins = _recent_wins([b.household_id for b in requests], close)
    entries = [draw.Entry(b.household_id, wins.get(b.household_id, 0), b.priority) for b in requests]
    order = draw.draw(bytes.fromhex(window.ballot_seed), entries, window.quota)
    by_household = {b.household_id: b for b in requests}
    confirmed = waitlisted = 0
    for rank, drawn in enumerate(order, start=1):
        booking = by_household[drawn.household_id]
        booking.draw_rank = rank
        if drawn.result == draw.CONFIRMED:
            # Through the admission core as at the close; nobody held a space before the draw.
            window, slot = take_space(window, booking.household, booking.plate, close, exclude=booking.id)
            hold(booking, window, slot, close)
            booking.won_draw_at = close
            set_status(booking, BookingStatus.CONFIRMED, None, close, action="booking.drawn", reason="won the draw")
            notify_household(booking, "ballot_won", now, dedupe=True)
            confirmed += 1
        else:
            waitlisted += 1
            set_status(
                booking,
                BookingStatus.WAITLISTED,
                None,
                close,
                action="booking.drawn",
                reason=f"not drawn; place {waitlisted} on the waitlist",
            )
            notify_household(booking, "ballot_waitlisted", now, dedupe=True, extra={"position": waitlisted})
    window.draw_entries = [d.as_dict() for d in order]
    db.session.flush()
    record(
        None,
        "window.drawn",
        window,
        before={"drawn_at": None, "draw_quota": None},
        after={**snapshot(window, *WINDOW_DRAW_FIELDS), "confirmed": confirmed, "waitlisted": waitlisted},
        reason="ballot draw",
        at=close,
    )
    return confirmed, waitlisted


@dataclass(frozen=True)
class PublishedDraw:
    """A ballot night's draw as published (`DrawSchema`): the commitment always; after the draw
    the seed, the quota and the entries in draw order (the stored JSON of `draw.Entry`)."""

    window_id: int
    garage_id: int
    service_date: date
    ballot_closes_at: datetime | None
    commitment: str
    drawn: bool
    drawn_at: datetime | None
    requested: int = 0
    seed: str | None = None
    quota: int | None = None
    entries: list[draw.Drawn] | None = None


def published(window_id: int) -> PublishedDraw:
    """`GET /windows/{id}/draw`: the commitment always; after the draw the seed, the quota and
    the entries in draw order, enough for anyone to recompute it (`draw.verify`)."""
    window = db.session.get(Window, window_id)
    if window is None or window.ballot_commitment is None:
        raise NotFound(reason="not_a_ballot")
    view = PublishedDraw(
        window_id=window.id,
        garage_id=window.garage_id,
        service_date=window.service_date,
        ballot_closes_at=window.ballot_closes_at,
        commitment=window.ballot_commitment,
        drawn=window.drawn_at is not None,
        drawn_at=window.drawn_at,
    )
    if window.drawn_at is None:
        requested = (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Booking)
                .where(Booking.window_id == window.id, Booking.status == BookingStatus.REQUESTED)
            )
            or 0
        )
        return replace(view, requested=requested)
    entries = [draw.Drawn(**entry) for entry in window.draw_entries or []]  # the stored JSON of `Drawn.as_dict`
    return replace(view, seed=window.ballot_seed, quota=window.draw_quota, entries=entries)
