"""Resident pages: /home /household /nights /bookings /bookings/<id> /bookings/<id>/pass
/notifications, and the service worker that keeps a pass for the garage, where there is no signal.

Each action takes the actor, validates its form, calls the one service function the API calls,
commits, flashes and redirects; a refusal is put beside the field or the button it is about."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm

from parking import clock
from parking.auth.models import Role, User
from parking.bookings import nights as nights_services
from parking.bookings import services as booking_services
from parking.bookings.models import BookingStatus
from parking.bookings.nights import NightOutcome
from parking.errors import DomainError
from parking.extensions import db
from parking.garages import services as garage_services
from parking.households import services as household_services
from parking.households.addresses import PARTS
from parking.households.models import HouseholdState
from parking.i18n import gettext as _
from parking.idempotency.services import new_key
from parking.monthly import services as monthly
from parking.passes import services as pass_services
from parking.web import resident_display as display
from parking.web.forms.household import HouseholdForm, MemberForm, ResubmitForm, VehicleForm
from parking.web.forms.resident import BookForm, CancelForm, NightsForm
from parking.web.pages import Outcome, actor, done, post_form, roles_required

bp = Blueprint("resident", __name__, template_folder="templates")
# A fresh idempotency key for each booking form a template renders.
bp.add_app_template_global(new_key, "form_key")

HOME_NIGHTS = 3  # the next nights offered on the home page: a booked night in three taps from login

# -- kept for no signal -----------------------------------------------------------------------------
# /home and /bookings name the pages the service worker keeps for the garage, where there is no
# signal: themselves, and the pass of every night that holds a space in the next KEEP_AHEAD (and the
# month's pass). Every resident page says whose it is in X-Kept-For (a keyed hash of the user id,
# never the id itself): the worker serves a kept page only to the one it was kept for.
KEEP_AHEAD = timedelta(hours=48)
KEPT_FOR = "X-Kept-For"
KEPT_ASSETS = ("css/app.css", "css/resident.css", "css/monthly.css", "js/kept.js", "js/pass.js")


def kept_for(user: User) -> str:
    """Whose pages these are, for the service worker: the same user gives the same word on every
    instance (it is keyed by SECRET_KEY), and it tells nobody the user's id."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"kept-for:{user.id}".encode(), hashlib.sha256).hexdigest()[:32]


def kept_urls(user: User, now: datetime) -> list[str]:
    """The pages and files /home and /bookings keep for no signal."""
    urls = [url_for(".home"), url_for(".bookings")]
    for booking in booking_services.coming_for(user, now, limit=20):
        if booking.holds_space and booking.window.opens_at <= now + KEEP_AHEAD:
            urls.append(url_for(".booking_pass", booking_id=booking.id))
    household = user.household
    if household is not None:
        today = garage_services.today(household.garage, now)
        months = {monthly.month_of(today), monthly.month_of(today + KEEP_AHEAD)}
        subscriptions = [s.id for s in monthly.list_own(user) if s.month in months]
        for subscription_id in sorted(pass_services.months_with_pass(household.garage, subscriptions, now)):
            urls.append(url_for("resident_monthly.monthly_pass", subscription_id=subscription_id))
    return urls + kept_assets()


def kept_assets() -> list[str]:
    return [url_for("static", filename=name) for name in KEPT_ASSETS]


bp.add_app_template_global(kept_assets, "kept_assets")


def say_whose(response: Response) -> Response:
    """After every resident page (here and on the monthly pages): whose page it is. Only a page
    that was drawn, whose view has loaded the user already: the service worker's script or an
    error answer never costs a query (the database may be the reason for the error)."""
    if (
        response.status_code == 200
        and response.mimetype == "text/html"
        and current_user.is_authenticated
        and current_user.role == Role.RESIDENT
    ):
        response.headers[KEPT_FOR] = kept_for(current_user)
    return response


bp.after_request(say_whose)


