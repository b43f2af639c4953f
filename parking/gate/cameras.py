"""Plate-recognition cameras at the barrier: their credentials, their plate events,
and the attendant's confirmation of the reads below the garage's confidence threshold.

A camera authenticates with ``Authorization: Camera <camera_id>:<secret>``. The secret is 256
random bits, shown once when a manager registers the camera; only its SHA-256 is stored (a secret
this long needs no slow hash) and it is never logged, audited or returned again. A plate event is
judged by the same plate scan as the gate's look-up (`parking.gate.services.run_scan`) and stored
once per (camera, event id): a re-sent event gets the stored answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from parking import plates
from parking.audit.services import record
from parking.auth.access import require_gate_staff, require_staff
from parking.auth.models import Role, User
from parking.catalogue import BARRIER_BOARD
from parking.dbtypes import UTCDateTime
from parking.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from parking.extensions import db
from parking.gate import services as gate
from parking.gate.models import Camera, CameraDirection, Direction, PlateEvent, PlateEventStatus, Scan, ScanResult
from parking.i18n import lazy_gettext as _l
from parking.windows.models import Garage
from parking.windows.services import get_garage

SCHEME = "camera"
PENDING_LIMIT = 100


class CameraUnauthorized(Unauthorized):
    reason, message = "camera_unauthorized", _l("Unknown or revoked camera credential.")


class WrongCamera(Forbidden):
    reason, message = "wrong_camera", _l("This camera may only report its own events, at its own garage.")


class WrongDirection(Unprocessable):
    reason, message = "wrong_direction", _l("This camera watches the other direction.")


class CameraNameTaken(Conflict):
    reason, message = "camera_name_taken", _l("An active camera of this garage already has this name.")


class CameraRevoked(Conflict):
    reason, message = "camera_revoked", _l("This camera has already been revoked.")


class EventIdReused(Conflict):
    reason, message = "event_id_reused", _l("This camera already sent a different event with this id.")


class EventNotPending(Conflict):
    reason, message = "event_not_pending", _l("This plate event has already been dealt with.")


# -- credentials -----------------------------------------------------------------------------------


def credential_hash(secret: str) -> str:
    """What is stored of a camera's credential: its SHA-256, never the credential."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _managed(actor: User, garage_id: int) -> Garage:
    require_staff(actor, garage_id, Role.MANAGER)
    return get_garage(garage_id)


