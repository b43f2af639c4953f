"""Audit trail (invariant 4). Services call `record()` in the same transaction as the change."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.extensions import db
from parking.masking import mask_values


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: Any, *fields: str) -> dict[str, Any]:
    """The audited fields of an object, JSON-ready."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def _masked(values: dict[str, Any] | None) -> dict[str, Any] | None:
    return mask_values(_plain(values), plates=False) if values is not None else None


def event_values(
    actor: Any,
    action: str,
    object_type: str,
    *,
    garage_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None,
    at: datetime | None,
) -> dict[str, Any]:
    """An audit event's columns but its object's id. `actor` is a User, a user id, or None for the
    system (the tide job). The trail names people by id: any phone number in the values or the
    reason is stored masked (138****0003)."""
    return {
        "at": at or clock.now(),
        "actor_id": actor if isinstance(actor, int) or actor is None else actor.id,
        "action": action,
        "object_type": object_type,
        "garage_id": garage_id,
        "before": _masked(before),
        "after": _masked(after),
        "reason": mask_values(reason, plates=False),
    }


def record(
    actor: Any,
    action: str,
    obj: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    garage_id: int | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add an audit event for `obj` (a model with `__audit_type__` and an id); its values as
    `event_values` makes them."""
    if obj.id is None:
        db.session.flush()
    if garage_id is None:
        garage_id = getattr(obj, "garage_id", None)
        if garage_id is None and obj.__audit_type__ == "garage":
            garage_id = obj.id
    values = event_values(
        actor, action, obj.__audit_type__, garage_id=garage_id, before=before, after=after, reason=reason, at=at
    )
    event = AuditEvent(object_id=obj.id, **values)
    db.session.add(event)
    return event


def amend_after(event_id: int, after: dict[str, Any]) -> None:
    """Correct the audited values of an event written in this transaction (a first-come booking
    given another slot under the window's lock than the one it was written with)."""
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event_id).values(after=_masked(after)))


def history(object_type: str, object_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
            .order_by(AuditEvent.id)
        )
    )
