"""The one catalogue of reason and status words, in the reader's language (zh and en through
gettext): a booking's status (for the household and for the staff), a scan's reason (the API's
sentence and the gate station's plain words), an offline conflict's words, a household's and a
vehicle's state.

It stands on the ground floor so that every layer that puts a code into words (the notices, the
gate, the pages) reads the same entry; the codes are the stable strings the API sends, so it
imports none of the modules that define them. Colour is never the only cue: each status has an
icon beside its tone."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from parking.i18n import lazy_gettext as _l

INFO_ICON = "\N{INFORMATION SOURCE}"


# -- a booking's status ----------------------------------------------------------------------------


class StatusWords(NamedTuple):
    words: Any  # a lazy string: rendered in the reader's language
    explained: Any
    tone: str  # ok, info, warn or bad: the badge colour
    icon: str
    staff: Any  # the short word the gate station's lists show


#: Keyed by the status value (the API's `status`).
STATUS: dict[str, StatusWords] = {
    "confirmed": StatusWords(_l("Booked"), _l("You have a space for this night."), "ok", "✔", _l("Booked, not in yet")),
    "waitlisted": StatusWords(
        _l("On the waitlist"),
        _l("The night is full. If a space becomes free you get it and receive a message."),
        "info",
        "◷",
        _l("On the waitlist"),
    ),
    "requested": StatusWords(
        _l("Waiting for the draw"),
        _l("Spaces for this night are drawn by lot; you will get a message."),
        "info",
        "◷",
        _l("Waiting for the draw"),
    ),
    "checked_in": StatusWords(_l("In the garage"), _l("Your car is in the garage."), "ok", "✔", _l("Checked in")),
    "completed": StatusWords(_l("Finished"), _l("Your car has left the garage. Thank you."), "ok", "✔", _l("Left")),
    "cancelled": StatusWords(_l("Cancelled"), _l("This booking was cancelled."), "bad", "✖", _l("Cancelled")),
    "no_show": StatusWords(
        _l("Did not come"),
        _l("The car did not arrive in time; this counts as a missed booking."),
        "bad",
        "✖",
        _l("No-show"),
    ),
    "overstayed": StatusWords(
        _l("Stayed too long"),
        _l("The car was still in the garage after the time to leave."),
        "bad",
        "⚠",
        _l("Overstayed"),
    ),
    "bumped": StatusWords(
        _l("Withdrawn by the station"),
        _l("The station needed the garage that night. Your next request goes first on the waitlist."),
        "bad",
        "✖",
        _l("Withdrawn by the station"),
    ),
}
_UNKNOWN = StatusWords(_l("Unknown"), _l("Please ask the garage manager."), "info", INFO_ICON, _l("Unknown"))


def status_words(status: Any) -> StatusWords:
    """The words for a status (a BookingStatus or its value)."""
    return STATUS.get(str(getattr(status, "value", status)), _UNKNOWN)


def words(status: Any) -> str:
    return str(status_words(status).words)


# -- a household's and a vehicle's state -----------------------------------------------------------


class StateWords(NamedTuple):
    words: Any
    tone: str
    icon: str


HOUSEHOLD_STATE: dict[str, StateWords] = {
    "pending": StateWords(_l("Waiting for the manager to check your household"), "warn", "◷"),
    "verified": StateWords(_l("Checked by the manager: you can book"), "ok", "✔"),
    "rejected": StateWords(_l("Not accepted by the manager"), "bad", "✖"),
}
VEHICLE_STATE: dict[str, StateWords] = {
    "pending": StateWords(_l("Waiting for the manager"), "warn", "◷"),
    "verified": StateWords(_l("Checked: can be booked"), "ok", "✔"),
    "rejected": StateWords(_l("Not accepted"), "bad", "✖"),
    "released": StateWords(_l("No longer with this household"), "info", "⇄"),
}


def household_state(state: Any) -> StateWords:
    return HOUSEHOLD_STATE[str(getattr(state, "value", state))]


def vehicle_state(state: Any) -> StateWords:
    return VEHICLE_STATE[str(getattr(state, "value", state))]


# -- a scan's reason -------------------------------------------------------------------------------


class ReasonWords(NamedTuple):
    message: Any  # the API's sentence beside the machine reason (a scan's `message`)
    said: Any = None  # the gate station's plain words, `%(name)s` filled from the scan; None: the message

    @property
    def station(self) -> Any:
        return self.said if self.said is not None else self.message


#: Keyed by the scan's `reason` (None: accepted). The station's script gets the same words, so an
#: offline answer reads like an online one.
#: A car's direction at the barrier, as the gate page and its form say it.
DIRECTIONS: dict[str, Any] = {"in": _l("Entry"), "out": _l("Exit")}

SCAN_REASONS: dict[str | None, ReasonWords] = {
    "malformed": ReasonWords(_l("This is not a pass, or it is damaged."), _l("Not a pass, or the code is damaged.")),
    "bad_signature": ReasonWords(_l("The pass is forged or altered."), _l("Fake pass: it was forged or altered.")),
    "unknown_key": ReasonWords(
        _l("The pass was not signed by this garage."), _l("This pass was not issued by this garage.")
    ),
    "unknown_booking": ReasonWords(
        _l("The booking of this pass does not exist."), _l("The booking of this pass cannot be found.")
    ),
    "wrong_garage": ReasonWords(_l("The pass is for another garage."), _l("This pass is for another garage.")),
    "not_yet_valid": ReasonWords(_l("Too early: the pass is not valid yet.")),
    "not_yet_valid_at": ReasonWords(_l("Too early: the pass is not valid yet."), _l("Too early: entry from %(time)s.")),
    "expired": ReasonWords(_l("The pass has expired."), _l("The pass has expired: its night is over.")),
    "revoked": ReasonWords(
        _l("The booking no longer holds a space."), _l("The booking was cancelled: this car has no space.")
    ),
    "already_inside": ReasonWords(
        _l("This car is already inside."), _l("This car is already inside: the pass was used to come in.")
    ),
    "not_inside": ReasonWords(_l("This car has not entered."), _l("This car has not come in: no entry on record.")),
    "plate_mismatch": ReasonWords(
        _l("The plate does not match the pass."),
        _l("Plate does not match: seen %(seen)s, the pass is for %(plate)s."),
    ),
    "no_booking": ReasonWords(_l("No current booking for this plate."), _l("This plate has no booking tonight.")),
    "not_tonight": ReasonWords(_l("This monthly pass has no booked night now.")),
    "device_time_in_future": ReasonWords(
        _l("The gate device's clock is ahead of the server's; this scan was not judged.")
    ),
    "device_time_too_old": ReasonWords(
        _l("This scan arrived after its night was over (exit grace included); it was not judged.")
    ),
    "refused_offline": ReasonWords(_l("The gate device refused this car offline, but its pass was valid.")),
    "idempotency_key_reused": ReasonWords(
        _l("This idempotency key was used for a different scan."), _l("This scan was already recorded.")
    ),
    None: ReasonWords(_l("Accepted.")),
    "accepted_in": ReasonWords(_l("Accepted."), _l("Let the car in.")),
    "accepted_out": ReasonWords(_l("Accepted."), _l("Let the car out.")),
}

#: The reasons the station's script words itself (the pseudo-reasons included).
STATION_REASONS = tuple(code for code in SCAN_REASONS if code is not None)


def scan_message(reason: str | None) -> Any:
    """The API's sentence for a scan's reason; an unknown reason is its own word."""
    entry = SCAN_REASONS.get(reason)
    return entry.message if entry is not None else reason


def station_words(reason: str) -> Any:
    """The gate station's plain words for a reason (or a pseudo-reason such as `accepted_in`)."""
    entry = SCAN_REASONS.get(reason)
    return entry.station if entry is not None else reason


