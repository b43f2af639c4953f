"""The garage rule "a household may hold at most N monthly passes at once" (default: no limit),
kept by the database when a household's members subscribe at the same moment, on the SQLite file
database and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from parking import clock
from parking.extensions import db as _db
from parking.monthly.models import MonthlyOffer, Subscription
from tests.concurrency_helpers import race
from tests.conftest import FIGURES
from tests.monthly_helpers import DECEMBER


def _garage_with_offers(factory, templates: int, **rules):
    garage = factory.garage(**rules)
    offers = []
    for i in range(templates):
        template = factory.template(garage, name=f"Window {i + 1}", default_quota=10)
        offer = MonthlyOffer(
            garage_id=garage.id,
            template_id=template.id,
            fee=Decimal("300.00"),
            monthly_share=Decimal("1"),
            sale_starts_on=date(2026, 12, 1),
            active=True,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        _db.session.add(offer)
        offers.append(template)
    _db.session.commit()
    return garage, offers


def _subscribe(client, factory, user, template, plate, month=DECEMBER):
    body = {"template_id": template.id, "month": month, "plate": plate}
    return client.post("/api/v1/subscriptions", json=body, headers=factory.headers(user))


def test_a_household_holds_at_most_the_garages_monthly_passes_at_once(client, factory, db):
    garage, templates = _garage_with_offers(factory, 3, monthly_passes_per_household=2)
    household = factory.household(garage, members=2, plates=3)
    user, plates = household.members[0], [v.plate for v in household.vehicles]
    assert _subscribe(client, factory, user, templates[0], plates[0]).status_code == 201
    assert _subscribe(client, factory, household.members[1], templates[1], plates[1]).status_code == 201
    third = _subscribe(client, factory, user, templates[2], plates[2])
    assert third.status_code == 409 and third.json["error"] == "monthly_pass_limit", third.json
    assert third.json["details"] == {"limit": 2}
    assert _subscribe(client, factory, user, templates[2], plates[2], month="2027-01").status_code in (201, 422)
    # Another household of the garage is not affected.
    other = factory.household(garage, plates=1)
    assert _subscribe(client, factory, other.members[0], templates[2], other.vehicles[0].plate).status_code == 201


def test_by_default_there_is_no_limit_on_monthly_passes(client, factory, db):
    garage, templates = _garage_with_offers(factory, 3)
    household = factory.household(garage, plates=3)
    user = household.members[0]
    for template, vehicle in zip(templates, household.vehicles, strict=True):
        assert _subscribe(client, factory, user, template, vehicle.plate).status_code == 201


def test_the_limit_holds_when_a_households_members_subscribe_at_the_same_moment(app, factory, db):
    limit, attempts = 2, 5
    garage, templates = _garage_with_offers(factory, attempts, monthly_passes_per_household=limit)
    household = factory.household(garage, members=attempts, plates=attempts)
    calls = [
        (
            lambda client, h=factory.headers(member), t=template.id, p=vehicle.plate: client.post(
                "/api/v1/subscriptions", json={"template_id": t, "month": DECEMBER, "plate": p}, headers=h
            )
        )
        for member, template, vehicle in zip(household.members, templates, household.vehicles, strict=True)
    ]
    db.session.commit()
    responses = race(app, calls)
    outcomes = Counter(r.status_code if r.status_code == 201 else r.json["error"] for r in responses)
    assert outcomes == {201: limit, "monthly_pass_limit": attempts - limit}, outcomes
    db.session.expire_all()
    held = db.session.scalar(
        sa.select(sa.func.count()).select_from(Subscription).where(Subscription.household_id == household.id)
    )
    assert held == limit
    FIGURES.append(
        f"[{app.config['BACKEND']}] monthly pass limit {limit}: {attempts} members of one household subscribing at "
        f"once: {dict(outcomes)}; held={held}"
    )
