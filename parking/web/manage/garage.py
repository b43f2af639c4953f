"""What every manager page shares: the blueprint `manage` (its endpoint names are the ones the
templates and links use), the garage a page is about, links that keep it, and a night's words.

The garage: a `garage_id` query parameter (kept in every link and form action), else the one
remembered in the session, else the manager's first garage. Another garage's id is a 403 page: the
same scope check as the API (`managed_garage`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from babel.dates import format_skeleton
from flask import Blueprint, abort, g, render_template, request, session, url_for
from flask_wtf import FlaskForm

from parking import clock
from parking.auth.models import Role, User
from parking.catalogue import NIGHT_STATES
from parking.extensions import db
from parking.fields import MAX_ID
from parking.garages.models import Garage, WindowState
from parking.i18n import get_locale
from parking.i18n import gettext as _
from parking.notifications.delivery import recent_dead_count
from parking.quotas.scope import managed_garage
from parking.web.forms.manage import WEEKDAY_NAMES
from parking.web.pages import actor, roles_required
from parking.web.words import hour_minute, moment_words

bp = Blueprint("manage", __name__, template_folder="../templates")

SESSION_KEY = "manage_garage_id"
AUDIT_PAGE = 50

STATE_BADGES = {
    WindowState.PLANNED.value: "badge-info",
    WindowState.OPEN.value: "badge-ok",
    WindowState.CANCELLED.value: "badge-bad",
}

# -- the garage -----------------------------------------------------------------------------------


def garages_of(user: User) -> list[Garage]:
    if user.role == Role.ADMIN:
        return list(db.session.scalars(db.select(Garage).order_by(Garage.id)))
    return sorted((s.garage for s in user.staff_of), key=lambda garage: garage.id)


def current_garage(user: User) -> Garage | None:
    """The garage this page is about; a garage the user does not manage is a 403 (404 if unknown)."""
    raw = request.args.get("garage_id")
    if raw is not None:
        if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
            abort(404)
        garage = managed_garage(user, int(raw))
        session[SESSION_KEY] = garage.id
        return garage
    choices = garages_of(user)
    remembered = session.get(SESSION_KEY)
    for garage in choices:
        if garage.id == remembered:
            return garage
    return choices[0] if choices else None


def garage_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """A manager page about one garage: the view receives it as its first argument."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = actor()
        garage = current_garage(user)
        if garage is None:
            return render_template("manage/no_garage.html"), 200
        g.manage_garage = garage
        g.manage_garages = garages_of(user)
        g.dead_letters_last_hour = recent_dead_count([garage.id], clock.now())
        return view(garage, *args, **kwargs)

    return roles_required(Role.MANAGER)(wrapper)


def murl(endpoint: str, **values: Any) -> str:
    """A link that keeps the garage."""
    garage = g.get("manage_garage")
    if garage is not None:
        values.setdefault("garage_id", garage.id)
    return url_for(endpoint, **values)


def day_label(day: date) -> str:
    return format_skeleton("MMMEd", day, locale=str(get_locale() or "zh"))


def local_time(instant: datetime | None, garage: Garage) -> str:
    return hour_minute(instant, garage.timezone)


def local_datetime(instant: datetime, garage: Garage) -> str:
    """An instant in words on the garage's clock ("12月1日 10:00"), with its year when that is not
    this year's."""
    local = clock.local(instant, garage.timezone)
    return moment_words(local, year=local.year != clock.local(clock.now(), garage.timezone).year)


def state_words(state: str) -> dict[str, Any]:
    icon, words = NIGHT_STATES.get(str(state), ("", state))
    return {"icon": icon, "words": words, "badge": STATE_BADGES.get(state, "badge-plain")}


def weekday_words(days: list[int] | None) -> str:
    if not days:
        return _("Every day")
    names = dict(WEEKDAY_NAMES)
    return _(", ").join(str(names[d]) for d in days)


@bp.context_processor
def manage_globals() -> dict:
    return {"murl": murl, "day_label": day_label, "state_words": state_words}


def unique_ids(form: FlaskForm, suffix: str | int) -> FlaskForm:
    """Several copies of one form on a page (one per row) need their own element ids."""
    for field in form:
        field.id = f"{field.name}-{suffix}"
        field.label.field_id = field.id
    return form
