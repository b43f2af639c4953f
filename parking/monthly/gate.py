"""A monthly pass at the barrier (DESIGN section 9): the gate checks the token like any pass (the
same `offline.verify`, with the night mask), then finds the subscription's booking of the night
it is the time of, and applies the scan to it exactly as to a single night's booking."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from parking.auth.models import User
from parking.bookings.models import SPACE_HOLDING, Booking
from parking.extensions import db
from parking.garages.models import Garage, Window
from parking.gate.models import Direction
from parking.gate.services import ALREADY_INSIDE, NOT_INSIDE, UNKNOWN_BOOKING, Apply, ServerKeys, _apply, _locked
from parking.monthly.models import Subscription
from parking.passes import offline

_UNTRUSTED = {offline.MALFORMED, offline.UNKNOWN_KEY, offline.BAD_SIGNATURE}

# The subscription's nights whose pass validity (with the early-entry and exit graces) holds `at`.
_NIGHT_AT = (
    sa.select(Booking.id, Booking.status)
    .join(Window, Window.id == Booking.window_id)
    .where(
        Booking.subscription_id == sa.bindparam("subscription_id"),
        Window.opens_at <= sa.bindparam("entry_until"),
        Window.closes_at > sa.bindparam("exit_from"),
    )
    .order_by(Window.opens_at)
)
_INSIDE = (
    sa.select(Booking.id)
    .where(Booking.subscription_id == sa.bindparam("subscription_id"), Booking.inside.is_(True))
    .order_by(Booking.entered_at)
    .limit(1)
)


def judge_subscription_token(
    actor: User | None,
    garage: Garage,
    token: str,
    direction: Direction,
    seen: str | None,
    now: datetime,
    apply: Apply | None = None,
) -> tuple[str | None, Booking | None, str | None]:
    """(reason or None, booking, plate) of a scan of a monthly pass; `apply` changes the booking
    (the barrier's `_apply` unless the caller brings its own, e.g. an offline upload)."""
    decision = offline.verify_subscription(
        token, ServerKeys(), garage_id=garage.id, at=now, direction=direction.value, plate_seen=seen
    )
    claims = decision.subscription
    plate = claims.plate if claims is not None and decision.reason not in _UNTRUSTED else None
    if not decision.ok:
        return decision.reason, None, plate
    assert claims is not None
    subscription = db.session.get(Subscription, claims.subscription_id)
    if subscription is None or subscription.garage_id != claims.garage_id or subscription.plate != claims.plate:
        return UNKNOWN_BOOKING, None, claims.plate
    change = apply or _apply
    inside_id = db.session.scalar(_INSIDE, {"subscription_id": subscription.id})
    if direction == Direction.OUT:
        if inside_id is None:
            return NOT_INSIDE, None, subscription.plate
        booking = _locked(inside_id)
        assert booking is not None
        return change(actor, booking, direction, now), booking, subscription.plate
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
    return change(actor, booking, direction, now), booking, subscription.plate
