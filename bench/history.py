"""Years of history (PostgreSQL only): what three years of bookings do to the reads managers and
residents make. One garage with three years of nights (≈ 66,000 bookings with their scans,
notifications and audit events), then `--garages` such garages (≈ 6.6 million bookings at 100),
generated inside the database (bench/history_data.py). At both scales each read is timed as the
app runs it — the service function a route calls, in an app context — with varied parameters:
p50 and p99. Targets: p99 ≤ 50 ms at the large scale, and at most 1.5× (or + 5 ms, whichever is
larger) its p99 at one garage. The database is dropped at the end unless `--keep`.

    python -m bench.history [--garages 100] [--keep] [--small] [--repeat 200] [--with-load]
    python -m bench.history --explain URL | --time URL | --load URL  [--garages 100]

`--small` is for development: 2 garages of 90 nights. The free disk of the PostgreSQL data
directory is checked first (and again with the bytes a booking took at one garage).
`--with-load` then runs the rush, exit and camera benches on the large database; on a database
kept with `--keep`, `--explain` prints each read's plans, `--time` times the reads again and
`--load` runs those three benches. docs/benchmarks.md, "Years of history" has the figures and the plans."""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from bench import common, history_data
from bench.common import emit, log, print_table
from bench.history_data import MANAGER_BASE, NOW, PENDING_HOUSEHOLDS, PER_NIGHT, Scale

#: Bytes a booking takes with its windows, scans, notifications, audit events and every index
#: (measured at one garage of three years: 136 MB for 65,980 bookings); the first, coarse check.
BYTES_PER_BOOKING = 2_100
#: Headroom over the estimate: WAL, index builds' sort files, the machine's other users.
DISK_MARGIN = 1.5
TARGET_P99_MS = 50.0
TARGET_GROWTH = 1.5
TARGET_GROWTH_FLOOR_MS = 5.0
#: The tables whose secondary indexes are dropped while the large scale is loaded, then rebuilt.
BULK_TABLES = ("bookings", "scans", "notifications", "audit_events")


@dataclass
class World:
    """What the reads pick their parameters from."""

    scale: Scale
    garages: list[int]
    retention_minute: int = 0  # the retention passes run so far, one a minute
    retention_extra: int = 0  # the further batches the tide job ran after them (full batches)

    def booking_ids(self, g: int) -> tuple[int, int]:
        lo = (g - 1) * self.scale.windows * PER_NIGHT + 1
        return lo, lo + self.scale.nights * PER_NIGHT - 1

    def household(self, g: int, rng: random.Random) -> int:
        return (g - 1) * (self.scale.households + PENDING_HOUSEHOLDS) + rng.randrange(self.scale.households) + 1


def _manager(g: int):
    from parking.auth.models import User
    from parking.extensions import db

    return db.session.get(User, MANAGER_BASE + g)


def _resident(household_id: int):
    from parking.auth.models import User
    from parking.extensions import db

    return db.session.get(User, household_id)


# Each read: (prepare, run). `prepare` picks the parameters and loads the actor (a request's
# authentication, not timed); `run` is what the route does with them. Each returns rows found.
Read = Callable[[World, random.Random], Callable[[], int]]


def read_bookings_by_plate(world: World, rng: random.Random) -> Callable[[], int]:
    from parking.bookings.services import list_for

    g = rng.choice(world.garages)
    actor = _manager(g)
    plate = f"沪A{world.household(g, rng):05d}"
    return lambda: len(list_for(actor, garage_id=g, plate=plate))


def read_nights_month(world: World, rng: random.Random) -> Callable[[], int]:
    from parking.auth.access import managed_garage
    from parking.reports.services import nights

    g = rng.choice(world.garages)
    actor = _manager(g)
    start = world.scale.first_date + timedelta(days=rng.randrange(max(world.scale.nights - 30, 1)))

    def run() -> int:
        garage = managed_garage(actor, g)
        return len(nights(garage, start, min(start + timedelta(days=29), history_data.TONIGHT), NOW).rows)

    return run


def read_audit_trail(world: World, rng: random.Random) -> Callable[[], int]:
    from parking.audit.services import history

    lo, hi = world.booking_ids(rng.choice(world.garages))
    booking_id = rng.randint(lo, hi)
    return lambda: len(history("booking", booking_id))


def read_verification_queue(world: World, rng: random.Random) -> Callable[[], int]:
    from parking.households.models import HouseholdState
    from parking.households.services import pending_counts, queue, vehicle_queue

    g = rng.choice(world.garages)
    actor = _manager(g)

    def run() -> int:
        found = len(queue(actor, HouseholdState.PENDING, g)) + len(vehicle_queue(actor, g))
        pending_counts(g)
        return found

    return run


