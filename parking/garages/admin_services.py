"""What an admin does to garages and their staff; the API and the admin pages call these same
functions. Every change is audited with its before and after values.

A user holds one role (`users.role`) for all the garages they work for: a manager of one garage
cannot be an attendant of another. Making someone staff sets that role; removing them from their
last garage makes a manager or attendant a resident again. An admin stays admin.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from parking.audit.services import record, snapshot
from parking.auth.models import GarageStaff, Role, User
from parking.errors import Conflict, Forbidden, NotFound, Unprocessable
from parking.extensions import db
from parking.garages.template_services import TemplateHasBookings, reschedule
from parking.i18n import lazy_gettext as _l
from parking.quotas.models import QuotaOverride
from parking.windows.models import Garage, Window, WindowState, WindowTemplate
from parking.windows.rules import RULE_NAMES
from parking.windows.services import get_garage, today

GARAGE_FIELDS: tuple[str, ...] = ("name", "name_en", "address", "timezone", "capacity", *RULE_NAMES)
STAFF_ROLES = (Role.MANAGER, Role.ATTENDANT)

#: Rules the product does not act on yet: accepting them would promise what nobody does.
NOT_YET_SUPPORTED: dict[str, Any] = {}


class CapacityBelowQuota(Conflict):
    reason, message = (
        "capacity_below_quota",
        _l("Some quotas of this garage are above the new capacity; lower those quotas first."),
    )
    field = "capacity"  # the form field a page puts the message beside


class TimezoneHasBookings(Conflict):
    reason, message = (
        "timezone_has_bookings",
        _l("Upcoming nights of this garage have bookings; its time zone cannot change under them."),
    )
    field = "timezone"  # the form field a page puts the message beside


class StaffRoleConflict(Conflict):
    reason, message = (
        "staff_role_conflict",
        _l("This person already has another staff role at other garages; one person has one staff role."),
    )
    field = "role"  # the form field a page puts the message beside


class AlreadyStaff(Conflict):
    reason, message = "already_staff", _l("This person already works for this garage in this role.")
    field = "phone"  # the form field a page puts the message beside


class NotStaff(NotFound):
    reason, message = "not_staff", _l("This person does not work for this garage.")


def _require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden()


def _refuse_unsupported(data: dict) -> None:
    refused = {name: [str(message)] for name, message in NOT_YET_SUPPORTED.items() if name in data}
    if refused:
        raise Unprocessable(reason="not_yet_supported", message=next(iter(NOT_YET_SUPPORTED.values())), errors=refused)


def _check_rules(values: dict) -> None:
    """Rules that only make sense together, checked on the values the garage will have."""
    if values["booking_cutoff_minutes"] > values["no_show_minutes"]:
        raise Unprocessable(
            reason="validation_error",
            errors={"booking_cutoff_minutes": ["must not be after the no-show time (no_show_minutes)"]},
        )


def _defaults() -> dict[str, Any]:
    columns = Garage.__table__.c
    return {name: columns[name].default.arg for name in RULE_NAMES}


def create_garage(data: dict, actor: User, now: datetime) -> Garage:
    _require_admin(actor)
    _refuse_unsupported(data)
    _check_rules({**_defaults(), **data})
    garage = Garage(**data, created_at=now)
    db.session.add(garage)
    db.session.flush()
    record(actor, "garage.created", garage, after=snapshot(garage, *GARAGE_FIELDS), at=now)
    return garage


def _quotas_above(garage: Garage, capacity: int, now: datetime) -> dict[str, Any] | None:
    """What holds a quota above `capacity`: active templates, overrides not yet over, windows not
    yet ended. None when nothing does."""
    templates = list(
        db.session.execute(
            sa.select(WindowTemplate.id, WindowTemplate.default_quota).where(
                WindowTemplate.garage_id == garage.id,
                WindowTemplate.active.is_(True),
                WindowTemplate.default_quota > capacity,
            )
        ).tuples()
    )
    overrides = list(
        db.session.execute(
            sa.select(QuotaOverride.id, QuotaOverride.quota).where(
                QuotaOverride.garage_id == garage.id,
                QuotaOverride.end_date >= today(garage, now) - timedelta(days=1),
                QuotaOverride.quota > capacity,
            )
        ).tuples()
    )
    windows = list(
        db.session.execute(
            sa.select(Window.id, Window.quota).where(
                Window.garage_id == garage.id,
                Window.closes_at > now,
                Window.state != WindowState.CANCELLED,
                Window.quota > capacity,
            )
        ).tuples()
    )
    quotas = [quota for _, quota in templates + overrides + windows if quota is not None]
    if not quotas:
        return None
    return {
        "capacity": capacity,
        "highest_quota": max(quotas),
        "template_ids": sorted(i for i, _ in templates),
        "override_ids": sorted(i for i, _ in overrides),
        "windows": len(windows),
    }


def _move_windows_to_timezone(garage: Garage, actor: User, now: datetime) -> None:
    """The windows that have not opened move to their templates' local times in the new zone;
    refused while any of them holds a booking or a waitlist."""
    templates = list(
        db.session.scalars(
            sa.select(WindowTemplate)
            .where(WindowTemplate.garage_id == garage.id, WindowTemplate.active.is_(True))
            .order_by(WindowTemplate.id)
        )
    )
    for template in templates:
        try:
            reschedule(garage, template, actor, now)
        except TemplateHasBookings as exc:
            raise TimezoneHasBookings(details={**(exc.details or {}), "template_id": template.id})


def update_garage(garage_id: int, data: dict, actor: User, now: datetime) -> Garage:
    """Change the fields given. Lowering the capacity below a quota in force, or moving the time
    zone under booked nights, is refused (409) and changes nothing."""
    _require_admin(actor)
    _refuse_unsupported(data)
    garage = db.session.scalar(
        sa.select(Garage).where(Garage.id == garage_id).with_for_update().execution_options(populate_existing=True)
    )
    if garage is None:
        raise NotFound()
    changes = {key: value for key, value in data.items() if getattr(garage, key) != value}
    if not changes:
        return garage
    _check_rules({**snapshot(garage, *RULE_NAMES), **changes})
    if "capacity" in changes:  # also when a garage without a capacity (0) gets one
        above = _quotas_above(garage, changes["capacity"], now)
        if above is not None:
            raise CapacityBelowQuota(details=above)
    before = snapshot(garage, *changes)
    for key, value in changes.items():
        setattr(garage, key, value)
    db.session.flush()
    if "timezone" in changes:
        _move_windows_to_timezone(garage, actor, now)
    record(actor, "garage.updated", garage, before=before, after=snapshot(garage, *changes), at=now)
    return garage


def _staff_garage_ids(user_id: int) -> list[int]:
    return sorted(db.session.scalars(sa.select(GarageStaff.garage_id).where(GarageStaff.user_id == user_id)))


def _staff_state(user: User) -> dict[str, Any]:
    return {"role": user.role.value, "garages": _staff_garage_ids(user.id)}


def _lock_user(stmt: sa.Select) -> User | None:
    """The user row, locked: two admins changing one person's garages at once are serialised."""
    return db.session.scalar(stmt.with_for_update().execution_options(populate_existing=True))


