"""Instructions a request costs in the application's process, counted by valgrind's callgrind
(`apt-get install valgrind`): the bare INSERT+COMMIT (the yardstick), a confirmed booking and a
resident's `/nights` page, each the mean over `--requests` requests after 60 to warm up, in
process (Flask's test client) on PostgreSQL.

Why: on a machine whose speed drifts by the minute, the same loop of confirmations measured 2.4 to
3.4 ms of CPU from one run to the next, so a change of a few per cent is lost in the HTTP benches'
spread. The instructions a process executes do not depend on what else the machine does: the same
tree gives the same count to within 0.2 %. What they leave out: PostgreSQL's own work, and how
fast each instruction runs. Each kind runs in its own `valgrind --tool=callgrind
--instr-atstart=no` process, which counts only between `callgrind_control -i on` and `-i off`
around the measured requests (the start-up and the warm-up are not counted).

Run: `python -m bench.instructions [--requests 200]`; the last line is one JSON object."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import common, pages, sellout
from bench.common import emit, log, print_table

KINDS = ("bare", "booking", "nights")
WARM_UP = 60
_COLLECTED = re.compile(r"Collected\s*:\s*([\d,]+)")


def collected(valgrind_output: str) -> int:
    """The instructions callgrind counted, from its summary ("Collected : 1,234,567")."""
    found = _COLLECTED.findall(valgrind_output)
    if not found:
        raise SystemExit("bench: callgrind printed no count:\n" + valgrind_output[-2000:])
    return int(found[-1].replace(",", ""))


def bookings(database_url: str, count: int) -> list[dict[str, Any]]:
    """`count` verified households on a migrated database, each with one booking to make of one
    night (its body and its caller's headers): the sell-out's seed, with a space for each."""
    _, requests = sellout.seed(database_url, sellout.Scenario(households=count, spaces=count))
    return [{"json": r.body, "headers": r.headers} for r in requests]


def seed(requests: int) -> dict[str, Any]:
    """Two databases: households that each book one night (the yardstick's table beside them), and
    the pages bench's signed-in residents with their 14 nights; what the counted processes need."""
    booking_url = common.fresh_database("parking_bench_instructions")
    common.migrate(booking_url)
    nights_url = common.fresh_database("parking_bench_instructions_pages")
    common.migrate(nights_url)
    _, loads, _ = pages.seed(nights_url)
    return {
        "secret": common.SECRET_KEY,
        "booking_url": booking_url,
        "bookings": bookings(booking_url, requests + WARM_UP),
        "nights_url": nights_url,
        "cookies": [r.headers["Cookie"] for r in loads[: requests + WARM_UP]],
    }


def requesters(kind: str, spec: dict[str, Any]) -> list[Callable[[], None]]:
    """One function a request of `kind`, each checking its answer; built with the kind's app."""
    if kind == "bare":
        from bench import bare_app

        os.environ["DATABASE_URL"] = spec["booking_url"]
        bare_app.prepare(spec["booking_url"])
        bare = bare_app.create_bare_app().test_client()

        def insert(i: int) -> None:
            assert bare.post("/bare", json={"payload": f"row {i}"}).status_code == 201

        return [lambda i=i: insert(i) for i in range(len(spec["bookings"]))]
    if kind == "booking":
        client = common.bench_app(spec["booking_url"]).test_client(use_cookies=False)

        def book(request: dict[str, Any]) -> None:
            answer = client.post("/api/v1/bookings", json=request["json"], headers=request["headers"])
            assert answer.status_code == 201, answer.get_data(as_text=True)

        return [lambda r=r: book(r) for r in spec["bookings"]]
    client = common.bench_app(spec["nights_url"]).test_client(use_cookies=False)

    def page(cookie: str) -> None:
        answer = client.get("/nights", headers={"Cookie": cookie}, environ_base={"REMOTE_ADDR": common.HOST})
        assert answer.status_code == 200, answer.status_code

    return [lambda c=c: page(c) for c in spec["cookies"]]


def _counted(pid: int, on: bool) -> None:
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(pid)], check=True, capture_output=True)


def child(kind: str, spec_path: str) -> None:
    """Inside valgrind: warm up, then count the rest of the requests."""
    spec = json.loads(Path(spec_path).read_text())
    calls = requesters(kind, spec)
    for call in calls[:WARM_UP]:
        call()
    _counted(os.getpid(), True)
    for call in calls[WARM_UP:]:
        call()
    _counted(os.getpid(), False)


def count(kind: str, spec_path: Path, out: Path) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out / f'{kind}.%p.out'}",
        sys.executable,
        "-m",
        "bench.instructions",
        "--child",
        kind,
        str(spec_path),
    ]
    env = {**os.environ, "BENCH_SECRET_KEY": json.loads(spec_path.read_text())["secret"]}
    done = subprocess.run(command, cwd=common.ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: the counted {kind} process failed:\n{done.stderr[-3000:]}")
    return collected(done.stderr)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="requests counted of each kind")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return {}
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is missing (apt-get install valgrind)")
    log(f"instructions: seeding {args.requests + WARM_UP} bookings and the pages' residents …")
    spec = seed(args.requests)
    figures: dict[str, Any] = {"requests": args.requests}
    with tempfile.TemporaryDirectory() as folder:
        spec_path = Path(folder) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        for kind in KINDS:
            log(f"instructions: {kind} under callgrind …")
            figures[f"{kind}_instructions"] = round(count(kind, spec_path, Path(folder)) / args.requests)
    bare = figures["bare_instructions"]
    rows = [
        {
            "request": kind,
            "instructions": f"{figures[f'{kind}_instructions']:,}",
            "÷ bare": f"{figures[f'{kind}_instructions'] / bare:.2f}",
        }
        for kind in KINDS
    ]
    print_table(f"Instructions a request in the application's process (mean of {args.requests})", rows)
    return figures


if __name__ == "__main__":
    result = main()
    if result:
        emit(result)
