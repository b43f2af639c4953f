"""A whole city's night on one machine: 1,500 garages x 30 spaces and 500 x 90 (90,000 spaces, a
Shanghai-sized off-peak sharing scheme), two gunicorn instances and two `flask scheduler run`
processes on one PostgreSQL, compressed in time.

The night, in the order it happens:

1. the evening booking opens: the residents of a sample of garages book over HTTP as fast as 16
   clients can (the rest of the city's bookings are seeded set-based: they are not the measure,
   but they are in the tables and the tide's passes go over all of them);
2. entries: the sample's cars come in, half showing their pass at the scanner, half read by the
   entry camera, the two at once; 5 % never come;
3. exits, cameras and scans mixed; 2 % of the cars stay; meanwhile the two schedulers run their
   tide and delivery passes at the real clock (they open the windows and send the confirmations),
   and are stopped once they have delivered everything (see `drain`);
4. the tide's no-show pass, reminder pass and closing pass (overstays, completions), each run by
   two `flask tide tick --at` processes at the same instant, the instant it is due;
5. after each pass, two deliverers (bench/city_deliver.py) deliver the notifications to a fake
   gateway on 127.0.0.1 as of the pass's instant, and once more at the next 07:00 for what quiet
   hours held back.

Real gunicorn decides at the real clock: every window opens ten minutes before the bench starts
and closes 12 h 30 later, so booking (until 120 minutes after opening), entering and leaving are
all valid while the HTTP phases run back to back; the tide and the deliverers run `--at` the
instants they would run at.

Reported: the city's peak need per kind (from the distributions in `city_need`), what this machine
sustains per kind (closed loop), p99 per kind, the ratio, the tide's pass times; asserted: 0
overbooked windows, 0 transitions twice, every notification handed to the gateway at most once and
none left waiting. `--small` runs 48 garages for development."""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bench import common
from bench.common import (
    ROOT,
    VENV_BIN,
    LoadResult,
    Request,
    copy_rows,
    emit,
    garage_row,
    gunicorn,
    log,
    print_table,
    run_load,
)
from bench.seed import plate

SHANGHAI = ZoneInfo("Asia/Shanghai")
SMALL_SPACES, LARGE_SPACES = 30, 90
CITY_SMALL, CITY_LARGE = 1500, 500
EXTRA_HOUSEHOLDS = 0.10  # households beyond the spaces: the opening burst also gets refusals
NO_SHOW_SHARE = 0.05
STAY_SHARE = 0.02  # of the cars that came: still inside at the close (overstays)
CLIENTS = 16  # over the two instances
PHASE_LIMIT = 120.0  # seconds, per HTTP phase
BOOKING_MEAN_MINUTES = 10  # the opening burst: arrivals exponential after the opening, this mean
ENTRY_MINUTES, EXIT_MINUTES = 120, 60  # 18:30-20:30 and 06:30-07:30, triangular, peak in the middle


# -- the city's need --------------------------------------------------------------------------------


def triangular_peak_minute(total: float, minutes: int) -> float:
    """The busiest minute's share of `total` arrivals spread triangularly over `minutes`."""

    def cdf(x: float) -> float:
        half = minutes / 2
        if x <= half:
            return 2 * x * x / (minutes * minutes)
        return 1 - 2 * (minutes - x) ** 2 / (minutes * minutes)

    return total * max(cdf(m + 1) - cdf(m) for m in range(minutes))


def city_need(spaces: int) -> dict[str, float]:
    """Decisions per second in the city's busiest minute, per kind."""
    requests = spaces * (1 + EXTRA_HOUSEHOLDS)
    entries = spaces * (1 - NO_SHOW_SHARE)
    exits = entries * (1 - STAY_SHARE)
    return {
        "booking": requests * (1 - math.exp(-1 / BOOKING_MEAN_MINUTES)) / 60,
        "entry": triangular_peak_minute(entries, ENTRY_MINUTES) / 60,
        "exit": triangular_peak_minute(exits, EXIT_MINUTES) / 60,
    }


# -- the seed ---------------------------------------------------------------------------------------


