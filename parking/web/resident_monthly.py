"""Resident pages of the monthly pass (包月): /monthly (buy one, see mine), /monthly/<id> (the month's
nights, the statement, renewal), hand a night back, and the month's QR pass. Routes of the
resident blueprint; each action calls the one service function the API calls."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, render_template, url_for
from flask.typing import ResponseReturnValue

from parking import clock
from parking.auth.models import Role, User
from parking.catalogue import MONTHLY_NIGHT_REASONS
from parking.errors import DomainError
from parking.extensions import db
from parking.i18n import gettext as _
from parking.monthly import services as monthly
from parking.passes import services as pass_services
from parking.web import monthly_display as display
from parking.web.forms.resident import HandBackForm, RenewForm, SubscribeForm
from parking.web.pages import Outcome, actor, done, place_refusal, post_form, roles_required
from parking.web.resident import say_whose
from parking.web.words import day_words

bp = Blueprint("resident_monthly", __name__, template_folder="templates")
bp.after_request(say_whose)


def _subscribe_form(card: dict, user: User, posted: SubscribeForm | None = None) -> SubscribeForm:
    form = posted or SubscribeForm(formdata=None)
    form.month.choices = card["months"]
    form.plate.choices = display.plate_choices(user)
    if posted is None:
        form.template_id.data = card["offer"].template_id
        form.month.data = card["months"][0][0] if card["months"] else None
        form.plate.data = form.plate.choices[0][0] if form.plate.choices else None
    for field in form:
        field.id = f"{field.name}-{card['offer'].template_id}"
        field.label.field_id = field.id
    return form


def _monthly_page(status: int = 200, posted: SubscribeForm | None = None) -> ResponseReturnValue:
    user, now = actor(), clock.now()
    cards = display.offer_cards(user, now)
    placed = False
    for card in cards:
        mine = posted is not None and posted.template_id.data == card["offer"].template_id
        card["form"] = _subscribe_form(card, user, posted if mine else None)
        placed = placed or (mine and bool(card["months"] and card["form"].plate.choices))  # its form is drawn
    context = {
        # a refusal about an offer whose form is no longer shown (taken off sale meanwhile) is said
        # at the top, where the form's anchor leads
        "top_errors": [] if posted is None or placed else [*posted.form_errors, *(m for f in posted for m in f.errors)],
        "top_errors_id": f"buy-{posted.template_id.data}-errors" if posted is not None else "",
        "passes": display.my_passes(user, now),
        "offers": cards,
        "statements": [display.statement_words(row) for row in monthly.own_statements(user)],
        "has_household": user.household is not None,
    }
    return render_template("resident/monthly.html", **context), status


@bp.get("/monthly")
@roles_required(Role.RESIDENT)
def monthly_home() -> ResponseReturnValue:
    return _monthly_page()


@bp.post("/monthly")
@roles_required(Role.RESIDENT)
def monthly_subscribe() -> ResponseReturnValue:
    user, now = actor(), clock.now()
    form = SubscribeForm()
    form.month.choices = [(m, m) for m in (form.month.data or "",)]  # checked by the service
    form.plate.choices = display.plate_choices(user)
    return post_form(
        form,
        lambda: _subscribed(user, form, now),
        lambda outcome: outcome,
        lambda status: _monthly_page(status, posted=form),
        invalid=None,
        place=lambda form, exc: place_refusal(form, _explained(exc)),
        once=(user, now),
    )


def _subscribed(user: User, form: SubscribeForm, now: datetime) -> Outcome:
    subscription = monthly.subscribe(
        user,
        form.template_id.data,
        monthly.parse_month(form.month.data),
        form.plate.data,
        bool(form.accept_partial.data),
        now,
    )
    outcome = Outcome(url_for(".monthly_detail", subscription_id=subscription.id))
    outcome.say(
        _(
            "Monthly pass bought: %(plate)s, %(n)s nights in %(month)s. Please pay at the garage office.",
            plate=subscription.plate,
            n=subscription.nights_booked,
            month=display.month_words(subscription.month),
        ),
        "success",
    )
    return outcome


def _explained(exc: DomainError) -> DomainError:
    """A refused month names each night it could not take and why (full, the monthly places
    taken, already booked by the household, closed), beside the box that takes the other nights."""
    nights = (exc.details or {}).get("nights") or []
    if exc.reason != "month_refused" or not nights:
        return exc
    said = [
        _(
            "%(day)s (%(why)s)",
            day=day_words(date.fromisoformat(n["service_date"])),
            why=MONTHLY_NIGHT_REASONS.get(n.get("reason") or "", n.get("message") or n.get("reason")),
        )
        for n in nights[:10]
    ]
    more = _(" and %(n)s more", n=len(nights) - 10) if len(nights) > 10 else ""
    exc.message = _(
        "These nights cannot be taken: %(days)s%(more)s. Nothing was bought. To buy the other nights, "
        "tick “%(box)s” and press the button again.",
        days=_(", ").join(said),
        more=more,
        box=_("If some nights cannot be booked, take the other nights"),
    )
    return exc


@bp.get("/monthly/<id:subscription_id>")
@roles_required(Role.RESIDENT)
def monthly_detail(subscription_id: int) -> ResponseReturnValue:
    context = display.detail(actor(), subscription_id, clock.now())
    return render_template("resident/monthly_detail.html", renew_form=RenewForm(formdata=None), **context)


@bp.post("/monthly/<id:subscription_id>/renew")
@roles_required(Role.RESIDENT)
def monthly_renew(subscription_id: int) -> ResponseReturnValue:
    user, now = actor(), clock.now()
    form = RenewForm()
    return post_form(
        form,
        lambda: monthly.renew(user, subscription_id, bool(form.accept_partial.data), now),
        lambda renewed: done(
            url_for(".monthly_detail", subscription_id=renewed.id),
            _("Renewed for %(month)s. Please pay at the garage office.", month=display.month_words(renewed.month)),
        ),
        lambda status: (
            render_template(
                "resident/monthly_detail.html", renew_form=form, **display.detail(user, subscription_id, now)
            ),
            status,
        ),
        invalid=None,
        place=lambda form, exc: place_refusal(form, _explained(exc)),
    )


def _night_question(subscription_id: int, service_date: str) -> dict:
    user, now = actor(), clock.now()
    context = display.detail(user, subscription_id, now)
    night = next((n for n in context["nights"] if n["service_date"] == service_date), None)
    if night is None:
        abort(404)
    return {**context, "night": night}


@bp.get("/monthly/<id:subscription_id>/nights/<service_date>/hand-back")
@roles_required(Role.RESIDENT)
def monthly_hand_back_confirm(subscription_id: int, service_date: str) -> ResponseReturnValue:
    context = _night_question(subscription_id, service_date)
    return render_template("resident/monthly_hand_back.html", form=HandBackForm(), **context)


@bp.post("/monthly/<id:subscription_id>/nights/<service_date>/hand-back")
@roles_required(Role.RESIDENT)
def monthly_hand_back(subscription_id: int, service_date: str) -> ResponseReturnValue:
    form = HandBackForm()
    context = _night_question(subscription_id, service_date)
    return post_form(
        form,
        lambda: monthly.hand_back(actor(), subscription_id, date.fromisoformat(service_date), clock.now()),
        lambda _handed_back: done(
            url_for(".monthly_detail", subscription_id=subscription_id),
            _("Handed back: %(day)s. Thank you for letting the space go.", day=context["night"]["day"]),
        ),
        lambda status: (
            render_template(
                "resident/monthly_hand_back.html", form=form, **_night_question(subscription_id, service_date)
            ),
            status,
        ),
        invalid=None,
    )


@bp.get("/monthly/<id:subscription_id>/pass")
@roles_required(Role.RESIDENT)
def monthly_pass(subscription_id: int) -> ResponseReturnValue:
    user, now = actor(), clock.now()
    page = pass_services.month_pass_page(user, subscription_id, now)
    db.session.commit()  # writes nothing, except the key of a garage opened before keys came with it
    subscription, garage = page.subscription, page.garage
    first_day = monthly.month_of(subscription.month)
    context = {
        "subscription_id": subscription.id,
        "plate": page.plate,
        "month": display.month_words(subscription.month),
        "times": display.times_of(subscription.template, garage, first_day),
        "garage_name": garage.name,
        "svg": page.svg,
    }
    return render_template("resident/monthly_pass.html", **context)
