"""Pages under /manage: tonight, the calendar, overrides, verification, templates, reports and the
audit trail, for the managers of a garage (and admins).

The garage: a `garage_id` query parameter (kept in every link and form action), else the one
remembered in the session, else the manager's first garage. Another garage's id is a 403 page: the
same scope check as the API (`managed_garage`). Changes that would take spaces away are asked
twice: the first answer is the number of bookings affected and a refuse-or-bump choice; nothing
changes before the manager confirms."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_skeleton
from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from parking import clock
from parking.auth.models import Role, User
from parking.bookings import ballot
from parking.bookings.plate_release import release_plate
from parking.errors import DomainError, NotFound, QuotaBelowBooked
from parking.extensions import db
from parking.fields import MAX_ID
from parking.garages import template_services
from parking.garages.models import Garage, Window, WindowState
from parking.garages.services import today
from parking.households import services as household_services
from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.quotas import holidays
from parking.quotas import services as quota_services
from parking.quotas.calendar import NO_RECORD, NOT_RELEASED, NOT_SCHEDULED, month_nights
from parking.quotas.scope import managed_garage
from parking.reports import audit_search
from parking.reports import services as report_services
from parking.reports.tonight import tonight
from parking.web.charts import Row, Series, bar_chart
from parking.web.forms import (
    WEEKDAY_NAMES,
    AddressListForm,
    AuditForm,
    CalendarForm,
    DeleteOverrideForm,
    HolidayForm,
    OverrideForm,
    PolicyForm,
    RangeForm,
    ReleaseForm,
    ReopenForm,
    ReportForm,
    TemplateForm,
    VerifyForm,
)
from parking.web.pages import FORM_INVALID, Outcome, actor, form_failed, post_button, post_form, roles_required
from parking.web.pages import done as said
from parking.web.resident_display import address_words
from parking.web.words import hour_minute
from parking.windows import rules as garage_rules

bp = Blueprint("manage", __name__, template_folder="templates")

SESSION_KEY = "manage_garage_id"
AUDIT_PAGE = 50

#: A night's state in words, with an icon: colour is never the only cue.
NIGHT_STATES: dict[str, tuple[str, Any]] = {
    WindowState.PLANNED.value: ("○", _l("Not started")),
    WindowState.OPEN.value: ("●", _l("Under way")),
    WindowState.CLOSED.value: ("✓", _l("Ended")),
    WindowState.CANCELLED.value: ("✕", _l("Closed to residents")),
    NOT_RELEASED: ("…", _l("Not open for booking yet")),
    NOT_SCHEDULED: ("—", _l("Not lent on this day")),
    NO_RECORD: ("—", _l("No record")),
}
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
    return clock.local(instant, garage.timezone).strftime("%Y-%m-%d %H:%M")


def state_words(state: str) -> dict[str, Any]:
    icon, words = NIGHT_STATES.get(state, ("", state))
    return {"icon": icon, "words": words, "badge": STATE_BADGES.get(state, "badge-plain")}


def weekday_words(days: list[int] | None) -> str:
    if not days:
        return _("Every day")
    names = dict(WEEKDAY_NAMES)
    return _(", ").join(str(names[d]) for d in days)


@bp.context_processor
def manage_globals() -> dict:
    return {"murl": murl, "day_label": day_label, "state_words": state_words}


def _unique_ids(form: FlaskForm, suffix: str | int) -> FlaskForm:
    """Several copies of one form on a page (one per row) need their own element ids."""
    for field in form:
        field.id = f"{field.name}-{suffix}"
        field.label.field_id = field.id
    return form


def _summary_outcome(location: str, summary: dict, outcome: Outcome | None = None) -> Outcome:
    """What a change of quotas did, in words, then `location`."""
    outcome = outcome or Outcome(location)
    outcome.say(_("Saved. Nights changed: %(n)s.", n=summary.get("windows_changed", 0)), "success")
    if summary.get("bumped"):
        outcome.say(
            _("%(n)s bookings lost their space; those households have been told.", n=summary["bumped"]), "warning"
        )
    if summary.get("promoted"):
        outcome.say(_("%(n)s households moved up from the waitlist.", n=summary["promoted"]), "info")
    if summary.get("waitlist_cancelled"):
        outcome.say(_("%(n)s waitlist entries were withdrawn.", n=summary["waitlist_cancelled"]), "info")
    return outcome


def _ask_policy(form: PolicyForm, exc: QuotaBelowBooked, garage: Garage, back: str, what: Any):
    """Spaces would be taken away: ask refuse or bump, or (refused at the second step) say that
    nothing changed."""
    db.session.rollback()
    if form.confirming and form.policy.data == quota_services.REFUSE:
        flash(_("Nothing was changed: every booking keeps its space."), "info")
        return redirect(back)
    details = exc.details or {}
    nights = [
        {"day": date.fromisoformat(w["service_date"]), "affected": w["affected"], "quota": w["quota"]}
        for w in details.get("windows", [])
    ]
    hidden = [
        (name, value)
        for name, values in request.form.lists()
        if name not in {"csrf_token", "policy", "confirm"}
        for value in values
    ]
    confirm = PolicyForm(formdata=None)
    return (
        render_template(
            "manage/confirm_cut.html",
            garage=garage,
            what=what,
            affected=details.get("affected", 0),
            nights=nights,
            hidden=hidden,
            form=confirm,
            action=request.full_path.rstrip("?"),
            back=back,
        ),
        409,
    )


# -- tonight --------------------------------------------------------------------------------------


@bp.get("/manage")
@garage_page
def home(garage: Garage):
    now = clock.now()
    glance = tonight(actor(), garage, now)
    nights = [
        {
            **night,
            "opens": local_time(night["opens_at"], garage),
            "closes": local_time(night["closes_at"], garage),
            "state_words": state_words(night["state"].value),
            "full": night["available"] == 0 and night["state"] in (WindowState.PLANNED, WindowState.OPEN),
        }
        for night in glance["nights"]
    ]
    overstays = [{**car, "leave_by": local_datetime(car["leave_by"], garage)} for car in glance["overstays"]]
    return render_template(
        "manage/home.html", garage=garage, glance=glance, nights=nights, overstays=overstays, today=glance["day"]
    )


# -- calendar -------------------------------------------------------------------------------------


def _month_of(text: str | None, fallback: date) -> date:
    if text:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    return fallback.replace(day=1)


@bp.get("/manage/calendar")
@garage_page
def calendar(garage: Garage):
    now = clock.now()
    templates = template_services.list_templates(garage)
    form = CalendarForm(formdata=request.args)
    form.template_id.choices = [SelectChoice(t.id, t.name) for t in templates]
    status = 200
    if request.args.get("template_id") is None:
        form.template_id.data = templates[0].id if templates else None
    if not templates:
        return render_template("manage/calendar.html", garage=garage, form=form, template=None)
    if not form.validate():
        status = 422
        valid_template = form.template_id.data in {t.id for t in templates}
        form.template_id.data = form.template_id.data if valid_template else templates[0].id
    template = next(t for t in templates if t.id == form.template_id.data)
    local_today = today(garage, now)
    first = _month_of(None if form.month.errors else form.month.data, local_today)
    weeks = month_nights(garage, template, first.year, first.month, now)
    if not form.month.errors:
        form.month.data = first.strftime("%Y-%m")
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    range_form = RangeForm(formdata=None)
    return (
        render_template(
            "manage/calendar.html",
            garage=garage,
            form=form,
            template=template,
            weeks=weeks,
            month_title=format_skeleton("yMMMM", first, locale=str(get_locale() or "zh")),
            previous=previous.strftime("%Y-%m"),
            following=following.strftime("%Y-%m"),
            weekday_names=[name for _, name in WEEKDAY_NAMES],
            range_form=range_form,
            today=local_today,
        ),
        status,
    )


# -- the draw of a ballot night -------------------------------------------------------------------

DRAW_RESULTS: dict[str, Any] = {
    "confirmed": ("✔", _l("Drawn: booked"), "badge-ok"),
    "waitlisted": ("◷", _l("Not drawn: on the waitlist"), "badge-warn"),
}


def draw_view(user: User, window_id: int) -> dict[str, Any]:
    """The published draw of a ballot night (the service behind GET /api/v1/windows/{id}/draw),
    with each entry's household address, for a manager of the night's garage."""
    window = db.session.get(Window, window_id)
    if window is None:
        raise NotFound()
    garage = managed_garage(user, window.garage_id)
    drawn = ballot.published(window.id)
    entries = drawn.entries or []
    ids = [entry["household_id"] for entry in entries]
    households = {h.id: h for h in db.session.scalars(db.select(Household).where(Household.id.in_(ids)))} if ids else {}
    rows = []
    for place, entry in enumerate(entries, start=1):
        icon, words, badge = DRAW_RESULTS.get(entry["result"], ("", entry["result"], "badge-plain"))
        household = households.get(entry["household_id"])
        rows.append(
            {
                "place": place,
                "address": address_words(household) if household is not None else str(entry["household_id"]),
                "household_id": entry["household_id"],
                "wins": entry["wins"],
                "bumped": _("Yes") if entry["bumped"] else _("No"),
                "u": f"{entry['u']:.6f}",
                "icon": icon,
                "result": words,
                "badge": badge,
            }
        )
    closes = drawn.ballot_closes_at
    return {
        "garage": garage,
        "window": window,
        "day": day_label(window.service_date),
        "commitment": drawn.commitment,
        "closes": local_datetime(closes, garage) if closes is not None else "",
        "drawn": drawn.drawn,
        "drawn_at": local_datetime(drawn.drawn_at, garage) if drawn.drawn_at is not None else "",
        "requested": drawn.requested,
        "seed": drawn.seed,
        "quota": drawn.quota,
        "entries": rows,
    }


@bp.get("/manage/draw/<id:window_id>")
@roles_required(Role.MANAGER)
def draw(window_id: int):
    user = actor()
    context = draw_view(user, window_id)
    g.manage_garage = context["garage"]
    g.manage_garages = garages_of(user)
    return render_template("manage/draw.html", **context)


# -- overrides ------------------------------------------------------------------------------------


def _override_rows(garage: Garage, now: datetime) -> list[dict]:
    names = {t.id: t.name for t in template_services.list_templates(garage)}
    overrides = quota_services.list_overrides(garage, today(garage, now) - timedelta(days=1), None)
    return [
        {
            "override": o,
            "template": names.get(o.template_id, ""),
            "days": weekday_words(quota_services.days_of(o.weekdays)),
            "form": _unique_ids(DeleteOverrideForm(formdata=None), o.id),
        }
        for o in overrides
    ]


def _overrides_page(
    garage: Garage,
    form: OverrideForm | None = None,
    holiday_form: HolidayForm | None = None,
    delete_errors: dict[int, str] | None = None,
    status: int = 200,
):
    now = clock.now()
    templates = template_services.list_templates(garage)
    if form is None:
        prefill = RangeForm(formdata=request.args)
        prefill.validate()
        start = prefill.start_date.data if not prefill.start_date.errors else None
        end = prefill.end_date.data if not prefill.end_date.errors else None
        template_id = request.args.get("template_id", type=int)
        form = OverrideForm(
            formdata=None, data={"start_date": start, "end_date": end or start, "template_id": template_id}
        )
    form.template_id.choices = [SelectChoice(t.id, t.name) for t in templates]
    first, last = holidays.supported_years()
    if holiday_form is None:
        holiday_form = HolidayForm(formdata=None, data={"year": min(today(garage, now).year + 1, last)})
    _unique_ids(holiday_form, "holiday")  # the page's other form has a `quota` field too
    return (
        render_template(
            "manage/overrides.html",
            garage=garage,
            form=form,
            holiday_form=holiday_form,
            rows=_override_rows(garage, now),
            delete_errors=delete_errors or {},
            templates=templates,
            holiday_years=(first, last),
        ),
        status,
    )


@bp.get("/manage/overrides")
@garage_page
def overrides(garage: Garage):
    return _overrides_page(garage)


@bp.post("/manage/overrides")
@garage_page
def create_override(garage: Garage):
    form = OverrideForm()
    form.template_id.choices = [SelectChoice(t.id, t.name) for t in template_services.list_templates(garage)]
    back = murl("manage.overrides")
    return post_form(
        form,
        lambda: quota_services.create_override(garage, form.api_data(), actor(), clock.now()),
        lambda override: _summary_outcome(back, override.result),  # type: ignore[attr-defined]
        lambda status: _overrides_page(garage, form=form, status=status),
        invalid="flash",
        asks={QuotaBelowBooked: lambda exc: _ask_policy(form, exc, garage, back, _("the new rule for these nights"))},
    )


@bp.post("/manage/overrides/<id:override_id>/delete")
@garage_page
def delete_override(garage: Garage, override_id: int):
    form = DeleteOverrideForm()
    back = murl("manage.overrides")

    def page(status: int) -> Any:
        refused = [*form.form_errors, *(m for field in form for m in field.errors)]
        said = [str(FORM_INVALID)] if status == 422 or not refused else [str(m) for m in refused]
        return _overrides_page(garage, delete_errors={override_id: " ".join(said)}, status=status)

    return post_form(
        form,
        lambda: quota_services.delete_override(garage, override_id, form.policy.data, actor(), clock.now()),
        lambda summary: _summary_outcome(back, summary),
        page,
        invalid=None,
        asks={QuotaBelowBooked: lambda exc: _ask_policy(form, exc, garage, back, _("removing this rule"))},
    )


@bp.post("/manage/overrides/holidays")
@garage_page
def holiday_preset(garage: Garage):
    form = HolidayForm()
    back = murl("manage.overrides")

    def set_days(result: dict) -> Outcome:
        outcome = said(back, _("Holiday nights of %(year)s: %(n)s days set.", year=result["year"], n=result["days"]))
        return _summary_outcome(back, result, outcome)

    return post_form(
        form,
        lambda: holidays.apply_preset(garage, form.year.data, form.quota.data, form.policy.data, actor(), clock.now()),
        set_days,
        lambda status: _overrides_page(garage, holiday_form=form, status=status),
        invalid="flash",
        asks={
            QuotaBelowBooked: lambda exc: _ask_policy(
                form, exc, garage, back, _("the holiday nights of %(year)s", year=form.year.data)
            )
        },
    )


# -- verification ---------------------------------------------------------------------------------


def _verify_page(
    garage: Garage,
    failed: tuple[str, int, VerifyForm] | None = None,
    status: int = 200,
    release_failed: tuple[int, ReleaseForm] | None = None,
):
    user = actor()
    households = household_services.queue(user, HouseholdState.PENDING, garage.id)
    rejected = household_services.queue(user, HouseholdState.REJECTED, garage.id)
    vehicles = household_services.vehicle_queue(user, garage.id)
    holders = household_services.plate_holders(vehicles)

    def form_for(kind: str, ident: int) -> VerifyForm:
        if failed is not None and failed[0] == kind and failed[1] == ident:
            return _unique_ids(failed[2], f"{kind}{ident}")
        return _unique_ids(VerifyForm(formdata=None), f"{kind}{ident}")

    def release_form(holder_id: int, vehicle_id: int) -> ReleaseForm:
        # One form per clashing row: two plates waiting may clash with the same holder.
        if release_failed is not None and release_failed[0] == holder_id:
            return _unique_ids(release_failed[1], f"r{holder_id}-{vehicle_id}")
        return _unique_ids(ReleaseForm(formdata=None), f"r{holder_id}-{vehicle_id}")

    return (
        render_template(
            "manage/verify.html",
            garage=garage,
            households=[
                {"household": h, "form": form_for("h", h.id), "created": local_datetime(h.created_at, garage)}
                for h in households
            ],
            rejected=[{"household": h, "form": _unique_ids(ReopenForm(formdata=None), f"o{h.id}")} for h in rejected],
            vehicles=[
                {
                    "vehicle": v,
                    "form": form_for("v", v.id),
                    "created": local_datetime(v.created_at, garage),
                    "holder": holders.get(v.id),
                    "release": release_form(holders[v.id].id, v.id) if v.id in holders else None,
                }
                for v in vehicles
            ],
        ),
        status,
    )


@bp.get("/manage/verify")
@garage_page
def verify(garage: Garage):
    return _verify_page(garage)


def _decide(garage: Garage, kind: str, ident: int, decide: Callable[[VerifyForm], Any], done: Callable[[Any], str]):
    form = VerifyForm()
    return post_form(
        form,
        lambda: decide(form),
        lambda thing: said(murl("manage.verify"), done(thing)),
        lambda status: _verify_page(garage, (kind, ident, form), status),
        invalid=None,
    )


@bp.post("/manage/verify/households/<id:household_id>")
@garage_page
def verify_household(garage: Garage, household_id: int):
    def decide(form: VerifyForm):
        household = db.session.get(Household, household_id)
        if household is None or household.garage_id != garage.id:
            abort(404)  # another garage's household is not on this garage's page, even for an admin
        return household_services.verify(
            actor(), household_id, form.decision.data, form.reason.data or None, clock.now()
        )

    def done(household) -> str:
        address = f"{household.building}-{household.unit}-{household.room}"
        if household.state == HouseholdState.VERIFIED:
            return _("Household %(address)s approved.", address=address)
        return _("Household %(address)s rejected.", address=address)

    return _decide(garage, "h", household_id, decide, done)


@bp.post("/manage/verify/vehicles/<id:vehicle_id>")
@garage_page
def verify_vehicle(garage: Garage, vehicle_id: int):
    def decide(form: VerifyForm):
        vehicle = db.session.get(Vehicle, vehicle_id)
        if vehicle is None or vehicle.household.garage_id != garage.id:
            abort(404)
        return household_services.verify_vehicle(
            actor(), vehicle_id, form.decision.data, clock.now(), form.reason.data or None
        )

    def done(vehicle) -> str:
        if vehicle.state == VehicleState.VERIFIED:
            return _("Plate %(plate)s approved.", plate=vehicle.plate)
        return _("Plate %(plate)s rejected.", plate=vehicle.plate)

    return _decide(garage, "v", vehicle_id, decide, done)


@bp.post("/manage/verify/households/<id:household_id>/reopen")
@garage_page
def reopen_household(garage: Garage, household_id: int):
    form = ReopenForm()
    if not form.validate_on_submit():
        flash(str(FORM_INVALID), "error")
        return redirect(murl("manage.verify"))
    household = db.session.get(Household, household_id)
    if household is None or household.garage_id != garage.id:
        abort(404)
    back = murl("manage.verify")
    return post_button(
        lambda: household_services.reopen(actor(), household_id, None, clock.now()),
        lambda _reopened: said(
            back, _("Household %(address)s is back in the queue.", address=household_services.address_of(household))
        ),
        back,
    )


@bp.post("/manage/verify/vehicles/<id:vehicle_id>/release")
@garage_page
def release_vehicle(garage: Garage, vehicle_id: int):
    form = ReleaseForm()
    vehicle = db.session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.garage_id != garage.id:
        abort(404)
    return post_form(
        form,
        lambda: release_plate(actor(), vehicle_id, form.reason.data, clock.now()),
        lambda released: said(
            murl("manage.verify"),
            _(
                "Plate %(plate)s released from household %(address)s; %(n)s coming bookings cancelled.",
                plate=released.vehicle.plate,
                address=household_services.address_of(released.vehicle.household),
                n=len(released.cancelled),
            ),
        ),
        lambda status: _verify_page(garage, status=status, release_failed=(vehicle_id, form)),
        invalid=None,
    )


# -- the estate's addresses -----------------------------------------------------------------------


def _addresses_page(garage: Garage, form: AddressListForm | None = None, preview=None, status: int = 200):
    listed = household_services.address_list(garage.id)
    if form is None:
        form = AddressListForm(formdata=None, data={"spec": listed.spec if listed else ""})
    return (
        render_template("manage/addresses.html", garage=garage, form=form, listed=listed, preview=preview),
        status,
    )


@bp.get("/manage/addresses")
@garage_page
def addresses(garage: Garage):
    return _addresses_page(garage)


@bp.post("/manage/addresses")
@garage_page
def save_addresses(garage: Garage):
    form = AddressListForm()
    if form.preview.data and form.validate_on_submit():
        return _preview_addresses(garage, form)
    back = murl("manage.addresses")
    return post_form(
        form,
        lambda: household_services.set_address_list(actor(), garage.id, form.spec.data or "", clock.now()),
        lambda listed: said(
            back,
            _("Saved: %(n)s addresses. Residents now choose from this list.", n=listed.count)
            if listed.blocks
            else _("The list is removed. Residents type their address again."),
        ),
        lambda status: _addresses_page(garage, form, status=status),
        invalid=None,
    )


def _preview_addresses(garage: Garage, form: AddressListForm) -> Any:
    """The list as it would be saved, or its refusal beside the field: a dry run that writes nothing."""
    try:
        listed = household_services.set_address_list(
            actor(), garage.id, form.spec.data or "", clock.now(), dry_run=True
        )
    except DomainError as exc:
        form_failed(form, exc)
        return _addresses_page(garage, form, status=exc.code)
    db.session.rollback()
    return _addresses_page(garage, form, preview=listed)


# -- templates ------------------------------------------------------------------------------------


def _templates_page(garage: Garage, form: TemplateForm | None = None, status: int = 200):
    templates = template_services.list_templates(garage)
    rules = [
        {"label": rule.summary, "value": rule.unit % {"n": getattr(garage, rule.name)}}
        for rule in garage_rules.RULES
        if rule.summary is not None and rule.unit is not None
    ]
    return (
        render_template(
            "manage/templates.html",
            garage=garage,
            rows=[
                {"template": t, "days": weekday_words(t.weekday_list), "mode": _mode_words(t.mode.value)}
                for t in templates
            ],
            form=form or TemplateForm(formdata=None, data={"weekdays": list(range(1, 8))}),
            rules=rules,
        ),
        status,
    )


def _mode_words(mode: str) -> str:
    return str(_l("Ballot (draw)") if mode == "ballot" else _l("First come, first served"))


@bp.get("/manage/templates")
@garage_page
def templates(garage: Garage):
    return _templates_page(garage)


@bp.post("/manage/templates")
@garage_page
def create_template(garage: Garage):
    form = TemplateForm()
    return post_form(
        form,
        lambda: template_services.create_template(garage, form.api_data(), actor(), clock.now()),
        lambda template: said(
            murl("manage.templates"),
            _("Window added; %(n)s nights opened for booking.", n=template.windows_created),  # type: ignore[attr-defined]
        ),
        lambda status: _templates_page(garage, form, status),
        invalid="flash",
    )


@bp.route("/manage/templates/<id:template_id>", methods=["GET", "POST"])
@garage_page
def edit_template(garage: Garage, template_id: int):
    template = template_services.get_template(garage, template_id)
    status = 200
    if request.method == "GET":
        form = TemplateForm(
            formdata=None,
            data={
                "name": template.name,
                "weekdays": template.weekday_list,
                "start_time": template.start_time,
                "end_time": template.end_time,
                "default_quota": template.default_quota,
                "mode": template.mode.value,
            },
        )
        return render_template("manage/template_edit.html", garage=garage, template=template, form=form), status
    form = TemplateForm()
    back = murl("manage.edit_template", template_id=template_id)
    return post_form(
        form,
        lambda: template_services.update_template(
            garage, template_id, {**form.api_data(), "policy": form.policy.data}, actor(), clock.now()
        ),
        lambda updated: _summary_outcome(murl("manage.templates"), updated.result),  # type: ignore[attr-defined]  # the change summary the service attaches
        lambda status: (
            render_template("manage/template_edit.html", garage=garage, template=template, form=form),
            status,
        ),
        invalid="flash",
        asks={QuotaBelowBooked: lambda exc: _ask_policy(form, exc, garage, back, _("the new number of spaces"))},
    )


# -- reports --------------------------------------------------------------------------------------


def _report(garage: Garage, form: ReportForm) -> dict | None:
    """The nights report for the form's range, or None with the message beside the field."""
    if not form.validate():
        return None
    try:
        return report_services.nights(garage, form.from_.data, form.to.data, clock.now())
    except DomainError as exc:
        form_failed(form, exc)
        return None