@dataclass
class City:
    garages: dict[int, int]  # garage id -> spaces
    sample: list[int]
    households: dict[int, range]  # garage id -> its household ids (user id = vehicle id = household id)
    opens: datetime
    closes: datetime
    attendant_id: int
    cameras: dict[tuple[int, str], str]  # (garage, "in"/"out") -> "Camera id:secret"
    seeded_no_shows: int
    seeded_stays: int


def layout(garage_count: int, sample_count: int) -> tuple[dict[int, int], list[int]]:
    """Every fourth garage is a large one; the sample takes half its garages from each size, spread
    over the ids."""
    garages = {g: LARGE_SPACES if g % 4 == 0 else SMALL_SPACES for g in range(1, garage_count + 1)}
    large = [g for g, n in garages.items() if n == LARGE_SPACES]
    small = [g for g, n in garages.items() if n == SMALL_SPACES]
    half = sample_count // 2
    sample = large[:: max(1, len(large) // half)][:half] + small[:: max(1, len(small) // half)][: sample_count - half]
    return garages, sorted(sample)


def seed(database_url: str, garage_count: int, sample_count: int, gateway_url: str) -> City:
    from parking.gate.cameras import credential_hash
    from parking.notifications.webhooks import seal

    garages, sample = layout(garage_count, sample_count)
    in_sample = set(sample)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    opens = now - timedelta(minutes=10)
    closes = opens + timedelta(hours=12, minutes=30)
    local_opens, local_closes = opens.astimezone(SHANGHAI), closes.astimezone(SHANGHAI)
    created = now - timedelta(days=1)
    households: dict[int, range] = {}
    next_id = 1
    for g, spaces in garages.items():
        count = spaces + math.ceil(spaces * EXTRA_HOUSEHOLDS)
        households[g] = range(next_id, next_id + count)
        next_id += count
    last_household = next_id - 1
    attendant_id = next_id
    gateway_secret = "city-gateway-secret"
    app = common.bench_app(database_url)
    with app.app_context():
        secret_encrypted = seal(gateway_secret)
    engine = sa.create_engine(database_url)
    started = time.perf_counter()
    seeded_no_shows = seeded_stays = 0
    cameras: dict[tuple[int, str], str] = {}
    with engine.begin() as conn:
        copy_rows(
            conn,
            "garages",
            (garage_row(g, n + 10, created) for g, n in garages.items()),
        )
        copy_rows(
            conn,
            "window_templates",
            (
                (g, g, "Overnight", 127, local_opens.time(), local_closes.time(), n, "first_come", True, created)
                for g, n in garages.items()
            ),
        )
        copy_rows(
            conn,
            "windows",
            (
                (
                    g,
                    g,
                    g,
                    local_opens.date(),
                    opens,
                    closes,
                    n,
                    0 if g in in_sample else n,
                    "planned",
                    "first_come",
                    created,
                )
                for g, n in garages.items()
            ),
        )
        copy_rows(
            conn,
            "households",
            ((i, g, "1", "1", str(i), "verified", False, created) for g, ids in households.items() for i in ids),
        )
        copy_rows(
            conn,
            "users",
            (
                (i, f"13{i:09d}", f"R{i}", "!", "resident", "zh", i, 1, True, created)
                for i in range(1, last_household + 1)
            ),
        )
        copy_rows(
            conn, "users", [(attendant_id, "19900000001", "Attendant", "!", "attendant", "zh", None, 1, True, created)]
        )
        copy_rows(conn, "garage_staff", [(attendant_id, g) for g in sample], ["user_id", "garage_id"])
        copy_rows(
            conn,
            "vehicles",
            ((i, i, g, plate(i), "verified", created) for g, ids in households.items() for i in ids),
        )
        log(f"  city seed: {len(garages)} garages, {last_household} households, users and vehicles")

        entered = opens + timedelta(minutes=30)
        left = closes - timedelta(hours=1)
        rows = []
        for g, spaces in garages.items():
            if g in in_sample:
                continue
            no_shows = round(spaces * NO_SHOW_SHARE)
            stays = round((spaces - no_shows) * STAY_SHARE)
            seeded_no_shows += no_shows
            seeded_stays += stays
            for n, i in enumerate(households[g][:spaces]):
                came, stays_inside = n >= no_shows, no_shows <= n < no_shows + stays
                rows.append(
                    (
                        i,
                        g,
                        g,
                        i,
                        i,
                        plate(i),
                        "checked_in" if came else "confirmed",
                        1,
                        False,
                        False,
                        created,
                        created,
                        created,
                        stays_inside,
                        entered if came else None,
                        left if came and not stays_inside else None,
                    )
                )
        copy_rows(
            conn,
            "bookings",
            rows,
        )
        log(f"  city seed: {len(rows)} bookings of the garages outside the sample")
        camera_rows = []
        for n, (g, direction) in enumerate((g, d) for g in sample for d in ("in", "out")):
            secret = f"city-camera-{g}-{direction}"
            camera_rows.append((n + 1, g, f"{direction} lane", direction, credential_hash(secret), True, created))
            cameras[(g, direction)] = f"{n + 1}:{secret}"
        copy_rows(
            conn,
            "cameras",
            camera_rows,
            ["id", "garage_id", "name", "direction", "credential_hash", "active", "created_at"],
        )
        copy_rows(
            conn,
            "garage_webhooks",
            ((g, gateway_url, secret_encrypted, now - timedelta(minutes=1)) for g in garages),
            ["garage_id", "url", "secret_encrypted", "set_at"],
        )
        for table in ("garages", "window_templates", "windows", "households", "users", "vehicles", "cameras"):
            conn.execute(
                sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('bookings', 'id'), :n)"), {"n": last_household + 1})
        conn.execute(sa.text("ANALYZE"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("CHECKPOINT"))
    engine.dispose()
    log(f"  city seed: done in {time.perf_counter() - started:.1f}s")
    return City(garages, sample, households, opens, closes, attendant_id, cameras, seeded_no_shows, seeded_stays)


# -- the phases -------------------------------------------------------------------------------------


def _flask(database_url: str, *args: str) -> subprocess.Popen:
    return common.flask(database_url, *args, TIDE_INTERVAL_SECONDS="5")


def tide_at(database_url: str, at: datetime) -> tuple[float, list[str]]:
    """Two `flask tide tick --at` at once (two scheduler hosts due at the same instant)."""
    started = time.perf_counter()
    procs = [_flask(database_url, "tide", "tick", "--at", at.isoformat()) for _ in range(2)]
    outputs = [proc.communicate(timeout=600)[0].strip().splitlines()[-1] for proc in procs]
    return time.perf_counter() - started, outputs


def deliver_at(database_url: str, at: datetime) -> tuple[float, list[dict]]:
    """Two deliverers at once, as of `at`, until nothing is due."""
    env = common.server_env(database_url, BENCH_SECRET_KEY=common.SECRET_KEY)
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [str(VENV_BIN / "python"), "-m", "bench.city_deliver", database_url, at.isoformat()],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [json.loads(proc.communicate(timeout=900)[0].strip().splitlines()[-1]) for proc in procs]
    return time.perf_counter() - started, outputs


#: What the running schedulers still have to do now: a message without its delivery row, a delivery
#: due now (not one waiting for the end of the quiet hours, 22:00 to 07:00 at the garage: a confirmation
#: booked late in the evening goes out at 07:00, by the morning's deliverers below), or a lease held.
IN_FLIGHT = {
    "left": (
        "SELECT (SELECT count(*) FROM notification_deliveries WHERE state IN ('pending', 'failed')"
        " AND (next_attempt_at <= now() OR lease_until > now()))"
        " + (SELECT count(*) FROM notifications n WHERE NOT EXISTS"
        " (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = n.id))",
        {},
    )
}


def drain(database_url: str, limit: float = 240.0) -> float:
    """Seconds until the running schedulers have delivered every message due so far (none due,
    no lease held), at most `limit`. They run at the real clock and the tide's passes below run
    `--at` hours ahead: a lease taken at the real clock would look expired hours later, as between
    hosts whose clocks differ by more than the two-minute lease (docs/operations.md), so the
    schedulers stop with nothing in flight before any pass runs ahead of them."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if common.count_rows(database_url, IN_FLIGHT)["left"] == 0:
            break
        time.sleep(1)
    else:
        raise SystemExit(f"bench: city: the schedulers had not delivered the evening's messages in {limit:.0f}s")
    return time.perf_counter() - started


def booking_requests(database_url: str, city: City) -> list[Request]:
    from parking.auth import tokens
    from parking.auth.models import User
    from parking.extensions import db

    ids = [i for g in city.sample for i in city.households[g]]
    app = common.bench_app(database_url)
    with app.app_context():
        users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}
        garage_of = {i: g for g in city.sample for i in city.households[g]}
        requests = [
            Request(
                "POST",
                "/api/v1/bookings",
                {"window_id": garage_of[i], "plate": plate(i)},
                {"Authorization": f"Bearer {tokens.issue(users[i])[0]}"},
            )
            for i in ids
        ]
        db.engine.dispose()
    random.Random(26).shuffle(requests)
    return requests


def confirmed_bookings(database_url: str, city: City) -> list[tuple[int, int, int, str]]:
    """(booking id, garage id, household id, plate) of the sample's bookings holding a space."""
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, garage_id, household_id, plate FROM bookings WHERE garage_id = ANY(:g)"
                " AND status = 'confirmed' ORDER BY id"
            ),
            {"g": city.sample},
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def pass_tokens(database_url: str, bookings: list[tuple[int, int, int, str]]) -> dict[int, str]:
    from parking import clock
    from parking.auth.models import User
    from parking.extensions import db
    from parking.passes import services as passes

    app = common.bench_app(database_url)
    with app.app_context():
        now = clock.now()
        users = {u.household_id: u for u in db.session.scalars(sa.select(User).where(User.household_id.is_not(None)))}
        found = {b: passes.issue(users[h], b, now).token for b, _g, h, _p in bookings}
        db.session.commit()
        db.engine.dispose()
    return found


def attendant_header(database_url: str, city: City) -> dict[str, str]:
    from parking.auth import tokens
    from parking.auth.models import User
    from parking.extensions import db

    app = common.bench_app(database_url)
    with app.app_context():
        header = {"Authorization": f"Bearer {tokens.issue(db.session.get(User, city.attendant_id))[0]}"}
        db.engine.dispose()
    return header


def gate_requests(
    cars: list[tuple[int, int, int, str]], direction: str, tokens: dict[int, str], auth: dict, city: City
) -> tuple[list[Request], list[Request]]:
    """Half of `cars` at the scanner with their pass, half read by the lane's camera."""
    scans, reads = [], []
    captured = datetime.now(UTC).isoformat()
    for n, (booking_id, garage_id, _h, car_plate) in enumerate(cars):
        if n % 2 == 0:
            body = {
                "garage_id": garage_id,
                "token": tokens[booking_id],
                "direction": direction,
                "idempotency_key": f"{direction}-{booking_id}",
                "device": f"{direction}-lane",
            }
            scans.append(Request("POST", "/api/v1/gate/scan", body, auth))
        else:
            credential = city.cameras[(garage_id, direction)]
            body = {
                "garage_id": garage_id,
                "camera_id": int(credential.split(":")[0]),
                "event_id": f"{direction}-{booking_id}",
                "plate": car_plate,
                "direction": direction,
                "confidence": 0.97,
                "captured_at": captured,
            }
            reads.append(Request("POST", "/api/v1/gate/plate-events", body, {"Authorization": f"Camera {credential}"}))
    return scans, reads


def side_by_side(loads: dict[str, list[Request]], ports: list[int]) -> tuple[dict[str, LoadResult], float]:
    """Each kind's requests with half the clients, all kinds at once; their results and the wall time."""
    results: dict[str, LoadResult] = {}
    per_kind = CLIENTS // len(loads)

    def run(kind: str) -> None:
        results[kind] = run_load(loads[kind], per_kind, ports, time_limit=PHASE_LIMIT, keep_bodies=True)

    threads = [threading.Thread(target=run, args=(kind,)) for kind in loads]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started


def _outcomes(result: LoadResult) -> dict[str, int]:
    found: Counter = Counter()
    for body in result.bodies:
        key = body.get("result") or body.get("status") or body.get("error", "?")
        found[f"{key}:{body['reason']}" if body.get("reason") else key] += 1
    return dict(found)


# -- where the CPU goes ----------------------------------------------------------------------------


def cpu_seconds(ports: list[int], database: str) -> dict[str, float]:
    """CPU seconds so far of the two gunicorn instances (master and workers), of this database's
    PostgreSQL backends, and of this process (the load generator), from /proc."""
    found = {"app": 0.0, "db": 0.0}
    binds = [f"{common.HOST}:{port}" for port in ports]
    for command, cpu in common.processes_cpu():
        if "gunicorn" in command and any(bind in command for bind in binds):
            found["app"] += cpu
        elif common.is_backend_of(command, database):
            found["db"] += cpu
    times = os.times()
    found["client"] = times.user + times.system
    return found


def cpu_per_decision(before: dict[str, float], after: dict[str, float], decisions: int) -> dict[str, float]:
    return {k: round((after[k] - before[k]) * 1000 / decisions, 2) if decisions else 0.0 for k in before}


# -- what grows, and the reports a replica would take ------------------------------------------------


def table_sizes(database_url: str) -> list[dict]:
    engine = sa.create_engine(database_url)
    rows = []
    with engine.connect() as conn:
        for table in ("bookings", "scans", "plate_events", "audit_events", "notifications", "notification_deliveries"):
            count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() or 0
            size = conn.execute(sa.text("SELECT pg_total_relation_size(:t)"), {"t": table}).scalar() or 0
            rows.append(
                {
                    "table": table,
                    "rows": count,
                    "MB": round(size / 2**20, 1),
                    "bytes_a_row": round(size / count) if count else "",
                }
            )
    engine.dispose()
    return rows


def report_cost(database_url: str, garages: list[int]) -> tuple[float, float]:
    """The managers' morning: the nights report (its default: the last 7 nights) of each of `garages`, in this
    process; (median ms a report, CPU ms a report)."""
    from parking import clock
    from parking.extensions import db
    from parking.reports import services
    from parking.windows.models import Garage

    app = common.bench_app(database_url)
    took = []
    with app.app_context():
        now = clock.now()
        cpu = time.process_time()
        for g in garages:
            started = time.perf_counter()
            services.nights(db.session.get(Garage, g), None, None, now)
            took.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
        cpu = (time.process_time() - cpu) * 1000 / len(garages)
        db.engine.dispose()
    return common.median(took), cpu


# -- the checks -------------------------------------------------------------------------------------

CHECKS = {
    "overbooked_windows": (
        "SELECT count(*) FROM windows w WHERE w.booked > w.quota OR w.booked <> (SELECT count(*) FROM bookings b"
        " WHERE b.window_id = w.id AND b.status IN ('confirmed', 'checked_in', 'overstayed'))",
        {},
    ),
    "booking_transitions_twice": (
        "SELECT count(*) FROM (SELECT 1 FROM audit_events WHERE object_type = 'booking'"
        " GROUP BY object_id, action HAVING count(*) > 1) t",
        {},
    ),
    "scans_accepted_twice": (
        "SELECT count(*) FROM (SELECT 1 FROM scans WHERE result = 'accepted' AND booking_id IS NOT NULL"
        " GROUP BY booking_id, direction HAVING count(*) > 1) t",
        {},
    ),
    "strikes_twice": (
        "SELECT count(*) FROM (SELECT 1 FROM strikes GROUP BY booking_id, kind HAVING count(*) > 1) t",
        {},
    ),
    "windows_opened_twice": (
        "SELECT count(*) FROM (SELECT 1 FROM audit_events WHERE action = 'window.opened'"
        " GROUP BY object_id HAVING count(*) > 1) t",
        {},
    ),
    "windows_closed_twice": (
        "SELECT count(*) FROM (SELECT 1 FROM audit_events WHERE action = 'window.closed'"
        " GROUP BY object_id HAVING count(*) > 1) t",
        {},
    ),
    "no_shows": ("SELECT count(*) FROM bookings WHERE status = 'no_show'", {}),
    "overstayed": ("SELECT count(*) FROM bookings WHERE status = 'overstayed'", {}),
    "completed": ("SELECT count(*) FROM bookings WHERE status = 'completed'", {}),
    "strikes": ("SELECT count(*) FROM strikes", {}),
    "notifications": ("SELECT count(*) FROM notifications", {}),
    "deliveries": ("SELECT count(*) FROM notification_deliveries", {}),
    "notifications_without_delivery": (
        "SELECT count(*) FROM notifications n WHERE NOT EXISTS"
        " (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = n.id)",
        {},
    ),
    "deliveries_twice": (
        "SELECT count(*) FROM (SELECT 1 FROM notification_deliveries GROUP BY notification_id, channel"
        " HAVING count(*) > 1) t",
        {},
    ),
    "sent": ("SELECT count(*) FROM notification_deliveries WHERE state = 'sent'", {}),
    "expired": ("SELECT count(*) FROM notification_deliveries WHERE state = 'expired'", {}),
    "dead": ("SELECT count(*) FROM notification_deliveries WHERE state = 'dead'", {}),
    "waiting": ("SELECT count(*) FROM notification_deliveries WHERE state IN ('pending', 'failed')", {}),
    "attempts": ("SELECT count(*) FROM notification_delivery_attempts", {}),
}


def _kinds_of_notifications(database_url: str) -> dict[str, str]:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT n.kind, d.state, count(*) FROM notifications n JOIN notification_deliveries d"
                " ON d.notification_id = n.id GROUP BY 1, 2 ORDER BY 1, 2"
            )
        ).all()
    engine.dispose()
    found: dict[str, dict[str, int]] = {}
    for kind, state, count in rows:
        found.setdefault(kind, {})[state] = count
    return {kind: ", ".join(f"{s} {c}" for s, c in states.items()) for kind, states in found.items()}


