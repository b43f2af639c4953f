"""Chinese licence plates (GA 36): province abbreviation + issuing-authority letter + 5 characters,
or 6 for new-energy plates. Plates are stored normalised: upper case, half-width, without the
spaces, dots and hyphens people type."""

from __future__ import annotations

import re
import unicodedata

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # GA 36 leaves out I and O, which read as 1 and 0
_ALNUM = "A-HJ-NP-Z0-9"
_PATTERN = re.compile(
    rf"""^[{PROVINCES}][{_LETTER}](?:
        [{_ALNUM}]{{4}}[{_ALNUM}挂学警港澳]   # ordinary plate: 5 characters, some special last ones
      | [A-HJK][{_ALNUM}][0-9]{{4}}       # new-energy small car: D/F/A-K, then a letter or digit, 4 digits
      | [0-9]{{5}}[A-HJK]                 # new-energy large vehicle: 5 digits, then D/F/A-K
    )$""",
    re.VERBOSE,
)
_STRIP = re.compile(r"[\s.\-·•・_]+")


def normalise(raw: str) -> str:
    """Half-width, upper case, separators removed. Does not validate."""
    text = unicodedata.normalize("NFKC", raw)
    return _STRIP.sub("", text).upper()


def parse(raw: object) -> str | None:
    """The normalised plate, or None when `raw` is not a valid Chinese plate."""
    if not isinstance(raw, str) or len(raw) > 32:
        return None
    plate = normalise(raw)
    if len(plate) not in (7, 8) or not _PATTERN.match(plate):
        return None
    return plate


def is_new_energy(plate: str) -> bool:
    return len(plate) == 8
