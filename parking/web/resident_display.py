"""What the resident pages show, computed here so that the templates only display: nights with their
availability in words, bookings with their status words and history, the household in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, url_for

from parking.audit.services import history
from parking.auth.models import User
from parking.bookings import next_steps
from parking.bookings import services as booking_services
from parking.bookings.models import LIVE, SPACE_HOLDING, Booking, BookingStatus
from parking.bookings.nights import NightOutcome
from parking.catalogue import (
    BOOKING_EVENTS,
    DRAW_RESULT,
    INFO_ICON,
    NIGHT_CLOSED_BECAUSE,
    NIGHT_STATE,
    NIGHTS_RESULT,
    household_state,
    reason_words,
    status_words,
    vehicle_state,
)
from parking.extensions import db
from parking.garages import services as garage_services
from parking.garages.services import Listed
from parking.households import services as household_services
from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.i18n import gettext as _
from parking.masking import mask_phone
from parking.monthly.models import Subscription
from parking.passes import services as pass_services
from parking.web.forms.resident import BookForm
from parking.web.monthly_display import month_words
from parking.web.words import day_words, held_back_words, local, moment_words, span_words


@dataclass
class PlateChoice:
    plate: str
    label: str
    checked: bool


@dataclass
class Night:
    window_id: str  # the night's key in forms (garage_services.night_key)
    day: str
    times: str
    availability: str
    tone: str
    icon: str
    action: str | None  # "book", "waitlist", "ballot" or None
    booking_id: int | None = None
    booking_holds_space: bool = False
    plates: list[PlateChoice] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    held_back: str | None = None  # why the household may not book now, in words (no button then)


@dataclass
class Step:
    """What a resident should do next, in words, with the one button that does it."""

    kind: str
    title: str
    text: str
    tone: str
    icon: str
    link: str | None = None
    link_label: str | None = None


def _plate_choices(household: Household, posted: str | None = None) -> list[PlateChoice]:
    usable = [v for v in household.vehicles if v.state not in (VehicleState.REJECTED, VehicleState.RELEASED)]
    usable.sort(key=lambda v: (v.state != VehicleState.VERIFIED, v.id))
    chosen = posted if posted in {v.plate for v in usable} else (usable[0].plate if usable else None)
    return [
        PlateChoice(
            v.plate,
            v.plate if v.state == VehicleState.VERIFIED else _("%(plate)s (waiting for the manager)", plate=v.plate),
            v.plate == chosen,
        )
        for v in usable
    ]


def _night(listed: Listed, household: Household, today: Any, now: datetime, choices: list[PlateChoice]) -> Night:
    garage = household.garage
    window = listed.window
    opens, closes = local(window.opens_at, garage.timezone), local(window.closes_at, garage.timezone)
    night = Night(
        garage_services.night_key(window),
        day_words(window.service_date, today),
        span_words(opens, closes),
        "",
        "info",
        INFO_ICON,
        None,
    )
    if listed.mine_id is not None:
        mine = status_words(listed.mine_status)
        night.availability, night.tone, night.icon = str(mine.words), mine.tone, mine.icon
        night.booking_id, night.booking_holds_space = listed.mine_id, listed.mine_status in SPACE_HOLDING
        return night
    steps = next_steps.for_night(window, garage, now, household)
    offered = steps.action or steps.offered
    if steps.offered is not None:
        night.held_back = held_back_words(household, steps.refusal, now)
    if offered is None and steps.refusal is not None:
        words = NIGHT_STATE.get(steps.refusal, NIGHT_STATE["booking_closed"])
        night.availability, night.tone, night.icon = str(words.words), words.tone, words.icon
        if window.closed_reason and steps.refusal in NIGHT_CLOSED_BECAUSE:
            reason = reason_words(window.closed_reason)
            night.availability = str(NIGHT_CLOSED_BECAUSE[steps.refusal]) % {"reason": reason}
        return night
    night.plates = choices if steps.action is not None else []
    night.action = steps.action.value if steps.action is not None else None
    if offered == next_steps.NightAction.BALLOT and steps.ballot_closes_at is not None:
        closes_at = moment_words(local(steps.ballot_closes_at, garage.timezone))
        words = NIGHT_STATE["ballot"]
        night.availability = str(words.words) % {"closes": closes_at}
    elif offered == next_steps.NightAction.BOOK:
        words = NIGHT_STATE["book_one" if steps.spaces == 1 else "book"]
        night.availability = str(words.words) % {"num": steps.spaces}
    else:
        words = NIGHT_STATE["waitlist" if steps.action is not None else "full"]
        night.availability = str(words.words)
    night.tone, night.icon = words.tone, words.icon
    return night


#: The nights a resident may tick on the several-nights form: a free space or a draw to ask for.
CHOOSABLE = ("book", "ballot")


def choosable(shown: list[Night]) -> list[Night]:
    return [night for night in shown if night.action in CHOOSABLE and night.plates]


def nights_outcome(nights_result: list[NightOutcome], today: Any) -> list[str]:
    """Each night of a several-nights request in words: "12月3日 星期四: booked"."""
    lines = []
    for night in nights_result:
        day = day_words(night.service_date, today) if night.service_date else _("Unknown night")
        if night.result == "refused" and night.message:
            words = _("not booked: %(why)s", why=night.message)
        else:
            words = str(NIGHTS_RESULT.get(night.result, night.result))
        lines.append(_("%(day)s: %(what)s", day=day, what=words))
    return lines


def plate_choices_for(user: User, posted: str | None = None) -> list[PlateChoice]:
    return _plate_choices(user.household, posted) if user.household is not None else []


def today_of(user: User, now: datetime) -> Any:
    return garage_services.today(user.household.garage, now) if user.household is not None else None


def form_messages(form: BookForm) -> list[str]:
    return [str(m) for f in (form.window_id, form.plate) for m in f.errors] + [str(m) for m in form.form_errors]


def nights(user: User, now: datetime, limit: int | None = None, failed: BookForm | None = None) -> list[Night]:
    """The nights of the booking horizon for the user's household, each with what can be done."""
    household = user.household
    if household is None:
        return []
    garage = household.garage
    listed = garage_services.listed_windows(garage, None, None, now, household_id=household.id)
    today = garage_services.today(garage, now)
    choices = _plate_choices(household)
    shown = []
    for row in listed:
        window = row.window
        if window.closes_at <= now:
            continue
        posted = failed is not None and failed.window_id.data == garage_services.night_key(window)
        night = _night(
            row, household, today, now, _plate_choices(household, failed.plate.data) if posted and failed else choices
        )
        if posted and failed is not None:
            night.errors = form_messages(failed)
        shown.append(night)
        if limit is not None and len(shown) >= limit:
            break
    return shown


