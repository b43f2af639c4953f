"""Estate addresses: how a typed building, unit or room is normalised, and how a manager's list of
the estate's addresses is written and read.

A typed value: full-width characters become their plain forms, spaces go, letters are upper case,
the usual suffix of its part is dropped ("1号楼", "1栋", "1幢", "1座" are building "1"; "2单元" is
unit "2"; "301室" is room "301"), and leading zeros of a number go ("01" is "1"). What is left must
be 1 to 8 digits or Latin letters; anything else (emoji, markup, another part's suffix) is refused
with the part named, never cut.

A list, one block a line (or blocks separated by ";"): values and ranges separated by commas
(Latin or Chinese) or the enumeration comma, each group closed by its suffix, e.g.
``1-24 号楼, 1-6 单元, 101-604 室``. A range is ``a-b``; an en or em dash, a tilde (either width),
至 or 到 work as the dash. A room range of numbers with three or more digits means floors by rooms on
a floor: 101-604 is floors 1 to 6, rooms 01 to 04 on each (101, 102, 103, 104, 201 ... 604). Other
ranges count up one by one (1-24; A-D). A block allows every combination of its buildings, units
and rooms; the list allows an address that one of its blocks allows."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from parking.catalogue import ADDRESS_MESSAGES
from parking.i18n import lazy_gettext as _l

PARTS = ("building", "unit", "room")
MAX_TYPED = 20  # characters a person may type into one part
MAX_RANGE = 1000  # values in one range
MAX_ADDRESSES = 50_000  # addresses in one garage's list
MAX_SPEC = 4000  # characters of a list

#: The usual suffix of each part, longest first so that "号楼" wins over "号".
SUFFIXES: dict[str, tuple[str, ...]] = {
    "building": ("号楼", "栋", "幢", "座", "号"),
    "unit": ("单元",),
    "room": ("室",),
}
_VALUE = re.compile(r"^[0-9A-Z]{1,8}$")


def typed_pattern(part: str) -> str:
    """The typed values `normalise` takes, as the API document states them: 1 to 8 digits or Latin
    letters and the part's usual suffix (spaces and full-width forms are taken too, not documented)."""
    return rf"^[0-9A-Za-z]{{1,8}}({'|'.join(SUFFIXES[part])})?$"


_RANGE = re.compile("^([0-9A-Z]+)(?:[-\u2013\u2014~\uff5e至到]([0-9A-Z]+))?$")


class AddressError(ValueError):
    """A typed value or a list that cannot be used; `errors` names the part (or "spec")."""

    def __init__(self, errors: dict[str, list[Any]]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


def _strip_suffix(part: str, text: str) -> str:
    for suffix in SUFFIXES[part]:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def _canonical(value: str) -> str:
    return str(int(value)) if value.isdigit() else value


def normalise(part: str, raw: str | None) -> str:
    """One part of an address as stored, or AddressError naming the part."""
    text = (raw or "").strip()
    if not text:
        raise AddressError({part: [ADDRESS_MESSAGES["required"]]})
    if len(text) > MAX_TYPED:
        raise AddressError({part: [ADDRESS_MESSAGES["too_long"]]})
    value = _strip_suffix(part, _plain(text))
    if not _VALUE.match(value):
        raise AddressError({part: [ADDRESS_MESSAGES["characters"]]})
    return _canonical(value)


def normalise_address(building: str | None, unit: str | None, room: str | None) -> tuple[str, str, str]:
    """All three parts, every part's refusal at once."""
    errors: dict[str, list[Any]] = {}
    values: list[str] = []
    for part, raw in zip(PARTS, (building, unit, room), strict=True):
        try:
            values.append(normalise(part, raw))
        except AddressError as exc:
            errors.update(exc.errors)
    if errors:
        raise AddressError(errors)
    return values[0], values[1], values[2]


# -- the manager's list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    buildings: tuple[str, ...]
    units: tuple[str, ...]
    rooms: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.buildings) * len(self.units) * len(self.rooms)

    def allows(self, building: str, unit: str, room: str) -> bool:
        return building in self.buildings and unit in self.units and room in self.rooms


def natural_key(value: str) -> tuple[int, int, str]:
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