def read_own_bookings(world: World, rng: random.Random) -> Callable[[], int]:
    from parking.bookings.services import coming_for, list_for

    actor = _resident(world.household(rng.choice(world.garages), rng))
    return lambda: len(list_for(actor)) + len(coming_for(actor, NOW))


def read_occupancy(world: World, rng: random.Random) -> Callable[[], int]:
    from parking.gate.services import occupancy

    g = rng.choice(world.garages)
    actor = _manager(g)
    return lambda: len(occupancy(actor, g, NOW).inside)


#: The retention passes are timed minute after minute from 06:00 in Shanghai, 8 hours after NOW:
#: the hour the cars of 180 days ago left, the busiest of the pass (a garage's exits, their scans
#: and audit events fall due then).
RETENTION_FROM = NOW + timedelta(hours=8)


def drain_retention(at) -> int:
    """The retention batches as of `at` that the tide job runs after a pass whose batch came back
    full (`tide.services.drain_retention`), each committed; how many."""
    from parking.extensions import db
    from parking.tide import services

    batches = 0
    commit = db.session.commit

    def counted() -> None:
        nonlocal batches
        batches += 1
        commit()

    services.drain_retention(at, counted)
    return batches


def catch_up_retention() -> None:
    """The passes up to RETENTION_FROM, untimed and committed: the tide kept up to that minute."""
    drain_retention(RETENTION_FROM)


def read_retention(world: World, rng: random.Random) -> Callable[[], int]:
    """The tide's retention pass of the next minute: one batch (at most `BATCH` rows of each
    table), committed after, as the tide does. Before it, untimed, the batches the tide job ran
    after the previous minute's pass while they came back full (`World.retention_extra`)."""
    from parking.tide.retention import anonymise

    if world.retention_minute:
        world.retention_extra += drain_retention(RETENTION_FROM + timedelta(minutes=world.retention_minute)) - 1
    world.retention_minute += 1
    at = RETENTION_FROM + timedelta(minutes=world.retention_minute)
    return lambda: sum(anonymise(at).values()) + 1  # + 1: a pass that found nothing due still ran