#: The barrier's LED board (always in Chinese), keyed by the scan's reason or the board's moment.
BARRIER_BOARD: dict[str, Any] = {
    "welcome": _l("Welcome %(plate)s"),
    "goodbye": _l("Goodbye %(plate)s"),
    "pending": _l("Please wait, the attendant is checking"),
    "call": _l("Please call the attendant"),
    "no_booking": _l("No booking, please call the attendant"),
    "not_yet_valid": _l("Too early for this booking, please call the attendant"),
    "expired": _l("The booking has expired, please call the attendant"),
    "revoked": _l("The booking was cancelled, please call the attendant"),
    "already_inside": _l("This car is already inside, please call the attendant"),
    "not_inside": _l("No entry record, please call the attendant"),
    "malformed": _l("Plate not readable, please call the attendant"),
    "dismissed": _l("Not let through, please call the attendant"),
}


# -- an offline scan's conflict --------------------------------------------------------------------

#: What the server found about a scan a gate device judged offline, keyed by the scan's `conflict`.
CONFLICTS: dict[str, Any] = {
    "revoked_meanwhile": _l(
        "The booking no longer holds a space: it was cancelled or withdrawn while the gate was offline."
    ),
    "scanned_elsewhere": _l(
        "The car was scanned at another gate: it was already inside, or the record there is later."
    ),
    "not_inside": _l("The car was let out, but it had not been recorded as entering."),
    "result_mismatch": _l("The gate device decided otherwise than the server."),
}