@bp.get("/home")
@roles_required(Role.RESIDENT)
def home() -> ResponseReturnValue:
    user, now = actor(), clock.now()
    step = display.next_step(user, now)
    current = display.current_booking(user, now)
    pass_context = display.pass_view(user, current.id, now) if current is not None else None
    coming, months = display.home_bookings(user, now, limit=5)
    nights = display.nights(user, now, limit=HOME_NIGHTS) if step.kind == "book" and current is None else []
    db.session.commit()  # writes nothing, except the key of a garage opened before keys came with it
    keep = kept_urls(user, now)
    return render_template(
        "resident/home.html",
        step=step,
        current=pass_context,
        coming=coming,
        months=months,
        nights=nights,
        form=BookForm(),
        keep=keep,
    )


# -- the household ----------------------------------------------------------------------------------


def _pickers(garage_id: int | None) -> dict[str, Any] | None:
    """The estate's buildings, units and rooms to choose from, where the garage has a list, and
    its blocks for the page's optional script that narrows the choices."""
    listed = household_services.address_list(garage_id) if garage_id else None
    if listed is None or not listed.blocks:
        return None
    pickers: dict[str, Any] = {part: listed.choices(part) for part in PARTS}
    pickers["blocks"] = [[b.buildings, b.units, b.rooms] for b in listed.blocks]
    return pickers


def _chosen_garage(form: HouseholdForm) -> int | None:
    """The garage whose addresses the form offers: the one sent, else ?garage_id=, else the first."""
    ids = [value for value, _label in form.garage_id.choices]
    for candidate in (form.garage_id.data, request.args.get("garage_id", type=int)):
        if candidate in ids:
            return candidate
    return ids[0] if ids else None


def _household_page(status: int = 200, **forms: FlaskForm) -> ResponseReturnValue:
    user, now = actor(), clock.now()
    if user.household is None:
        form = forms.get("create") or HouseholdForm()
        form.garage_id.choices = display.garage_choices()
        garage_id = _chosen_garage(form)
        if form.garage_id.data is None:
            form.garage_id.data = garage_id
        return render_template("resident/household_new.html", form=form, pickers=_pickers(garage_id)), status
    household = user.household
    context = display.household_view(household, now)
    resubmit_form = None
    if household.state == HouseholdState.REJECTED:
        resubmit_form = forms.get("resubmit") or ResubmitForm(
            formdata=None, data={"building": household.building, "unit": household.unit, "room": household.room}
        )
    return render_template(
        "resident/household.html",
        vehicle_form=forms.get("vehicle") or VehicleForm(formdata=None),
        member_form=forms.get("member") or MemberForm(formdata=None),
        resubmit_form=resubmit_form,
        pickers=_pickers(household.garage_id) if resubmit_form is not None else None,
        **context,
    ), status


@bp.get("/household")
@roles_required(Role.RESIDENT)
def household() -> ResponseReturnValue:
    return _household_page()


@bp.post("/household")
@roles_required(Role.RESIDENT)
def household_create() -> ResponseReturnValue:
    form = HouseholdForm()
    form.garage_id.choices = display.garage_choices()
    return post_form(
        form,
        lambda: household_services.create(
            actor(), form.garage_id.data, form.building.data, form.unit.data, form.room.data, clock.now()
        ),
        lambda _household: done(
            url_for(".household"),
            _("Your household is registered. Next, add your car; then the manager checks both."),
        ),
        lambda status: _household_page(status, create=form),
    )


@bp.post("/household/resubmit")
@roles_required(Role.RESIDENT)
def household_resubmit() -> ResponseReturnValue:
    user = actor()
    if user.household is None:
        return redirect(url_for(".household"))
    form, household_id = ResubmitForm(), user.household.id
    return post_form(
        form,
        lambda: household_services.resubmit(
            user, household_id, form.building.data, form.unit.data, form.room.data, clock.now()
        ),
        lambda _household: done(
            url_for(".household"), _("Sent again. The manager checks your household soon; you will get a message.")
        ),
        lambda status: _household_page(status, resubmit=form),
    )


