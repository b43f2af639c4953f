"""The gate: scans at the barrier and who is inside (a car is inside at most once; a pass admits its night only).

One decision (`judge`) for a pass of any kind, a plate, or a camera's plate event. A token is
judged by `parking.passes.offline.verify`, the same code a gate device runs offline; the server
then adds what only the database knows: whether the booking still holds a space and
whether the car is inside (anti-passback in → out → in). Every scan is stored with its answer; a
re-sent scan (same garage and idempotency key) gets the stored answer and is recorded once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.orm import aliased, contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import AliasedClass

from parking import catalogue, plates
from parking.audit.models import AuditEvent
from parking.audit.services import record, snapshot
from parking.auth.access import require_gate_staff
from parking.auth.models import User
from parking.bookings import strikes
from parking.bookings.admission import release, set_status
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.database import AsLoaded
from parking.dbtypes import UTCDateTime
from parking.extensions import db
from parking.gate.models import Direction, Scan, ScanResult
from parking.idempotency import services as idempotency
from parking.monthly.models import Subscription
from parking.passes import offline
from parking.passes.services import ServerKeys, unix_seconds
from parking.windows.models import Garage, Window

UNKNOWN_BOOKING = "unknown_booking"
ALREADY_INSIDE = "already_inside"
NOT_INSIDE = "not_inside"
NO_BOOKING = "no_booking"
_PENDING = "pending"


class IdempotencyKeyReused(idempotency.IdempotencyKeyReused):
    """The API's `idempotency_key_reused`, said of a scan."""

    message = catalogue.SCAN_REASONS["idempotency_key_reused"].message


