"""Morning exit: 200 checked-in cars scan out at the barrier, plus re-sent scans (a gate device
retrying with the same idempotency key). req/s, p99 and the ratio to the bare INSERT+COMMIT
endpoint under the same load (target ≥ 0.8 with p99 ≤ 100 ms)."""

from __future__ import annotations

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bench import common
from bench.common import Request, emit, gunicorn, log, print_table, run_load

CARS = 200
RESENDS = 100
CONCURRENCY = 16


def seed(database_url: str) -> tuple[int, list[Request]]:
    """A window around the bench's own wall-clock time, so the passes are valid whenever it runs."""
    from bench.seed import garage_with_window, households
    from parking import clock
    from parking.auth import tokens
    from parking.auth.models import GarageStaff, Role, User
    from parking.bookings.models import Booking, BookingStatus
    from parking.extensions import db
    from parking.passes import services as passes

    app = common.bench_app(database_url)
    with app.app_context():
        now = clock.now()
        local = now.astimezone(ZoneInfo("Asia/Shanghai"))
        start = (local - timedelta(hours=10)).replace(second=0, microsecond=0)
        end = (local + timedelta(hours=1)).time().replace(second=0, microsecond=0)
        garage_id, window_id = garage_with_window(now, CARS, start.date(), start=start.time(), end=end)
        people = households(garage_id, CARS, now)
        rows = [
            {
                "window_id": window_id,
                "garage_id": garage_id,
                "household_id": hid,
                "vehicle_id": db.session.scalar(sa.text("SELECT id FROM vehicles WHERE household_id = :h"), {"h": hid}),
                "plate": plate,
                "status": BookingStatus.CHECKED_IN.value,
                "slot": 1,
                "priority": False,
                "late_cancel": False,
                "created_at": now,
                "updated_at": now,
                "confirmed_at": now,
                "inside": True,
                "entered_at": now - timedelta(hours=8),
            }
            for _, hid, plate in people
        ]
        db.session.execute(Booking.__table__.insert(), rows)
        db.session.execute(sa.text("UPDATE windows SET booked = :n WHERE id = :w"), {"n": CARS, "w": window_id})
        attendant = User(phone="19900000001", name="Attendant", password_hash="!", role=Role.ATTENDANT, created_at=now)
        db.session.add(attendant)
        db.session.flush()
        db.session.add(GarageStaff(user_id=attendant.id, garage_id=garage_id))
        db.session.commit()
        residents = {u.id: u for u in db.session.scalars(sa.select(User).where(User.household_id.is_not(None)))}
        bookings = dict(db.session.execute(sa.select(Booking.household_id, Booking.id)).all())
        pass_tokens = []
        for user_id, hid, _ in people:
            pass_tokens.append(passes.issue(residents[user_id], bookings[hid], now).token)
        db.session.commit()
        auth = {"Authorization": f"Bearer {tokens.issue(attendant)[0]}"}
        common.let_go(db)
    scans = [
        Request(
            "POST",
            "/api/v1/gate/scan",
            {
                "garage_id": garage_id,
                "token": token,
                "direction": "out",
                "idempotency_key": f"exit-{i}",
                "device": "lane-1",
            },
            auth,
        )
        for i, token in enumerate(pass_tokens)
    ]
    rng = random.Random(11)
    resent = [scans[i] for i in rng.sample(range(CARS), RESENDS)]
    requests = scans + resent
    rng.shuffle(requests)  # a retry can arrive before, with or after its original
    return window_id, requests


def warm(requests: list[Request]) -> list[Request]:
    """The attendant's read-only occupancy view, not scans: what warms the server."""
    first = requests[0]
    assert first.body is not None
    return [Request("GET", f"/api/v1/garages/{first.body['garage_id']}/occupancy", None, first.headers)]


def verify(database_url: str, window_id: int) -> dict:
    return common.count_rows(
        database_url,
        {
            "inside": ("SELECT count(*) FROM bookings WHERE window_id = :w AND inside", {"w": window_id}),
            "scans": ("SELECT count(*) FROM scans", {}),
            "accepted": ("SELECT count(*) FROM scans WHERE result = 'accepted'", {}),
        },
    )


def main() -> dict:
    database_url = common.fresh_database("parking_bench_exit")
    common.migrate(database_url)
    log("exit: seeding 200 cars inside …")
    window_id, requests = seed(database_url)
    # The yardstick before and after the exits, as in the rush; 2,000 bare requests each, so that it
    # runs for well over a second, not a fraction of one.
    log("exit: bare INSERT+COMMIT, before …")
    bare_before = common.measure_bare(database_url, 2000, CONCURRENCY)
    with gunicorn("wsgi:app", database_url, clients=CONCURRENCY) as port:
        common.warm_up(port, warm(requests), clients=CONCURRENCY)
        log("exit: scanning out …")
        scans = common.require_answers(run_load(requests, CONCURRENCY, [port], keep_bodies=True), "exit")
    outcome = verify(database_url, window_id)
    results: dict[str, int] = {}
    for body in scans.bodies:
        key = body.get("result") or body.get("error", "?")
        key = f"{key}:{body.get('reason')}" if body.get("reason") else key
        results[key] = results.get(key, 0) + 1
    log("exit: bare INSERT+COMMIT, after …")
    bare_after = common.measure_bare(database_url, 2000, CONCURRENCY)
    bare, bare_rows = common.yardstick_rows(bare_before, bare_after)
    print_table(
        f"Morning exit: {CARS} cars + {RESENDS} re-sent scans, {CONCURRENCY} clients",
        [scans.row("exit scans"), *bare_rows],
    )
    ratio = scans.rps / bare.rps if bare.rps else 0.0
    print(
        f"results={results} still inside={outcome['inside']} scans stored={outcome['scans']} "
        f"accepted={outcome['accepted']}   ratio exit/bare = {ratio:.2f} (target ≥ 0.8)  "
        f"p99 = {scans.pct(99):.1f} ms (target ≤ 100)"
    )
    assert outcome["inside"] == 0 and outcome["scans"] == CARS and outcome["accepted"] == CARS, outcome
    return {
        "exit_rps": round(scans.rps, 1),
        "exit_p50_ms": round(scans.pct(50), 2),
        "exit_p99_ms": round(scans.pct(99), 2),
        "exit_bare_rps": round(bare.rps, 1),
        "exit_ratio": round(ratio, 3),
        "exit_scans_stored": outcome["scans"],
    }


if __name__ == "__main__":
    emit(main())