@bp.post("/household/vehicles")
@roles_required(Role.RESIDENT)
def vehicle_add() -> ResponseReturnValue:
    user = actor()
    if user.household is None:
        return redirect(url_for(".household"))
    form, household_id = VehicleForm(), user.household.id
    return post_form(
        form,
        lambda: household_services.add_vehicle(user, household_id, form.joined or "", clock.now()),
        lambda vehicle: done(
            url_for(".household"), _("Plate %(plate)s added. The manager checks it soon.", plate=vehicle.plate)
        ),
        lambda status: _household_page(status, vehicle=form),
        invalid=None,
    )


@bp.post("/household/members")
@roles_required(Role.RESIDENT)
def member_add() -> ResponseReturnValue:
    user = actor()
    if user.household is None:
        return redirect(url_for(".household"))
    form, household_id = MemberForm(), user.household.id
    return post_form(
        form,
        lambda: household_services.add_member(user, household_id, form.phone.data, clock.now()),
        lambda member: done(url_for(".household"), _("%(name)s is now a member of your household.", name=member.name)),
        lambda status: _household_page(status, member=form),
        invalid=None,
    )


# -- nights and bookings ----------------------------------------------------------------------------


def _nights_page(
    status: int = 200, failed: BookForm | None = None, several: NightsForm | None = None
) -> ResponseReturnValue:
    user, now = actor(), clock.now()
    shown = display.nights(user, now, failed=failed)
    placed = any(night.errors for night in shown)
    several_form = several or NightsForm(formdata=None)
    ticked = set(several_form.window_ids.data or []) if several is not None else set()
    choosable = display.choosable(shown)
    posted_plate = several_form.plate.data if several is not None else None
    plates = display.plate_choices_for(user, posted_plate) if choosable else []
    context = {
        "step": display.next_step(user, now),
        "nights": shown,
        # a refusal about a night no longer listed is said at the top
        "top_errors": [] if failed is None or placed else display.form_messages(failed),
        # where the refused night's form leads (macros.html `post`): its card, else the top
        "top_errors_id": f"book-{failed.window_id.data}-errors" if failed is not None else "several-errors",
        "several": several_form,
        "choosable": [(night, night.window_id in ticked) for night in choosable],
        "several_plates": plates,
        "several_errors": several_form.form_errors + [str(m) for f in several_form for m in f.errors]
        if several is not None
        else [],
    }
    return render_template("resident/nights.html", **context), status


@bp.get("/nights")
@roles_required(Role.RESIDENT)
def nights() -> ResponseReturnValue:
    return _nights_page()


@bp.post("/nights")
@roles_required(Role.RESIDENT)
def book() -> ResponseReturnValue:
    form = BookForm()
    user, now = actor(), clock.now()
    return post_form(
        form,
        lambda: _booked(user, form, now),
        lambda outcome: outcome,
        lambda status: _nights_page(status, failed=form),
        invalid=None,
        once=(user, now),
    )


def _night_ids(user: User, keys: list[str], now: datetime) -> list[int]:
    """The windows the form's nights name; a night not made yet is made by this booking."""
    if user.household is None:
        return [int(key) if key.isdigit() else 0 for key in keys]  # the service says why not
    return [garage_services.night_window_id(user.household.garage, key, now) for key in keys]


def _booked(user: User, form: BookForm, now: datetime) -> Outcome:
    (window_id,) = _night_ids(user, [form.window_id.data], now)
    booking = booking_services.request_booking(user, window_id, form.plate.data, bool(form.waitlist.data), now)
    row = display.booking_row(user, booking, now)
    outcome = Outcome(url_for(".booking", booking_id=booking.id))
    if booking.status == BookingStatus.WAITLISTED:
        outcome.say(
            _(
                "You are on the waitlist for %(day)s with %(plate)s. If a space becomes free, it is yours "
                "and you get a message.",
                day=row["day"],
                plate=booking.plate,
            ),
            "info",
        )
    elif booking.status == BookingStatus.REQUESTED:
        outcome.say(
            _(
                "You asked for the draw of %(day)s with %(plate)s. After the draw you get a message.",
                day=row["day"],
                plate=booking.plate,
            ),
            "info",
        )
    else:
        outcome.say(_("Booked: %(plate)s, %(day)s.", plate=booking.plate, day=row["day"]), "success")
    return outcome


