"""The CPU a request costs, the application's and PostgreSQL's, and the ratio to the yardstick that
this cost allows: the bare INSERT+COMMIT, a confirmed booking and a resident's `/nights` page, in
process (Flask's test client) on PostgreSQL, in alternating rounds so that the machine's drift
falls on every kind alike.

Why: on 2 cores shared by the app, PostgreSQL and the load generator, the HTTP benches' ratios
(the sell-out's confirmations a second, `/nights`' pages a second, each ÷ the yardstick's requests
a second) follow what each request costs the machine in CPU. This bench measures that cost by its
two parts: the application's process (`time.process_time`) and the PostgreSQL backends connected to
the kind's database (read from /proc, so the server must run on this machine). For each target
ratio it prints the most CPU a request may cost to reach it, and how much of that PostgreSQL's own
work already takes. It leaves out what every kind pays alike over HTTP (gunicorn, the sockets, the
load generator), which brings the HTTP ratios a little nearer to 1 than these.

Run: `python -m bench.cpu_budget [--requests 600]`; the last line is one JSON object."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import common, instructions
from bench.common import emit, log, print_table

WARM_UP = instructions.WARM_UP
#: The binding targets of the kinds that have one: the sell-out's confirmations and `/nights`' pages
#: a second, each at least half the yardstick's requests a second.
TARGETS = {"booking": 0.5, "nights": 0.5}
#: Requests a round, by kind: a page costs several confirmations, so it runs half as many.
ROUND = {"bare": 100, "booking": 100, "nights": 50}


@dataclass
class Cost:
    """CPU seconds spent on `requests` requests: the application's process and the database's."""

    app: float = 0.0
    db: float = 0.0
    requests: int = 0

    @property
    def app_ms(self) -> float:
        return self.app * 1000 / self.requests if self.requests else 0.0

    @property
    def db_ms(self) -> float:
        return self.db * 1000 / self.requests if self.requests else 0.0

    @property
    def total_ms(self) -> float:
        return self.app_ms + self.db_ms


def run_round(calls: list[Callable[[], None]], database: str, cost: Cost) -> None:
    """Make the calls one after the other, adding the CPU they cost to `cost`."""
    db_before, app_before = common.backend_cpu_seconds(database), time.process_time()
    for call in calls:
        call()
    app_after, db_after = time.process_time(), common.backend_cpu_seconds(database)
    cost.app += app_after - app_before
    cost.db += db_after - db_before
    cost.requests += len(calls)


def measure(calls: dict[str, list[Callable[[], None]]], databases: dict[str, str], requests: int) -> dict[str, Cost]:
    """Each kind warmed up, then measured in rounds taken in turn until `requests` of each."""
    for kind, kind_calls in calls.items():
        if len(kind_calls) < WARM_UP + requests:
            raise SystemExit(f"bench: {len(kind_calls)} {kind} requests made, {WARM_UP + requests} needed")
    for kind_calls in calls.values():
        for call in kind_calls[:WARM_UP]:
            call()
    costs = {kind: Cost() for kind in calls}
    done = dict.fromkeys(calls, 0)
    while any(done[kind] < requests for kind in calls):
        for kind, kind_calls in calls.items():
            take = min(ROUND[kind], requests - done[kind])
            if take > 0:
                start = WARM_UP + done[kind]
                run_round(kind_calls[start : start + take], databases[kind], costs[kind])
                done[kind] += take
    return costs


def budget_rows(costs: dict[str, Cost]) -> list[dict[str, Any]]:
    """A row a kind: its CPU by part, the ratio to the yardstick the CPU allows, and for a kind with
    a target the most it may cost in all, and what is left for the application beside its database."""
    bare = costs["bare"].total_ms
    rows = []
    for kind, cost in costs.items():
        row: dict[str, Any] = {
            "request": kind,
            "app ms": round(cost.app_ms, 3),
            "PostgreSQL ms": round(cost.db_ms, 3),
            "total ms": round(cost.total_ms, 3),
            "bare ÷ this": round(bare / cost.total_ms, 3) if cost.total_ms else "",
            "target": "",
            "total for it, at most": "",
            "app for it, at most": "",
        }
        if kind in TARGETS:
            allowed = bare / TARGETS[kind]
            row["target"] = TARGETS[kind]
            row["total for it, at most"] = round(allowed, 3)
            row["app for it, at most"] = round(allowed - cost.db_ms, 3)
        rows.append(row)
    return rows


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=600, help="requests measured of each kind")
    args = parser.parse_args()
    log(f"cpu budget: seeding {args.requests + WARM_UP} bookings and the pages' residents …")
    spec = instructions.seed(args.requests)
    calls = {kind: instructions.requesters(kind, spec) for kind in instructions.KINDS}
    booking_db = spec["booking_url"].rsplit("/", 1)[1]
    databases = {"bare": booking_db, "booking": booking_db, "nights": spec["nights_url"].rsplit("/", 1)[1]}
    log("cpu budget: measuring, the kinds in turn …")
    costs = measure(calls, databases, args.requests)
    rows = budget_rows(costs)
    print_table(f"CPU a request, in process on PostgreSQL (mean of {args.requests} each, in rounds)", rows)
    figures: dict[str, Any] = {"requests": args.requests}
    for row in rows:
        kind = row["request"]
        figures[f"{kind}_app_ms"] = row["app ms"]
        figures[f"{kind}_db_ms"] = row["PostgreSQL ms"]
        figures[f"{kind}_ratio_by_cpu"] = row["bare ÷ this"]
    return figures


if __name__ == "__main__":
    emit(main())
