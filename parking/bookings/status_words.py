"""A booking's status in plain words (zh and en), with the icon and the colour that go beside the
words: the one mapping the pages and the notifications share. Colour is never the only cue."""

from __future__ import annotations

from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _l


class StatusWords(NamedTuple):
    words: Any  # a lazy string: rendered in the reader's language
    explained: Any
    tone: str  # ok, info, warn or bad: the badge colour
    icon: str


#: Keyed by the status value, so that a status added by another feature (``requested`` for a
#: ballot entry) has its words here before its enum member exists everywhere.
STATUS_WORDS: dict[str, StatusWords] = {
    "confirmed": StatusWords(_l("Booked"), _l("You have a space for this night."), "ok", "✔"),
    "waitlisted": StatusWords(
        _l("On the waitlist"),
        _l("The night is full. If a space becomes free you get it and receive a message."),
        "info",
        "◷",
    ),
    "requested": StatusWords(
        _l("Waiting for the draw"), _l("Spaces for this night are drawn by lot; you will get a message."), "info", "◷"
    ),
    "checked_in": StatusWords(_l("In the garage"), _l("Your car is in the garage."), "ok", "✔"),
    "completed": StatusWords(_l("Finished"), _l("Your car has left the garage. Thank you."), "ok", "✔"),
    "cancelled": StatusWords(_l("Cancelled"), _l("This booking was cancelled."), "bad", "✖"),
    "no_show": StatusWords(
        _l("Did not come"), _l("The car did not arrive in time; this counts as a missed booking."), "bad", "✖"
    ),
    "overstayed": StatusWords(
        _l("Stayed too long"), _l("The car was still in the garage after the time to leave."), "bad", "⚠"
    ),
    "bumped": StatusWords(
        _l("Withdrawn by the station"),
        _l("The station needed the garage that night. Your next request goes first on the waitlist."),
        "bad",
        "✖",
    ),
}

INFO_ICON = "\N{INFORMATION SOURCE}"
_UNKNOWN = StatusWords(_l("Unknown"), _l("Please ask the garage manager."), "info", INFO_ICON)


def status_words(status: Any) -> StatusWords:
    """The words for a status (a BookingStatus or its value)."""
    return STATUS_WORDS.get(str(getattr(status, "value", status)), _UNKNOWN)


def words(status: Any) -> str:
    return str(status_words(status).words)