READS: dict[str, tuple[Read, int]] = {
    # name: (read, share of --repeat: the tide's pass writes, and runs once a minute). The
    # retention pass is last: it commits what it masks.
    "bookings by plate (staff)": (read_bookings_by_plate, 1),
    "a month's nights report": (read_nights_month, 1),
    "one booking's audit trail": (read_audit_trail, 1),
    "verification queue": (read_verification_queue, 1),
    "a resident's own bookings": (read_own_bookings, 1),
    "occupancy": (read_occupancy, 1),
    "tide retention pass": (read_retention, 4),
}
COMMITTED = {"tide retention pass": catch_up_retention}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def time_reads(database_url: str, world: World, repeat: int, seed: int = 26) -> dict[str, dict]:
    """p50/p99 (ms) of each read over `repeat` calls (a quarter as many retention passes), after
    a tenth as many untimed ones; each call in its own transaction, rolled back after (the
    retention passes: committed, each the minute after the one before)."""
    from parking.extensions import db

    app = common.bench_app(database_url)
    figures: dict[str, dict] = {}
    with app.app_context():
        for name, (read, divisor) in READS.items():
            rng = random.Random(seed)
            times: list[float] = []
            rows = 0
            n = max(repeat // divisor, 5)
            if name in COMMITTED:
                COMMITTED[name]()
            for i in range(n + max(n // 10, 2)):
                run = read(world, rng)
                started = time.perf_counter()
                found = run()
                elapsed = (time.perf_counter() - started) * 1000
                if name in COMMITTED:
                    db.session.commit()
                else:
                    db.session.rollback()
                if i >= max(n // 10, 2):
                    times.append(elapsed)
                    rows += found
            figures[name] = {
                "calls": len(times),
                "p50_ms": round(statistics.median(times), 2),
                "p99_ms": round(pct(times, 99), 2),
                "rows_per_call": round(rows / len(times), 1),
            }
            if name in COMMITTED:
                figures[name]["further_batches"] = world.retention_extra
            log(f"  {name}: p50 {figures[name]['p50_ms']} ms, p99 {figures[name]['p99_ms']} ms")
        db.engine.dispose()
    return figures


def explain(database_url: str, garages: int, only: str | None = None, seed: int = 5) -> None:
    """Each read's statements as the app issues them, with `EXPLAIN (ANALYZE, BUFFERS)` (the
    writes of the retention pass rolled back): the plans docs/benchmarks.md, "Years of history" shows."""
    from parking.extensions import db

    app = common.bench_app(database_url)
    world = World(Scale(garages=garages), list(range(1, garages + 1)))
    with app.app_context():
        statements: list[tuple[str, object]] = []

        @sa.event.listens_for(db.engine, "before_cursor_execute")
        def capture(conn, cursor, statement, parameters, context, executemany) -> None:
            if not executemany and not statement.startswith("EXPLAIN"):
                statements.append((statement, parameters))

        for name, (read, _) in READS.items():
            if only and only not in name:
                continue
            if name in COMMITTED:
                COMMITTED[name]()
            run = read(world, random.Random(seed))
            statements.clear()
            run()
            print(f"\n### {name}\n")
            for statement, parameters in list(statements):
                if "garage_staff" in statement or statement.lstrip().startswith("SELECT garages."):
                    continue  # the actor's garages and the garage by id: primary-key look-ups
                cursor = db.session.connection().connection.driver_connection.cursor()
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                print("```\n" + "\n".join(row[0] for row in cursor.fetchall()) + "\n```")
            db.session.rollback()
        db.engine.dispose()


def load_on(database_url: str) -> dict:
    """The booking rush, the morning exit and the plate cameras (bench.rush, bench.morning_exit,
    bench.cameras, unchanged) against this database instead of a fresh one: each seeds its own
    garage beside the years of history (phones here start with 15, theirs with 13 and 19). Each
    seeds the same phones, so the users a bench seeded get phones of their ids (10…) before the next:
    deleting them would set their bookings' `created_by_id` to NULL through 6.6 million rows."""
    from bench import cameras, morning_exit, rush

    fresh, migrate = common.fresh_database, common.migrate
    common.fresh_database = lambda name: database_url  # type: ignore[assignment]
    common.migrate = lambda url: None  # type: ignore[assignment]
    try:
        figures = {}
        engine = sa.create_engine(database_url)
        for name, bench in (("rush", rush), ("morning_exit", morning_exit), ("cameras", cameras)):
            with engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "UPDATE users SET phone = '10' || lpad(id::text, 9, '0') "
                        "WHERE left(phone, 2) NOT IN ('10', '15')"
                    )
                )
            log(f"history: {name} on the large database …")
            try:
                figures[name] = bench.main()
            except AssertionError as exc:
                # bench.morning_exit checks that the scans table holds its 200 scans and no other:
                # true of a fresh database only. Its table (printed above) stands.
                figures[name] = {"check_failed": str(exc)[:200]}
        engine.dispose()
        return figures
    finally:
        common.fresh_database, common.migrate = fresh, migrate


# --- the database: disk, generation, indexes ---------------------------------------------------


def data_directory(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.text("SHOW data_directory")).scalar_one()


def check_disk(engine: sa.Engine, bookings: int, bytes_per_booking: float, what: str) -> None:
    directory = data_directory(engine)
    free = shutil.disk_usage(directory).free
    needed = int(bookings * bytes_per_booking * DISK_MARGIN)
    log(
        f"history: {what}: {bookings:,} bookings need about {needed / 1e9:.1f} GB "
        f"({bytes_per_booking:,.0f} bytes a booking × {DISK_MARGIN}); {free / 1e9:.1f} GB free in {directory}"
    )
    if free < needed:
        raise SystemExit(
            f"bench.history: not enough free disk in {directory}: {free / 1e9:.1f} GB free, about "
            f"{needed / 1e9:.1f} GB needed for {bookings:,} bookings; run with fewer --garages"
        )


def drop_secondary_indexes(engine: sa.Engine) -> list[str]:
    """Drop the indexes of the big tables that back no constraint; their definitions, to rebuild."""
    with engine.begin() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index AS i "
                "JOIN pg_class AS c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)"
            ),
            {"tables": list(BULK_TABLES)},
        ).all()
        for name, _ in rows:
            conn.execute(sa.text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in rows]


def rebuild_indexes(engine: sa.Engine, definitions: list[str]) -> None:
    bar = history_data.Bar("indexes", len(definitions))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("SET maintenance_work_mem = '512MB'"))
        for definition in definitions:
            conn.execute(sa.text(definition))
            bar.step()


def generate_bulk(engine: sa.Engine, scale: Scale, first_garage: int) -> None:
    """The garages past the first one, quickly: secondary indexes dropped and rebuilt after, the
    foreign-key triggers off (the generator's ids are consistent by construction; the test runs it
    with every constraint on)."""
    definitions = drop_secondary_indexes(engine)
    bar = history_data.Bar("garages", scale.garages - first_garage + 1)
    for g in range(first_garage, scale.garages + 1):
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            history_data.generate_garage(conn, scale, g)
        bar.step()
    rebuild_indexes(engine, definitions)
    history_data.finish(engine)


# --- the run ------------------------------------------------------------------------------------