@bp.post("/nights/several")
@roles_required(Role.RESIDENT)
def book_nights() -> ResponseReturnValue:
    """Several nights at once, through the batch service the API calls."""
    form = NightsForm()
    user, now = actor(), clock.now()
    return post_form(
        form,
        lambda: _nights_booked(user, form, now),
        lambda outcome: outcome,
        lambda status: _nights_page(status, several=form),
        place=lambda form, exc: _nights_refused(form, exc, user, now),
        once=(user, now),
    )


def _nights_refused(form: NightsForm, exc: DomainError, user: User, now: datetime) -> None:
    """A refused batch says why above its form, and each night it could not take."""
    form.form_errors.append(str(exc.message))
    if exc.details and exc.details.get("nights"):
        said = [NightOutcome.from_json(night) for night in exc.details["nights"]]
        form.form_errors.extend(display.nights_outcome(said, display.today_of(user, now)))


def _nights_booked(user: User, form: NightsForm, now: datetime) -> Outcome:
    result = nights_services.request_nights(
        user,
        _night_ids(user, list(form.window_ids.data or []), now),
        form.plate.data,
        False,
        bool(form.accept_partial.data),
        now,
    )
    outcome = Outcome(url_for(".bookings"))
    outcome.say(_("Your nights:"), "success")
    for line in display.nights_outcome(result.nights, display.today_of(user, now)):
        outcome.say(line, "info")
    return outcome


@bp.get("/bookings")
@roles_required(Role.RESIDENT)
def bookings() -> ResponseReturnValue:
    user, now = actor(), clock.now()
    keep = kept_urls(user, now)
    return render_template("resident/bookings.html", keep=keep, **display.bookings_overview(user, now))


@bp.get("/bookings/<id:booking_id>")
@roles_required(Role.RESIDENT)
def booking(booking_id: int) -> ResponseReturnValue:
    return render_template("resident/booking.html", **display.booking_detail(actor(), booking_id, clock.now()))


@bp.get("/bookings/<id:booking_id>/cancel")
@roles_required(Role.RESIDENT)
def cancel_confirm(booking_id: int) -> ResponseReturnValue:
    context = display.cancel_question(actor(), booking_id, clock.now())
    return render_template("resident/cancel.html", form=CancelForm(), **context)


@bp.post("/bookings/<id:booking_id>/cancel")
@roles_required(Role.RESIDENT)
def cancel(booking_id: int) -> ResponseReturnValue:
    form = CancelForm()
    user, now = actor(), clock.now()
    back = url_for(".booking", booking_id=booking_id)
    return post_form(
        form,
        lambda: booking_services.cancel(user, booking_id, now),
        lambda cancelled: (
            done(back, _("Cancelled. This was a late cancellation."), "warning")
            if cancelled.late_cancel
            else done(back, _("Cancelled. Thank you for letting the space go."))
        ),
        lambda status: (
            render_template("resident/cancel.html", form=form, **display.cancel_question(user, booking_id, now)),
            status,
        ),
        invalid=None,
    )


@bp.get("/bookings/<id:booking_id>/pass")
@roles_required(Role.RESIDENT)
def booking_pass(booking_id: int) -> ResponseReturnValue:
    context = display.pass_view(actor(), booking_id, clock.now())
    db.session.commit()  # writes nothing, except the key of a garage opened before keys came with it
    return render_template("resident/pass.html", **context)


@bp.get("/notifications")
@roles_required()
def notifications() -> ResponseReturnValue:
    return render_template("resident/notifications.html", notes=display.inbox(actor()))


@bp.get("/sw.js")
def service_worker() -> ResponseReturnValue:
    """The service worker, from the site's root, with the site's root as its scope: it keeps /home,
    /bookings and the passes (a night's, a month's) for the garage, where there is no signal."""
    path = Path(current_app.static_folder or "") / "js" / "sw.js"
    response = make_response(path.read_bytes())  # read whole: no file left open if the request fails later
    response.mimetype = "text/javascript"
    response.headers["Cache-Control"] = "no-cache"
    return response