# -- the household ----------------------------------------------------------------------------------


def address_words(household: Household) -> str:
    return _(
        "Building %(building)s, unit %(unit)s, room %(room)s",
        building=household.building,
        unit=household.unit,
        room=household.room,
    )


def suspension_words(household: Household, now: datetime) -> str | None:
    if not household.is_suspended(now):
        return None
    until = local(household.suspended_until, household.garage.timezone)  # type: ignore[arg-type]  # set: the household is suspended
    return _(
        "Booking is paused for your household until %(until)s, because of missed bookings or cars that "
        "stayed too long.",
        until=moment_words(until),
    )


def strike_words(household: Household, now: datetime) -> str:
    garage = household.garage
    count = household_services.recent_strikes(household, now)
    if count == 0:
        return _("No missed bookings in the last %(days)d days.", days=garage.strike_window_days)
    return _(
        "Missed bookings or overstays in the last %(days)d days: %(count)d. At %(limit)d, booking is paused "
        "for %(pause)d days.",
        days=garage.strike_window_days,
        count=count,
        limit=garage.strike_limit,
        pause=garage.suspension_days,
    )


def household_view(household: Household, now: datetime) -> dict[str, Any]:
    state, tone, icon = household_state(household.state)
    state_text = str(state)
    if household.state == HouseholdState.REJECTED and household.state_reason:
        state_text = _("Not accepted by the manager: %(reason)s", reason=household.state_reason)
    return {
        "household": household,
        "garage_name": household.garage.name,
        "address": address_words(household),
        "state": state_text,
        "state_tone": tone,
        "state_icon": icon,
        "members": [(m.name, mask_phone(m.phone)) for m in household.members],
        "vehicles": [_vehicle_row(v) for v in household.vehicles],
        "strikes": strike_words(household, now),
        "suspension": suspension_words(household, now),
    }


def _vehicle_row(vehicle: Vehicle) -> dict[str, Any]:
    words, tone, icon = vehicle_state(vehicle.state)
    kind = _("green new-energy plate") if len(vehicle.plate) == 8 else _("ordinary plate")
    return {"plate": vehicle.plate, "kind": kind, "state": str(words), "tone": tone, "icon": icon}


