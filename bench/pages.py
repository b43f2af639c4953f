"""The resident's pages under load: `/nights` (the booking horizon, 14 nights) and a booking through
its form (POST /nights, answered by a redirect), each by 16 clients signed in with session cookies,
against gunicorn with 2 workers on PostgreSQL; then the bare INSERT+COMMIT endpoint under the same
load. Targets: /nights ≥ 0.5 of bare with p99 ≤ 150 ms."""

from __future__ import annotations

import random
from datetime import timedelta
from urllib.parse import urlencode

import sqlalchemy as sa

from bench import common
from bench.common import Request, emit, gunicorn, log, print_table, run_load
from bench.seed import garage_with_window, households, tomorrow

HOUSEHOLDS = 2000
SPACES = 200
PAGE_LOADS = 3000
CONCURRENCY = 16


def _cookies(app, users) -> dict[int, tuple[str, str]]:
    """A signed-in session cookie and a form CSRF token per user, as the login page would give."""
    import secrets

    from flask_login.utils import _create_identifier  # noqa: PLC2701 - the session identifier Flask-Login checks; the bench forges signed-in sessions
    from itsdangerous import URLSafeTimedSerializer

    serializer = app.session_interface.get_signing_serializer(app)
    csrf = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
    with app.test_request_context(environ_base={"REMOTE_ADDR": common.HOST}):
        identifier = _create_identifier()
    out = {}
    for user in users:
        raw = secrets.token_hex(20)
        session = {"_user_id": user.get_id(), "_fresh": True, "_id": identifier, "_permanent": True, "csrf_token": raw}
        out[user.id] = (f"session={serializer.dumps(session)}", csrf.dumps(raw))
    return out


def seed(database_url: str) -> tuple[int, list[Request], list[Request]]:
    from parking import clock
    from parking.auth import sign_ins
    from parking.auth.models import User
    from parking.extensions import db
    from parking.garages.services import ensure_windows
    from parking.windows.models import Garage
    from parking.windows.services import today

    app = common.bench_app(database_url)
    with app.app_context():
        now = clock.now()
        night = tomorrow(now)
        garage_id, window_id = garage_with_window(now, SPACES, night)
        garage = db.session.get(Garage, garage_id)
        ensure_windows(garage, today(garage, now), today(garage, now) + timedelta(days=garage.horizon_days), now)
        people = households(garage_id, HOUSEHOLDS, now)
        db.session.commit()
        users = db.session.scalars(sa.select(User).where(User.id.in_([p[0] for p in people]))).all()
        for user in users:  # a sign-in each, as the login page makes: the cookie carries its id
            sign_ins.start(user, now)
        db.session.commit()
        cookies = _cookies(app, users)
        common.let_go(db)
    loads = [
        Request("GET", "/nights", None, {"Cookie": cookies[people[i % len(people)][0]][0]}) for i in range(PAGE_LOADS)
    ]
    bookings = []
    for user_id, _, plate in people:
        cookie, token = cookies[user_id]
        form = urlencode({"csrf_token": token, "window_id": window_id, "plate": plate}).encode()
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        bookings.append(Request("POST", "/nights", None, headers, form))
    random.Random(11).shuffle(bookings)
    return window_id, loads, bookings


def main() -> dict:
    database_url = common.fresh_database("parking_bench_pages")
    log("pages: migrating and seeding 2,000 households and the 14-night horizon …")
    common.migrate(database_url)
    window_id, loads, bookings = seed(database_url)

    log("pages: bare INSERT+COMMIT, before …")
    bare_before = common.measure_bare(database_url, len(loads), CONCURRENCY)
    with gunicorn("wsgi:app", database_url, clients=CONCURRENCY) as port:
        common.warm_up(port, loads[:200], clients=CONCURRENCY)
        log("pages: GET /nights …")
        nights = common.require_answers(run_load(loads, CONCURRENCY, [port], keep_bodies=True), "nights")
        log("pages: booking through the form …")
        booked = common.require_answers(run_load(bookings, CONCURRENCY, [port], keep_bodies=True), "book")
    log("pages: bare INSERT+COMMIT, after …")
    bare_after = common.measure_bare(database_url, len(loads), CONCURRENCY)
    bare, bare_rows = common.yardstick_rows(bare_before, bare_after)

    holding = common.count_rows(
        database_url,
        {
            "holding": (
                "SELECT count(*) FROM bookings WHERE window_id = :id"
                " AND status IN ('confirmed', 'checked_in', 'overstayed')",
                {"id": window_id},
            )
        },
    )["holding"]
    redirected = sum(1 for b in booked.bodies if b.get("status_code") in (302, 303))
    sizes = [b.get("size", 0) for b in nights.bodies]
    rows = [nights.row("GET /nights"), booked.row("POST /nights (book)"), *bare_rows]
    print_table(f"Resident pages: {HOUSEHOLDS} households, {SPACES} spaces, {CONCURRENCY} clients", rows)
    ratio = nights.rps / bare.rps if bare.rps else 0.0
    book_ratio = booked.rps / bare.rps if bare.rps else 0.0
    print(
        f"/nights ratio = {ratio:.2f} (target ≥ 0.5), p99 = {nights.pct(99):.1f} ms (target ≤ 150); "
        f"form booking ratio = {book_ratio:.2f}, p99 = {booked.pct(99):.1f} ms; "
        f"bookings confirmed (redirects) = {redirected}, holding = {holding}; page size {max(sizes)} bytes"
    )
    assert holding == SPACES, "the form booked more or fewer than the spaces"
    return {
        "nights_page_rps": round(nights.rps, 1),
        "nights_page_p99_ms": round(nights.pct(99), 2),
        "nights_page_ratio": round(ratio, 3),
        "nights_page_bytes": max(sizes),
        "form_booking_rps": round(booked.rps, 1),
        "form_booking_p99_ms": round(booked.pct(99), 2),
        "form_booking_ratio": round(book_ratio, 3),
        "form_booking_holding": holding,
        "pages_bare_rps": round(bare.rps, 1),
    }


if __name__ == "__main__":
    emit(main())
