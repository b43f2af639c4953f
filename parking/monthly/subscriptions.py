"""A household's subscriptions as they are read, and handing one night of a month back."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import sqlalchemy as sa

from parking.auth.models import Role, User
from parking.bookings.models import Booking, BookingStatus
from parking.bookings.services import cancel_booking
from parking.errors import (
    Forbidden,
    NotFound,
)
from parking.extensions import db
from parking.i18n import lazy_gettext as _l
from parking.monthly.models import Subscription
from parking.windows.models import Garage, Window


def can_manage(actor: User, garage_id: int) -> bool:
    return actor.is_staff_of(garage_id, Role.MANAGER)


def visible_subscription(actor: User, subscription_id: int) -> Subscription:
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or (
        actor.household_id != subscription.household_id and not can_manage(actor, subscription.garage_id)
    ):
        raise NotFound()
    return subscription


def own_subscription(actor: User, subscription_id: int) -> Subscription:
    subscription = visible_subscription(actor, subscription_id)
    if actor.household_id != subscription.household_id:
        raise Forbidden()
    return subscription


def nights_of(subscription_id: int) -> list[Booking]:
    return list(
        db.session.scalars(
            db.select(Booking)
            .join(Window, Window.id == Booking.window_id)
            .where(Booking.subscription_id == subscription_id)
            .order_by(Window.service_date)
        )
    )


def list_own(actor: User) -> list[Subscription]:
    if actor.household_id is None:
        return []
    return list(
        db.session.scalars(
            db.select(Subscription)
            .where(Subscription.household_id == actor.household_id)
            .order_by(Subscription.month.desc(), Subscription.id)
        )
    )


def holders(garage: Garage, month: date) -> list[Subscription]:
    return list(
        db.session.scalars(
            db.select(Subscription)
            .where(Subscription.garage_id == garage.id, Subscription.month == month)
            .order_by(Subscription.template_id, Subscription.id)
        )
    )


def night_counts(subscription_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per subscription, its nights by booking status."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if subscription_ids:
        rows = db.session.execute(
            db.select(Booking.subscription_id, Booking.status, sa.func.count())
            .where(Booking.subscription_id.in_(subscription_ids))
            .group_by(Booking.subscription_id, Booking.status)
        ).tuples()
        for subscription_id, status, count in rows:
            counts[subscription_id][BookingStatus(status).value] = count
    return counts


def hand_back(actor: User, subscription_id: int, service_date: date, now: datetime) -> Booking:
    """Give one night of the month back: its space returns and the waitlist moves, no strike."""
    subscription = own_subscription(actor, subscription_id)
    booking_id = db.session.scalar(
        db.select(Booking.id)
        .join(Window, Window.id == Booking.window_id)
        .where(Booking.subscription_id == subscription.id, Window.service_date == service_date)
    )
    if booking_id is None:
        raise NotFound(reason="no_such_night", message=_l("This night is not part of your monthly pass."))
    booking = db.session.get(Booking, booking_id)
    assert booking is not None
    return cancel_booking(actor, booking, now)


def with_nights(subscription: Subscription) -> Subscription:
    subscription.nights = nights_of(subscription.id)  # type: ignore[attr-defined]  # a transient attribute the response schema reads
    return subscription
