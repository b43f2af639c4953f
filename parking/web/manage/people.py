"""/manage/people: the garage's households and their members, and its staff, with what a manager
does for a person's account: issue a password reset code (shown once, in large digits) and lift a
lock-out of password sign-in. Routes of the manager blueprint; each action calls the one service
function the API calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from parking import clock
from parking.auth import lockout, reset_codes
from parking.auth.models import GarageStaff, LoginLockout, Role, User
from parking.extensions import db
from parking.garages.models import Garage
from parking.households import services as household_services
from parking.households.models import Household
from parking.i18n import gettext as _
from parking.web.manage.garage import garage_page, manage_globals, murl
from parking.web.pages import Outcome, actor, done, post_button
from parking.web.resident_display import address_words

bp = Blueprint("manage_people", __name__, template_folder="../templates")
bp.context_processor(manage_globals)


@dataclass(frozen=True)
class PersonRow:
    user: User
    locked_until: str | None
    may_issue: bool
    may_lift: bool


@dataclass(frozen=True)
class HouseholdRow:
    household: Household
    address: str
    members: list[PersonRow]


def _matches(query: str, household: Household) -> bool:
    address = f"{household.building}-{household.unit}-{household.room} {address_words(household)}"
    return query in address or any(query in m.phone or query in m.name for m in household.members)


def _people(garage: Garage, query: str) -> tuple[list[HouseholdRow], list[PersonRow]]:
    user, now = actor(), clock.now()
    households = [h for h in household_services.queue(user, None, garage.id) if not query or _matches(query, h)]
    staff = list(
        db.session.scalars(
            sa.select(User)
            .join(GarageStaff, GarageStaff.user_id == User.id)
            .where(GarageStaff.garage_id == garage.id, User.active.is_(True))
            .order_by(User.role, User.name, User.id)
        )
    )
    if query:
        staff = [s for s in staff if query in s.phone or query in s.name]
    ids = [m.id for h in households for m in h.members] + [s.id for s in staff]
    locked = lockout.active_lockouts(ids, now)

    def row(person: User) -> PersonRow:
        current: LoginLockout | None = locked.get(person.id)
        return PersonRow(
            user=person,
            locked_until=lockout.until_words(current.locked_until, garage.timezone) if current else None,
            may_issue=reset_codes.may_issue(user, person),
            may_lift=lockout.manages_person(user, person),
        )

    return (
        [HouseholdRow(h, address_words(h), [row(m) for m in h.members if m.active]) for h in households],
        [row(s) for s in staff],
    )


@bp.get("/manage/people")
@garage_page
def people(garage: Garage) -> ResponseReturnValue:
    query = (request.args.get("q") or "").strip()[:40]
    households, staff = _people(garage, query)
    return render_template(
        "manage/people.html",
        garage=garage,
        households=households,
        staff=staff,
        query=query,
        form=FlaskForm(),
        roles={Role.ATTENDANT: _("Attendant"), Role.MANAGER: _("Manager"), Role.ADMIN: _("Admin")},
    )


@bp.post("/manage/people/<id:user_id>/reset-code")
@garage_page
def issue_reset_code(garage: Garage, user_id: int) -> ResponseReturnValue:
    form = FlaskForm()
    if not form.validate_on_submit():
        flash(_("This form has expired or was not sent from this site."), "error")
        return redirect(murl("manage_people.people"))
    back = murl("manage_people.people")

    def shown_once(issued: Any) -> Outcome:
        # Rendered, not redirected: the code is shown this once and is never kept in a cookie or a flash.
        page = render_template(
            "manage/reset_code.html",
            garage=garage,
            person=issued.user,
            code=issued.code,
            expires=lockout.until_words(issued.expires_at, garage.timezone),
        )
        return Outcome(back, shown=page)

    return post_button(lambda: reset_codes.issue(actor(), user_id, clock.now()), shown_once, back)


@bp.post("/manage/people/<id:user_id>/lift")
@garage_page
def lift_lockout(garage: Garage, user_id: int) -> ResponseReturnValue:
    form = FlaskForm()
    if not form.validate_on_submit():
        flash(_("This form has expired or was not sent from this site."), "error")
        return redirect(murl("manage_people.people"))
    back = murl("manage_people.people")
    return post_button(
        lambda: lockout.lift(actor(), user_id, clock.now()),
        lambda lifted: done(back, _("%(name)s can sign in with a password again.", name=lifted.user.name)),
        back,
    )
