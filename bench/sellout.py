"""Contended sell-out (issue 25): verified households, each booking one night of one window at
once, far more of them than spaces; 16 keep-alive clients. Three scenarios: 400 households on 200
spaces, 2,000 on 200 and 4,000 on 2,000; on PostgreSQL and on a file SQLite database served by
the same gunicorn settings.

The headline is confirmations per second while the quota lasts, as the database stamps them: a
trigger the bench adds to `windows` records `clock_timestamp()` (SQLite: the statement's
`julianday('now')`) in the very statement that takes a space (`booked` goes up), and only the
committed ones stay. From the first to the last stamp of a run: (confirmations - 1) / span.
Beside it, in the same run, the bare INSERT+COMMIT yardstick (bench/bare_app.py, before and after
the load, pooled); the ratio confirmations/s ÷ bare req/s is the figure the issue binds (≥ 0.5).

Also: attempts req/s (every request of the load), p50/p99 of confirmations and of refusals apart,
the refusals by reason, server errors, overbooked (holding bookings beyond the quota, or a counter
that disagrees with them: must be 0), and PostgreSQL's own count of deadlocks detected in the
bench database during the load (`pg_stat_database.deadlocks`; each one is a counted admission
retry, never a failure).

Run: `python -m bench.sellout [--database postgres|sqlite|both] [--scenario 400-200|2000-200|4000-2000|all]`.
The last line is one JSON object of figures, keyed by database and scenario."""

from __future__ import annotations

import argparse
import os
import random
import time
from dataclasses import dataclass

import sqlalchemy as sa

from bench import common, rush
from bench.common import Request, emit, gunicorn, log, print_table, run_load
from bench.seed import garage_with_window, households, tomorrow

CONCURRENCY = 16


@dataclass(frozen=True)
class Scenario:
    households: int
    spaces: int

    @property
    def name(self) -> str:
        return f"{self.households}-{self.spaces}"


SCENARIOS = {s.name: s for s in (Scenario(400, 200), Scenario(2000, 200), Scenario(4000, 2000))}

# The stamp of each space taken, written by the statement that takes it (an AFTER UPDATE trigger
# runs inside that statement); rolled back with it when its transaction does not commit.
_STAMPS = "CREATE TABLE bench_sellout_stamps (window_id integer, booked integer, at double precision)"
_PG_TRIGGER = (
    """
    CREATE FUNCTION bench_sellout_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.booked > OLD.booked THEN
            INSERT INTO bench_sellout_stamps VALUES (NEW.id, NEW.booked, extract(epoch FROM clock_timestamp()));
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER bench_sellout_stamp AFTER UPDATE OF booked ON windows
    FOR EACH ROW EXECUTE FUNCTION bench_sellout_stamp()
    """,
)
_SQLITE_TRIGGER = (
    """
    CREATE TRIGGER bench_sellout_stamp AFTER UPDATE OF booked ON windows
    WHEN NEW.booked > OLD.booked
    BEGIN
        INSERT INTO bench_sellout_stamps VALUES (NEW.id, NEW.booked, (julianday('now') - 2440587.5) * 86400.0);
    END
    """,
)


def database_url(kind: str, scenario: Scenario) -> str:
    name = f"parking_bench_sellout_{scenario.households}_{scenario.spaces}"
    if kind == "postgres":
        return common.fresh_database(name)
    results = common.ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{name}{os.environ.get('BENCH_DB_SUFFIX', '')}.db"
    for suffix in ("", "-wal", "-shm"):
        (path.parent / (path.name + suffix)).unlink(missing_ok=True)
    return f"sqlite:///{path}"


def install_stamps(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(_STAMPS))
        for ddl in _PG_TRIGGER if engine.dialect.name == "postgresql" else _SQLITE_TRIGGER:
            conn.execute(sa.text(ddl))
    engine.dispose()


