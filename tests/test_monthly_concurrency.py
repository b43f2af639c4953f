"""Subscriptions racing single-night bookings, each in its own thread and connection, on the SQLite
file database and PostgreSQL: no night above its quota, monthly holders never above their share."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import sqlalchemy as sa

from parking.bookings.models import SPACE_HOLDING, Booking
from parking.windows.models import Window
from tests.concurrency_helpers import race
from tests.conftest import FIGURES
from tests.monthly_helpers import DECEMBER, offered, window_of


def test_subscriptions_racing_single_night_bookings_never_exceed_the_quota_or_the_share(app, factory, db):
    quota, share_cap = 10, 7  # share 0.7
    setup = offered(factory, quota=quota, share="0.7")
    subscribers = [factory.resident(setup.garage) for _ in range(10)]
    singles = [factory.resident(setup.garage) for _ in range(10)]
    tonight = window_of_after_materialising(factory, setup)
    calls = [
        (
            lambda client, h=factory.headers(u), p=p: client.post(
                "/api/v1/subscriptions",
                json={"template_id": setup.template.id, "month": DECEMBER, "plate": p, "accept_partial": True},
                headers=h,
            )
        )
        for u, p in subscribers
    ] + [
        (
            lambda client, h=factory.headers(u), p=p: client.post(
                "/api/v1/bookings", json={"window_id": tonight.id, "plate": p}, headers=h
            )
        )
        for u, p in singles
    ]
    db.session.commit()
    started = time.perf_counter()
    responses = race(app, calls)
    seconds = time.perf_counter() - started

    subscribed = [r for r in responses[:10] if r.status_code == 201]
    refused = Counter(r.json["error"] for r in responses[:10] if r.status_code != 201)
    assert set(refused) <= {"no_night_left"}, refused
    assert all(r.status_code in (201, 409) for r in responses[10:])
    assert len(subscribed) == share_cap  # the later nights have room for exactly the share
    db.session.expire_all()
    for window in db.session.scalars(sa.select(Window).where(Window.template_id == setup.template.id)):
        holding = _count(db, window.id)
        monthly = _count(db, window.id, monthly=True)
        assert window.booked == holding <= window.quota, window.service_date
        assert monthly <= share_cap, window.service_date
    tonight_holding = _count(db, tonight.id)
    assert tonight_holding == quota  # 20 attempts for 10 spaces: all taken, none twice
    single_ok = sum(1 for r in responses[10:] if r.status_code == 201)
    assert single_ok + _count(db, tonight.id, monthly=True) == quota
    FIGURES.append(
        f"[{app.config['BACKEND']}] monthly race: 10 subscriptions (31 nights each) + 10 single bookings of one "
        f"night, quota {quota}, share cap {share_cap}: subscribed={len(subscribed)} (partial months accepted); "
        f"that night {_count(db, tonight.id, monthly=True)} monthly + {single_ok} single = {tonight_holding}; "
        f"seconds={seconds:.2f}"
    )


def window_of_after_materialising(factory, setup):
    factory.window(template=setup.template, day=date(2026, 12, 1), quota=setup.template.default_quota)
    return window_of(setup, date(2026, 12, 1))


def _count(db, window_id, *, monthly=False):
    stmt = (
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(Booking.window_id == window_id, Booking.status.in_(SPACE_HOLDING))
    )
    if monthly:
        stmt = stmt.where(Booking.subscription_id.is_not(None))
    return db.session.scalar(stmt)
