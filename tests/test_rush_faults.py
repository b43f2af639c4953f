"""A booking rush while the database kills connections (PostgreSQL): a real HTTP server in a thread,
clients that each book once with their own Idempotency-Key and retry every 503 with it, and a
killer that terminates backends of this test's database, recording whether each was inside a
transaction. Nothing is lost or doubled, no 500, every 503 says when to retry."""

from __future__ import annotations

import http.client
import json
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from werkzeug.serving import make_server

from parking.bookings.models import SPACE_HOLDING, Booking
from parking.idempotency.models import IdempotencyKey
from parking.windows.models import Window
from tests.conftest import FIGURES, PG_URL

HOUSEHOLDS, QUOTA, BOOKED_BEFORE = 100, 50, 10
CLIENTS = 24  # at once; the server's pool holds 15 connections
MAX_TRIES = 150  # more than MAX_KILLS: once the killer has spent its terminations, every client gets through
KILL_EVERY = 0.02  # seconds between two terminations
MAX_KILLS = 120

_BACKENDS = sa.text(
    "SELECT pid, state, xact_start IS NOT NULL AS in_transaction FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
)


@dataclass
class Killer:
    """Terminates a backend of the test's database every KILL_EVERY seconds until stopped; prefers
    one inside a transaction (a booking half done), else any (an idle pooled connection)."""

    stop: threading.Event = field(default_factory=threading.Event)
    kills: list[tuple[str, bool]] = field(default_factory=list)  # (state, inside a transaction)

    def run(self) -> None:
        engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        chooser = random.Random(7)
        try:
            with engine.connect() as conn:
                while not self.stop.is_set() and len(self.kills) < MAX_KILLS:
                    backends = conn.execute(_BACKENDS).all()
                    inside = [b for b in backends if b.in_transaction]
                    if backends:
                        victim = chooser.choice(inside or backends)
                        if conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": victim.pid}).scalar():
                            self.kills.append((victim.state or "", bool(victim.in_transaction)))
                    self.stop.wait(KILL_EVERY)
        finally:
            engine.dispose()


@dataclass
class Outcome:
    final: tuple[int, dict]
    tries: list[tuple[int, str | None]]  # (status, Retry-After)
    replayed: bool


def _book(port: int, headers: dict[str, str], body: dict) -> Outcome:
    """One household's booking: the same key on every try, until an answer that is not a 503."""
    tries: list[tuple[int, str | None]] = []
    payload = json.dumps(body)
    for _ in range(MAX_TRIES):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/api/v1/bookings", body=payload, headers=headers)
            response = conn.getresponse()
            data = json.loads(response.read() or b"{}")
            tries.append((response.status, response.getheader("Retry-After")))
            if response.status != 503:
                return Outcome((response.status, data), tries, response.getheader("Idempotent-Replayed") == "true")
        finally:
            conn.close()
    pytest.fail(f"still 503 after {MAX_TRIES} tries: {tries}")


def _count(db, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(*where))


def test_a_booking_rush_with_backends_terminated_loses_and_doubles_nothing(app, factory, db):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("terminating backends is a PostgreSQL fault; SQLite has no server to lose")
    window = factory.window(quota=QUOTA)
    for _ in range(BOOKED_BEFORE):
        factory.booking(window)
    households = [factory.resident(window.garage) for _ in range(HOUSEHOLDS)]
    calls = [
        (
            {
                **factory.headers(user),
                "Content-Type": "application/json",
                "Idempotency-Key": f"rush-{user.household_id}-{i}",
            },
            {"window_id": window.id, "plate": plate},
        )
        for i, (user, plate) in enumerate(households)
    ]
    before = _count(db, Booking.window_id == window.id)
    db.session.commit()  # the test holds no connection while the killer runs

    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    killer = Killer()
    killing = threading.Thread(target=killer.run, daemon=True)
    killing.start()
    try:
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            outcomes = list(pool.map(lambda call: _book(server.server_port, *call), calls))
    finally:
        killer.stop.set()
        killing.join(10)
        server.shutdown()
        serving.join(10)

    tries = [t for o in outcomes for t in o.tries]
    statuses = Counter(status for status, _ in tries)
    finals = Counter((o.final[0], o.final[1].get("error") or o.final[1].get("status")) for o in outcomes)
    unavailable = [retry_after for status, retry_after in tries if status == 503]
    inside = sum(1 for _, in_transaction in killer.kills if in_transaction)
    confirmed_ids = {o.final[1]["id"] for o in outcomes if o.final[0] == 201}

    db.session.expire_all()
    holding = db.session.scalars(
        sa.select(Booking).where(Booking.window_id == window.id, Booking.status.in_(SPACE_HOLDING))
    ).all()
    after = _count(db, Booking.window_id == window.id)
    FIGURES.append(
        f"[postgresql] rush with faults: households={HOUSEHOLDS} quota={QUOTA} booked before={before} "
        f"attempts={len(tries)} 201={statuses[201]} 409={statuses[409]} 503={statuses[503]} 500={statuses[500]} "
        f"503 with Retry-After={sum(1 for r in unavailable if r)} terminations={len(killer.kills)} "
        f"inside a transaction={inside} replayed 201s={sum(1 for o in outcomes if o.replayed and o.final[0] == 201)} "
        f"bookings after={after} holding={len(holding)}"
    )

    assert statuses[500] == 0, statuses
    assert set(statuses) <= {201, 409, 503}, statuses
    assert unavailable, "no fault reached a client: the killer missed every request"
    assert all(r == str(app.config["UNAVAILABLE_RETRY_AFTER_SECONDS"]) for r in unavailable), Counter(unavailable)
    assert finals == {
        (201, "confirmed"): QUOTA - BOOKED_BEFORE,
        (409, "window_full"): HOUSEHOLDS - QUOTA + BOOKED_BEFORE,
    }
    assert inside >= 1, killer.kills
    # Every space is held by a booking a client was told about (or booked before), and no more.
    assert {b.id for b in holding} >= confirmed_ids
    assert len(holding) == len(confirmed_ids) + BOOKED_BEFORE == QUOTA
    assert after == before + len(confirmed_ids)
    assert db.session.get(Window, window.id).booked == QUOTA
    assert max(Counter(b.household_id for b in holding).values()) == 1
    # Every answer was stored once, with its key.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == HOUSEHOLDS