def _fingerprint(token: str | None, plate: str | None, direction: str, plate_seen: str | None) -> str:
    body = json.dumps([token, plate, direction, plate_seen], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


# Plain SQL on purpose: SQLAlchemy cannot cache the compiled form of a dialect `insert()` with
# ON CONFLICT, and this statement runs on every scan. Both databases speak this form. It returns
# the whole row, loaded as the Scan itself: no second query for a fresh scan.
_SCAN_COLUMNS = (
    "id, garage_id, idempotency_key, fingerprint, actor_id, device, direction, by_plate, booking_id, plate,"
    " plate_seen, result, reason, at, offline, device_time, offline_result, conflict, plate_event_id, anonymised_at"
)  # the table's columns, in order
_INSERT_SCAN = (
    "INSERT INTO scans (garage_id, idempotency_key, fingerprint, actor_id, device, direction, by_plate,"
    " booking_id, plate, plate_seen, result, reason, at, offline, device_time, offline_result) VALUES"
    " (:garage_id, :key, :fingerprint, :actor_id, :device, :direction, :by_plate, :booking_id, :plate,"
    " :plate_seen, :result, :reason, :at, :offline, :device_time, :offline_result)"
    " ON CONFLICT (garage_id, idempotency_key) DO NOTHING"
)
_CLAIM_TYPES = (sa.bindparam("at", type_=UTCDateTime()), sa.bindparam("device_time", type_=UTCDateTime()))
_CLAIM = sa.select(Scan).from_statement(
    sa.text(f"{_INSERT_SCAN} RETURNING {_SCAN_COLUMNS}").bindparams(*_CLAIM_TYPES).columns(*Scan.__table__.columns)
)
# PostgreSQL: the claim, or in the same statement the answer stored by a scan with the same key
# that had committed when the statement began (a re-sent scan: one statement, not two). A copy
# still in flight when it began is waited for by the INSERT, then read by `_STORED_SCAN`.
# In Core, the scan made from its row (`AsLoaded`, refreshed as `populate_existing` refreshes an
# instance the session had): the ORM set up the loaders of its 20 columns on every scan.
_FRESH = sa.column("fresh", sa.Boolean())
_CLAIM_OR_STORED = (
    sa.text(
        f"WITH claimed AS ({_INSERT_SCAN} RETURNING {_SCAN_COLUMNS})"  # noqa: S608  (module constants only)
        f" SELECT {_SCAN_COLUMNS}, true AS fresh FROM claimed UNION ALL SELECT {_SCAN_COLUMNS}, false"
        " FROM scans WHERE garage_id = :garage_id AND idempotency_key = :key"
        " AND NOT EXISTS (SELECT 1 FROM claimed)"
    )
    .bindparams(*_CLAIM_TYPES)
    .columns(*Scan.__table__.columns, _FRESH)
)


@functools.cache
def _scans() -> AsLoaded[Scan]:
    """A scan made from a row of `_SCAN_COLUMNS`; built on first use (the mappers are configured
    by then)."""
    scans = AsLoaded(Scan)
    assert ", ".join(column.name for column in scans.selected) == _SCAN_COLUMNS, "the scan's columns, in order"
    return scans


# Built once with bound parameters, like every statement a scan runs (docs/benchmarks.md).
_STORED_SCAN = (
    sa.select(Scan)
    .where(Scan.garage_id == sa.bindparam("garage_id"), Scan.idempotency_key == sa.bindparam("key"))
    .execution_options(populate_existing=True)
)
_BOOKING_STATUS = sa.select(Booking.status).where(Booking.id == sa.bindparam("booking_id"))
# The booking row lock of a scan that cannot give a space back (see _locked). FOR NO KEY UPDATE
# (`key_share`), the lock an UPDATE of the row takes itself: a pass's scan row is claimed with
# its booking id, which holds the booking's key share until commit, so FOR UPDATE here would
# deadlock two copies of one pass scanned at once, each waiting for the other's claim.
_LOCK_BOOKING = (
    sa.select(Booking)
    .options(joinedload(Booking.window))
    .where(Booking.id == sa.bindparam("booking_id"))
    .with_for_update(of=Booking, key_share=True)
    .execution_options(populate_existing=True)
)
# The window lock first, then the booking's: the order of every writer of the counter.
_LOCK_WINDOW_OF_BOOKING = (
    sa.select(Window)
    .where(Window.id == sa.select(Booking.window_id).where(Booking.id == sa.bindparam("booking_id")).scalar_subquery())
    .with_for_update()
    .execution_options(populate_existing=True)
)
_LOCK_BOOKING_ROW = (
    sa.select(Booking)
    .where(Booking.id == sa.bindparam("booking_id"))
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)


#: A claimed scan's row until its decision is written.
_UNDECIDED: dict[str, object] = {
    "by_plate": False,
    "booking_id": None,
    "plate": None,
    "plate_seen": None,
    "result": ScanResult.REJECTED.value,
    "reason": _PENDING,
}


def _claim(
    garage_id: int,
    key: str,
    fingerprint: str,
    actor: User | None,
    direction: Direction,
    device: str | None,
    now: datetime,
    *,
    device_time: datetime | None = None,
    offline_result: ScanResult | None = None,
    answer: dict[str, object] | None = None,
) -> tuple[Scan, bool]:
    """Insert the scan row first, `ON CONFLICT DO NOTHING`: of two identical scans at once, the
    second waits on the unique index until the first commits, then reads its answer. Returns
    (scan, fresh). A `device_time` marks a scan judged offline by a gate device. `actor` is None
    for a plate camera's own decision. `answer` is what the row says until `fill` writes the
    decision (`_Target.answer`): by default a rejection pending its reason."""
    params = {
        "garage_id": garage_id,
        "key": key,
        "fingerprint": fingerprint,
        "actor_id": actor.id if actor is not None else None,
        "device": device,
        "direction": direction.value,
        **(answer or _UNDECIDED),
        "at": now,
        "offline": device_time is not None,
        "device_time": device_time,
        "offline_result": offline_result.value if offline_result is not None else None,
    }
    scan: Scan | None
    if db.engine.dialect.name == "postgresql":
        row = db.session.execute(_CLAIM_OR_STORED, params).first()
        scan, fresh = (
            (_scans().adopt(db.session(), row, 0, refresh=True), bool(row[-1])) if row is not None else (None, False)
        )
    else:
        scan = db.session.scalar(_CLAIM, params)
        fresh = scan is not None
    if scan is None:
        scan = db.session.scalar(_STORED_SCAN, {"garage_id": garage_id, "key": key})
    assert scan is not None
    if not fresh and scan.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return scan, fresh


def scan(
    actor: User,
    garage_id: int,
    *,
    direction: Direction,
    idempotency_key: str,
    now: datetime,
    token: str | None = None,
    plate: str | None = None,
    plate_seen: str | None = None,
    device: str | None = None,
) -> Scan:
    """Judge one scan by token or by plate, apply it to the booking, and store it."""
    garage = require_gate_staff(actor, garage_id)
    return run_scan(
        garage,
        actor,
        direction=direction,
        idempotency_key=idempotency_key,
        now=now,
        token=token,
        plate=plate,
        plate_seen=plate_seen,
        device=device,
    )


def scan_image(
    actor: User,
    garage_id: int,
    image: bytes,
    *,
    direction: Direction,
    idempotency_key: str,
    now: datetime,
    plate_seen: str | None = None,
    device: str | None = None,
) -> Scan:
    """A scan of the QR code found in a photo: staff first (a stranger's upload is not decoded)."""
    from parking.gate.images import read_qr

    garage = require_gate_staff(actor, garage_id)
    return run_scan(
        garage,
        actor,
        direction=direction,
        idempotency_key=idempotency_key,
        now=now,
        token=read_qr(image),
        plate_seen=plate_seen,
        device=device,
    )


def run_scan(
    garage: Garage,
    actor: User | None,
    *,
    direction: Direction,
    idempotency_key: str,
    now: datetime,
    token: str | None = None,
    plate: str | None = None,
    plate_seen: str | None = None,
    device: str | None = None,
    plate_event_id: int | None = None,
) -> Scan:
    """The scan itself, once the caller is known to act for `garage` (staff, or a camera of it).

    With `plate_event_id` the scan judges that camera event, which the caller has claimed already
    (its unique (camera, event id) records it once): the scan row is then inserted with the
    decision, instead of being claimed first.

    The usual scan (a first entry, an exit within the grace, by pass or by plate) is decided by
    one conditional `UPDATE bookings … RETURNING` whose WHERE clause is the rule (`_passage`), and
    audited by one INSERT: a pass's scan row is claimed with the answer it gets if that UPDATE
    matches, so an accepted pass scan is the claim, the UPDATE and the audit row. Anything else
    (a refusal, a re-entry, a month's pass, an exit that gives a space back) matched nothing and
    changed nothing, and is judged by `judge` under the booking's lock."""
    fingerprint = _fingerprint(token, plate, direction.value, plate_seen)
    seen = plates.normalise(plate_seen) if plate_seen else None
    target = _target(garage, token, plate, direction, seen, now)
    if plate_event_id is not None:
        stored = Scan(
            garage_id=garage.id,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            actor_id=actor.id if actor is not None else None,
            device=device,
            direction=direction,
            at=now,
            offline=False,
            plate_event_id=plate_event_id,
            by_plate=token is None,
            plate=target.plate[:16] if target.plate else None,
            plate_seen=seen[:16] if seen else None,
        )
    else:
        stored, fresh = _claim(
            garage.id, idempotency_key, fingerprint, actor, direction, device, now, answer=target.answer(seen)
        )
        if not fresh:
            return stored
    new_scan = stored if plate_event_id is not None else None
    passed = _passage(garage, target, direction, now, actor, new_scan) if target.possible else None
    if passed is not None:
        booking_id, inserted = passed
        if inserted is not None:  # a camera event's scan row, inserted with the decision
            return inserted
        if plate_event_id is not None or target.booking_id is None:  # not claimed with its answer
            fill(stored, token is None, seen, None, booking_id, target.plate)
    else:
        reason, booking, claimed_plate = judge(
            actor, garage, direction=direction, now=now, token=token, plate=plate, seen=seen
        )
        fill(stored, token is None, seen, reason, booking, claimed_plate)
    if plate_event_id is not None:
        db.session.add(stored)
    db.session.flush()
    return stored


@dataclass(frozen=True)
class _Target:
    """What the one conditional UPDATE (`_passage`) is tried on: a night pass's booking (checked
    already: genuine, of this garage, in its validity, its plate seen) or a plate read as valid.
    `possible` is False for what only `judge` decides (a month's pass, a pass refused as it
    stands, a plate that is not one)."""

    possible: bool
    booking_id: int | None = None
    plate: str | None = None

    def answer(self, seen: str | None) -> dict[str, object]:
        """The claimed row: a pass's scan says at once the answer it gets if the UPDATE matches
        (so that accepting it writes no second row change); any other is a pending rejection."""
        if self.booking_id is None:
            return {**_UNDECIDED, "by_plate": self.plate is not None, "plate_seen": seen[:16] if seen else None}
        return {
            "by_plate": False,
            "booking_id": self.booking_id,
            "plate": self.plate[:16] if self.plate else None,
            "plate_seen": seen[:16] if seen else None,
            "result": ScanResult.ACCEPTED.value,
            "reason": None,
        }


_JUDGE_ONLY = _Target(False)


def _target(
    garage: Garage, token: str | None, plate: str | None, direction: Direction, seen: str | None, now: datetime
) -> _Target:
    """A night pass as `offline.verify` judges it with nothing revoked (whether its booking still
    holds a space is the UPDATE's `status` rule; refused, `judge` verifies it again with the
    revocation list and says why), or the plate typed or read."""
    if token is None:
        parsed = plates.parse(plate or "")
        return _Target(True, None, parsed) if parsed is not None else _JUDGE_ONLY
    if offline.token_kind(token).name != "night":
        return _JUDGE_ONLY
    decision = offline.verify(
        token, ServerKeys(), garage_id=garage.id, at=now, direction=direction.value, plate_seen=seen
    )
    if not decision.ok or decision.claims is None:
        return _JUDGE_ONLY
    return _Target(True, decision.claims.booking_id, decision.claims.plate)


class _Passed(NamedTuple):
    """The booking a conditional UPDATE let through, as it returned it."""

    id: int
    plate: str
    slot: int | None
    priority: bool
    late_cancel: bool


_PASSED = (Booking.id, Booking.plate, Booking.slot, Booking.priority, Booking.late_cancel)
_NOW = sa.bindparam("now", type_=UTCDateTime())
# The rules of `_apply` that need no lock, in the WHERE clause: a first entry (confirmed, not
# inside) becomes checked in; a car inside, checked in, whose night has not passed its exit grace,
# leaves. Anything else matches nothing and is left to `judge`: re-entry, the exit of an
# overstayed car (it gives a space back: the window lock), refusals.
_ENTERING = (Booking.status == BookingStatus.CONFIRMED, Booking.inside.is_(False))
_ENTERED = {"status": BookingStatus.CHECKED_IN, "inside": True, "entered_at": _NOW, "updated_at": _NOW}
_LEAVING = (
    Booking.status == BookingStatus.CHECKED_IN,
    Booking.inside.is_(True),
    sa.exists().where(
        Window.id == Booking.window_id, Window.closes_at > sa.bindparam("exit_from", type_=UTCDateTime())
    ),
)
_LEFT = {"inside": False, "exited_at": _NOW, "updated_at": _NOW}
_BY_PASS = (
    Booking.id == sa.bindparam("booking_id"),
    Booking.garage_id == sa.bindparam("at_garage"),
    Booking.plate == sa.bindparam("the_plate"),
)


def _holding_now(booking: type[Booking] | AliasedClass[Booking], selected: Any) -> sa.Select:
    """The rule "the plate's booking that holds a space in a current window" (with the early-entry
    and exit graces), written once: the first such booking of the plate at this garage, as
    `selected`. `booking` is the entity (or an alias of it, inside an UPDATE of bookings). Both the
    conditional UPDATE's subquery (`_PLATE_NOW`) and the judge's locked look-up
    (`_PLATE_HOLDING_NOW`) are built from it."""
    return (
        sa.select(selected)
        .join(Window, Window.id == booking.window_id)
        .where(
            booking.garage_id == sa.bindparam("at_garage"),
            booking.plate == sa.bindparam("the_plate"),
            booking.status.in_(SPACE_HOLDING),
            Window.closes_at > sa.bindparam("after", type_=UTCDateTime()),
            Window.opens_at <= sa.bindparam("opens_before", type_=UTCDateTime()),
        )
        .order_by(Window.opens_at, booking.id)
        .limit(1)
    )


def _inside_now(booking: type[Booking] | AliasedClass[Booking], selected: Any) -> sa.Select:
    """The rule "the plate's car that is inside" at this garage (the first in, should there be
    two), written once for the conditional UPDATE's subquery (`_PLATE_IN_NOW`) and the judge's
    look-up (`_PLATE_INSIDE`)."""
    return (
        sa.select(selected)
        .where(
            booking.garage_id == sa.bindparam("at_garage"),
            booking.plate == sa.bindparam("the_plate"),
            booking.inside.is_(True),
        )
        .order_by(booking.entered_at)
        .limit(1)
    )


_other = aliased(Booking)
# By plate, the booking `_judge_plate` would find: coming in, the first holding a space in a
# current window; going out, the first car inside.
_PLATE_NOW = _holding_now(_other, _other.id).scalar_subquery()
_PLATE_IN_NOW = _inside_now(_other, _other.id).scalar_subquery()


def _passing(where: tuple, values: dict) -> sa.Update:
    return (
        sa.update(Booking).where(*where).values(values).returning(*_PASSED).execution_options(synchronize_session=False)
    )


class _Audited(NamedTuple):
    """What the audit trail says of a gate passage, as `_apply` records it: the audited fields
    before and after besides `as_is`, those the passage leaves as they are (the UPDATE returns
    them: a first entry audits `admission.AUDITED`)."""

    action: str
    before: dict[str, object]
    after: dict[str, object]
    reason: str | None
    as_is: tuple[str, ...] = ()


_AUDITED_PASSAGE = {
    Direction.IN: _Audited(
        "booking.checked_in",
        {"status": BookingStatus.CONFIRMED.value},
        {"status": BookingStatus.CHECKED_IN.value},
        "gate entry",
        ("slot", "priority", "late_cancel"),
    ),
    Direction.OUT: _Audited(
        "booking.exited",
        {"status": BookingStatus.CHECKED_IN.value, "inside": True},
        {"status": BookingStatus.CHECKED_IN.value, "inside": False},
        None,
    ),
}
_AUDIT_TABLE = cast(sa.Table, AuditEvent.__table__)
_AUDIT = sa.insert(_AUDIT_TABLE)  # Core: no ORM bulk-insert machinery for one row


def _json_sql(fixed: dict[str, object], returned: sa.CTE, names: tuple[str, ...]) -> sa.ColumnElement:
    """`fixed` then the returned columns `names`, as PostgreSQL's json_build_object (key order kept)."""
    parts: list[sa.ColumnElement] = []
    for key, value in fixed.items():
        parts.append(sa.literal_column(f"'{key}'"))
        parts.append(sa.true() if value is True else sa.false() if value is False else sa.literal_column(f"'{value}'"))
    for name in names:
        parts.append(sa.literal_column(f"'{name}'"))
        parts.append(returned.c[name])
    return sa.func.json_build_object(*parts)


def _audited(update: sa.Update, direction: Direction) -> sa.Insert:
    """PostgreSQL: the decision's UPDATE and its audit row in one statement (a writable CTE); the
    audit row is inserted only when the UPDATE matched, and returns the booking's id."""
    passed = update.cte("passed")
    action, before, after, reason, names = _AUDITED_PASSAGE[direction]
    row = sa.select(
        sa.cast(sa.bindparam("a_at", type_=UTCDateTime()), UTCDateTime()),
        sa.cast(sa.bindparam("a_actor", type_=sa.Integer()), sa.Integer()),
        sa.literal_column(f"'{action}'"),
        sa.literal_column(f"'{Booking.__audit_type__}'"),
        passed.c.id,
        sa.cast(sa.bindparam("at_garage", type_=sa.Integer()), sa.Integer()),
        _json_sql(before, passed, names),
        _json_sql(after, passed, names),
        sa.literal_column(f"'{reason}'") if reason is not None else sa.null(),
    ).select_from(passed)
    columns = ("at", "actor_id", "action", "object_type", "object_id", "garage_id", "before", "after", "reason")
    return sa.insert(_AUDIT_TABLE).from_select(columns, row).returning(_AUDIT_TABLE.c.object_id)


# Built once with bound parameters: (by pass?, direction) → the decision's UPDATE, and on
# PostgreSQL the same UPDATE folded with its audit row.
_PASSAGE = {
    (True, Direction.IN): _passing((*_BY_PASS, *_ENTERING), _ENTERED),
    (True, Direction.OUT): _passing((*_BY_PASS, *_LEAVING), _LEFT),
    (False, Direction.IN): _passing((Booking.id == _PLATE_NOW, *_ENTERING), _ENTERED),
    (False, Direction.OUT): _passing((Booking.id == _PLATE_IN_NOW, *_LEAVING), _LEFT),
}
_PASSAGE_AUDITED = {key: _audited(update, key[1]) for key, update in _PASSAGE.items()}
_SCAN_TABLE = cast(sa.Table, Scan.__table__)
#: What a camera event's scan row is inserted with besides the decision (`run_scan`).
_SCANNED = (
    "garage_id",
    "idempotency_key",
    "fingerprint",
    "actor_id",
    "device",
    "direction",
    "by_plate",
    "plate",
    "plate_seen",
    "at",
    "offline",
    "plate_event_id",
)


def _scanned(update: sa.Update, direction: Direction) -> sa.Executable:
    """PostgreSQL, a camera event: the decision, its audit row and the event's accepted scan row
    in one statement, the scan row returned (nothing when the UPDATE matched nothing)."""
    audit = _audited(update, direction).cte("audit")
    given = [sa.cast(sa.bindparam(f"s_{n}", type_=_SCAN_TABLE.c[n].type), _SCAN_TABLE.c[n].type) for n in _SCANNED]
    row = sa.select(*given, audit.c.object_id, sa.literal_column(f"'{ScanResult.ACCEPTED.value}'")).select_from(audit)
    insert = sa.insert(_SCAN_TABLE).from_select([*_SCANNED, "booking_id", "result"], row)
    return sa.select(Scan).from_statement(insert.returning(*_SCAN_TABLE.columns))


_PASSAGE_SCANNED = {key: _scanned(update, key[1]) for key, update in _PASSAGE.items()}


def _passage(
    garage: Garage,
    target: _Target,
    direction: Direction,
    now: datetime,
    actor: User | None,
    new_scan: Scan | None = None,
) -> tuple[int, Scan | None] | None:
    """The gate decision as one conditional `UPDATE bookings … RETURNING` (its WHERE clause is the
    rule: a refused scan changes nothing), and its audit row (invariant 4), as `_apply` records
    it: (the booking's id, the scan row when inserted here), or None when nothing matched. On
    PostgreSQL both are one statement (a writable CTE), with `new_scan` (a camera event's scan,
    not yet stored) inserted accepted in it too; SQLite has no writable CTE and runs the UPDATE and
    the audit row's INSERT, and the caller stores `new_scan`. (SQLite allows RETURNING only on a
    top-level statement, so one statement writes one table there: an accepted pass scan is the
    caller, the claim, the UPDATE and the audit row, four statements; folding two writes into one
    would take a trigger, which would put the audit rule in the schema, out of sight of this one.)"""
    early = timedelta(minutes=garage.early_entry_minutes)
    grace = timedelta(minutes=garage.exit_grace_minutes)
    actor_id = actor.id if actor is not None else None
    params = {
        "booking_id": target.booking_id,
        "at_garage": garage.id,
        "the_plate": target.plate,
        "now": now,
        "exit_from": now - grace,
        "after": now - grace,
        "opens_before": now + early,
    }
    key = (target.booking_id is not None, direction)
    if db.engine.dialect.name == "postgresql":
        audit = {"a_at": now, "a_actor": actor_id}
        if new_scan is not None:
            given = {f"s_{n}": getattr(new_scan, n) for n in _SCANNED}
            scanned = db.session.scalar(_PASSAGE_SCANNED[key], {**params, **audit, **given})
            return (scanned.booking_id, scanned) if scanned is not None and scanned.booking_id else None
        booking_id = db.session.scalar(_PASSAGE_AUDITED[key], {**params, **audit})
        return (booking_id, None) if booking_id is not None else None
    row = db.session.execute(_PASSAGE[key], params).first()
    if row is None:
        return None
    passed = _Passed(*row)
    action, before, after, reason, names = _AUDITED_PASSAGE[direction]
    same = {name: getattr(passed, name) for name in names}
    # The values are statuses, numbers and flags: nothing for `record`'s masking to find.
    db.session.execute(
        _AUDIT,
        {
            "at": now,
            "actor_id": actor_id,
            "action": action,
            "object_type": Booking.__audit_type__,
            "object_id": passed.id,
            "garage_id": garage.id,
            "before": {**before, **same},
            "after": {**after, **same},
            "reason": reason,
            "anonymised_at": None,
        },
    )
    return passed.id, None


def fill(
    stored: Scan,
    by_plate: bool,
    seen: str | None,
    reason: str | None,
    booking: Booking | int | None,
    plate: str | None,
) -> None:
    """Write the decision into the claimed scan row. It is changed only now, in one flush with the
    booking: dirty before the judging, it would be flushed (for nothing) by each query the judging runs."""
    stored.by_plate = by_plate
    stored.plate_seen = seen[:16] if seen else None
    stored.result = ScanResult.ACCEPTED if reason is None else ScanResult.REJECTED
    stored.reason = reason
    stored.booking_id = booking.id if isinstance(booking, Booking) else booking
    stored.plate = plate[:16] if plate else None


def _locked(booking_id: int, *, may_release: bool = True) -> Booking | None:
    """The booking re-read under a lock: the tide, a cancel and other gates change it too.

    A scan that may give a space back (an exit after the exit grace, or of an overstayed car) takes
    the window's lock first, as every writer of the counter does. Any other scan locks only the
    booking row, so that the morning's exits do not queue behind one window lock; the writers that
    read a booking before changing it (cancel, bump, tide) lock the booking row too."""
    if not may_release:
        booking = db.session.scalar(_LOCK_BOOKING, {"booking_id": booking_id})
        if booking is None or booking.status != BookingStatus.OVERSTAYED:
            return booking
        # Marked overstayed by a tide pass whose clock ran ahead of ours: take the window lock too.
    window = db.session.scalar(_LOCK_WINDOW_OF_BOOKING, {"booking_id": booking_id})
    if window is None:
        return None
    booking = db.session.scalar(_LOCK_BOOKING_ROW, {"booking_id": booking_id})
    if booking is not None:
        set_committed_value(booking, "window", window)  # keep the locked row; no second load
    return booking


class _NotHolding:
    """The server's revocation list: bookings that no longer hold a space, read from the database,
    so `offline.verify` checks revocation at the same point as on a device."""

    def __contains__(self, booking_id: object) -> bool:
        status = db.session.scalar(_BOOKING_STATUS, {"booking_id": booking_id})
        return status is not None and status not in SPACE_HOLDING


#: How a judged scan changes its booking: `_apply` at the barrier; the offline upload passes its own.
Apply = Callable[[User | None, Booking, Direction, datetime], str | None]


def judge(
    actor: User | None,
    garage: Garage,
    *,
    direction: Direction,
    now: datetime,
    token: str | None = None,
    plate: str | None = None,
    seen: str | None = None,
    apply: Apply | None = None,
    may_release: bool | None = None,
) -> tuple[str | None, Booking | None, str | None]:
    """The one gate decision, for a pass (any kind), a plate typed by the attendant, or a camera's
    plate event: (reason or None when accepted, the booking, the plate). `apply` changes the
    booking (the barrier's `_apply` unless the caller brings its own: an offline upload)."""
    if token is not None:
        return _judge_token(actor, garage, token, direction, seen, now, apply, may_release=may_release)
    return _judge_plate(actor, garage, plate or "", direction, now, apply)


def _judge_token(
    actor: User | None,
    garage: Garage,
    token: str,
    direction: Direction,
    seen: str | None,
    now: datetime,
    apply: Apply | None = None,
    *,
    may_release: bool | None = None,
) -> tuple[str | None, Booking | None, str | None]:
    """A pass of any kind: judged by `offline.verify`, as a device would, then its kind finds the
    booking it admits now (`GATE_KINDS`) and the scan is applied to it."""
    kind = offline.token_kind(token)
    decision = offline.verify(
        token,
        ServerKeys(),
        garage_id=garage.id,
        at=now,
        revoked=_NotHolding(),
        direction=direction.value,
        plate_seen=seen,
    )
    claims = decision.claims or decision.subscription
    trusted_plate = claims.plate if claims is not None and decision.reason not in _UNTRUSTED else None
    if not decision.ok:
        booking = None
        if decision.claims is not None and decision.reason in _ABOUT_THE_BOOKING:
            booking = db.session.get(Booking, decision.claims.booking_id)
        return decision.reason, booking, trusted_plate
    assert claims is not None
    return GATE_KINDS[kind.name](actor, claims, direction, now, apply or _apply, may_release)


def _night_booking(
    actor: User | None,
    claims: offline.PassClaims,
    direction: Direction,
    now: datetime,
    apply: Apply,
    may_release: bool | None,
) -> tuple[str | None, Booking | None, str | None]:
    """A night's pass admits its booking."""
    # The pass's not-after is the window's close plus the exit grace: before it, an exit cannot
    # release a space, so the booking row lock is enough.
    if may_release is None:
        may_release = direction == Direction.OUT and unix_seconds(now) >= claims.not_after
    booking = _locked(claims.booking_id, may_release=may_release)
    if booking is None or booking.garage_id != claims.garage_id or booking.plate != claims.plate:
        return UNKNOWN_BOOKING, None, claims.plate
    return apply(actor, booking, direction, now), booking, booking.plate


# The subscription's nights whose pass validity (with the early-entry and exit graces) holds `at`.
_NIGHT_AT = (
    sa.select(Booking.id, Booking.status)
    .join(Window, Window.id == Booking.window_id)
    .where(
        Booking.subscription_id == sa.bindparam("subscription_id"),
        Window.opens_at <= sa.bindparam("entry_until", type_=UTCDateTime()),
        Window.closes_at > sa.bindparam("exit_from", type_=UTCDateTime()),
    )
    .order_by(Window.opens_at)
)
_MONTH_INSIDE = (
    sa.select(Booking.id)
    .where(Booking.subscription_id == sa.bindparam("subscription_id"), Booking.inside.is_(True))
    .order_by(Booking.entered_at)
    .limit(1)
)


def _month_booking(
    actor: User | None,
    claims: offline.SubscriptionClaims,
    direction: Direction,
    now: datetime,
    apply: Apply,
    _may_release: bool | None,
) -> tuple[str | None, Booking | None, str | None]:
    """A month's pass admits the subscription's booking of the night it is the time of; on the
    way out, the night the car came in on."""
    subscription = db.session.get(Subscription, claims.subscription_id)
    if subscription is None or subscription.garage_id != claims.garage_id or subscription.plate != claims.plate:
        return UNKNOWN_BOOKING, None, claims.plate
    garage = subscription.template.garage
    inside_id = db.session.scalar(_MONTH_INSIDE, {"subscription_id": subscription.id})
    if direction == Direction.OUT:
        if inside_id is None:
            return NOT_INSIDE, None, subscription.plate
        booking = _locked(inside_id)
        assert booking is not None
        return apply(actor, booking, direction, now), booking, subscription.plate
    if inside_id is not None:
        return ALREADY_INSIDE, db.session.get(Booking, inside_id), subscription.plate
    early = timedelta(minutes=garage.early_entry_minutes)
    grace = timedelta(minutes=garage.exit_grace_minutes)
    rows = db.session.execute(
        _NIGHT_AT, {"subscription_id": subscription.id, "entry_until": now + early, "exit_from": now - grace}
    ).all()
    if not rows:
        return offline.NOT_TONIGHT, None, subscription.plate
    holding = [r for r in rows if r.status in SPACE_HOLDING]
    if not holding:  # handed back, bumped, or not used in time
        return offline.REVOKED, db.session.get(Booking, rows[0].id), subscription.plate
    booking = _locked(holding[0].id, may_release=False)
    assert booking is not None
    return apply(actor, booking, direction, now), booking, subscription.plate


#: How a genuine pass of each kind (`offline.TOKEN_KINDS`) finds the booking it admits now.
GATE_KINDS: dict[str, Callable[..., tuple[str | None, Booking | None, str | None]]] = {
    "night": _night_booking,
    "month": _month_booking,
}


_UNTRUSTED = {offline.MALFORMED, offline.UNKNOWN_KEY, offline.BAD_SIGNATURE}
# Rejections of a genuine pass of this garage: the attendant may see which booking it is.
_ABOUT_THE_BOOKING = {offline.NOT_YET_VALID, offline.EXPIRED, offline.REVOKED, offline.PLATE_MISMATCH}


# Built once with bound parameters: the plate path is a plate camera's hot path.
_PLATE_INSIDE = _inside_now(Booking, Booking.id)
_PLATE_BOOKINGS = (
    sa.select(Booking.id, Booking.status, Window.opens_at)
    .join(Window, Window.id == Booking.window_id)
    .where(
        Booking.garage_id == sa.bindparam("garage_id"),
        Booking.plate == sa.bindparam("plate"),
        Booking.status.not_in((BookingStatus.WAITLISTED, BookingStatus.REQUESTED)),
        Window.closes_at > sa.bindparam("after", type_=UTCDateTime()),
    )
    .order_by(Window.opens_at, Booking.id)
)

# A car coming in: the plate's first booking that holds a space in a current window, found and
# locked in one statement (the common case at a camera). A row changed meanwhile is re-checked
# by PostgreSQL under the lock and left out; the general look-up below then says why.
_PLATE_HOLDING_NOW = (
    _holding_now(Booking, Booking)
    .options(contains_eager(Booking.window))
    .with_for_update(of=Booking, key_share=True)
    .execution_options(populate_existing=True)
)


def _judge_plate(
    actor: User | None,
    garage: Garage,
    raw_plate: str,
    direction: Direction,
    now: datetime,
    apply: Apply | None = None,
) -> tuple[str | None, Booking | None, str | None]:
    """A resident without a phone: find the plate's booking that holds a space in a window of this
    garage that is current (with the early-entry and exit graces) or, on the way out, the car
    that is inside."""
    plate = plates.parse(raw_plate)
    if plate is None:
        return offline.MALFORMED, None, None
    if direction == Direction.OUT:
        inside_id = db.session.scalar(_PLATE_INSIDE, {"at_garage": garage.id, "the_plate": plate})
        if inside_id is not None:
            booking = _locked(inside_id)
            assert booking is not None
            return (apply or _apply)(actor, booking, direction, now), booking, plate
    early = timedelta(minutes=garage.early_entry_minutes)
    grace = timedelta(minutes=garage.exit_grace_minutes)
    if direction == Direction.IN:
        booking = db.session.scalar(
            _PLATE_HOLDING_NOW,
            {"at_garage": garage.id, "the_plate": plate, "after": now - grace, "opens_before": now + early},
        )
        if booking is not None:
            return (apply or _apply)(actor, booking, direction, now), booking, plate
    rows = db.session.execute(_PLATE_BOOKINGS, {"garage_id": garage.id, "plate": plate, "after": now - grace}).all()
    current = [r for r in rows if r.opens_at - early <= now]
    holding = [r for r in current if r.status in SPACE_HOLDING]
    if holding:
        booking = _locked(holding[0].id, may_release=direction == Direction.OUT)
        assert booking is not None
        if direction == Direction.OUT:
            return NOT_INSIDE, booking, plate
        return (apply or _apply)(actor, booking, direction, now), booking, plate
    if current:
        return offline.REVOKED, db.session.get(Booking, current[0].id), plate
    if any(r.status in SPACE_HOLDING for r in rows):
        return offline.NOT_YET_VALID, None, plate
    return NO_BOOKING, None, plate


_GATE_FIELDS = ("status", "inside")


def _apply(actor: User | None, booking: Booking, direction: Direction, now: datetime) -> str | None:
    """Anti-passback and the booking's change; the caller holds the window lock. None: accepted."""
    if direction == Direction.IN:
        if booking.inside:
            return ALREADY_INSIDE
        if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN):
            return offline.EXPIRED if booking.status == BookingStatus.OVERSTAYED else offline.REVOKED
        before = snapshot(booking, *_GATE_FIELDS)
        booking.inside = True
        booking.entered_at = now
        if booking.status == BookingStatus.CONFIRMED:
            set_status(booking, BookingStatus.CHECKED_IN, actor, now, action="booking.checked_in", reason="gate entry")
        else:
            booking.updated_at = now
            record(actor, "booking.entered", booking, before=before, after=snapshot(booking, *_GATE_FIELDS), at=now)
        return None
    if not booking.inside:
        return NOT_INSIDE
    before = snapshot(booking, *_GATE_FIELDS)
    booking.inside = False
    booking.exited_at = now
    if booking.status == BookingStatus.CHECKED_IN and now >= _exit_deadline(booking):
        # The car left after the exit grace but before the tide marked it: the overstay is decided
        # by the instants, not by whether the job has run (invariant 6).
        strikes.charge_overstay(actor, booking, now)
    if booking.status == BookingStatus.OVERSTAYED:
        # The overstay was charged by the tide; leaving ends the booking and frees its space.
        release(
            booking,
            booking.window,
            BookingStatus.COMPLETED,
            actor,
            now,
            action="booking.completed",
            reason="gate exit after overstay",
        )
    else:
        booking.updated_at = now
        record(actor, "booking.exited", booking, before=before, after=snapshot(booking, *_GATE_FIELDS), at=now)
    return None


