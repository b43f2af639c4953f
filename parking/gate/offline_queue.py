"""The queue of scans a gate device judged offline, uploaded when the network returns.

Each queued scan is recorded once (its idempotency key, as an online scan), flagged `offline` with
its device time, and judged by the server *at that device time*, in device-time order, so that
anti-passback holds across the queue: a pass valid then is valid, a booking revoked before then is
refused. Where the server's judgement differs from what happened at the barrier, the scan carries
a conflict; each conflict is audited and the garage's managers are notified.

What the server changes: the booking moves (in or out) only when the server accepts the scan, the
device did not refuse it, and no later gate record of the booking exists. A device that refused a
car kept the barrier closed, so the server does not move the car either.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from parking import catalogue, plates
from parking.audit.services import record
from parking.auth.access import require_gate_staff
from parking.auth.models import GarageStaff, Role, User
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.extensions import db
from parking.gate import conflicts
from parking.gate import services as gate
from parking.gate.models import Direction, Scan, ScanResult
from parking.notifications.services import notify
from parking.passes import offline
from parking.windows.models import Garage

#: A device clock this far ahead of the server's is wrong; its scans are not judged.
MAX_AHEAD = timedelta(minutes=5)
#: No window is longer than a day: an older device time cannot concern a window still open.
MAX_AGE = timedelta(hours=24)
CONFLICT_DAYS = 7
CONFLICT_LIMIT = 200

DEVICE_TIME_IN_FUTURE = "device_time_in_future"
DEVICE_TIME_TOO_OLD = "device_time_too_old"
REFUSED_OFFLINE = "refused_offline"

_REASON_CONFLICTS = {
    offline.REVOKED: conflicts.REVOKED_MEANWHILE,
    gate.ALREADY_INSIDE: conflicts.SCANNED_ELSEWHERE,
    gate.NOT_INSIDE: conflicts.NOT_INSIDE,
}
_MANAGERS = (
    sa.select(User.id)
    .join(GarageStaff, GarageStaff.user_id == User.id)
    .where(GarageStaff.garage_id == sa.bindparam("garage_id"), User.role == Role.MANAGER, User.active.is_(True))
)


def _fingerprint(item: dict, device_time: datetime) -> str:
    offline_result = item.get("offline_result")
    body = [
        "offline",
        item.get("token"),
        item.get("plate"),
        item["direction"].value,
        item.get("plate_seen"),
        device_time.isoformat(),
        offline_result.value if offline_result is not None else None,
    ]
    return hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()


def _revoked_at(booking: Booking) -> datetime:
    """When the booking stopped holding a space: its cancellation, else its last status change."""
    return booking.cancelled_at or booking.updated_at


def _check(booking: Booking, direction: Direction) -> str | None:
    """What `gate._apply` would answer, without changing anything."""
    if direction == Direction.IN:
        if booking.inside:
            return gate.ALREADY_INSIDE
        if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN):
            return offline.EXPIRED if booking.status == BookingStatus.OVERSTAYED else offline.REVOKED
        return None
    return None if booking.inside else gate.NOT_INSIDE


class _Judgement:
    """The offline rules around `gate._apply`, for one queued scan."""

    def __init__(self, now: datetime, device_time: datetime, offline_result: ScanResult | None) -> None:
        self.now = now
        self.device_time = device_time
        self.offline_result = offline_result
        self.conflict: str | None = None

    def too_old(self, booking: Booking | None) -> bool:
        return booking is not None and self.now >= gate._exit_deadline(booking)

    def apply(self, actor: User | None, booking: Booking, direction: Direction, at: datetime) -> str | None:
        if self.too_old(booking):
            return DEVICE_TIME_TOO_OLD
        if direction == Direction.IN and booking.status not in SPACE_HOLDING and _revoked_at(booking) > at:
            self.conflict = conflicts.REVOKED_MEANWHILE  # valid then; the space is gone now
            return None
        last = max((t for t in (booking.entered_at, booking.exited_at) if t is not None), default=None)
        if last is not None and last > at:
            # The booking has a later gate record (another gate, online or uploaded first): this
            # older scan cannot be replayed under it.
            self.conflict = conflicts.SCANNED_ELSEWHERE
            return gate.ALREADY_INSIDE if direction == Direction.IN and booking.inside else None
        if self.offline_result == ScanResult.REJECTED:
            reason = _check(booking, direction)
            if reason is None:
                self.conflict = conflicts.RESULT_MISMATCH
                return REFUSED_OFFLINE
            return reason
        return gate._apply(actor, booking, direction, at)

    def settle(
        self, reason: str | None, booking: Booking | None, direction: Direction
    ) -> tuple[str | None, str | None]:
        """(reason, conflict) of the scan once judged."""
        unapplied = reason != REFUSED_OFFLINE and self.conflict is None
        if reason == DEVICE_TIME_TOO_OLD or (unapplied and self.too_old(booking)):
            return DEVICE_TIME_TOO_OLD, None
        if self.conflict is not None:
            return reason, self.conflict
        if (
            reason == offline.REVOKED
            and direction == Direction.IN
            and booking is not None
            and _revoked_at(booking) > self.device_time
        ):
            return None, conflicts.REVOKED_MEANWHILE  # refused by `verify` on today's status; valid then
        if reason is None or self.offline_result == ScanResult.REJECTED:
            return reason, None
        conflict = _REASON_CONFLICTS.get(reason)
        if conflict is None and self.offline_result == ScanResult.ACCEPTED:
            conflict = conflicts.RESULT_MISMATCH
        return reason, conflict


@dataclass(frozen=True)
class OfflineAnswer:
    """The server's answer to one scan judged offline, as recorded (`OfflineAnswerSchema`)."""

    id: int
    idempotency_key: str
    result: ScanResult
    reason: str | None
    message: Any
    conflict: str | None
    conflict_message: Any
    booking: int | None
    plate: str | None
    direction: Direction
    device: str | None
    device_time: datetime | None
    offline_result: ScanResult | None
    at: datetime
    recorded: bool = True


