"""The ballot draw as pure functions, with no database: the tide runs them at the
close, and anyone can run them again on the published draw to check it (`verify`).

For each request: `h = HMAC-SHA256(key=seed, msg=str(household_id) as ASCII)`,
`u = (int.from_bytes(h[:8], "big") + 0.5) / 2**64`, weight `w = 1 / (1 + wins)`. The order puts
bumped households first, then `u ** (1 / w)` descending, ties by household id; the first `quota`
are confirmed, the rest waitlisted in that order. `u ** (1 / w)` is a weighted random order
(Efraimidis and Spirakis): the first place goes to a household with probability `w / sum(w)`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CONFIRMED, WAITLISTED = "confirmed", "waitlisted"


@dataclass(frozen=True)
class Entry:
    household_id: int
    wins: int = 0
    bumped: bool = False


@dataclass(frozen=True)
class Drawn:
    household_id: int
    wins: int
    bumped: bool
    u: float
    result: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "household_id": self.household_id,
            "wins": self.wins,
            "bumped": self.bumped,
            "u": self.u,
            "result": self.result,
        }


def new_seed() -> bytes:
    return secrets.token_bytes(32)


def commitment(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def uniform(seed: bytes, household_id: int) -> float:
    digest = hmac.new(seed, str(household_id).encode("ascii"), hashlib.sha256).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2**64


def weight(wins: int) -> float:
    return 1 / (1 + wins)


def draw(seed: bytes, entries: Iterable[Entry], quota: int) -> list[Drawn]:
    """The entries in draw order, each with its `u` and its result."""
    scored = [(entry, uniform(seed, entry.household_id)) for entry in entries]
    scored.sort(key=lambda pair: (not pair[0].bumped, -(pair[1] ** (1 / weight(pair[0].wins))), pair[0].household_id))
    return [
        Drawn(entry.household_id, entry.wins, entry.bumped, u, CONFIRMED if rank < quota else WAITLISTED)
        for rank, (entry, u) in enumerate(scored)
    ]


@dataclass
class Verdict:
    ok: bool
    problems: list[str]


def verify(published: dict[str, Any]) -> Verdict:
    """Recompute a published draw (`GET /windows/{id}/draw`) from its own data alone: the seed
    matches the commitment, each `u` follows from the seed, and the order and results follow
    from `u`, `wins`, `bumped` and `quota`."""
    problems: list[str] = []
    try:
        seed = bytes.fromhex(published["seed"])
        quota = int(published["quota"])
        given = [
            Drawn(int(e["household_id"]), int(e["wins"]), bool(e["bumped"]), float(e["u"]), str(e["result"]))
            for e in published["entries"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        return Verdict(False, [f"the published draw is incomplete or malformed: {exc!r}"])
    if commitment(seed) != published.get("commitment"):
        problems.append("the seed does not match the commitment published before the draw")
    for entry in given:
        expected = uniform(seed, entry.household_id)
        if entry.u != expected:
            problems.append(f"household {entry.household_id}: u is {entry.u}, the seed gives {expected}")
    recomputed = draw(seed, [Entry(e.household_id, e.wins, e.bumped) for e in given], quota)
    if [d.household_id for d in recomputed] != [e.household_id for e in given]:
        problems.append("the order of the entries is not the order the seed gives")
    expected_results = {d.household_id: d.result for d in recomputed}
    for position, entry in enumerate(given, start=1):
        if entry.result != expected_results[entry.household_id]:
            problems.append(
                f"household {entry.household_id} (place {position}): result {entry.result}, "
                f"expected {expected_results[entry.household_id]}"
            )
    if len({e.household_id for e in given}) != len(given):
        problems.append("a household appears more than once")
    return Verdict(not problems, problems)