def conflict_words(conflict: str | None) -> Any:
    return CONFLICTS.get(conflict or "", conflict)


# -- a refusal's reason ----------------------------------------------------------------------------

#: The sentence of a refusal raised without a message of its own (`Conflict(reason="phone_taken")`),
#: keyed by the API's `error`.
REASON_MESSAGES: dict[str, Any] = {
    "phone_taken": _l("This phone number is already registered."),
    "bad_credentials": _l("Wrong phone number or password."),
    "wrong_garage": _l("This belongs to another garage."),
    "beyond_horizon": _l("Booking for this night has not opened yet."),
    "not_cancellable": _l("This booking can no longer be cancelled."),
    "household_exists": _l("This address is already registered; ask a member of that household to add you."),
    "already_in_household": _l("You already belong to a household."),
    "already_member": _l("This person is already a member of the household."),
    "user_not_found": _l("No user is registered with this phone number."),
    "not_a_resident": _l("Only residents can join a household."),
    "residents_only": _l("Only residents can register a household."),
    "duplicate_vehicle": _l("This plate is already registered for your household."),
    "invalid_range": _l("The date range is not valid."),
    "unknown_template": _l("This window template does not belong to this garage."),
    "quota_above_capacity": _l("The quota cannot exceed the garage's physical capacity."),
    "range_in_past": _l("This date range has already passed."),
    "quota_or_closed": _l("Give either a quota or closed: true."),
    "validation_error": _l("Some fields are not valid."),
    "not_a_ballot": _l("This night has no draw."),
    "too_many_nights": _l("Too many nights at once: at most the nights that booking is open for."),
    "bad_reset_code": _l(
        "Wrong phone number or reset code, or the code has expired. Ask the garage manager for a new one."
    ),
    "not_locked_out": _l("Password sign-in is not paused for this person."),
    "not_rejected": _l("Only a household that was not accepted can be sent again or reopened."),
    "address_not_in_list": _l("This address is not on the estate's list; please choose it from the lists."),
    "plate_not_held": _l("This plate is not verified for this household, so there is nothing to release."),
    "idempotency_key_in_use": _l("The same request is still being carried out; please wait a moment and look again."),
}

