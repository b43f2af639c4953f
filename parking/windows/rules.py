"""The one catalogue of a garage's rules: each rule's name (its Garage column and API field), its
bounds (what the API's schema accepts), the admin form's label and the manager's rules page's
words. The schemas, the forms and the pages read it; a new rule is one line here and its column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parking.i18n import lazy_gettext as _l

#: The most spaces a night (or a garage) can have: the bound of every quota and capacity field.
MAX_QUOTA = 100_000


@dataclass(frozen=True)
class GarageRule:
    name: str
    lower: int | float
    upper: int | float
    label: Any  # the admin's form label: a question with its unit
    summary: Any | None  # the manager's rules page: the rule in words; None: not listed there
    unit: Any | None  # the value in words, `%(n)s` filled with it
    decimal: bool = False  # a fraction, not a count


RULES: tuple[GarageRule, ...] = (
    GarageRule(
        "horizon_days",
        1,
        60,
        _l("Residents can book this many days ahead"),
        _l("Booking opens this many days ahead"),
        _l("%(n)s days"),
    ),
    GarageRule(  # after opens_at
        "booking_cutoff_minutes",
        0,
        24 * 60,
        _l("Booking closes this many minutes after the night opens"),
        _l("Booking closes after the night opens"),
        _l("%(n)s minutes"),
    ),
    GarageRule(  # before opens_at
        "free_cancel_minutes",
        0,
        7 * 24 * 60,
        _l("Free cancellation until this many minutes before the night opens"),
        _l("Free cancellation until this long before the night opens"),
        _l("%(n)s minutes"),
    ),
    GarageRule(
        "early_entry_minutes",
        0,
        4 * 60,
        _l("Cars may enter this many minutes before the night opens"),
        _l("Cars may enter early by"),
        _l("%(n)s minutes"),
    ),
    GarageRule(  # after opens_at
        "no_show_minutes",
        1,
        24 * 60,
        _l("A car not arrived this many minutes after opening is a no-show"),
        _l("A car that has not come this long after opening is a no-show"),
        _l("%(n)s minutes"),
    ),
    GarageRule(  # before closes_at
        "reminder_minutes",
        0,
        12 * 60,
        _l("Remind cars still inside this many minutes before the space is taken back"),
        _l("Reminder to leave, before the night ends"),
        _l("%(n)s minutes"),
    ),
    GarageRule(  # after closes_at
        "exit_grace_minutes",
        0,
        4 * 60,
        _l("Cars may leave this many minutes late before it counts as an overstay"),
        _l("Cars may still leave after the end for"),
        _l("%(n)s minutes"),
    ),
    GarageRule(
        "strike_limit",
        1,
        100,
        _l("Strikes (no-shows or overstays) that suspend a household"),
        _l("Strikes that suspend a household"),
        _l("%(n)s strikes"),
    ),
    GarageRule(
        "strike_window_days",
        1,
        365,
        _l("Strikes count over this many days"),
        _l("Strikes count over the last"),
        _l("%(n)s days"),
    ),
    GarageRule(
        "suspension_days",
        1,
        365,
        _l("A suspension lasts this many days"),
        _l("A suspension lasts"),
        _l("%(n)s days"),
    ),
    GarageRule(
        "bookings_per_household",
        1,
        20,
        _l("Bookings per household per night"),
        _l("Bookings per household per night"),
        _l("%(n)s"),
    ),
    GarageRule(
        "ballot_close_hour",
        0,
        23,
        _l("Ballot closes at this hour on the day before (0-23)"),
        _l("A ballot closes the day before at"),
        _l("%(n)s:00"),
    ),
    GarageRule(  # below it a camera's plate read waits for an attendant; a station setting
        "camera_confidence_threshold",
        0.0,
        1.0,
        _l("Camera reads below this confidence (0 to 1) wait for an attendant"),
        None,
        None,
        decimal=True,
    ),
    GarageRule(  # 0: no limit
        "monthly_passes_per_household",
        0,
        20,
        _l("Monthly passes a household may hold at once (0: no limit)"),
        _l("Monthly passes a household may hold at once (0: no limit)"),
        _l("%(n)s"),
    ),
    GarageRule(  # the tide masks plates and phones in what it keeps longer (scans, bookings, audit …)
        "retention_days",
        30,
        3650,
        _l("Plates and phone numbers are masked after this many days"),
        _l("Plates and phone numbers are masked after"),
        _l("%(n)s days"),
    ),
)

BY_NAME: dict[str, GarageRule] = {rule.name: rule for rule in RULES}

#: The names of the rule columns, in the order the pages and the README list them.
RULE_NAMES: tuple[str, ...] = tuple(BY_NAME)