@dataclass(frozen=True)
class UnrecordedScan:
    """A scan of a queue answered but not stored: its key was used for another scan. It has no
    id, way, device or time of its own (the API's answer leaves them out)."""

    idempotency_key: str
    reason: str
    message: Any
    device_time: datetime
    result: ScanResult = ScanResult.REJECTED
    conflict: None = None
    booking: None = None
    plate: None = None
    recorded: bool = False


def upload(
    actor: User, garage_id: int, device: str, scans: list[dict], now: datetime
) -> list[OfflineAnswer | UnrecordedScan]:
    """Record a device's queue; the answers in the order of `scans`."""
    garage = require_gate_staff(actor, garage_id)
    answers: list[OfflineAnswer | UnrecordedScan | None] = [None for _ in scans]
    managers: list[int] | None = None
    for index in sorted(range(len(scans)), key=lambda i: (scans[i]["device_time"], i)):
        scan, fresh = _record(actor, garage, device, scans[index], now)
        if isinstance(scan, UnrecordedScan):
            answers[index] = scan
            continue
        if fresh and scan.conflict is not None:
            if managers is None:
                managers = list(db.session.scalars(_MANAGERS, {"garage_id": garage.id}))
            _report(actor, garage, scan, managers, now)
        answers[index] = answer_view(scan)
    return [answer for answer in answers if answer is not None]


def _record(actor: User, garage: Garage, device: str, item: dict, now: datetime) -> tuple[Scan | UnrecordedScan, bool]:
    device_time: datetime = item["device_time"]
    direction: Direction = item["direction"]
    key = item["idempotency_key"]
    try:
        stored, fresh = gate._claim(
            garage.id,
            key,
            _fingerprint(item, device_time),
            actor,
            direction,
            device,
            now,
            device_time=device_time,
            offline_result=item.get("offline_result"),
        )
    except gate.IdempotencyKeyReused as exc:
        # One bad key must not block the rest of a queue: this scan alone is answered, not stored.
        return UnrecordedScan(key, exc.reason, exc.message, device_time), False
    if not fresh:
        return stored, False
    token, plate = item.get("token"), item.get("plate")
    seen = plates.normalise(item["plate_seen"]) if item.get("plate_seen") else None
    booking: Booking | None = None
    claimed_plate: str | None = None
    conflict: str | None = None
    if device_time > now + MAX_AHEAD:
        reason: str | None = DEVICE_TIME_IN_FUTURE
    elif device_time < now - MAX_AGE:
        reason = DEVICE_TIME_TOO_OLD
    else:
        judgement = _Judgement(now, device_time, item.get("offline_result"))
        # The gate's one decision, as at the device's time; always the window lock for a pass: an
        # offline exit may come after the exit grace of its night.
        reason, booking, claimed_plate = gate.judge(
            actor,
            garage,
            direction=direction,
            now=device_time,
            token=token,
            plate=plate,
            seen=seen,
            apply=judgement.apply,
            may_release=True if token is not None else None,
        )
        reason, conflict = judgement.settle(reason, booking, direction)
    gate.fill(stored, token is None, seen, reason, booking, claimed_plate)
    stored.conflict = conflict
    db.session.flush()
    return stored, True


def _report(actor: User, garage: Garage, scan: Scan, managers: list[int], now: datetime) -> None:
    record(
        actor,
        "scan.conflict",
        scan,
        after={
            "conflict": scan.conflict,
            "result": scan.result,
            "reason": scan.reason,
            "booking_id": scan.booking_id,
            "device": scan.device,
            "device_time": scan.device_time,
            "offline_result": scan.offline_result,
        },
        reason=scan.conflict,
        at=now,
    )
    assert scan.device_time is not None
    # A local minute, said in words when the notice is read ("12月1日 23:10").
    local = scan.device_time.astimezone(ZoneInfo(garage.timezone)).strftime("%Y-%m-%dT%H:%M")
    notify(
        managers,
        "gate_conflict",
        {"plate": scan.plate or "", "conflict": scan.conflict, "time": local, "device": scan.device or ""},
        booking_id=scan.booking_id,
        now=now,
    )


def answer_view(scan: Scan) -> OfflineAnswer:
    return OfflineAnswer(
        id=scan.id,
        idempotency_key=scan.idempotency_key,
        result=scan.result,
        reason=scan.reason,
        message=catalogue.scan_message(scan.reason),
        conflict=scan.conflict,
        conflict_message=catalogue.CONFLICTS.get(scan.conflict) if scan.conflict else None,
        booking=scan.booking_id,
        plate=scan.plate,
        direction=scan.direction,
        device=scan.device,
        device_time=scan.device_time,
        offline_result=scan.offline_result,
        at=scan.at,
    )


def recent_conflicts(actor: User, garage_id: int, now: datetime, days: int = CONFLICT_DAYS) -> list[OfflineAnswer]:
    """The garage's gate conflicts of the last `days` days, newest first (managers and attendants)."""
    require_gate_staff(actor, garage_id)
    rows = db.session.scalars(
        sa.select(Scan)
        .where(Scan.garage_id == garage_id, Scan.conflict.is_not(None), Scan.at >= now - timedelta(days=days))
        .order_by(Scan.at.desc(), Scan.id.desc())
        .limit(CONFLICT_LIMIT)
    )
    return [answer_view(scan) for scan in rows]
