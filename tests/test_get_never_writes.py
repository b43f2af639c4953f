"""A GET never writes: every GET route of the URL map, pages and API, asked by each role (nobody, a
resident, an attendant, a manager, an administrator), sends no INSERT, UPDATE or DELETE to the
database. Nights the tide has not created yet are shown computed from their template, passes are
signed when shown, and the language switch is a POST."""

from __future__ import annotations

import re
from datetime import time

import sqlalchemy as sa
from flask import Flask, url_for

from parking import clock
from parking.extensions import db as _db
from tests.monthly_helpers import offered, subscribe
from tests.statement_helpers import sent

WRITES = ("INSERT", "UPDATE", "DELETE")

#: Before this test, 16 GET routes wrote: the pass pages and images (10, the garage's signing key on
#: first use), the JWKS and the gate's offline material (the key), the language link (the user's
#: row), and the window listing, /nights and /manage (nights made on demand).


def _writes(statement: str) -> bool:
    words = re.findall(r"[A-Z]+", statement.upper())
    head = words[0] if words else ""
    return head in WRITES or (head == "WITH" and any(word in WRITES for word in words))


def writes():
    """The INSERT, UPDATE and DELETE statements sent while the block runs (a WITH … INSERT too)."""
    return sent(_writes)


def _get_rules(app: Flask) -> list:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())),
        key=lambda rule: rule.rule,
    )


def _world(client, factory):
    """A garage selling a monthly pass, with a second template whose nights the tide has not made
    yet, a resident holding a night's booking and the month, and one staff member of each role."""
    setup = offered(factory, quota=5)
    garage = setup.garage
    late = factory.template(garage, name="Late", default_quota=3)  # no windows: the tide has not run
    window = factory.window(template=factory.template(garage, name="Day", start_time=time(12), end_time=time(18)))
    user, plate = factory.resident(garage, plates=2)
    booking = factory.booking(window, user=user, plate=plate)
    month = subscribe(client, factory, user, setup, user.household.vehicles[1].plate)
    assert month.status_code == 201, month.get_json()
    from parking.monthly.models import Subscription

    subscription = _db.session.scalar(sa.select(Subscription).where(Subscription.household_id == user.household_id))
    args = {
        "garage_id": garage.id,
        "template_id": late.id,
        "booking_id": booking.id,
        "window_id": window.id,
        "subscription_id": subscription.id,
        "household_id": user.household_id,
        "user_id": user.id,
        "service_date": (clock.local_date(clock.now(), garage.timezone)).isoformat(),
        "code": "en",
        "filename": "css/app.css",
    }
    people = {
        "anonymous": None,
        "resident": user,
        "attendant": factory.attendant(garage),
        "manager": setup.manager,
        "admin": factory.admin(),
    }
    return args, people


def _put_back(template_id: int) -> None:
    """After a route that wrote, the next one meets the same world: the nights the tide has not
    made are missing again (a finding per route, not only for the first route that wrote)."""
    from parking.garages.models import Window

    _db.session.execute(sa.delete(Window).where(Window.template_id == template_id))
    _db.session.commit()


def test_no_get_route_writes_to_the_database_whoever_asks(app, factory):
    clients = {role: app.test_client() for role in ("anonymous", "resident", "attendant", "manager", "admin")}
    args, people = _world(clients["anonymous"], factory)
    headers = {}
    for role, person in people.items():
        if person is not None:
            factory.browser(clients[role], person)
            headers[role] = factory.headers(person)
    rules = _get_rules(app)
    assert len(rules) > 80  # every route of the map, not a hand-picked few
    wrote: dict[str, list[str]] = {}
    for rule in rules:
        values = {name: args[name] for name in rule.arguments}
        if rule.endpoint == "docs_assets.asset":
            values["filename"] = "swagger-ui.css"
        with app.test_request_context():
            path = url_for(rule.endpoint, **values)
        for role, client in clients.items():
            with writes() as seen:
                response = client.get(path, headers=headers.get(role, {}))
            response.close()
            assert response.status_code != 500, (role, path)
            if seen:
                wrote.setdefault(rule.rule, []).append(f"{role}: {seen[0].splitlines()[0][:100]}")
                _put_back(args["template_id"])
    assert wrote == {}, "\n".join(f"{rule} → {who}" for rule, who in wrote.items())
