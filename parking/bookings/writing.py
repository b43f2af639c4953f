"""A new booking with its trail: the booking row, its audit event and a notice to each member of
its household, written together.

Every new booking is written here: a first-come confirmation, a waitlist entry, a ballot request
and a monthly night. On PostgreSQL the three inserts are one statement (data-modifying `WITH`
clauses that read the booking's new id), so a booking request pays one round trip and no ORM
unit of work for them; on SQLite, which allows no insert inside `WITH`, the same three inserts run
one after the other, the trail's reading the id the booking's returned. The statements are built
once, with bound parameters (building one per request cost as much CPU as running it).

The audit event's values come from `parking.audit.services.event_values`, the members told are
`MEMBERS` and the notices' statement is `parking.notifications.services.notices_from`: the rules
stay where they are; only the writing is joined.

A booking may be written behind a gate (`Gate`, PostgreSQL only): a data-modifying `WITH` clause
of the same statement that must answer a row (the admission core's taking of the window's space)
and a condition the new row must meet (what would stop it from holding one). The booking, its
audit event and its notices are written only then, in the statement that took the space."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa

from parking.audit.models import AuditEvent
from parking.audit.services import event_values
from parking.auth.models import User
from parking.bookings.models import Booking
from parking.database import as_loaded
from parking.extensions import db
from parking.notifications.services import NOTICE_TYPES, NOTICES, notices_from

#: The members of a household, who are told of its bookings.
MEMBERS = sa.select(User.id).where(User.household_id == sa.bindparam("household_id"))

_BOOKINGS = cast(sa.Table, Booking.__table__)
_EVENTS = cast(sa.Table, AuditEvent.__table__)
_COLUMNS = [c for c in _BOOKINGS.c if c.key != "id"]
_AUDIT_COLUMNS = ("at", "actor_id", "action", "object_type", "garage_id", "before", "after", "reason")
_TRAIL_TYPES = {c.key: c.type for c in _EVENTS.c}


def _booking_values(keys: tuple[str, ...]) -> dict[str, sa.BindParameter[Any]]:
    """The booking's bound values of the columns it has values for, by column."""
    return {key: sa.bindparam(f"b_{key}", type_=_BOOKINGS.c[key].type) for key in keys}


def _booking_insert(keys: tuple[str, ...]) -> sa.Insert:
    """The booking's insert of the columns it has values for (the others are NULL)."""
    return sa.insert(_BOOKINGS).values(_booking_values(keys)).returning(_BOOKINGS.c.id)


def _trail(booking_id: sa.ColumnElement[int], source: sa.FromClause | None) -> tuple[sa.Insert, sa.Insert]:
    """The audit event and the notices of the booking whose id is `booking_id` (read from `source`)."""
    audit_values = [sa.bindparam(f"a_{name}", type_=_TRAIL_TYPES[name]) for name in _AUDIT_COLUMNS]
    audit_source = sa.select(*audit_values, booking_id)
    if source is not None:
        audit_source = audit_source.select_from(source)
    audit = sa.insert(_EVENTS).from_select([*_AUDIT_COLUMNS, "object_id"], audit_source).returning(_EVENTS.c.id)
    members = MEMBERS.subquery("members")
    told = (
        sa.select(
            members.c.id,
            sa.bindparam("n_kind", type_=NOTICE_TYPES["kind"]),
            sa.bindparam("n_params", type_=NOTICE_TYPES["params"]),
            booking_id,
            sa.null(),  # no dedupe key: a new booking is told once by construction
            sa.bindparam("n_at", type_=NOTICE_TYPES["created_at"]),
        )
        .select_from(members if source is None else sa.join(source, members, sa.true()))
        .order_by(members.c.id)
    )
    return audit, notices_from(told)


@dataclass(frozen=True)
class Gate:
    """What a booking's insert waits for in its own statement: `taken`, a data-modifying `WITH`
    clause that must answer a row (its `answer` column is the statement's `taken` value), and a
    condition on the new row (`unless`: the booking is not written when it holds). Built once."""

    taken: sa.CTE
    answer: str
    unless: sa.ColumnElement[bool]