#: An HTTP error raised without a reason of its own: (its reason, its sentence), keyed by status.
HTTP_REASONS: dict[int, tuple[str, Any]] = {
    400: ("bad_request", _l("The request could not be understood.")),
    401: ("unauthorized", _l("Please sign in.")),
    403: ("forbidden", _l("You are not allowed to do this.")),
    404: ("not_found", _l("Not found.")),
    405: ("method_not_allowed", _l("This method is not allowed here.")),
    406: ("not_acceptable", _l("This response format is not available.")),
    409: ("conflict", _l("This conflicts with the current state.")),
    413: ("payload_too_large", _l("The request is too large.")),
    415: ("unsupported_media_type", _l("Send JSON with Content-Type: application/json.")),
    422: ("validation_error", _l("Some fields are not valid.")),
    429: ("rate_limited", _l("Too many requests; please wait a moment.")),
}

#: Why a night takes nothing, not even a waitlist entry (`booking_closed`'s `details.cause`).
CLOSED_CAUSES: dict[str, Any] = {
    "closed": _l("The station closed this night: it takes no bookings and no waitlist."),
    "no_quota": _l("The station has no spaces this night, so there is no waitlist either."),
    "booking_over": _l("Booking for this night is closed."),
}

#: A night of a month that a monthly pass could not take, keyed by its `reason` in `details.nights`.
MONTHLY_NIGHT_REASONS: dict[str, Any] = {
    "window_full": _l("Full"),
    "monthly_share_full": _l("The monthly places of this night are taken"),
    "duplicate_booking": _l("Your household already booked this night"),
    "closed": _l("Closed by the station"),
    "no_quota": _l("No spaces this night"),
    "booking_closed": _l("Cannot be booked any more"),
}

#: A typed address part that cannot be used.
ADDRESS_MESSAGES: dict[str, Any] = {
    "required": _l("Please fill this in."),
    "too_long": _l("At most 20 characters."),
    "characters": _l("Use only digits and Latin letters, e.g. 12 or 12A."),
    "not_in_list": _l("Please choose from the list."),
}

#: The API's validation messages are for programmers; a person reads these instead.
FIELD_MESSAGES: dict[str, Any] = {
    "Missing data for required field.": _l("Please fill this in."),
    "Not a valid integer.": _l("Enter a whole number."),
    "Not a valid number.": _l("Enter a number."),
    "must be an IANA time zone name such as Asia/Shanghai": _l("Choose a time zone from the list."),
    "must be an 11-digit mainland mobile number": _l("Enter an 11-digit mobile number, e.g. 13812345678."),
    "must not be after the no-show time (no_show_minutes)": _l(
        "Booking must close before the no-show time (see the no-show rule)."
    ),
}


# -- a night, a draw and a booking's history -------------------------------------------------------

#: What a night offers a household, keyed by the night's state on the booking pages.
NIGHT_STATE: dict[str, StateWords] = {
    "window_closed": StateWords(_l("Closed"), "bad", "✖"),
    "no_quota": StateWords(_l("No spaces this night: the station needs the garage"), "bad", "✖"),
    "booking_closed": StateWords(_l("Booking has closed for this night"), "bad", "✖"),
    "ballot": StateWords(_l("Drawn by lot: ask by %(closes)s, then the draw"), "info", "◆"),
    "book": StateWords(_l("%(num)d spaces left"), "ok", "✔"),
    "book_one": StateWords(_l("Only 1 space left"), "ok", "✔"),
    "waitlist": StateWords(_l("Full, you can join the waitlist"), "warn", "◷"),
    "full": StateWords(_l("Full"), "warn", "◷"),  # full, to a household that may not book yet
}
#: A closed night with the station's reason.
NIGHT_CLOSED_BECAUSE: dict[str, Any] = {
    "window_closed": _l("Closed: %(reason)s"),
    "no_quota": _l("No spaces this night: %(reason)s"),
}

#: Each night of a several-nights request, keyed by its `result`.
NIGHTS_RESULT: dict[str, Any] = {
    "confirmed": _l("booked"),
    "waitlisted": _l("on the waitlist"),
    "requested": _l("asked for the draw"),
    "refused": _l("not booked"),
}

