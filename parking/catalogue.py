"""The one catalogue of reason and status words, in the reader's language (zh and en through
gettext): a booking's status (for the household and for the staff), a scan's reason (the API's
sentence and the gate station's plain words), an offline conflict's words, a household's and a
vehicle's state.

It stands on the ground floor so that every layer that puts a code into words (the notices, the
gate, the pages) reads the same entry; the codes are the stable strings the API sends, so it
imports none of the modules that define them. Colour is never the only cue: each status has an
icon beside its tone."""

from __future__ import annotations

from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _l

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
