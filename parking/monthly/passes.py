"""The one QR pass of a monthly subscription (DESIGN sections 5 and 9), and the revoked nights that
gate devices need to judge it offline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from parking.audit.services import record
from parking.auth.models import User
from parking.bookings.models import SPACE_HOLDING, Booking
from parking.extensions import db
from parking.garages.models import Garage, Window
from parking.monthly.models import Subscription
from parking.monthly.services import month_text, own_subscription
from parking.passes import offline
from parking.passes.models import Pass
from parking.passes.services import NoSpaceHeld, active_key, inline_svg, sign_with, unix_seconds, validity


def _holding_nights(subscription: Subscription, now: datetime) -> list[tuple[Booking, Window]]:
    rows = db.session.execute(
        db.select(Booking, Window)
        .join(Window, Window.id == Booking.window_id)
        .where(Booking.subscription_id == subscription.id, Booking.status.in_(SPACE_HOLDING))
        .order_by(Window.service_date)
    ).all()
    garage = subscription.template.garage
    return [(b, w) for b, w in rows if validity(w, garage)[1] > now]


def issue(actor: User, subscription_id: int, now: datetime) -> Pass:
    """The subscription's pass, signed on first request and stable after: it admits the nights
    that hold a space then; nights given up later are revoked (`revoked_nights`)."""
    subscription = own_subscription(actor, subscription_id)
    existing = db.session.scalar(db.select(Pass).where(Pass.subscription_id == subscription.id))
    if existing is not None:
        return existing
    nights = _holding_nights(subscription, now)
    if not nights:
        raise NoSpaceHeld(details={"subscription_id": subscription.id})
    garage: Garage = subscription.template.garage
    first = nights[0][1].service_date
    spans = []
    for _booking, window in nights:
        start, end = validity(window, garage)
        spans.append(((window.service_date - first).days, unix_seconds(start), unix_seconds(end)))
    not_before, not_after, span, mask = offline.subscription_window(spans)
    key = active_key(garage.id, now)
    nonce = offline.new_nonce()
    claims = offline.SubscriptionClaims(
        offline.VERSION,
        key.kid,
        subscription.id,
        garage.id,
        subscription.plate,
        not_before,
        not_after,
        nonce,
        span,
        mask,
    )
    issued = Pass(
        booking_id=None,
        subscription_id=subscription.id,
        garage_id=garage.id,
        kid=key.kid,
        nonce=nonce,
        not_before=datetime.fromtimestamp(not_before, UTC),
        not_after=datetime.fromtimestamp(not_after, UTC),
        token=sign_with(key, claims),
        issued_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(issued)
    except IntegrityError:  # the same household asked twice at once: one pass
        winner = db.session.scalar(db.select(Pass).where(Pass.subscription_id == subscription.id))
        assert winner is not None
        return winner
    record(actor, "pass.issued", issued, after={"subscription_id": subscription.id, "kid": key.kid}, at=now)
    return issued


def pass_page(actor: User, subscription_id: int, now: datetime) -> dict[str, Any]:
    issued = issue(actor, subscription_id, now)
    subscription = db.session.get(Subscription, subscription_id)
    assert subscription is not None
    garage = subscription.template.garage
    zone = ZoneInfo(garage.timezone)
    return {
        "subscription": subscription,
        "garage": garage,
        "plate": subscription.plate,
        "month": month_text(subscription.month),
        "opens_local": issued.not_before.astimezone(zone),
        "closes_local": issued.not_after.astimezone(zone),
        "svg": inline_svg(issued.token),
        "token": issued.token,
    }


def revoked_nights(garage_id: int, now: datetime) -> list[dict[str, Any]]:
    """Nights of the garage's issued monthly passes that hold no space any more (handed back,
    bumped, not used) and could still be used: a device refuses the pass during them."""
    garage = db.session.get(Garage, garage_id)
    if garage is None:
        return []
    grace = timedelta(minutes=garage.exit_grace_minutes)
    rows = db.session.execute(
        db.select(Booking.subscription_id, Window)
        .join(Window, Window.id == Booking.window_id)
        .join(Pass, Pass.subscription_id == Booking.subscription_id)
        .where(
            Pass.garage_id == garage_id,
            Booking.status.not_in(SPACE_HOLDING),
            Window.closes_at > now - grace,
        )
        .order_by(Booking.subscription_id, Window.service_date)
    ).all()
    out = []
    for subscription_id, window in rows:
        start, end = validity(window, garage)
        if end > now:
            out.append(
                {
                    "subscription_id": subscription_id,
                    "service_date": window.service_date,
                    "not_before": start,
                    "not_after": end,
                }
            )
    return out