#: What the draw decided, on a ballot night's booking once drawn, keyed by the booking's status.
DRAW_RESULT: dict[str, Any] = {
    "confirmed": _l("You won the draw: you have a space for this night."),
    "waitlisted": _l(
        "You were not drawn this time: you are on the waitlist. If a space becomes free you get it and a message."
    ),
}

#: A booking's history for its household, keyed by the audit action (the others say its status).
BOOKING_EVENTS: dict[str, Any] = {
    "booking.promoted": _l("A space became free: booked"),
    "booking.checked_in": _l("Drove in"),
    "booking.entered": _l("Drove in again"),
    "booking.exited": _l("Drove out"),
    "booking.completed": _l("Drove out: finished"),
    "booking.reminded": _l("Reminder sent: time to move the car"),
    "booking.waitlist_expired": _l("The night ended without a free space"),
    "booking.window_closed": _l("The station closed this night"),
    "booking.handed_back": _l("Handed back (monthly pass)"),
}


# -- the audit trail, for staff --------------------------------------------------------------------

#: An audit event's action in words; the code stays as the tooltip.
AUDIT_ACTIONS: dict[str, Any] = {
    "address_list.saved": _l("Address list saved"),
    "address_list.removed": _l("Address list removed"),
    "booking.bumped": _l("Booking withdrawn by the station"),
    "booking.cancelled": _l("Booking cancelled"),
    "booking.checked_in": _l("Car drove in"),
    "booking.completed": _l("Car drove out: finished"),
    "booking.confirmed": _l("Booked"),
    "booking.drawn": _l("Drawn"),
    "booking.entered": _l("Car drove in again"),
    "booking.exited": _l("Car drove out"),
    "booking.handed_back": _l("Monthly night handed back"),
    "booking.no_show": _l("Did not come"),
    "booking.overstayed": _l("Stayed too long"),
    "booking.promoted": _l("Moved up from the waitlist"),
    "booking.reminded": _l("Reminder sent"),
    "booking.requested": _l("Asked for the draw"),
    "booking.waitlist_expired": _l("Waitlist ended without a space"),
    "booking.waitlisted": _l("Joined the waitlist"),
    "booking.window_closed": _l("Cancelled: night closed"),
    "booking.withdrawn": _l("Draw request withdrawn"),
    "camera.registered": _l("Camera registered"),
    "camera.revoked": _l("Camera removed"),
    "garage.created": _l("Garage created"),
    "garage.updated": _l("Garage changed"),
    "household.created": _l("Household registered"),
    "household.member_added": _l("Member added"),
    "household.priority_granted": _l("Waitlist priority given"),
    "household.priority_used": _l("Waitlist priority used"),
    "household.reopened": _l("Household reopened"),
    "household.resubmitted": _l("Household sent again"),
    "household.suspended": _l("Booking paused"),
    "household.verified": _l("Household checked"),
    "monthly_offer.changed": _l("Monthly pass offer changed"),
    "monthly_offer.created": _l("Monthly pass offered"),
    "monthly_statement.paid": _l("Monthly statement paid"),
    "override.created": _l("Quota change set"),
    "override.deleted": _l("Quota change removed"),
    "pass_key.created": _l("Pass key created"),
    "pass_key.retired": _l("Pass key retired"),
    "plate_event.confirmed": _l("Plate reading confirmed"),
    "plate_event.dismissed": _l("Plate reading dismissed"),
    "scan.conflict": _l("Offline scan disagreed"),
    "staff.added": _l("Staff role given"),
    "staff.removed": _l("Staff role removed"),
    "subscription.created": _l("Monthly pass bought"),
    "subscription.renewed": _l("Monthly pass renewed"),
    "template.created": _l("Window created"),
    "template.updated": _l("Window changed"),
    "user.created": _l("Account created"),
    "user.erased": _l("Account deleted"),
    "user.sms": _l("Text messages turned on or off"),
    "notification.send_again": _l("Message sent again"),
    "garage.webhook_set": _l("Message gateway set"),
    "garage.webhook_removed": _l("Message gateway removed"),
    "user.locked_out": _l("Password sign-in paused"),
    "user.lockout_lifted": _l("Password sign-in resumed"),
    "user.login_failed": _l("Wrong password entered"),
    "user.password_changed": _l("Password changed"),
    "user.password_reset": _l("Password reset"),
    "user.reset_code_issued": _l("Reset code given"),
    "user.signed_out_everywhere": _l("Signed out on every device"),
    "vehicle.created": _l("Car added"),
    "vehicle.released": _l("Car released"),
    "vehicle.verified": _l("Car checked"),
    "window.closed": _l("Night closed"),
    "window.drawn": _l("Draw held"),
    "window.mode_changed": _l("Night's booking mode changed"),
    "window.opened": _l("Night opened again"),
    "window.quota_changed": _l("Quota changed"),
    "window.rescheduled": _l("Night's times changed"),
}