def _percent(value: float | None) -> str:
    return _("closed") if value is None else f"{round(value * 100)}%"


def _count(value: float | None) -> str:
    return "—" if value is None else str(int(value))


@bp.get("/manage/reports")
@garage_page
def reports(garage: Garage):
    form = ReportForm(formdata=request.args)
    report = _report(garage, form)
    if report is None:
        return render_template("manage/reports.html", garage=garage, form=form, report=None), 422
    form.from_.data, form.to.data = report["from"], report["to"]
    several = len({row["template"] for row in report["rows"]}) > 1

    def label(row: dict) -> str:
        text = format_skeleton("MMMd", row["service_date"], locale=str(get_locale() or "zh"))
        return f"{text} {row['template']}" if several else text

    rows = [{**row, "label": label(row), "state_words": state_words(row["state"])} for row in report["rows"]]
    span = {"start": report["from"].isoformat(), "end": report["to"].isoformat()}
    utilisation = bar_chart(
        "chart-utilisation",
        _("Spaces used per night, %(start)s to %(end)s", **span),
        _("Cars that came as a share of the spaces; before a night starts, the spaces booked."),
        [Row(r["label"], [r["utilisation"]]) for r in rows],
        [Series("utilisation", _("Used"), "solid")],
        _percent,
        maximum=1.0,
    )
    problems = bar_chart(
        "chart-problems",
        _("No-shows and overstays per night, %(start)s to %(end)s", **span),
        _("Bookings whose car did not come, and cars that stayed past the end."),
        [Row(r["label"], [r["no_shows"], r["overstays"]]) for r in rows],
        [Series("no_shows", _("No-shows"), "hatch"), Series("overstays", _("Overstays"), "dots")],
        _count,
    )
    csv_url = murl("manage.reports_csv", **{"from": span["start"], "to": span["end"]})
    return render_template(
        "manage/reports.html",
        garage=garage,
        form=form,
        report=report,
        rows=rows,
        charts=[(_("Spaces used per night"), utilisation), (_("No-shows and overstays per night"), problems)]
        if rows
        else [],
        csv_url=csv_url,
        percent=_percent,
    )


