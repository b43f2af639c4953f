"""Erasing an account: by the person (with their password) or by an admin.

- The person's coming bookings are cancelled through the bookings' one cancel verb, so each
  night's waitlist moves, and a monthly night is handed back the same way; a night that can no
  longer be cancelled or handed back (its car is inside, or it has begun) is left to end as usual.
  Which bookings: where the household keeps other members, those the person made (and the nights
  of the monthly passes the person bought); where the person was the last member, all of the
  household's.
- The person's personal fields are erased: the phone becomes a unique placeholder that is not a
  phone number (`x` and the id), the name is cleared, the password can no longer match, every
  session and token ends, staff roles go; the notifications, reset codes and stored answers (which
  hold plates) are deleted, and the values of the audit events about the account are masked.
- The household stays while it has other members; left without members, its plates are released
  (free for another household) and the household stays as the garage's record of past nights.
- The audit trail keeps `user:<id>` and the action (`user.erased`): never the phone or the name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from parking.audit.models import AuditEvent
from parking.audit.services import record
from parking.auth import sign_ins
from parking.auth.models import GarageStaff, ResetCode, Role, User
from parking.bookings import services as booking_services
from parking.bookings.models import Booking, BookingStatus
from parking.errors import DomainError, Forbidden, NotFound, WrongPassword
from parking.extensions import db
from parking.households import services as household_services
from parking.households.models import Household
from parking.idempotency.models import IdempotencyKey
from parking.masking import mask_values
from parking.monthly.models import Subscription
from parking.notifications.models import Notification
from parking.windows.models import Window

#: A password hash no password matches (werkzeug finds no method in it).
UNUSABLE_HASH = "!erased"

#: The coming bookings an erasure cancels: those without the car inside.
CANCELLABLE = (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED, BookingStatus.REQUESTED)


@dataclass(frozen=True)
class Erased:
    user_id: int
    cancelled: list[int]  # bookings cancelled
    handed_back: list[int]  # monthly nights handed back
    household_kept: bool  # the household has other members


def placeholder_phone(user_id: int) -> str:
    """Unique (by the id) and never a phone number (a phone is 11 digits)."""
    return f"x{user_id:010d}"  # ids are below 2**31: ten digits


def erase_own(user: User, current_password: str, now: datetime) -> Erased:
    """/account and `POST /me/erasure`: the person's own account, with their password."""
    if user.deleted_at is not None or not check_password_hash(user.password_hash, current_password):
        raise WrongPassword()
    return _erase(user, user, now)


def erase_by_admin(actor: User, user_id: int, now: datetime) -> Erased:
    """An admin erases someone's account (not their own: that is /account's, with the password)."""
    if actor.role != Role.ADMIN:
        raise Forbidden()
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound(reason="user_not_found")
    if user.id == actor.id:
        raise Forbidden(reason="erase_own_account_on_account_page")
    return _erase(actor, user, now)


def find_by_phone(phone: str) -> User:
    """The account an admin names by its phone number, for the admin page."""
    user = db.session.scalar(sa.select(User).where(User.phone == phone, User.deleted_at.is_(None)))
    if user is None:
        raise NotFound(reason="user_not_found")
    return user


def _coming(user: User, household: Household, last_member: bool, now: datetime) -> list[Booking]:
    stmt = (
        sa.select(Booking)
        .join(Window, Window.id == Booking.window_id)
        .where(Booking.household_id == household.id, Booking.status.in_(CANCELLABLE), Window.closes_at > now)
        .order_by(Window.opens_at, Booking.id)
    )
    if not last_member:
        bought = sa.select(Subscription.id).where(Subscription.created_by_id == user.id)
        stmt = stmt.where(sa.or_(Booking.created_by_id == user.id, Booking.subscription_id.in_(bought)))
    return list(db.session.scalars(stmt))


def _cancel_coming(actor: User, user: User, household: Household, last_member: bool, now: datetime) -> Erased:
    cancelled: list[int] = []
    handed_back: list[int] = []
    for booking in _coming(user, household, last_member, now):
        try:
            with db.session.begin_nested():
                booking_services.cancel(actor, booking.id, now, reason="account erased")
        except DomainError:
            continue  # begun, or its car is inside: it ends as usual
        (handed_back if booking.subscription_id else cancelled).append(booking.id)
    return Erased(user.id, cancelled, handed_back, household_kept=not last_member)


def _erase(actor: User, user: User, now: datetime) -> Erased:
    household = db.session.get(Household, user.household_id) if user.household_id else None
    erased = Erased(user.id, [], [], household_kept=False)
    if household is not None:
        last_member = all(m.id == user.id for m in household.members)
        erased = _cancel_coming(actor, user, household, last_member, now)
        user.household_id = None
        db.session.flush()
        db.session.expire(household, ["members"])
        if last_member:
            household_services.release_when_left_empty(actor, household, now)
    sign_ins.end_all(user)
    user.phone = placeholder_phone(user.id)
    user.name = ""
    user.password_hash = UNUSABLE_HASH
    user.active = False
    user.deleted_at = now
    db.session.execute(sa.delete(GarageStaff).where(GarageStaff.user_id == user.id))
    db.session.expire(user, ["staff_of"])
    for kept in (Notification, ResetCode, IdempotencyKey):
        db.session.execute(sa.delete(kept).where(kept.user_id == user.id))
    about = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == "user", AuditEvent.object_id == user.id)
    )
    for event in about:
        event.before, event.after = mask_values(event.before), mask_values(event.after)
    record(
        actor,
        "user.erased",
        user,
        after={"cancelled": len(erased.cancelled), "handed_back": len(erased.handed_back)},
        reason="by the person" if actor.id == user.id else "by an admin",
        at=now,
    )
    db.session.flush()
    return erased