#: The object an audit event is about, keyed by its type.
AUDIT_OBJECTS: dict[str, Any] = {
    "booking": _l("Booking"),
    "window": _l("Night"),
    "household": _l("Household"),
    "vehicle": _l("Car"),
    "user": _l("Person"),
    "garage": _l("Garage"),
    "template": _l("Window"),
    "window_template": _l("Window"),
    "override": _l("Quota change"),
    "subscription": _l("Monthly pass"),
    "monthly_offer": _l("Monthly pass offer"),
    "monthly_statement": _l("Monthly statement"),
    "camera": _l("Camera"),
    "pass_key": _l("Pass key"),
    "plate_event": _l("Plate reading"),
    "address_list": _l("Address list"),
    "staff": _l("Staff role"),
    "scan": _l("Scan"),
    "delivery": _l("Message to a phone"),
    "notification": _l("Message"),
}

#: An audited field in words (a garage rule's words come from the garage rules' catalogue).
AUDIT_FIELDS: dict[str, Any] = {
    "status": _l("Status"),
    "slot": _l("Space number of the household"),
    "priority": _l("Waitlist priority"),
    "late_cancel": _l("Cancelled late"),
    "quota": _l("Spaces"),
    "state": _l("State"),
    "closed_reason": _l("Reason for closing"),
    "state_reason": _l("Reason"),
    "previous_reason": _l("Earlier reason"),
    "building": _l("Building"),
    "unit": _l("Unit"),
    "room": _l("Room"),
    "waitlist_priority": _l("Waitlist priority"),
    "plate": _l("Plate"),
    "inside": _l("In the garage"),
    "mode": _l("Booking mode"),
    "ballot_closes_at": _l("Draw requests close"),
    "ballot_commitment": _l("Draw commitment"),
    "opens_at": _l("Opens"),
    "closes_at": _l("Closes"),
    "drawn_at": _l("Drawn at"),
    "draw_quota": _l("Spaces drawn"),
    "confirmed": _l("Drawn: booked"),
    "waitlisted": _l("Not drawn: waitlist"),
    "name": _l("Name"),
    "name_en": _l("English name"),
    "address": _l("Address"),
    "timezone": _l("Time zone"),
    "capacity": _l("Physical spaces"),
    "weekday_list": _l("Weekdays"),
    "weekdays": _l("Weekdays"),
    "start_time": _l("Start"),
    "end_time": _l("End"),
    "default_quota": _l("Usual spaces"),
    "active": _l("In use"),
    "fee": _l("Price"),
    "monthly_share": _l("Monthly share"),
    "sale_starts_on": _l("Sale starts"),
    "template_id": _l("Window"),
    "start_date": _l("From"),
    "end_date": _l("To"),
    "closed": _l("Closed"),
    "reason": _l("Reason"),
    "source": _l("Source"),
    "provisional": _l("Provisional"),
    "kid": _l("Key"),
    "expires_at": _l("Expires"),
    "retired_at": _l("Retired at"),
    "revoked_at": _l("Removed at"),
    "level": _l("Pause level"),
    "locked_until": _l("Paused until"),
    "minutes": _l("Minutes"),
    "paid": _l("Paid"),
    "receipt_number": _l("Receipt number"),
    "paid_total": _l("Amount paid"),
    "phone": _l("Phone"),
    "role": _l("Role"),
    "garages": _l("Garages"),
    "direction": _l("Direction"),
    "spec": _l("List"),
    "addresses": _l("Addresses"),
    "suspended_until": _l("Paused until"),
    "user_id": _l("Person"),
    "via": _l("How"),
    "month": _l("Month"),
    "nights_planned": _l("Nights of the month"),
    "nights_booked": _l("Nights booked"),
    "refused": _l("Nights refused"),
    "renewal_of": _l("Renewal of"),
    "subscription_id": _l("Monthly pass"),
    "household_id": _l("Household"),
    "window_id": _l("Night"),
    "booking_id": _l("Booking"),
    "vehicle_id": _l("Car"),
    "garage_id": _l("Garage"),
    "result": _l("Result"),
    "conflict": _l("Disagreement"),
    "count": _l("Number"),
    "entered_at": _l("Drove in at"),
    "exited_at": _l("Drove out at"),
    "sms_enabled": _l("Text messages"),
    "url": _l("Gateway address"),
    "attempts": _l("Attempts"),
}