def seed(url: str, scenario: Scenario) -> tuple[int, list[Request]]:
    from parking import clock
    from parking.auth import tokens
    from parking.auth.models import User
    from parking.extensions import db

    app = common.bench_app(url)
    with app.app_context():
        now = clock.now()
        garage_id, window_id = garage_with_window(now, scenario.spaces, tomorrow(now))
        people = households(garage_id, scenario.households, now)
        db.session.commit()
        by_id = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_([p[0] for p in people])))}
        requests = [
            Request(
                "POST",
                "/api/v1/bookings",
                {"window_id": window_id, "plate": plate},
                {"Authorization": f"Bearer {tokens.issue(by_id[user_id])[0]}"},
            )
            for user_id, _, plate in people
        ]
        common.let_go(db)
    random.Random(25).shuffle(requests)
    return window_id, requests


def deadlocks(url: str) -> int | None:
    """PostgreSQL's count of deadlocks detected in this database (None on SQLite, which has none:
    its writers queue on one lock)."""
    if not url.startswith("postgresql"):
        return None
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))
        count = int(found.scalar() or 0)
    engine.dispose()
    return count


def outcome(url: str, window_id: int) -> dict:
    """The window's counter, quota and space-holding bookings (as the rush checks them) and the
    database's stamps of its confirmations, in order."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stamps = [
            float(at)
            for (at,) in conn.execute(
                sa.text("SELECT at FROM bench_sellout_stamps WHERE window_id = :id ORDER BY at"), {"id": window_id}
            )
        ]
    engine.dispose()
    return {**rush.verify(url, window_id), "stamps": stamps}


def switch_interval_env(ms: float | None) -> dict[str, str]:
    """An experiment's server environment: the workers' GIL switch interval set to `ms` (through a
    sitecustomize module put first on the path). A thread that holds the window's lock and comes
    back from the database waits for the GIL up to the switch interval (5 ms by default) while the
    worker's other thread runs Python, and the lock waits with it."""
    if ms is None:
        return {}
    folder = common.ROOT / "bench" / "results" / "switch_interval"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(f"import sys\nsys.setswitchinterval({ms / 1000!r})\n")
    return {"PYTHONPATH": f"{folder}{os.pathsep}{common.ROOT}"}