def _exit_deadline(booking: Booking) -> datetime:
    return strikes.exit_deadline(booking.window, booking.window.garage)


def scan_view(scan: Scan) -> dict:
    return {
        "id": scan.id,
        "result": scan.result,
        "reason": scan.reason,
        "message": catalogue.scan_message(scan.reason),
        "booking": scan.booking_id,
        "plate": scan.plate,
        "direction": scan.direction,
        "at": scan.at,
    }


@dataclass(frozen=True)
class Occupant:
    """A car inside (or overstaying): its booking, and when its night closes and it must leave."""

    booking: int
    plate: str
    status: BookingStatus
    entered_at: datetime | None
    closes_at: datetime
    leave_by: datetime


@dataclass(frozen=True)
class Occupancy:
    garage_id: int
    at: datetime
    inside: list[Occupant]
    overstays: list[Occupant]


def occupancy(actor: User, garage_id: int, now: datetime) -> Occupancy:
    """Cars inside now, and overstays: marked by the tide, or inside past the exit grace even
    when the tide has not run yet (invariant 6)."""
    garage = require_gate_staff(actor, garage_id)
    grace = timedelta(minutes=garage.exit_grace_minutes)
    rows = db.session.execute(
        db.select(Booking, Window.closes_at)
        .join(Window, Window.id == Booking.window_id)
        .where(
            Booking.garage_id == garage_id,
            sa.or_(Booking.inside.is_(True), Booking.status == BookingStatus.OVERSTAYED),
        )
        .order_by(Booking.entered_at, Booking.id)
    ).all()
    inside: list[Occupant] = []
    overstays: list[Occupant] = []
    for booking, closes_at in rows:
        entry = Occupant(booking.id, booking.plate, booking.status, booking.entered_at, closes_at, closes_at + grace)
        if booking.inside:
            inside.append(entry)
        if booking.status == BookingStatus.OVERSTAYED or (booking.inside and now >= closes_at + grace):
            overstays.append(entry)
    return Occupancy(garage_id, now, inside, overstays)