#: An audited value that is a code (a state, a mode, a yes or no), in words.
AUDIT_VALUES: dict[str, Any] = {
    "pending": _l("waiting for the manager"),
    "verified": _l("checked"),
    "rejected": _l("not accepted"),
    "released": _l("released"),
    "planned": _l("planned"),
    "open": _l("open"),
    "closed": _l("closed"),
    "cancelled": _l("cancelled"),
    "first_come": _l("first come"),
    "ballot": _l("draw by lot"),
    "manager": _l("manager"),
    "attendant": _l("attendant"),
    "admin": _l("admin"),
    "resident": _l("resident"),
    "in": _l("in"),
    "out": _l("out"),
    "dismissed": _l("dismissed"),
    "reset_code": _l("reset code"),
    "password": _l("password"),
    "holiday_preset": _l("holiday preset"),
    "holiday": _l("holiday preset"),
    "refuse": _l("refuse"),
    "bump": _l("withdraw bookings"),
    "accepted": _l("accepted"),
    "manual": _l("by hand"),
    "True": _l("yes"),
    "False": _l("no"),
}

#: The reasons the service itself writes into the audit trail (a person's own reason is shown as
#: typed). `%(n)s` is filled from the matching pattern below.
AUDIT_REASONS: dict[str, Any] = {
    "gate entry": _l("at the gate, coming in"),
    "gate exit after overstay": _l("at the gate, leaving after the time to leave"),
    "corrected": _l("plate corrected"),
    "dismissed at the gate page": _l("dismissed at the gate"),
    "reset code issued": _l("a reset code was given"),
    "template changed": _l("the window was changed"),
    "template mode changed": _l("the window's booking mode was changed"),
    "template default quota changed": _l("the window's usual spaces were changed"),
    "override removed": _l("a quota change was removed"),
    "quota_above_capacity": _l("the quota was above the physical spaces"),
    "demo seed": _l("demo data"),
    "rotation": _l("key rotation"),
    "monthly pass": _l("monthly pass"),
    "monthly night": _l("monthly night"),
    "a space became free": _l("a space became free"),
    "ballot draw": _l("the draw"),
    "won the draw": _l("won the draw"),
    "not checked in": _l("did not come in time"),
    "monthly night not used": _l("monthly night not used"),
    "waitlist expired": _l("the night ended while waiting"),
    "still inside after the exit grace": _l("still inside after the time to leave"),
    "left after the exit grace": _l("left after the time to leave"),
}
#: Reasons with a figure in them: (pattern, words with `%(n)s`).
AUDIT_REASON_PATTERNS: tuple[tuple[str, Any], ...] = (
    (r"booking (\d+) bumped", _l("booking %(n)s was withdrawn by the station")),
    (r"holiday preset (\d+) re-applied", _l("holiday preset %(n)s applied again")),
    (r"holiday preset (\d+)", _l("holiday preset %(n)s")),
    (r"(\d+) strikes in (\d+) days", _l("%(n)s missed bookings or overstays in %(m)s days")),
)


