"""The audit trail as managers read it: filtered, scoped to their garages, paginated."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parking.audit.models import AuditEvent
from parking.audit.schemas import OBJECT_PATTERN
from parking.auth.models import Role, User
from parking.errors import Forbidden, NotYourGarage, Unprocessable
from parking.extensions import db

OBJECT_RE = re.compile(OBJECT_PATTERN)


def parse_object(text: str) -> tuple[str, int]:
    match = OBJECT_RE.match(text)
    if not match:
        raise Unprocessable(reason="validation_error", errors={"object": ["expected <type>:<id>, e.g. booking:42"]})
    return match.group(1), int(match.group(2))


def search(
    actor: User,
    *,
    object_ref: str | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    garage_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AuditEvent], int]:
    """(events of the page, newest first; total count). Managers see their garages' events only."""
    if actor.role not in (Role.MANAGER, Role.ADMIN):
        raise Forbidden()
    if start is not None and end is not None and end < start:
        raise Unprocessable(reason="invalid_range", errors={"to": ["must not be before from"]})
    conditions: list[sa.ColumnElement[Any]] = []
    if actor.role != Role.ADMIN:
        conditions.append(AuditEvent.garage_id.in_(actor.garage_ids or [-1]))
    if garage_id is not None:
        if not actor.is_staff_of(garage_id, Role.MANAGER):
            raise NotYourGarage()
        conditions.append(AuditEvent.garage_id == garage_id)
    if object_ref:
        object_type, object_id = parse_object(object_ref)
        conditions += [AuditEvent.object_type == object_type, AuditEvent.object_id == object_id]
    if actor_id is not None:
        conditions.append(AuditEvent.actor_id == actor_id)
    if action:
        conditions.append(AuditEvent.action == action)
    if start is not None:
        conditions.append(AuditEvent.at >= start)
    if end is not None:
        conditions.append(AuditEvent.at < end)
    total = db.session.scalar(db.select(sa.func.count()).select_from(AuditEvent).where(*conditions)) or 0
    events = list(
        db.session.scalars(
            db.select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc()).offset(offset).limit(limit)
        )
    )
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    users = {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(actor_ids)))} if actor_ids else {}
    for event in events:
        user = users.get(event.actor_id) if event.actor_id is not None else None
        event.actor = {"id": user.id, "name": user.name, "role": user.role.value} if user is not None else None
    return events, total