@bp.get("/manage/reports/nights.csv")
@garage_page
def reports_csv(garage: Garage):
    """The same CSV as `GET /api/v1/garages/<id>/reports/nights?format=csv`, from the same service."""
    form = ReportForm(formdata=request.args)
    report = _report(garage, form)
    if report is None:
        return render_template("manage/reports.html", garage=garage, form=form, report=None), 422
    filename = f"nights-{garage.id}-{report['from'].isoformat()}-{report['to'].isoformat()}.csv"
    return Response(
        report_services.to_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- audit ----------------------------------------------------------------------------------------


def _local_midnight(day: date, garage: Garage) -> datetime:
    return clock.local_midnight(day, garage.timezone)


def _changes(before: dict | None, after: dict | None) -> list[dict]:
    keys = list(dict.fromkeys([*(before or {}), *(after or {})]))
    return [
        {"field": key, "before": (before or {}).get(key), "after": (after or {}).get(key)}
        for key in keys
        if (before or {}).get(key) != (after or {}).get(key)
    ]


@bp.get("/manage/audit")
@garage_page
def audit(garage: Garage):
    form = AuditForm(formdata=request.args)
    if not form.validate():
        return render_template("manage/audit.html", garage=garage, form=form, events=None), 422
    page = form.page.data or 1
    start = _local_midnight(form.from_.data, garage) if form.from_.data else None
    end = _local_midnight(form.to.data + timedelta(days=1), garage) if form.to.data else None
    try:
        events, total = audit_search.search(
            actor(),
            object_ref=form.object.data or None,
            actor_id=form.actor.data,
            garage_id=garage.id,
            start=start,
            end=end,
            offset=(page - 1) * AUDIT_PAGE,
            limit=AUDIT_PAGE,
        )
    except DomainError as exc:
        if exc.code == 403:
            raise
        form_failed(form, exc)
        return render_template("manage/audit.html", garage=garage, form=form, events=None), exc.code
    filters = {
        key: value
        for key, value in {
            "object": form.object.data,
            "actor": form.actor.data,
            "from": form.from_.data.isoformat() if form.from_.data else None,
            "to": form.to.data.isoformat() if form.to.data else None,
        }.items()
        if value
    }
    rows = [
        {
            "event": e,
            "at": local_datetime(e.at, garage),
            "object": f"{e.object_type}:{e.object_id}",
            "actor": e.actor,  # type: ignore[attr-defined]
            "changes": _changes(e.before, e.after),
        }
        for e in events
    ]
    pages = max(1, -(-total // AUDIT_PAGE))
    return render_template(
        "manage/audit.html",
        garage=garage,
        form=form,
        events=rows,
        total=total,
        page=page,
        pages=pages,
        filters=filters,
        previous_url=murl("manage.audit", page=page - 1, **filters) if page > 1 else None,
        next_url=murl("manage.audit", page=page + 1, **filters) if page < pages else None,
    )