def _with_garages(user: User, garage_ids: list[int] | None = None) -> User:
    """The user with the garages they work for as the database has them now (the `staff_of`
    collection loaded earlier in the request may be stale)."""
    user.staff_garage_ids = _staff_garage_ids(user.id) if garage_ids is None else garage_ids
    return user


def list_staff(garage_id: int, actor: User) -> list[User]:
    _require_admin(actor)
    garage = get_garage(garage_id)
    users = list(
        db.session.scalars(
            sa.select(User)
            .join(GarageStaff, GarageStaff.user_id == User.id)
            .where(GarageStaff.garage_id == garage.id)
            .order_by(User.role, User.name, User.id)
        )
    )
    garages: dict[int, list[int]] = {user.id: [] for user in users}
    rows = db.session.execute(
        sa.select(GarageStaff.user_id, GarageStaff.garage_id)
        .where(GarageStaff.user_id.in_(list(garages)))
        .order_by(GarageStaff.garage_id)
    ).tuples()
    for user_id, staff_garage_id in rows:
        garages[user_id].append(staff_garage_id)
    return [_with_garages(user, garages[user.id]) for user in users]


def add_staff(garage_id: int, phone: str, role: Role, actor: User, now: datetime) -> User:
    """Make the user with this phone number `role` (manager or attendant) of the garage."""
    _require_admin(actor)
    if role not in STAFF_ROLES:
        raise Unprocessable(reason="validation_error", errors={"role": ["must be manager or attendant"]})
    garage = get_garage(garage_id)
    user = _lock_user(sa.select(User).where(User.phone == phone))
    if user is None:
        raise NotFound(reason="user_not_found")
    before = _staff_state(user)
    garages = before["garages"]
    if user.role == Role.ADMIN:
        if garage.id in garages:
            raise AlreadyStaff(details={"role": user.role.value})
    elif user.role in STAFF_ROLES and user.role != role:
        elsewhere = [g for g in garages if g != garage.id]
        if elsewhere:
            raise StaffRoleConflict(details={"role": user.role.value, "garage_ids": elsewhere})
    elif user.role == role and garage.id in garages:
        raise AlreadyStaff(details={"role": user.role.value})
    if user.role != Role.ADMIN:
        user.role = role
    if garage.id not in garages:
        db.session.add(GarageStaff(user_id=user.id, garage_id=garage.id))
    db.session.flush()
    db.session.expire(user, ["staff_of"])
    record(actor, "staff.added", user, before=before, after=_staff_state(user), garage_id=garage.id, at=now)
    return _with_garages(user)


def remove_staff(garage_id: int, user_id: int, actor: User, now: datetime) -> User:
    """Take the user off the garage's staff; with no garage left a manager or attendant is a
    resident again."""
    _require_admin(actor)
    garage = get_garage(garage_id)
    user = _lock_user(sa.select(User).where(User.id == user_id))
    if user is None:
        raise NotStaff()
    before = _staff_state(user)
    if garage.id not in before["garages"]:
        raise NotStaff()
    db.session.execute(sa.delete(GarageStaff).where(GarageStaff.user_id == user.id, GarageStaff.garage_id == garage.id))
    if user.role in STAFF_ROLES and len(before["garages"]) == 1:
        user.role = Role.RESIDENT
    db.session.flush()
    db.session.expire(user, ["staff_of"])
    record(actor, "staff.removed", user, before=before, after=_staff_state(user), garage_id=garage.id, at=now)
    return _with_garages(user)