def next_step(user: User, now: datetime) -> Step:
    """What the resident should do next, for the home page."""
    household = user.household
    if household is None:
        return Step(
            "register",
            _("First, register your household"),
            _("Tell us your address and your car. The manager checks it, then you can book."),
            "info",
            INFO_ICON,
            url_for("resident.household"),
            _("Register my household"),
        )
    if household.state == HouseholdState.PENDING:
        return Step(
            "pending",
            _("Waiting for the manager"),
            _("The manager checks your household soon. You will get a message."),
            "warn",
            "◷",
            url_for("resident.household"),
            _("See my household"),
        )
    if household.state == HouseholdState.REJECTED:
        return Step(
            "rejected",
            _("Your household was not accepted"),
            household_view(household, now)["state"] + " " + _("Correct your address and send it again."),
            "bad",
            "✖",
            url_for("resident.household"),
            _("Correct my address"),
        )
    if not any(v.state == VehicleState.VERIFIED for v in household.vehicles):
        pending = any(v.state == VehicleState.PENDING for v in household.vehicles)
        return Step(
            "plate",
            _("Waiting for the manager to check your car") if pending else _("Add your car"),
            _("You can book once the manager has checked the plate.")
            if pending
            else _("Add the plate of your car; the manager checks it."),
            "warn",
            "◷" if pending else INFO_ICON,
            url_for("resident.household"),
            _("See my household") if pending else _("Add a car"),
        )
    suspended = suspension_words(household, now)
    if suspended:
        return Step("suspended", _("Booking is paused"), suspended, "bad", "⚠")
    return Step("book", _("Book a night"), _("Choose a night below and press the button."), "ok", "✔")


# -- bookings ---------------------------------------------------------------------------------------


def booking_row(user: User, booking: Booking, now: datetime, today: Any | None = None) -> dict[str, Any]:
    window = booking.window
    steps = next_steps.for_booking(user, booking, now)
    garage = window.garage
    words = status_words(booking.status)
    status = str(words.words)
    if booking.status == BookingStatus.CANCELLED and booking.late_cancel:
        status = _("Cancelled late")
    explained = str(words.explained)
    if window.drawn_at is not None and booking.status.value in DRAW_RESULT:
        explained = str(DRAW_RESULT[booking.status.value])
    return {
        "id": booking.id,
        "day": day_words(window.service_date, today),
        "times": span_words(local(window.opens_at, garage.timezone), local(window.closes_at, garage.timezone)),
        "plate": booking.plate,
        "status": status,
        "explained": explained,
        "tone": words.tone,
        "icon": words.icon,
        "holds_space": steps.show_pass,
        "cancellable": steps.cancel or steps.hand_back,
        "steps": steps,
        "garage_name": garage.name,
        "monthly": booking.subscription_id is not None,
    }