def audit_reason(reason: str | None) -> str:
    """A reason of the audit trail in the reader's language: the service's own ones in words, a
    person's as typed."""
    if not reason:
        return ""
    if reason in AUDIT_REASONS:
        return str(AUDIT_REASONS[reason])
    for pattern, said in AUDIT_REASON_PATTERNS:
        if found := re.fullmatch(pattern, reason):
            return str(said) % {"n": found[1], "m": found[found.lastindex or 1]}
    return reason_words(reason)


def audit_value(value: Any) -> str:
    """An audited value in words: a known code in words, a yes or no, else as recorded."""
    if value is None:
        return "—"
    key = str(value)
    if key in STATUS:
        return str(STATUS[key].staff)
    if key in AUDIT_VALUES:
        return str(AUDIT_VALUES[key])
    if isinstance(value, list):
        return ", ".join(audit_value(v) for v in value)
    return reason_words(key)


# -- a night's state, for staff ------------------------------------------------------------------

#: A night's state on the staff pages and reports (the window's `state`, or the calendar's
#: not_released, not_scheduled and no_record), with an icon: colour is never the only cue.
NIGHT_STATES: dict[str, tuple[str, Any]] = {
    "planned": ("○", _l("Not started")),
    "open": ("●", _l("Under way")),
    "closed": ("✓", _l("Ended")),
    "cancelled": ("✕", _l("Closed to residents")),
    "not_released": ("…", _l("Not open for booking yet")),
    "not_scheduled": ("—", _l("Not lent on this day")),
    "no_record": ("—", _l("No record")),
}

#: An entry of a published draw on the manager's draw page, keyed by its result.
DRAW_ENTRY: dict[str, Any] = {
    "confirmed": _l("Drawn: booked"),
    "waitlisted": _l("Not drawn: on the waitlist"),
}

#: Why a household may not book any night now, shown instead of the booking buttons.
HELD_BACK: dict[str, Any] = {
    "household_not_verified": _l("You can book once the manager has checked your household. You will get a message."),
    "household_rejected": _l("Your household was not accepted. Correct your address on the household page first."),
    "suspended": _l("Booking is paused for your household."),
}


# -- a station's reason for a night: the holiday preset's own -------------------------------------

#: The holidays the preset names (by the calendar's English names), in the reader's language.
HOLIDAY_NAMES: dict[str, Any] = {
    "New Year's Day": _l("New Year's Day"),
    "Spring Festival travel rush": _l("Spring Festival travel rush"),
    "Spring Festival": _l("Spring Festival"),
    "Tomb-sweeping Day": _l("Tomb-sweeping Day"),
    "Labour Day": _l("Labour Day"),
    "Dragon Boat Festival": _l("Dragon Boat Festival"),
    "National Day": _l("National Day"),
    "Mid-autumn Festival": _l("Mid-autumn Festival"),
    "Anti-Fascist 70th Day": _l("Victory Day (70th anniversary)"),
}
PROVISIONAL_HOLIDAY = _l("%(holiday)s (provisional: the make-up working days are not published yet)")
_BY_LENGTH = sorted(HOLIDAY_NAMES, key=len, reverse=True)


def reason_words(reason: str | None) -> str:
    """A night's or a quota change's reason in the reader's language only: the holiday preset
    writes "New Year's Day 元旦 (provisional: ...)", said here in one language; a reason a person
    typed is shown as typed."""
    if not reason:
        return ""
    for english in _BY_LENGTH:
        if reason == english or reason.startswith(english + " "):
            holiday = str(HOLIDAY_NAMES[english])
            if "(provisional" in reason[len(english) :]:
                return str(PROVISIONAL_HOLIDAY) % {"holiday": holiday}
            return holiday
    return reason