@functools.cache
def _one_statement(keys: tuple[str, ...], gate: Gate | None = None) -> sa.Select:
    """PostgreSQL: the three inserts in one statement, answering the booking's and the event's ids
    (and, behind a gate, the gate's answer; no booking's id when the gate held it back)."""
    if gate is None:
        booking = _booking_insert(keys).cte("new_booking")
    else:
        answer = gate.taken.c[gate.answer]
        source = sa.select(*_booking_values(keys).values()).where(sa.exists(sa.select(answer)), ~gate.unless)
        booking = sa.insert(_BOOKINGS).from_select(list(keys), source).returning(_BOOKINGS.c.id).cte("new_booking")
    audit, notices = _trail(booking.c.id, booking)
    audit_cte = audit.cte("new_event")
    notices_cte = notices.returning(NOTICES.c.id).cte("new_notices")
    event_id = sa.select(audit_cte.c.id).scalar_subquery().label("event_id")
    if gate is None:
        return sa.select(booking.c.id, event_id).select_from(booking).add_cte(notices_cte)
    return sa.select(
        sa.select(answer).scalar_subquery().label("taken"),
        sa.select(booking.c.id).scalar_subquery().label("id"),
        event_id,
    ).add_cte(notices_cte)


#: SQLite: the booking's insert per set of columns, then the event's and the notices' (built once).
_booking_inserts = functools.cache(_booking_insert)
_AUDIT_INSERT, _NOTICES_INSERT = _trail(sa.bindparam("new_booking_id", type_=sa.Integer), None)


@dataclass(frozen=True)
class Written:
    """What `write_new` wrote: the booking (in the session as if loaded) and its audit event's id,
    both None when a gate held the booking back; behind a gate, `taken` is the gate's answer (None
    when its clause answered no row)."""

    booking: Booking | None
    event_id: int | None
    taken: Any = None


def write_new(
    booking: Booking,
    actor: User | None,
    action: str,
    now: datetime,
    *,
    after: dict[str, Any],
    notice: str | None,
    params: dict[str, Any],
    reason: str | None = None,
    behind: tuple[Gate, dict[str, Any]] | None = None,
) -> Written:
    """Write a new booking (built, not added) with its audit event `action` (`after` its audited
    values) and, with a `notice` kind, a notice with `params` to each member of its household.
    Its columns' defaults are set on it first, so that the object is the row. `behind`, a gate and
    its parameters (PostgreSQL only), writes them in the gate's statement, if the gate lets them."""
    values: dict[str, Any] = {}
    for column in _COLUMNS:
        value = getattr(booking, column.key)
        if value is None and column.default is not None:
            value = column.default.arg  # type: ignore[attr-defined]  # the booking columns' defaults are scalars
            setattr(booking, column.key, value)
        if value is not None:
            values[f"b_{column.key}"] = value
        else:
            setattr(booking, column.key, None)  # loaded as NULL, not left to load
    keys = tuple(name[2:] for name in values)
    trail = event_values(
        actor, action, "booking", garage_id=booking.garage_id, before=None, after=after, reason=reason, at=now
    )
    values.update({f"a_{name}": trail[name] for name in _AUDIT_COLUMNS})
    # Without a notice kind the notices' insert finds no members (no household has the id -1), so
    # that one statement serves both.
    told = booking.household_id if notice is not None else -1
    values.update({"n_kind": notice, "n_params": params, "n_at": now, "household_id": told})
    if behind is not None:
        gate, gate_params = behind
        row = db.session.execute(_one_statement(keys, gate), {**values, **gate_params}).one()
        if row.id is None:
            return Written(None, None, row.taken)
        return Written(_written(booking, row.id), row.event_id, row.taken)
    if db.session.get_bind().dialect.name == "postgresql":
        row = db.session.execute(_one_statement(keys), values).one()
        return Written(_written(booking, row.id), row.event_id)
    booking_id = db.session.execute(_booking_inserts(keys), values).scalar_one()
    trail_values = {**values, "new_booking_id": booking_id}
    event_id = db.session.execute(_AUDIT_INSERT, trail_values).scalar_one()
    if notice is not None:
        db.session.execute(_NOTICES_INSERT, trail_values)
    return Written(_written(booking, booking_id), event_id)


def _written(booking: Booking, booking_id: int) -> Booking:
    """The booking as if loaded from its new row."""
    booking.id = booking_id
    return as_loaded(db.session(), booking)  # every column is set: nothing left to load