def run(kind: str, scenario: Scenario, concurrency: int, switch_ms: float | None = None) -> dict:
    url = database_url(kind, scenario)
    label = f"sellout {kind} {scenario.name}"
    log(f"{label}: migrating and seeding {scenario.households} households …")
    common.migrate(url)
    install_stamps(url)
    window_id, requests = seed(url, scenario)

    log(f"{label}: bare INSERT+COMMIT, before …")
    bare_before = common.measure_bare(url, len(requests), concurrency)
    warm = [Request("GET", "/api/v1/me", None, r.headers) for r in requests[:50]]
    with gunicorn("wsgi:app", url, clients=concurrency, **switch_interval_env(switch_ms)) as port:
        common.warm_up(port, warm, clients=concurrency)
        deadlocks_before = deadlocks(url)
        log(f"{label}: booking …")
        load = common.require_answers(run_load(requests, concurrency, [port], keep_bodies=True), label)
    if deadlocks_before is not None:
        time.sleep(1.0)  # the statistics reach pg_stat_database within a second of the transaction
    deadlocks_after = deadlocks(url)
    found = outcome(url, window_id)
    log(f"{label}: bare INSERT+COMMIT, after …")
    bare_after = common.measure_bare(url, len(requests), concurrency)
    bare, bare_rows = common.yardstick_rows(bare_before, bare_after)

    confirmed_ms: list[float] = []
    refused_ms: list[float] = []
    reasons: dict[str, int] = {}
    for ms, body in zip(load.latencies_ms, load.bodies, strict=True):
        key = body.get("error") or body.get("status") or "?"
        reasons[key] = reasons.get(key, 0) + 1
        if body.get("status") == "confirmed":
            confirmed_ms.append(ms)
        elif "error" in body:
            refused_ms.append(ms)
    confirmed = len(confirmed_ms)
    stamps = found["stamps"]
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    per_second = (len(stamps) - 1) / span if span > 0 else 0.0
    overbooked = max(0, found["holding"] - found["quota"]) + abs(found["booked"] - found["holding"])
    server_errors = sum(n for status, n in load.statuses.items() if status >= 500)
    ratio = per_second / bare.rps if bare.rps else 0.0

    rows = [
        load.row("attempts"),
        {
            "name": "confirmations",
            "requests": confirmed,
            "rps": round(per_second, 1),
            "p50_ms": round(common.percentile(confirmed_ms, 50), 2),
            "p99_ms": round(common.percentile(confirmed_ms, 99), 2),
            "statuses": {"201": confirmed},
        },
        {
            "name": "refusals",
            "requests": len(refused_ms),
            "rps": "",
            "p50_ms": round(common.percentile(refused_ms, 50), 2),
            "p99_ms": round(common.percentile(refused_ms, 99), 2),
            "statuses": {k: v for k, v in sorted(reasons.items()) if k != "confirmed"},
        },
        *bare_rows,
    ]
    print_table(
        f"Sell-out on {kind}: {scenario.households} households, {scenario.spaces} spaces, {concurrency} clients",
        rows,
    )
    dead = None if deadlocks_before is None or deadlocks_after is None else deadlocks_after - deadlocks_before
    print(
        f"confirmed={confirmed} stamped={len(stamps)} over {span:.3f}s (database clock) = {per_second:.1f}/s; "
        f"window.booked={found['booked']} holding={found['holding']} quota={found['quota']} "
        f"overbooked={overbooked} 5xx={server_errors} deadlocks={dead}; "
        f"ratio confirmations/s ÷ bare = {ratio:.2f} (target ≥ 0.5)"
    )
    assert overbooked == 0, "overbooking or a counter that disagrees with the bookings"
    assert confirmed == len(stamps) == found["holding"], "a confirmation answered but not held, or held unanswered"
    return {
        "attempts_rps": round(load.rps, 1),
        "attempts_p50_ms": round(load.pct(50), 2),
        "attempts_p99_ms": round(load.pct(99), 2),
        "confirmations": confirmed,
        "confirmations_per_s": round(per_second, 1),
        "confirmation_span_s": round(span, 3),
        "confirmed_p50_ms": round(common.percentile(confirmed_ms, 50), 2),
        "confirmed_p99_ms": round(common.percentile(confirmed_ms, 99), 2),
        "refused": len(refused_ms),
        "refused_p50_ms": round(common.percentile(refused_ms, 50), 2),
        "refused_p99_ms": round(common.percentile(refused_ms, 99), 2),
        "overbooked": overbooked,
        "server_errors": server_errors,
        "deadlocks": dead,
        "bare_rps": round(bare.rps, 1),
        "ratio": round(ratio, 3),
    }


#: The figure issue 25 binds: 2,000 households on 200 spaces, PostgreSQL (`make bench` repeats it).
HEADLINE = ("postgres", SCENARIOS["2000-200"])


def figures_of(
    runs: list[tuple[str, Scenario]], concurrency: int = CONCURRENCY, switch_ms: float | None = None
) -> dict:
    """The figures of each (database, scenario), keyed `sellout_<database>_<scenario>_<figure>`."""
    figures: dict = {}
    for kind, scenario in runs:
        for key, value in run(kind, scenario, concurrency, switch_ms).items():
            figures[f"sellout_{kind}_{scenario.name}_{key}"] = value
    return figures


def headline() -> dict:
    """`make bench`'s repeated run: the scenario the issue binds."""
    return figures_of([HEADLINE])


def the_others() -> dict:
    """`make bench`'s single run of every other scenario, on both databases."""
    return figures_of([(k, s) for k in ("postgres", "sqlite") for s in SCENARIOS.values() if (k, s) != HEADLINE])


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--scenario", choices=(*SCENARIOS, "all"), default="all")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--switch-interval-ms", type=float, default=None, help="experiment: the workers' GIL switch")
    args = parser.parse_args([]) if __name__ != "__main__" else parser.parse_args()
    kinds = ("postgres", "sqlite") if args.database == "both" else (args.database,)
    scenarios = list(SCENARIOS.values()) if args.scenario == "all" else [SCENARIOS[args.scenario]]
    runs = [(kind, scenario) for kind in kinds for scenario in scenarios]
    return {
        "concurrency": args.concurrency,
        "switch_interval_ms": args.switch_interval_ms,
        **figures_of(runs, args.concurrency, args.switch_interval_ms),
    }


if __name__ == "__main__":
    emit(main())