def register(actor: User, garage_id: int, name: str, direction: CameraDirection, now: datetime) -> tuple[Camera, str]:
    """A new camera and its credential `<id>:<secret>`, which the caller shows once."""
    _managed(actor, garage_id)
    secret = secrets.token_urlsafe(32)
    camera = Camera(
        garage_id=garage_id,
        name=name,
        direction=direction,
        credential_hash=credential_hash(secret),
        active=True,
        created_by_id=actor.id,
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(camera)
    except IntegrityError as exc:
        raise CameraNameTaken() from exc
    record(actor, "camera.registered", camera, after={"name": name, "direction": direction}, at=now)
    return camera, f"{camera.id}:{secret}"


def list_cameras(actor: User, garage_id: int) -> list[Camera]:
    _managed(actor, garage_id)
    return list(db.session.scalars(sa.select(Camera).where(Camera.garage_id == garage_id).order_by(Camera.id)))


def revoke(actor: User, camera_id: int, now: datetime, reason: str | None = None) -> Camera:
    camera = db.session.get(Camera, camera_id, with_for_update=True)
    if camera is None or not actor.is_staff_of(camera.garage_id, Role.MANAGER):
        raise NotFound()
    if not camera.active:
        raise CameraRevoked()
    camera.active = False
    camera.revoked_at = now
    record(
        actor,
        "camera.revoked",
        camera,
        before={"active": True},
        after={"active": False, "revoked_at": now},
        reason=reason,
        at=now,
    )
    return camera


# The camera with its garage (whose rules the decision needs), in one statement built once.
_CAMERA = sa.select(Camera).options(joinedload(Camera.garage)).where(Camera.id == sa.bindparam("camera_id"))


def authenticate(header: str) -> Camera:
    """The active camera named by `Authorization: Camera <id>:<secret>`; 401 for anything else."""
    scheme, _sep, credential = header.partition(" ")
    camera_id, _sep, secret = credential.strip().partition(":")
    if scheme.lower() != SCHEME or not camera_id.isdigit() or len(camera_id) > 9 or not secret:
        raise CameraUnauthorized()
    camera = db.session.scalar(_CAMERA, {"camera_id": int(camera_id)})
    if camera is None or not hmac.compare_digest(camera.credential_hash, credential_hash(secret)) or not camera.active:
        raise CameraUnauthorized()
    return camera


# -- plate events ----------------------------------------------------------------------------------


def _fingerprint(plate: str, direction: Direction, confidence: float, captured_at: datetime) -> str:
    body = json.dumps([plate, direction.value, round(confidence, 6), captured_at.isoformat()], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


# INSERT … ON CONFLICT DO NOTHING in plain SQL, like the gate's scan claim: of two copies of one
# event at once, the second waits on the unique index, then reads the first's answer.
_CLAIM = sa.text(
    "INSERT INTO plate_events (camera_id, garage_id, event_id, fingerprint, plate, direction, confidence,"
    " captured_at, received_at, status) VALUES (:camera_id, :garage_id, :event_id, :fingerprint, :plate,"
    " :direction, :confidence, :captured_at, :received_at, :status)"
    " ON CONFLICT (camera_id, event_id) DO NOTHING RETURNING id"
).bindparams(
    sa.bindparam("captured_at", type_=UTCDateTime()),
    sa.bindparam("received_at", type_=UTCDateTime()),
)
_STORED = (
    sa.select(PlateEvent)
    .options(joinedload(PlateEvent.scan))
    .where(PlateEvent.camera_id == sa.bindparam("camera_id"), PlateEvent.event_id == sa.bindparam("event_id"))
)


def _scan_key(camera_id: int, event_row_id: int) -> str:
    return f"camera:{camera_id}:{event_row_id}"


def plate_event(
    camera: Camera,
    *,
    garage_id: int,
    camera_id: int,
    event_id: str,
    plate: str,
    direction: Direction,
    confidence: float,
    captured_at: datetime,
    now: datetime,
) -> BarrierAnswer:
    """Record a camera's plate read once and answer the barrier: decided at once when the
    confidence reaches the garage's threshold, else left pending for an attendant."""
    if camera_id != camera.id or garage_id != camera.garage_id:
        raise WrongCamera()
    if camera.direction != CameraDirection.BOTH and camera.direction.value != direction.value:
        raise WrongDirection(details={"camera_direction": camera.direction.value})
    garage = camera.garage
    read = plates.normalise(plate)[:16]
    fingerprint = _fingerprint(read, direction, confidence, captured_at)
    decided = confidence >= garage.camera_confidence_threshold
    status = PlateEventStatus.DECIDED if decided else PlateEventStatus.PENDING
    row_id = db.session.scalar(
        _CLAIM,
        {
            "camera_id": camera.id,
            "garage_id": garage.id,
            "event_id": event_id,
            "fingerprint": fingerprint,
            "plate": read,
            "direction": direction.value,
            "confidence": confidence,
            "captured_at": captured_at,
            "received_at": now,
            "status": status.value,
        },
    )
    if row_id is None:
        stored = db.session.scalar(_STORED, {"camera_id": camera.id, "event_id": event_id})
        assert stored is not None
        if stored.fingerprint != fingerprint:
            raise EventIdReused()
        return answer(stored.status, stored.scan, stored.confirmed_plate or stored.plate, event_id)
    if not decided:
        return answer(status, None, read, event_id)
    scan = gate.run_scan(
        garage,
        None,
        direction=direction,
        idempotency_key=_scan_key(camera.id, row_id),
        now=now,
        plate=read,
        device=f"camera-{camera.id}",
        plate_event_id=row_id,
    )
    return answer(status, scan, read, event_id)


# -- the barrier's LED board -----------------------------------------------------------------------

# The board speaks Chinese whoever asks; the texts are rendered once per process.
_board_cache: dict[str, str] = {}


def _board(key: str, message: Any) -> str:
    text = _board_cache.get(key)
    if text is None:
        with force_locale("zh"):
            text = str(message)
        _board_cache[key] = text
    return text


def display(result: str, reason: str | None, direction: Direction | None, plate: str) -> str:
    if result == "pending":
        return _board("pending", BARRIER_BOARD["pending"])
    if result == ScanResult.ACCEPTED.value:
        template = (
            _board("goodbye", BARRIER_BOARD["goodbye"])
            if direction == Direction.OUT
            else _board("welcome", BARRIER_BOARD["welcome"])
        )
        return template % {"plate": plate}
    key = reason or "rejected"
    return _board(key, BARRIER_BOARD.get(key, BARRIER_BOARD["call"]))


@dataclass(frozen=True)
class BarrierAnswer:
    """What the barrier is told of a camera's read (`BarrierAnswerSchema`), and the page too."""

    event_id: str
    status: str
    open: bool
    result: str
    reason: str | None
    display: str
    plate: str
    booking: int | None


def answer(status: PlateEventStatus, scan: Scan | None, plate: str, event_id: str) -> BarrierAnswer:
    """`{open, result, reason, display}` for the barrier, with the event's id, status and booking."""
    if status == PlateEventStatus.PENDING:
        result, reason, direction = "pending", None, None
    elif status == PlateEventStatus.DISMISSED or scan is None:
        result, reason, direction = ScanResult.REJECTED.value, "dismissed", None
    else:
        result, reason, direction = scan.result.value, scan.reason, scan.direction
    shown = (scan.plate if scan is not None else None) or plate
    return BarrierAnswer(
        event_id=event_id,
        status=status.value,
        open=result == ScanResult.ACCEPTED.value,
        result=result,
        reason=reason,
        display=display(result, reason, direction, shown),
        plate=shown,
        booking=scan.booking_id if scan is not None else None,
    )


# -- the attendant's side --------------------------------------------------------------------------


def pending_events(actor: User, garage_id: int) -> list[PlateEvent]:
    """The garage's camera reads waiting for an attendant, oldest first."""
    require_gate_staff(actor, garage_id)
    return list(
        db.session.scalars(
            sa.select(PlateEvent)
            .options(joinedload(PlateEvent.camera))
            .where(PlateEvent.garage_id == garage_id, PlateEvent.status == PlateEventStatus.PENDING)
            .order_by(PlateEvent.received_at, PlateEvent.id)
            .limit(PENDING_LIMIT)
        )
    )


def _take_pending(actor: User, event_id: int, status: PlateEventStatus, now: datetime) -> PlateEvent:
    """The pending event, moved to `status` by one conditional UPDATE: of two attendants at once,
    one wins and the other is told it was dealt with."""
    event = db.session.get(PlateEvent, event_id)
    if event is None or not actor.is_staff_of(event.garage_id, Role.ATTENDANT, Role.MANAGER):
        raise NotFound()
    taken = db.session.execute(
        sa.update(PlateEvent)
        .where(PlateEvent.id == event_id, PlateEvent.status == PlateEventStatus.PENDING)
        .values(status=status, resolved_by_id=actor.id, resolved_at=now)
        .returning(PlateEvent.id)
    ).first()
    if taken is None:
        raise EventNotPending()
    db.session.refresh(event)
    return event


def confirm(actor: User, event_id: int, now: datetime, plate: str | None = None) -> BarrierAnswer:
    """The attendant confirms the camera's read (or corrects the plate); then it is judged as a
    plate scan by that attendant."""
    event = _take_pending(actor, event_id, PlateEventStatus.CONFIRMED, now)
    read = plates.normalise(plate)[:16] if plate else event.plate
    event.confirmed_plate = read
    garage = get_garage(event.garage_id)
    record(
        actor,
        "plate_event.confirmed",
        event,
        before={"plate": event.plate},
        after={"plate": read, "status": PlateEventStatus.CONFIRMED},
        reason="corrected" if read != event.plate else None,
        at=now,
    )
    scan = gate.run_scan(
        garage,
        actor,
        direction=event.direction,
        idempotency_key=_scan_key(event.camera_id, event.id),
        now=now,
        plate=read,
        device=f"camera-{event.camera_id}",
        plate_event_id=event.id,
    )
    return answer(PlateEventStatus.CONFIRMED, scan, read, event.event_id)


def dismiss(actor: User, event_id: int, now: datetime, reason: str | None = None) -> BarrierAnswer:
    event = _take_pending(actor, event_id, PlateEventStatus.DISMISSED, now)
    record(actor, "plate_event.dismissed", event, after={"status": PlateEventStatus.DISMISSED}, reason=reason, at=now)
    return answer(PlateEventStatus.DISMISSED, None, event.plate, event.event_id)


def event_view(event: PlateEvent) -> dict:
    return {
        "id": event.id,
        "camera_id": event.camera_id,
        "camera_name": event.camera.name,
        "event_id": event.event_id,
        "plate": event.plate,
        "direction": event.direction,
        "confidence": event.confidence,
        "captured_at": event.captured_at,
        "received_at": event.received_at,
        "status": event.status,
    }