# -- the night --------------------------------------------------------------------------------------


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="48 garages (36 x 30 + 12 x 90), a sample of 8")
    parser.add_argument("--sample", type=int, default=None, help="garages driven over HTTP (default 60; small 8)")
    args = parser.parse_args([]) if __name__ != "__main__" else parser.parse_args()
    bench_started = time.perf_counter()
    garage_count = 48 if args.small else CITY_SMALL + CITY_LARGE
    sample_count = args.sample or (8 if args.small else 60)

    database_url = common.fresh_database("parking_bench_city")
    common.migrate(database_url)
    gateway_secret = b"city-gateway-secret"
    gateway = common.Gateway(gateway_secret)
    log(f"city: seeding {garage_count} garages, {sample_count} of them driven over HTTP …")
    city = seed(database_url, garage_count, sample_count, gateway.url)
    spaces = sum(city.garages.values())
    sample_spaces = sum(city.garages[g] for g in city.sample)
    need = city_need(spaces)
    seed_seconds = time.perf_counter() - bench_started

    log("city: the bare INSERT+COMMIT yardstick …")
    bare = common.require_answers(common.measure_bare(database_url, 2000, CLIENTS), "bare")
    requests = booking_requests(database_url, city)
    auth = attendant_header(database_url, city)
    schedulers = [_flask(database_url, "scheduler", "run") for _ in range(2)]
    tide_rows: list[dict] = []
    delivery_rows: list[dict] = []
    results: dict[str, LoadResult] = {}
    walls: dict[str, float] = {}
    outcomes: dict[str, dict[str, int]] = {}
    cpu: dict[str, dict[str, float]] = {}
    database = database_url.rsplit("/", 1)[1]
    try:
        per_instance = CLIENTS // 2
        with (
            gunicorn("wsgi:app", database_url, clients=per_instance) as port_a,
            gunicorn("wsgi:app", database_url, clients=per_instance) as port_b,
        ):
            ports = [port_a, port_b]
            warm = [Request("GET", "/api/v1/me", None, r.headers) for r in requests[:50]]
            common.warm_up(port_a, warm, clients=per_instance)
            common.warm_up(port_b, warm, clients=per_instance)

            log(f"city: the evening booking opens: {len(requests)} residents of {sample_spaces} spaces book …")
            before = cpu_seconds(ports, database)
            booking = run_load(requests, CLIENTS, ports, time_limit=PHASE_LIMIT, keep_bodies=True)
            cpu["booking"] = cpu_per_decision(before, cpu_seconds(ports, database), booking.count)
            results["booking"], walls["booking"] = booking, booking.seconds
            outcomes["booking"] = _outcomes(booking)
            after_booking = common.count_rows(database_url, {"overbooked": CHECKS["overbooked_windows"]})

            held = confirmed_bookings(database_url, city)
            rng = random.Random(2026)
            rng.shuffle(held)
            no_shows = round(len(held) * NO_SHOW_SHARE)
            coming = held[no_shows:]
            tokens = pass_tokens(database_url, coming)
            scans_in, reads_in = gate_requests(coming, "in", tokens, auth, city)
            log(f"city: entries: {len(scans_in)} scans and {len(reads_in)} camera reads at once …")
            before = cpu_seconds(ports, database)
            entry, walls["entry"] = side_by_side({"entry scan": scans_in, "entry camera": reads_in}, ports)
            cpu["entry"] = cpu_per_decision(before, cpu_seconds(ports, database), sum(r.count for r in entry.values()))
            results.update(entry)

            stays = round(len(coming) * STAY_SHARE)
            leaving = coming[stays:]
            rng.shuffle(leaving)
            scans_out, reads_out = gate_requests(leaving, "out", tokens, auth, city)
            log(f"city: exits: {len(scans_out)} scans and {len(reads_out)} camera reads at once …")
            before = cpu_seconds(ports, database)
            exit_, walls["exit"] = side_by_side({"exit scan": scans_out, "exit camera": reads_out}, ports)
            cpu["exit"] = cpu_per_decision(before, cpu_seconds(ports, database), sum(r.count for r in exit_.values()))
            results.update(exit_)
            log("city: the schedulers deliver what the evening sent (the booking confirmations) …")
            drain_seconds = drain(database_url)
    finally:
        common.stop(*schedulers, timeout=30)

    expected_no_shows = common.count_rows(
        database_url, {"n": ("SELECT count(*) FROM bookings WHERE status = 'confirmed'", {})}
    )["n"]
    for name, at in (
        ("no-shows", city.opens + timedelta(hours=3, minutes=1)),
        ("reminders", city.closes - timedelta(minutes=29)),
        ("close, overstays", city.closes + timedelta(minutes=16)),
    ):
        log(f"city: the {name} pass, two processes, as if at {at.isoformat()} …")
        seconds, lines = tide_at(database_url, at)
        tide_rows.append({"pass": name, "at": at.isoformat(), "seconds": round(seconds, 1), "out": lines})
        seconds, summaries = deliver_at(database_url, at + timedelta(seconds=30))
        delivery_rows.append({"at": f"after {name}", "seconds": round(seconds, 1), "summaries": summaries})
    local_close = (city.closes + timedelta(minutes=16)).astimezone(SHANGHAI)
    morning = local_close.replace(hour=7, minute=0, second=30)
    if morning <= local_close:
        morning += timedelta(days=1)
    seconds, summaries = deliver_at(database_url, morning)
    delivery_rows.append(
        {"at": "next 07:00 (quiet hours' backlog)", "seconds": round(seconds, 1), "summaries": summaries}
    )

    checks = common.count_rows(database_url, CHECKS)
    gateway.server.shutdown()
    by_kind = _kinds_of_notifications(database_url)
    duplicates = gateway.duplicates
    sizes = table_sizes(database_url)
    report_garages = sorted(city.garages)[:: max(1, len(city.garages) // 200)]
    report_ms, report_cpu_ms = report_cost(database_url, report_garages)
    total_seconds = time.perf_counter() - bench_started

    # -- the figures ----------------------------------------------------------------------------
    kinds = {
        "booking": ["booking"],
        "entry": ["entry scan", "entry camera"],
        "exit": ["exit scan", "exit camera"],
    }
    rows = []
    ratios = {}
    for phase, names in kinds.items():
        decided = sum(results[n].count for n in names)
        sustained = decided / walls[phase] if walls[phase] else 0.0
        ratios[phase] = sustained / need[phase]
        for n in names:
            r = results[n]
            rows.append({**r.row(n), "cpu_ms": "", "outcomes": outcomes.get(n) or _outcomes(r)})
        rows.append(
            {
                "name": f"{phase}: together",
                "requests": decided,
                "rps": round(sustained, 1),
                "p50_ms": "",
                "p99_ms": round(max(results[n].pct(99) for n in names), 2),
                "statuses": "",
                "cpu_ms": " / ".join(f"{k} {v}" for k, v in cpu[phase].items()),
                "outcomes": f"city peak {need[phase]:.1f}/s → {ratios[phase]:.1f}x",
            }
        )
    rows.append({**bare.row("bare INSERT+COMMIT, 1 instance"), "cpu_ms": "", "outcomes": "the yardstick"})
    print_table(
        f"A city's night: {len(city.garages)} garages, {spaces} spaces; {len(city.sample)} garages "
        f"({sample_spaces} spaces) over HTTP, 2 gunicorn instances, 2 schedulers, {CLIENTS} clients",
        rows,
    )
    print_table("The tide's passes over the whole city (two processes at each instant)", tide_rows)
    print_table("Notification delivery (two deliverers after each pass)", delivery_rows)
    print_table("After the night: what it wrote", sizes)
    print(
        f"nights report (7 nights) of {len(report_garages)} garages in-process: median {report_ms:.1f} ms, "
        f"{report_cpu_ms:.1f} ms of app CPU a report"
    )
    print_table("Notifications by kind and outcome", [{"kind": k, "deliveries": v} for k, v in by_kind.items()])
    peak_kind = max(need, key=lambda k: need[k])
    print(
        f"city peak: booking {need['booking']:.1f}/s, entry {need['entry']:.1f}/s, exit {need['exit']:.1f}/s "
        f"(busiest: {peak_kind}); sustained/peak: "
        + ", ".join(f"{k} {v:.1f}x" for k, v in ratios.items())
        + " (target ≥ 5x)"
    )
    print(
        f"checks: {json.dumps(checks)}; after booking overbooked={after_booking['overbooked']}; "
        f"gateway duplicates={duplicates} bad signatures={gateway.bad_signatures}; "
        f"the schedulers' backlog drained {drain_seconds:.0f}s after the exits; "
        f"seed {seed_seconds:.0f}s, whole bench {total_seconds:.0f}s"
    )
    assert after_booking["overbooked"] == 0 and checks["overbooked_windows"] == 0, "overbooking"
    assert (
        checks["booking_transitions_twice"]
        == checks["scans_accepted_twice"]
        == checks["strikes_twice"]
        == checks["windows_opened_twice"]
        == checks["windows_closed_twice"]
        == 0
    ), "a transition happened twice"
    assert checks["no_shows"] == expected_no_shows, (checks["no_shows"], expected_no_shows)
    assert checks["notifications_without_delivery"] == checks["deliveries_twice"] == 0, "a notification not queued once"
    assert checks["waiting"] == 0 and duplicates == 0 and gateway.bad_signatures == 0, "a message waits or went twice"
    assert sum(gateway.taken.values()) == checks["sent"], "the gateway's count is not the sent count"
    assert total_seconds < 20 * 60 or args.small, f"the bench took {total_seconds:.0f}s (bound: 20 minutes)"
    return {
        "city_garages": len(city.garages),
        "city_spaces": spaces,
        "city_sample_garages": len(city.sample),
        "city_need_per_s": {k: round(v, 1) for k, v in need.items()},
        "city_sustained_per_s": {
            k: round(sum(results[n].count for n in names) / walls[k], 1) for k, names in kinds.items()
        },
        "city_ratio": {k: round(v, 1) for k, v in ratios.items()},
        "city_p99_ms": {n: round(r.pct(99), 1) for n, r in results.items()},
        "city_rps": {n: round(r.rps, 1) for n, r in results.items()},
        "city_tide_s": {r["pass"]: r["seconds"] for r in tide_rows},
        "city_delivery_s": round(sum(r["seconds"] for r in delivery_rows), 1),
        "city_checks": checks,
        "city_cpu_ms_a_decision": cpu,
        "city_bare_rps": round(bare.rps, 1),
        "city_table_sizes": {r["table"]: [r["rows"], r["MB"]] for r in sizes},
        "city_report_ms": round(report_ms, 1),
        "city_report_cpu_ms": round(report_cpu_ms, 1),
        "city_gateway_duplicates": duplicates,
        "city_seconds": round(total_seconds),
        "city_drain_s": round(drain_seconds),
    }


if __name__ == "__main__":
    emit(main())