def compare(small: dict[str, dict], large: dict[str, dict]) -> list[dict]:
    rows = []
    for name in READS:
        s, big = small[name], large[name]
        allowed = max(s["p99_ms"] * TARGET_GROWTH, s["p99_ms"] + TARGET_GROWTH_FLOOR_MS)
        met = big["p99_ms"] <= TARGET_P99_MS and big["p99_ms"] <= allowed
        rows.append(
            {
                "read": name,
                "1 garage p50": s["p50_ms"],
                "1 garage p99": s["p99_ms"],
                "large p50": big["p50_ms"],
                "large p99": big["p99_ms"],
                "growth": f"{big['p99_ms'] / s['p99_ms']:.2f}x" if s["p99_ms"] else "-",
                "allowed p99": round(min(allowed, TARGET_P99_MS), 1),
                "rows": big["rows_per_call"],
                "": "met" if met else "MISSED",
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--garages", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    parser.add_argument("--small", action="store_true", help="development: 2 garages of 90 nights")
    parser.add_argument("--repeat", type=int, default=200, help="timed calls of each read at each scale")
    parser.add_argument("--explain", metavar="DATABASE_URL", help="print the reads' plans on a kept database")
    parser.add_argument("--only", help="with --explain: the reads whose name holds this")
    parser.add_argument("--time", metavar="DATABASE_URL", help="only time the reads on a kept database")
    parser.add_argument("--with-load", action="store_true", help="then the rush, exit and camera benches on it")
    parser.add_argument("--load", metavar="DATABASE_URL", help="only the rush, exit and cameras on a kept database")
    args = parser.parse_args()
    if args.explain:
        explain(args.explain, args.garages, args.only)
        return
    if args.load:
        emit({"garages": args.garages, "load": load_on(args.load)})
        return
    if args.time:
        scale = Scale(garages=args.garages)
        emit(
            {
                "garages": args.garages,
                "reads": time_reads(args.time, World(scale, list(range(1, args.garages + 1))), args.repeat),
            }
        )
        return
    scale = Scale(garages=2, nights=90) if args.small else Scale(garages=args.garages)
    started = time.perf_counter()
    database_url = common.fresh_database("parking_bench_history")
    engine = sa.create_engine(database_url)
    try:
        check_disk(engine, scale.bookings, BYTES_PER_BOOKING, "first estimate")
        common.migrate(database_url)
        log(f"history: one garage, {scale.nights} nights, {scale.bookings_per_garage:,} bookings …")
        t = time.perf_counter()
        history_data.generate(engine, Scale(garages=1, nights=scale.nights, households=scale.households))
        with engine.connect() as conn:
            one_bytes = history_data.database_bytes(conn)
            one_counts = history_data.counts(conn)
        seed_one_s = time.perf_counter() - t
        per_booking = one_bytes / one_counts["bookings"]
        check_disk(engine, scale.bookings, per_booking, "measured at one garage")
        small = time_reads(database_url, World(scale, [1]), args.repeat)
        log(f"history: {scale.garages} garages, {scale.bookings:,} bookings …")
        t = time.perf_counter()
        generate_bulk(engine, scale, 2)
        seed_large_s = time.perf_counter() - t
        with engine.connect() as conn:
            large_bytes = history_data.database_bytes(conn)
            large_counts = history_data.counts(conn)
        large = time_reads(database_url, World(scale, list(range(1, scale.garages + 1))), args.repeat)
        load = load_on(database_url) if args.with_load else None
    finally:
        engine.dispose()
        if not args.keep:
            admin = sa.create_engine(common.PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                name = database_url.rsplit("/", 1)[1]
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    rows = compare(small, large)
    print_table(
        f"reads at 1 garage ({one_counts['bookings']:,} bookings) and {scale.garages} garages "
        f"({large_counts['bookings']:,} bookings), ms",
        rows,
    )
    print(
        f"\nseed: 1 garage {seed_one_s:.0f}s ({one_bytes / 1e6:.0f} MB, {per_booking:,.0f} bytes a booking); "
        f"{scale.garages} garages {seed_large_s:.0f}s ({large_bytes / 1e9:.2f} GB); "
        f"total {time.perf_counter() - started:.0f}s" + (f"; kept: {database_url}" if args.keep else "")
    )
    emit(
        {
            "bench": "history",
            "garages": scale.garages,
            "nights": scale.nights,
            "rows_one_garage": one_counts,
            "rows_large": large_counts,
            "bytes_per_booking": round(per_booking),
            "seed_one_s": round(seed_one_s, 1),
            "seed_large_s": round(seed_large_s, 1),
            "total_s": round(time.perf_counter() - started, 1),
            "one_garage": small,
            "large": large,
            "missed": [r["read"] for r in rows if r[""] != "met"],
            "load_on_large": load,
        }
    )


if __name__ == "__main__":
    main()
