"""Two instances: two gunicorn instances on different ports fed round-robin, two scheduler
processes, one PostgreSQL. A booking rush, then two tide passes at the same instant (the no-show
deadline). Verifies 0 overbookings and every transition, strike, notice and audit event once."""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta

import sqlalchemy as sa

from bench import common
from bench.common import emit, gunicorn, log, print_table, run_load
from bench.rush import SPACES, seed

CONCURRENCY = 16


def _flask(database_url: str, *args: str) -> subprocess.Popen:
    return common.flask(database_url, *args, TIDE_INTERVAL_SECONDS="2")


def _count(conn, sql: str, **params) -> int:
    return conn.execute(sa.text(sql), params).scalar()


def main() -> dict:
    database_url = common.fresh_database("parking_bench_two")
    common.migrate(database_url)
    log("two instances: seeding …")
    window_id, requests = seed(database_url)
    schedulers = [_flask(database_url, "scheduler", "run") for _ in range(2)]
    try:
        per_instance = CONCURRENCY // 2  # the clients go round-robin over the two ports
        with (
            gunicorn("wsgi:app", database_url, clients=per_instance) as port_a,
            gunicorn("wsgi:app", database_url, clients=per_instance) as port_b,
        ):
            common.warm_up(port_a, clients=per_instance)
            common.warm_up(port_b, clients=per_instance)
            log(f"two instances: rush over ports {port_a} and {port_b} with two schedulers running …")
            rush = run_load(requests, CONCURRENCY, [port_a, port_b], keep_bodies=True)
    finally:
        common.stop(*schedulers)

    engine = sa.create_engine(database_url)
    with engine.connect() as conn:  # right after the rush, before any no-show returns a space
        opens_at, booked, quota = conn.execute(
            sa.text("SELECT opens_at, booked, quota FROM windows WHERE id = :w"), {"w": window_id}
        ).one()
        holding = _count(
            conn,
            "SELECT count(*) FROM bookings WHERE window_id = :w AND status IN "
            "('confirmed', 'checked_in', 'overstayed')",
            w=window_id,
        )
    at = (opens_at + timedelta(hours=3, minutes=1)).isoformat()
    log(f"two instances: two tide passes at once, as if at {at} …")
    started = time.perf_counter()
    ticks = [_flask(database_url, "tide", "tick", "--at", at) for _ in range(2)]
    outputs = [proc.communicate(timeout=300)[0].strip().splitlines()[-1] for proc in ticks]
    tide_seconds = time.perf_counter() - started
    for line in outputs:
        log(f"  {line}")

    with engine.connect() as conn:
        no_shows = _count(
            conn, "SELECT count(*) FROM bookings WHERE window_id = :w AND status = 'no_show'", w=window_id
        )
        strikes = _count(conn, "SELECT count(*) FROM strikes")
        notices = _count(conn, "SELECT count(*) FROM notifications WHERE kind = 'no_show'")
        audits = _count(conn, "SELECT count(*) FROM audit_events WHERE action = 'booking.no_show'")
        opened = _count(
            conn, "SELECT count(*) FROM audit_events WHERE action = 'window.opened' AND object_id = :w", w=window_id
        )
    engine.dispose()
    confirmed = sum(1 for b in rush.bodies if b.get("status") == "confirmed")
    rows = [
        rush.row("rush over 2 instances"),
        {
            "name": "two tide passes at once",
            "requests": 2,
            "rps": "",
            "p50_ms": "",
            "p99_ms": round(tide_seconds * 1000),
            "statuses": "",
        },
    ]
    print_table("Two instances, two schedulers, one PostgreSQL", rows)
    overbooked = max(0, holding - quota) + (1 if booked != holding else 0)
    once = no_shows == strikes == notices == audits == SPACES and opened == 1
    print(
        f"confirmed={confirmed} holding={holding} booked={booked} quota={quota} overbookings={overbooked}; "
        f"no_shows={no_shows} strikes={strikes} notices={notices} audit={audits} window.opened={opened} "
        f"→ every transition once: {once}"
    )
    assert confirmed == SPACES and overbooked == 0, "overbooking"
    assert once, "a transition happened twice or not at all"
    return {
        "two_rush_rps": round(rush.rps, 1),
        "two_rush_p99_ms": round(rush.pct(99), 2),
        "two_confirmed": confirmed,
        "two_overbookings": overbooked,
        "two_no_shows": no_shows,
        "two_strikes": strikes,
        "two_transitions_once": once,
    }


if __name__ == "__main__":
    emit(main())
