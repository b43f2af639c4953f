"""The sell-out race (issue 25) on one night, each caller in its own thread and connection, on the
SQLite file database and PostgreSQL: first-come confirmations (which take the window's lock last),
cancellations that promote the waitlist (which take it first), monthly holders handing nights back
and a manager's quota cut with bumps, all at once, with a household limit of 2. Whatever the
interleaving: the counter equals the bookings that hold a space and stays within the quota, no
plate holds two spaces, no household more than two, every refusal is a domain error (never a 500,
never a deadlock: there is one lock order, docs/architecture.md)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import sqlalchemy as sa

from parking import clock
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.extensions import db as _db
from parking.households.models import Vehicle, VehicleState
from tests.concurrency_helpers import race
from tests.conftest import FIGURES
from tests.manager_helpers import assert_counter_consistent
from tests.monthly_helpers import offered, subscribe, window_of

QUOTA = 14
CUT_TO = 9
LIMIT = 2


def _post(path, headers, body=None):
    return lambda client: client.post(path, json=body or {}, headers=headers)


def _second_plate(factory, household):
    vehicle = Vehicle(
        household_id=household.id, plate=factory.plate(), state=VehicleState.VERIFIED, created_at=clock.now()
    )
    _db.session.add(vehicle)
    _db.session.commit()
    return vehicle.plate


def test_confirmations_cancellations_promotions_and_a_cut_racing_keep_every_invariant(app, factory, db):
    setup = offered(factory, quota=QUOTA, share="0.5")
    setup.garage.bookings_per_household = LIMIT
    db.session.commit()
    factory.window(template=setup.template, day=date(2026, 12, 1), quota=QUOTA)
    night = window_of(setup, date(2026, 12, 1))
    book = "/api/v1/bookings"

    # Monthly holders: their month holds a space tonight; two of them will hand it back.
    holders = [factory.resident(setup.garage) for _ in range(3)]
    for user, plate in holders:
        assert subscribe(app.test_client(), factory, user, setup, plate).status_code == 201
    monthly_nights = list(
        db.session.scalars(
            sa.select(Booking.id).where(Booking.window_id == night.id, Booking.subscription_id.is_not(None))
        )
    )
    # Households of two cars: one car holds a space already, the other asks now; and households
    # that fill the night but for three spaces (the waitlist forms during the race).
    pairs = []
    for _ in range(4):
        user, plate = factory.resident(setup.garage)
        second = _second_plate(factory, user.household)
        held = factory.booking(night, user=user, plate=plate)
        pairs.append((user, second, held))
    db.session.refresh(night)
    fillers = [factory.booking(night) for _ in range(QUOTA - night.booked - 3)]
    # Newcomers: single households, and two-car households whose both cars ask at once (the same
    # household taking its two slots in two transactions).
    newcomers = [factory.resident(setup.garage) for _ in range(6)]
    doubles = []
    for _ in range(2):
        user, plate = factory.resident(setup.garage)
        doubles.append((user, plate, _second_plate(factory, user.household)))
    manager = factory.manager(setup.garage)
    day = night.service_date.isoformat()
    cut = {"template_id": setup.template.id, "start_date": day, "end_date": day, "quota": CUT_TO}
    cut |= {"reason": "works", "policy": "bump"}

    calls = [
        *(_post(book, factory.headers(u), {"window_id": night.id, "plate": p, "waitlist": True}) for u, p in newcomers),
        *(_post(book, factory.headers(u), {"window_id": night.id, "plate": p}) for u, p, _ in doubles),
        *(_post(book, factory.headers(u), {"window_id": night.id, "plate": q}) for u, _, q in doubles),
        *(_post(book, factory.headers(u), {"window_id": night.id, "plate": second}) for u, second, _ in pairs),
        *(_post(f"{book}/{b.id}/cancel", factory.headers(b.household.members[0])) for b in fillers[:3]),
        *(
            _post(f"{book}/{booking_id}/cancel", factory.headers(user))
            for booking_id, (user, _) in zip(monthly_nights[:2], holders, strict=False)
        ),
        _post(f"/api/v1/garages/{setup.garage.id}/overrides", factory.headers(manager), cut),
    ]
    db.session.commit()
    responses = race(app, calls)

    answered = [(r.status_code, r.json.get("error") or r.json.get("status")) for r in responses]
    answers = Counter(answered)
    assert all(code < 500 for code, _ in answered), answers
    bookings = len(newcomers) + 2 * len(doubles) + len(pairs)
    allowed = {(201, "confirmed"), (201, "waitlisted"), (409, "window_full"), (409, "duplicate_booking")}
    assert set(answered[:bookings]) <= allowed, answers
    # A cancel either goes through or finds its booking bumped by the cut first (a domain refusal).
    assert set(answered[bookings:-1]) <= {(200, "cancelled"), (422, "not_cancellable")}, answers
    assert responses[-1].status_code == 201, responses[-1].json  # the cut, with its bumps
    assert answers[(201, "confirmed")] + answers[(201, "waitlisted")] >= 1  # not only refused

    final = assert_counter_consistent(night.id)  # booked == holding <= quota
    assert final.quota == CUT_TO
    waiting = db.session.scalar(
        sa.select(sa.func.count()).where(Booking.window_id == night.id, Booking.status == BookingStatus.WAITLISTED)
    )
    assert waiting == 0 or final.booked == CUT_TO, (waiting, final.booked)  # no space left free while a car waits
    holding = db.session.execute(
        sa.select(Booking.plate, Booking.household_id, Booking.subscription_id).where(
            Booking.window_id == night.id, Booking.status.in_(SPACE_HOLDING)
        )
    ).all()
    plates = Counter(row.plate for row in holding)
    assert max(plates.values()) == 1, plates
    per_household = Counter(row.household_id for row in holding)
    assert max(per_household.values()) <= LIMIT, per_household
    monthly = sum(1 for row in holding if row.subscription_id is not None)
    assert monthly <= int(QUOTA * 0.5)
    statuses = Counter(db.session.scalars(sa.select(Booking.status).where(Booking.window_id == night.id)))
    FIGURES.append(
        f"[{app.config['BACKEND']}] sell-out race on one night (quota {QUOTA} cut to {CUT_TO}, limit {LIMIT}, "
        f"monthly holders): answers {sorted(f'{c} {r}: {n}' for (c, r), n in answers.items())}; "
        f"final {sorted(f'{s.value}: {n}' for s, n in statuses.items())}"
    )