@dataclass
class AddressList:
    spec: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(
            {(b, u, r) for block in self.blocks for b in block.buildings for u in block.units for r in block.rooms}
        )

    def allows(self, building: str, unit: str, room: str) -> bool:
        return any(block.allows(building, unit, room) for block in self.blocks)

    def first_wrong(self, building: str, unit: str, room: str) -> str:
        """Which part of an address outside the list to point at: the first that no block allows
        together with the parts before it."""
        if not any(building in block.buildings for block in self.blocks):
            return "building"
        if not any(building in block.buildings and unit in block.units for block in self.blocks):
            return "unit"
        return "room"

    def choices(self, part: str) -> list[str]:
        """Every value of one part in the list, in the order people count them."""
        attr = {"building": "buildings", "unit": "units", "room": "rooms"}[part]
        return sorted({v for block in self.blocks for v in getattr(block, attr)}, key=natural_key)


def _spec_error(message: Any, **params: Any) -> AddressError:
    return AddressError({"spec": [message % params if params else message]})


_PART_OF_SUFFIX = {suffix: part for part, suffixes in SUFFIXES.items() for suffix in suffixes}
_SUFFIX_RE = re.compile("(" + "|".join(sorted(_PART_OF_SUFFIX, key=len, reverse=True)) + ")$")


def _expand(part: str, token: str) -> list[str]:
    found = _RANGE.match(token)
    if not found:
        raise _spec_error(_l("“%(token)s” is not a value or a range such as 1-24."), token=token)
    first, last = found.group(1), found.group(2)
    if last is None:
        if len(first) > 8:
            raise _spec_error(_l("“%(token)s” is too long."), token=token)
        return [_canonical(first)]
    if first.isdigit() and last.isdigit():
        a, b = int(first), int(last)
        if part == "room" and len(first) >= 3 and len(last) >= 3:
            floors, rooms = (a // 100, b // 100), (a % 100, b % 100)
            if floors[0] > floors[1] or rooms[0] > rooms[1] or rooms[0] == 0:
                raise _spec_error(_l("“%(token)s”: write rooms as first-last, e.g. 101-604."), token=token)
            values = [str(f * 100 + r) for f in range(floors[0], floors[1] + 1) for r in range(rooms[0], rooms[1] + 1)]
        else:
            if a > b:
                raise _spec_error(_l("“%(token)s”: the first number must not be larger."), token=token)
            values = [str(n) for n in range(a, b + 1)]
    elif len(first) == 1 and len(last) == 1 and first.isalpha() and last.isalpha() and first <= last:
        values = [chr(c) for c in range(ord(first), ord(last) + 1)]
    else:
        raise _spec_error(_l("“%(token)s” is not a value or a range such as 1-24."), token=token)
    if len(values) > MAX_RANGE:
        raise _spec_error(_l("“%(token)s” has too many values."), token=token)
    return values


def _block(line: str) -> Block:
    found: dict[str, list[str]] = {part: [] for part in PARTS}
    waiting: list[str] = []
    for raw in re.split("[,\uff0c\u3001]", line):
        token = _plain(raw)
        if not token:
            continue
        suffix = _SUFFIX_RE.search(token)
        if suffix is None:
            waiting.append(token)
            continue
        part = _PART_OF_SUFFIX[suffix.group(1)]
        waiting.append(token[: suffix.start()])
        for item in waiting:
            found[part].extend(v for v in _expand(part, item) if v not in found[part])
        waiting = []
    if waiting:
        raise _spec_error(
            _l("“%(token)s” has no 号楼, 单元 or 室 after it: say which part it is."), token="、".join(waiting)
        )
    missing = [part for part in PARTS if not found[part]]
    if missing:
        raise _spec_error(
            _l("Each line needs buildings (号楼), units (单元) and rooms (室): %(line)s"), line=line.strip()
        )
    return Block(tuple(found["building"]), tuple(found["unit"]), tuple(found["room"]))


def parse_spec(spec: str) -> AddressList:
    """A manager's list, checked and expanded; AddressError({"spec": [...]}) says what is wrong."""
    if len(spec) > MAX_SPEC:
        raise _spec_error(_l("The list is too long."))
    blocks = [_block(line) for line in re.split("[\n;\uff1b]", spec) if line.strip()]
    result = AddressList(spec=spec.strip(), blocks=blocks)
    if sum(block.count for block in blocks) > MAX_ADDRESSES:
        raise _spec_error(_l("At most %(n)s addresses in one list."), n=MAX_ADDRESSES)
    return result
