"""Delivery: 500 notifications of one garage to a real gateway on 127.0.0.1 (http.server in a
thread) that refuses the first POST of every message with 503 and answers 410 (gone, permanent)
to every 50th, delivered by two `flask notifications deliver --at` processes started together at
each instant of a simulated quarter of an hour (a pass a minute). Counts messages, attempts, sent,
dead letters and duplicates (a message taken twice by the gateway), and checks every signature."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta

from bench import common
from bench.common import emit, log, print_table

MESSAGES = 500
PROCESSES = 2
MINUTES = 15


def _refuse(body: bytes, seen: int) -> int | None:
    """Every 50th message is gone for good (410); every other one is refused once (503)."""
    if int(json.loads(body)["id"]) % 50 == 0:
        return 410
    return 503 if seen == 1 else None


def seed(database_url: str, url: str) -> tuple[str, str]:
    """A garage with the gateway, MESSAGES residents with one notice each; (secret, start instant)."""
    from parking import clock
    from parking.auth.models import Role, User
    from parking.extensions import db
    from parking.households.models import Household, HouseholdState
    from parking.notifications import webhooks
    from parking.notifications.services import notify
    from parking.windows.models import Garage

    app = common.bench_app(database_url)
    with app.app_context():
        now = clock.now()
        garage = Garage(name="浦东东站地下车库", timezone="Asia/Shanghai", capacity=300, created_at=now)
        admin = User(phone="13800000000", name="admin", password_hash="-", role=Role.ADMIN, created_at=now)
        db.session.add_all([garage, admin])
        db.session.flush()
        secret = webhooks.set_webhook(garage.id, url, admin, now - timedelta(minutes=1)).secret
        household = Household(
            garage_id=garage.id, building="1", unit="1", room="101", state=HouseholdState.VERIFIED, created_at=now
        )
        db.session.add(household)
        db.session.flush()
        users = [
            User(phone=f"139{i:08d}", name=f"r{i}", password_hash="-", household_id=household.id, created_at=now)
            for i in range(MESSAGES)
        ]
        db.session.add_all(users)
        db.session.flush()
        for user in users:
            notify([user.id], "household_verified", {}, now=now)
        db.session.commit()
        start = now
    # A quiet-hours-free start: 10:00 in Shanghai on the day of `now` would do too; `now` is used
    # as it is, and the passes run from it on.
    local = clock.local(start, "Asia/Shanghai")
    if local.hour >= 22 or local.hour < 7:
        start = clock.local_midnight(local.date(), "Asia/Shanghai") + timedelta(
            hours=10 + (24 if local.hour >= 22 else 0)
        )
    return secret, start.isoformat()


def main() -> dict:
    database_url = common.fresh_database("parking_bench_delivery")
    common.migrate(database_url)
    gateway = common.Gateway(refuse=_refuse)
    log("delivery: seeding …")
    secret, start_iso = seed(database_url, gateway.url)
    gateway.secret = secret.encode()
    from datetime import datetime

    start = datetime.fromisoformat(start_iso)
    attempts_per_process: Counter = Counter()
    started = time.perf_counter()
    for minute in range(MINUTES + 1):
        at = (start + timedelta(minutes=minute, seconds=1)).isoformat()
        procs = [common.flask(database_url, "notifications", "deliver", "--at", at) for _ in range(PROCESSES)]
        for n, proc in enumerate(procs):
            line = proc.communicate(timeout=300)[0].strip().splitlines()[-1]
            attempts_per_process[n] += int(line.split("attempts=")[1].split()[0])
    seconds = time.perf_counter() - started
    counts = common.count_rows(
        database_url,
        {
            "sent": ("SELECT count(*) FROM notification_deliveries WHERE state = 'sent'", {}),
            "dead": ("SELECT count(*) FROM notification_deliveries WHERE state = 'dead'", {}),
            "attempts": ("SELECT count(*) FROM notification_delivery_attempts", {}),
            "pending": ("SELECT count(*) FROM notification_deliveries WHERE state IN ('pending', 'failed')", {}),
        },
    )
    gateway.server.shutdown()
    duplicates = gateway.duplicates
    figures = {
        "delivery_messages": MESSAGES,
        "delivery_processes": PROCESSES,
        "delivery_posts": sum(gateway.seen.values()),
        "delivery_attempts_recorded": counts["attempts"],
        "delivery_sent": counts["sent"],
        "delivery_dead_letters": counts["dead"],
        "delivery_left_pending": counts["pending"],
        "delivery_duplicates": duplicates,
        "delivery_bad_signatures": gateway.bad_signatures,
        "delivery_attempts_per_process": [attempts_per_process[n] for n in range(PROCESSES)],
        "delivery_seconds": round(seconds, 1),
    }
    print_table("delivery: two scheduler processes, a gateway refusing each first POST", [figures])
    return figures


if __name__ == "__main__":
    emit(main())
