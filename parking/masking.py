"""The one masking helper for personal information (China's PIPL): a plate keeps its first three
characters and its last one (沪A12345 → 沪A1***5), a mainland mobile number its first three and
last four digits (13800000003 → 138****0003). A masked value keeps its length, so it fits the
column it came from, and masking it again changes nothing.

The audit writer masks phones in every value it stores; the tide's retention pass masks plates
and phones in whatever it keeps past a garage's `retention_days`; pages showing a person's own
number masked use the same function."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from parking.plates import PROVINCES

_PHONE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
# A plate inside a text: province, letter, then 5 or 6 characters (ordinary or new-energy).
_PLATE = re.compile(rf"[{PROVINCES}][A-Z][A-Z0-9挂学警港澳]{{5,6}}(?![A-Z0-9])")


def mask_phone(phone: str) -> str:
    """138****0003: the first three and the last four digits of an 11-digit number."""
    return _PHONE.sub(r"\1****\2", phone) if _PHONE.fullmatch(phone) else phone


def mask_plate(plate: str) -> str:
    """沪A1***5: the first three characters and the last one. Any string held as a plate (a camera's
    read may not be a valid plate) is masked so; a short one entirely."""
    if len(plate) <= 4:
        return "*" * len(plate)
    return plate[:3] + "*" * (len(plate) - 4) + plate[-1]


def mask_text(text: str, *, plates: bool = True) -> str:
    """Every phone number (and, with `plates`, every plate) inside a text, masked."""
    text = _PHONE.sub(r"\1****\2", text)
    return _PLATE.sub(lambda m: mask_plate(m.group(0)), text) if plates else text


def mask_values(value: Any, *, plates: bool = True) -> Any:
    """`mask_text` over every string of a JSON-like value (dicts, lists), keys left as they are."""
    if isinstance(value, str):
        return mask_text(value, plates=plates)
    if isinstance(value, dict):
        return {key: mask_values(item, plates=plates) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_values(item, plates=plates) for item in value]
    return value


@dataclass(frozen=True)
class Personal:
    """What of a model's row is personal information, declared on the model as `__personal__`:
    the tide's retention pass finds every such model and masks these columns once the row is older
    than its garage's `retention_days`. A new personal column is one word here on its model."""

    at: str  # the column that dates the row
    plates: tuple[str, ...] = ()  # columns holding one plate each (masked whole, as a plate)
    texts: tuple[str, ...] = ()  # text or JSON columns: every plate and phone inside is masked
    garage: str | None = "garage_id"  # the row's garage; None: through `booking_id`'s booking
    live: str | None = None  # SQL: rows still in use, never masked however old


_NOT_MASKED = "anonymised_at IS NULL"


def retention_index(table: str, at: str) -> sa.Index:
    """The retention pass's index on a `Personal` model: the rows not masked yet, by the column
    that dates them. Every minute the pass asks for the rows older than the retention among those
    not masked yet; years of masked history would otherwise be read to find none (the plans are
    in docs/benchmarks.md, "Years of history")."""
    where = sa.text(_NOT_MASKED)
    return sa.Index(f"ix_{table}_retention_due", at, sqlite_where=where, postgresql_where=where)
