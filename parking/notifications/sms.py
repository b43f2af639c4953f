"""The short text of a notification for an SMS or a WeChat message, in the reader's language: at
most 70 characters including the garage's signature 【…】 (up to 10), dates in words. A message
never carries a reset code or a password. Also the one place that turns a notice's stored
parameters (ISO dates, "2026-12" months) into words, for the in-app text as well."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from babel.dates import format_date, format_datetime

from parking.i18n import date_words, month_words
from parking.i18n import gettext as _

SMS_LIMIT = 70
SIGNATURE_LIMIT = 10  # 【 + name + 】
_SHORT_DATE = {"zh": "M月d日 EEEE", "en": "EEE d MMM"}
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_MOMENT = {"zh": "M月d日 HH:mm", "en": "d MMM HH:mm"}


def signature(name: str | None, fallback: str) -> str:
    """【name】 cut to fit SIGNATURE_LIMIT characters, brackets included."""
    inner = (name or fallback or "").strip()[: SIGNATURE_LIMIT - 2]
    return f"【{inner}】"


def _as_moment(value: Any) -> datetime | None:
    """A local wall-clock minute stored as "2026-12-04T10:15"."""
    if isinstance(value, str) and len(value) == 16 and value[10] == "T":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def in_words(params: dict[str, Any], lang: str, *, short: bool = False) -> dict[str, Any]:
    """A notice's parameters with dates and months said in words ("12月6日 星期日", "2026年12月")."""
    said = dict(params)
    for key in ("date", "draw_date", "until", "time"):
        moment = _as_moment(said.get(key))
        if moment is not None:
            said[key] = format_datetime(moment, _MOMENT[lang], locale=lang)
            continue
        day = _as_date(said.get(key))
        if day is not None:
            said[key] = format_date(day, _SHORT_DATE[lang], locale=lang) if short else date_words(day, lang)
    month = said.get("month")
    if isinstance(month, str) and _MONTH.match(month):
        said["month"] = month_words(date.fromisoformat(month + "-01"), lang)
    return said


def _sms_texts(p: dict[str, Any]) -> dict[str, Callable[[], str]]:
    """Each kind's short text (without the signature), in the current language."""
    return {
        "booking_confirmed": lambda: _("Booked: %(plate)s, night of %(date)s.", **p),
        "booking_waitlisted": lambda: _("On the waitlist: %(plate)s, night of %(date)s.", **p),
        "booking_promoted": lambda: _("A space opened: %(plate)s is booked for %(date)s.", **p),
        "booking_cancelled": lambda: _("Cancelled: %(plate)s, night of %(date)s.", **p),
        "booking_bumped": lambda: _("Sorry, booking for %(date)s withdrawn: garage needed.", **p),
        "window_closed": lambda: _("The night of %(date)s is closed; waitlist entry withdrawn.", **p),
        "ballot_requested": lambda: _("Draw request for %(date)s received; draw on %(draw_date)s.", **p),
        "ballot_won": lambda: _("You won the draw: %(plate)s, night of %(date)s.", **p),
        "ballot_waitlisted": lambda: _("Not drawn for %(date)s; waitlist number %(position)s.", **p),
        "ballot_withdrawn": lambda: _("The night of %(date)s is closed; draw request withdrawn.", **p),
        "no_show": lambda: _("No-show recorded: %(plate)s, night of %(date)s.", **p),
        "reclaim_reminder": lambda: _("Please move %(plate)s out by %(time)s.", **p),
        "overstayed": lambda: _("%(plate)s is still inside after %(time)s: overstay recorded.", **p),
        "suspended": lambda: _("Booking is suspended until %(until)s.", **p),
        "household_verified": lambda: _("Your household is verified; you can book now.", **p),
        "household_rejected": lambda: _("Your household could not be verified; see the app.", **p),
        "household_reopened": lambda: _("The manager is checking your household again.", **p),
        "vehicle_verified": lambda: _("Your vehicle %(plate)s is verified.", **p),
        "plate_released": lambda: _("%(plate)s was removed from your household.", **p),
        "gate_conflict": lambda: _("Gate conflict at %(time)s: %(plate)s. See the gate page.", **p),
        "monthly_subscribed": lambda: _("Monthly pass %(month)s: %(nights)s nights. Pay at the office.", **p),
        "monthly_statement": lambda: _("Monthly statement for %(month)s is ready; see the app.", **p),
        "locked_out": lambda: _("Password sign-in paused until %(until)s; ask the manager.", **p),
        "reset_code_issued": lambda: _("A password reset code was issued. Not you? Tell the manager.", **p),
    }


SMS_KINDS = tuple(_sms_texts({}).keys())


def sms_body(kind: str, params: dict[str, Any], lang: str) -> str | None:
    """The short text of `kind` in the current language, dates in words; None for a kind without one."""
    texts = _sms_texts(in_words(params, lang, short=True))
    if kind not in texts:
        return None
    try:
        return texts[kind]()
    except (KeyError, ValueError, TypeError):
        return None


def compose(body: str, sign: str) -> str:
    """Signature first, as gateways in China put it; cut to the limit should a name or a plate be
    longer than the catalogue test's longest."""
    text = sign + body
    return text if len(text) <= SMS_LIMIT else text[: SMS_LIMIT - 1] + "…"


def sms_text(note: Any, garage: Any, lang: str) -> str | None:
    body = sms_body(note.kind, note.params or {}, lang)
    if body is None:
        return None
    name = garage.name_en if lang == "en" and garage.name_en else garage.name
    return compose(body, signature(name, garage.name))
