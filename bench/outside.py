"""`make bench-outside`: the hot paths measured by an independent load generator, wrk (C, epoll;
`apt-get install wrk`), instead of the project's own Python clients, against the same gunicorn
settings, the same seeded requests and the bare INSERT+COMMIT yardstick, all on PostgreSQL.

On a 2-core machine the load generator shares the cores with the server and the database: the
project's clients (Python threads) take a share of them that wrk does not, so the two generators
bracket what the server does (docs/benchmarks.md, "From outside"). wrk replays each bench's own
request list (bench/outside.lua), 16 keep-alive connections on 2 threads, and stops when every
request has been answered; its latencies are wrk's own (from the request's send to its answer).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import common
from bench.common import Request, emit, gunicorn, log, print_table

SCRIPT = Path(__file__).with_name("outside.lua")
CONNECTIONS = 16
THREADS = 2


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    socket_errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def row(self, name: str) -> dict:
        return {
            "name": name,
            "requests": self.requests,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "statuses": dict(sorted(self.statuses.items())),
        }


def request_line(req: Request) -> str:
    """One request as bench/outside.lua reads it."""
    body = req.raw.decode() if req.raw is not None else json.dumps(req.body) if req.body is not None else ""
    headers = {"Content-Type": "application/json", **req.headers}
    fields = [req.method, req.path, "\1".join(f"{k}\2{v}" for k, v in headers.items()), body]
    if any(ch in field for field in fields for ch in "\t\n"):
        raise ValueError(f"a request wrk cannot replay: {req.method} {req.path}")
    return "\t".join(fields)


def parse_result(output: str) -> WrkResult:
    line = next((line for line in output.splitlines() if line.startswith("WRK_RESULT ")), None)
    if line is None:
        raise SystemExit(f"bench: wrk printed no result:\n{output}")
    data = json.loads(line.removeprefix("WRK_RESULT "))
    statuses: dict[int, int] = {}
    for pair in data["statuses"].split():
        code, _, count = pair.partition(":")
        statuses[int(code)] = statuses.get(int(code), 0) + int(count)
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        statuses=statuses,
        socket_errors=data["socket_errors"],
    )


def run_wrk(requests: list[Request], port: int, connections: int = CONNECTIONS, threads: int = THREADS) -> WrkResult:
    """wrk replays `requests` (each once, and at most one more per connection) against the port."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("bench: wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="wrk-") as folder:
        listing = Path(folder) / "requests"
        listing.write_text("\n".join(request_line(r) for r in requests) + "\n", encoding="utf-8")
        done = Path(folder) / "done-"
        env = {**os.environ, "WRK_REQUESTS": str(listing), "WRK_THREADS": str(threads), "WRK_DONE": str(done)}
        cmd = [wrk, f"-t{threads}", f"-c{connections}", "-d120s", "--timeout", "30s", "-s", str(SCRIPT)]
        proc = subprocess.Popen(
            [*cmd, f"http://{common.HOST}:{port}"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        # Every thread's share answered: wrk is told to stop (it reports on SIGINT). Looked for
        # every 2 ms, which is what the duration wrk reports can overstate the load by.
        while proc.poll() is None and not all(Path(f"{done}{n}").exists() for n in range(threads)):
            time.sleep(0.002)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    if proc.returncode != 0:
        raise SystemExit(f"bench: wrk failed ({proc.returncode}): {stderr or stdout}")
    result = parse_result(stdout)
    if result.socket_errors:
        raise SystemExit(f"bench: wrk saw {result.socket_errors} socket errors")
    return result


def bare(database_url: str, n: int = 2000) -> WrkResult:
    common.bare_app.prepare(database_url)
    with gunicorn("bench.bare_app:create_bare_app()", database_url, clients=CONNECTIONS) as port:
        common.warm_up(port, clients=CONNECTIONS)
        return run_wrk(common.bare_requests(n), port)


@dataclass
class Scenario:
    name: str
    seed: Callable[[str], tuple[int, list[Request], list[Request]]]  # (window id, warm-up, measured)
    check: Callable[[str, int], None]  # after the load: the bench's own invariants


def _rush(url: str) -> tuple[int, list[Request], list[Request]]:
    from bench import rush

    window_id, requests = rush.seed(url)
    return window_id, rush.warm(requests), requests


def _sold_out(url: str, window_id: int) -> None:
    """As the rush and the form booking assert: every space taken once, none beyond."""
    from bench import rush

    outcome = rush.verify(url, window_id)
    assert outcome["booked"] == outcome["holding"] == outcome["quota"], outcome


def _exit(url: str) -> tuple[int, list[Request], list[Request]]:
    from bench import morning_exit

    window_id, requests = morning_exit.seed(url)
    return window_id, morning_exit.warm(requests), requests


def _exit_check(url: str, window_id: int) -> None:
    """As the morning exit asserts: every car out, each exit stored and accepted once."""
    from bench import morning_exit

    outcome = morning_exit.verify(url, window_id)
    cars = morning_exit.CARS
    assert outcome["inside"] == 0 and outcome["scans"] == outcome["accepted"] == cars, outcome


def _nights(url: str) -> tuple[int, list[Request], list[Request]]:
    from bench import pages

    window_id, loads, _ = pages.seed(url)
    return window_id, loads[:200], loads


def _form(url: str) -> tuple[int, list[Request], list[Request]]:
    from bench import pages

    window_id, loads, bookings = pages.seed(url)
    return window_id, loads[:200], bookings


SCENARIOS = {
    "rush": Scenario("booking rush (API)", _rush, _sold_out),
    "exit": Scenario("morning exit (gate scans)", _exit, _exit_check),
    "nights": Scenario("resident /nights page", _nights, lambda url, window_id: None),
    "form": Scenario("booking through the form", _form, _sold_out),
}


def run_once(key: str) -> dict:
    scenario = SCENARIOS[key]
    url = common.fresh_database(f"parking_bench_outside_{key}")
    common.migrate(url)
    log(f"outside: {scenario.name}: seeding …")
    window_id, warm, requests = scenario.seed(url)
    log(f"outside: {scenario.name}: bare INSERT+COMMIT, before …")
    before = bare(url)
    with gunicorn("wsgi:app", url, clients=CONNECTIONS) as port:
        common.warm_up(port, warm, clients=CONNECTIONS)
        log(f"outside: {scenario.name}: wrk …")
        load = run_wrk(requests, port)
    scenario.check(url, window_id)
    log(f"outside: {scenario.name}: bare INSERT+COMMIT, after …")
    after = bare(url)
    bare_rps = (before.requests + after.requests) / (before.seconds + after.seconds)
    if any(code >= 500 for code in load.statuses):
        raise SystemExit(f"bench: outside {key}: server errors {load.statuses}")
    print_table(
        f"From outside (wrk, {CONNECTIONS} connections): {scenario.name}",
        [load.row(scenario.name), before.row("bare, before"), after.row("bare, after")],
    )
    return {
        f"outside_{key}_rps": round(load.rps, 1),
        f"outside_{key}_p50_ms": round(load.p50_ms, 2),
        f"outside_{key}_p99_ms": round(load.p99_ms, 2),
        f"outside_{key}_bare_rps": round(bare_rps, 1),
        f"outside_{key}_bare_p99_ms": round(max(before.p99_ms, after.p99_ms), 2),
        f"outside_{key}_ratio": round(load.rps / bare_rps, 3) if bare_rps else 0.0,
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of each scenario (default 3)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed (apt-get install wrk)")
    common.ensure_postgres()
    figures: dict = {"runs": args.runs}
    spread: dict[str, list[float]] = {}
    for key in args.only.split(","):
        runs = [run_once(key) for _ in range(args.runs)]
        for name in runs[0]:
            values = [run[name] for run in runs]
            figures[name] = common.median(values)
            spread[name] = [min(values), max(values)]
    figures["spread"] = spread
    rows = [
        {
            "scenario": SCENARIOS[key].name,
            "ratio": figures[f"outside_{key}_ratio"],
            "rps": figures[f"outside_{key}_rps"],
            "p99_ms": figures[f"outside_{key}_p99_ms"],
            "p99 spread": "–".join(str(v) for v in spread[f"outside_{key}_p99_ms"]),
            "bare_rps": figures[f"outside_{key}_bare_rps"],
        }
        for key in args.only.split(",")
    ]
    print_table(f"From outside: wrk, median of {args.runs} runs", rows)
    return figures


if __name__ == "__main__":
    emit(main())
