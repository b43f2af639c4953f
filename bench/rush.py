"""Booking rush: 2,000 verified households, one window with 200 spaces, 16 concurrent clients
booking as fast as they can; then the bare INSERT+COMMIT endpoint under the same load and server
settings. Headline: booking req/s ÷ bare req/s (target ≥ 0.75, p99 ≤ 150 ms)."""

from __future__ import annotations

import argparse
import random

import sqlalchemy as sa

from bench import common
from bench.common import Request, emit, gunicorn, log, print_table, run_load
from bench.seed import garage_with_window, households, tomorrow

HOUSEHOLDS = 2000
SPACES = 200
CONCURRENCY = 16


def seed(database_url: str) -> tuple[int, list[Request]]:
    from parking import clock
    from parking.auth import tokens
    from parking.auth.models import User
    from parking.extensions import db

    app = common.bench_app(database_url)
    with app.app_context():
        now = clock.now()
        garage_id, window_id = garage_with_window(now, SPACES, tomorrow(now))
        people = households(garage_id, HOUSEHOLDS, now)
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
    random.Random(7).shuffle(requests)
    return window_id, requests


def warm(requests: list[Request]) -> list[Request]:
    """Read-only requests of the same callers (who am I), not bookings: what warms the server."""
    return [Request("GET", "/api/v1/me", None, r.headers) for r in requests[:50]]


def verify(database_url: str, window_id: int) -> dict:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        booked, quota = conn.execute(
            sa.text("SELECT booked, quota FROM windows WHERE id = :id"), {"id": window_id}
        ).one()
        holding = conn.execute(
            sa.text(
                "SELECT count(*) FROM bookings WHERE window_id = :id"
                " AND status IN ('confirmed', 'checked_in', 'overstayed')"
            ),
            {"id": window_id},
        ).scalar()
    engine.dispose()
    return {"booked": booked, "quota": quota, "holding": holding}


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args([]) if __name__ != "__main__" else parser.parse_args()
    database_url = common.fresh_database("parking_bench_rush")
    log("rush: migrating and seeding 2,000 households …")
    common.migrate(database_url)
    window_id, requests = seed(database_url)

    # The yardstick is measured before and after the rush, and the ratio uses both: this shared
    # machine's speed drifts by more than the difference being measured.
    log("rush: bare INSERT+COMMIT, before …")
    bare_before = common.measure_bare(database_url, len(requests), args.concurrency)
    with gunicorn("wsgi:app", database_url, clients=args.concurrency) as port:
        common.warm_up(port, warm(requests), clients=args.concurrency)
        log("rush: booking …")
        booking = common.require_answers(run_load(requests, args.concurrency, [port], keep_bodies=True), "rush")
    outcome = verify(database_url, window_id)
    confirmed = sum(1 for b in booking.bodies if b.get("status") == "confirmed")
    reasons: dict[str, int] = {}
    for body in booking.bodies:
        key = body.get("status") if "error" not in body else body["error"]
        reasons[key] = reasons.get(key, 0) + 1
    log(f"rush: outcomes {reasons}")
    confirmed_at = [t for t, b in zip(booking.finished, booking.bodies, strict=True) if b.get("status") == "confirmed"]
    confirmed_ms = [
        ms for ms, b in zip(booking.latencies_ms, booking.bodies, strict=True) if b.get("status") == "confirmed"
    ]
    refused_ms = [ms for ms, b in zip(booking.latencies_ms, booking.bodies, strict=True) if "error" in b]
    log(
        f"rush: the window was full after {max(confirmed_at):.2f}s of {booking.seconds:.2f}s; median latency "
        f"confirmed {common.median(confirmed_ms):.1f} ms, refused {common.median(refused_ms):.1f} ms"
    )

    log("rush: bare INSERT+COMMIT, after …")
    bare_after = common.measure_bare(database_url, len(requests), args.concurrency)
    bare, bare_rows = common.yardstick_rows(bare_before, bare_after)

    rows = [booking.row("booking rush"), *bare_rows]
    print_table(f"Booking rush: {HOUSEHOLDS} households, {SPACES} spaces, {args.concurrency} clients", rows)
    ratio = booking.rps / bare.rps if bare.rps else 0.0
    print(
        f"confirmed={confirmed} window.booked={outcome['booked']} holding={outcome['holding']} "
        f"quota={outcome['quota']}   ratio booking/bare = {ratio:.2f} (target ≥ 0.75)  "
        f"p99 = {booking.pct(99):.1f} ms (target ≤ 150)"
    )
    figures = {
        "rush_rps": round(booking.rps, 1),
        "rush_p50_ms": round(booking.pct(50), 2),
        "rush_p99_ms": round(booking.pct(99), 2),
        "rush_confirmed": confirmed,
        "rush_holding": outcome["holding"],
        "bare_rps": round(bare.rps, 1),
        "bare_p99_ms": round(bare.pct(99), 2),
        "rush_ratio": round(ratio, 3),
        "concurrency": args.concurrency,
    }
    assert confirmed == SPACES == outcome["holding"] == outcome["booked"], "overbooking or lost booking"
    return figures


if __name__ == "__main__":
    emit(main())