def bookings_overview(user: User, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Single nights coming and earlier. A monthly pass is one line with its nights still to come
    and a link to its own page, plus its next night among the coming ones: thirty cards of the
    same car would bury the rest."""
    rows = booking_services.list_for(user, limit=100)
    coming: list[dict[str, Any]] = []
    earlier: list[dict[str, Any]] = []
    months: dict[int, dict[str, Any]] = {}
    today = garage_services.today(user.household.garage, now) if user.household else None
    for booking in sorted(rows, key=lambda b: (b.window.opens_at, b.id)):
        live = booking.window.closes_at > now and booking.status in LIVE
        if booking.subscription_id is not None:
            month = months.get(booking.subscription_id)
            if month is None:
                month = months[booking.subscription_id] = {**_month_of(booking), "nights_left": 0}
            if live:
                if not month["nights_left"]:
                    coming.append(booking_row(user, booking, now, today))
                month["nights_left"] += 1
            continue
        (coming if live else earlier).append(booking_row(user, booking, now, today))
    earlier.reverse()  # the most recent first
    return {"coming": coming, "earlier": earlier, "months": list(months.values())}


def _month_of(booking: Booking) -> dict[str, Any]:
    """A monthly pass as one line of a list, from one of its nights: which pass, its month in words,
    its plate."""
    subscription = db.session.get_one(Subscription, booking.subscription_id)
    return {"id": subscription.id, "month": month_words(subscription.month), "plate": booking.plate}


def home_bookings(user: User, now: datetime, limit: int = 5) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The home page's bookings still to come: the next single nights, and each monthly pass as
    one line with its nights still to come ("2026年12月包月 · 沪A12345 · 27晚"), not a card a night."""
    singles: list[dict[str, Any]] = []
    months: dict[int, dict[str, Any]] = {}
    today = today_of(user, now)
    for booking in booking_services.coming_for(user, now, limit=200):
        if booking.subscription_id is None:
            if len(singles) < limit:
                singles.append(booking_row(user, booking, now, today))
            continue
        month = months.get(booking.subscription_id)
        if month is None:
            month = months[booking.subscription_id] = {
                **_month_of(booking),
                "nights": 0,
                "next": day_words(booking.window.service_date, today),
            }
        month["nights"] += 1
    for month in months.values():
        month["line"] = _(
            "%(month)s monthly pass · %(plate)s · %(n)s nights",
            month=month["month"],
            plate=month["plate"],
            n=month["nights"],
        )
    return singles, list(months.values())


def history_rows(booking: Booking) -> list[dict[str, str]]:
    timezone = booking.window.garage.timezone
    rows = []
    for event in history("booking", booking.id):
        after = event.after or {}
        if event.action in BOOKING_EVENTS:
            what = str(BOOKING_EVENTS[event.action])
        elif event.action == "booking.cancelled" and after.get("late_cancel"):
            what = _("Cancelled late")
        elif after.get("status"):
            what = str(status_words(after["status"]).words)
        else:
            continue  # bookkeeping that says nothing to the household
        rows.append({"at": moment_words(local(event.at, timezone)), "what": what})
    return rows


def booking_detail(user: User, booking_id: int, now: datetime) -> dict[str, Any]:
    booking = booking_services.get_visible(user, booking_id)
    window = booking.window
    garage = window.garage
    row = booking_row(user, booking, now, garage_services.today(garage, now))
    return {"booking": row, "history": history_rows(booking)}


def cancel_question(user: User, booking_id: int, now: datetime) -> dict[str, Any]:
    """What the cancel confirmation says: whether cancelling now is late, and until when it is free."""
    booking = booking_services.get_visible(user, booking_id)
    window = booking.window
    garage = window.garage
    row = booking_row(user, booking, now, garage_services.today(garage, now))
    steps: next_steps.BookingSteps = row["steps"]
    until = moment_words(local(steps.free_cancel_until, garage.timezone))
    late = steps.cancel_is_late
    if steps.monthly:
        lateness = _(
            "The space goes to the next household on the waitlist. This never counts against you. "
            "You cannot take the night back afterwards."
        )
    elif booking.status == BookingStatus.WAITLISTED:
        lateness = _("You leave the waitlist. This is never late.")
    elif late:
        lateness = _(
            "It is now after %(until)s, so this cancellation is recorded as late. The space goes to the next "
            "household on the waitlist.",
            until=until,
        )
    else:
        lateness = _(
            "This is not late: cancelling is free until %(until)s. The space goes to the next household on the "
            "waitlist.",
            until=until,
        )
    return {"booking": row, "lateness": lateness, "late": late}


def current_booking(user: User, now: datetime) -> Booking | None:
    """Tonight's booking that holds a space: the soonest one not yet over that opens within a day."""
    for booking in booking_services.coming_for(user, now, limit=20):
        if booking.holds_space and booking.window.opens_at - timedelta(hours=24) <= now:
            return booking
    return None


def pass_view(user: User, booking_id: int, now: datetime) -> dict[str, Any]:
    page = pass_services.pass_page(user, booking_id, now)
    garage = page.garage
    return {
        "booking_id": page.booking.id,
        "plate": page.plate,
        "garage_name": garage.name,
        "day": day_words(page.service_date, garage_services.today(garage, now)),
        "times": span_words(page.opens_local, page.closes_local),
        "entry_from": moment_words(page.not_before_local),
        "leave_by": moment_words(page.not_after_local),
        "svg": page.svg,
    }


def inbox(user: User) -> list[dict[str, Any]]:
    from parking.notifications.services import inbox as user_inbox
    from parking.notifications.services import render

    timezone = user.household.garage.timezone if user.household else current_app.config["BABEL_DEFAULT_TIMEZONE"]
    rows = []
    for note in user_inbox(user.id, limit=100):
        rows.append(
            {
                "at": moment_words(local(note.created_at, timezone)),
                "text": render(note),
                "booking_id": note.booking_id if user.household_id else None,  # staff have no booking page
            }
        )
    return rows


def garage_choices() -> list[tuple[int, str]]:
    return [(g.id, g.name) for g in garage_services.list_garages()]
