"""Scope of every manager endpoint: the garage's managers and admins act; the manager of another
garage gets 403/404; attendants and residents get 403; anonymous callers 401. Denied calls change
nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from parking.audit.models import AuditEvent
from parking.households.models import HouseholdState
from parking.quotas.models import QuotaOverride


def _override(ctx, n):
    day = ctx["day"]
    override = QuotaOverride(
        garage_id=ctx["garage"].id,
        template_id=ctx["template"].id,
        start_date=day,
        end_date=day,
        quota=50,
        reason=f"scoping {n}",
        source="manual",
        created_at=ctx["now"],
    )
    from parking.extensions import db

    db.session.add(override)
    db.session.commit()
    return override.id


def _household(ctx, n):
    return ctx["factory"].household(ctx["garage"], state=HouseholdState.PENDING).id


# (name, method, path(ctx, n), body(ctx), allowed status). `n` numbers the allowed caller (0, 1) so
# that each gets its own object where the call consumes one.
ENDPOINTS = [
    ("templates.list", "GET", lambda c, n: f"/garages/{c['gid']}/templates", None, 200),
    (
        "templates.create",
        "POST",
        lambda c, n: f"/garages/{c['gid']}/templates",
        lambda c: {
            "name": "Evening",
            "weekdays": [1, 2],
            "start_time": "18:00",
            "end_time": "23:00",
            "default_quota": 5,
        },
        201,
    ),
    ("templates.get", "GET", lambda c, n: f"/garages/{c['gid']}/templates/{c['tid']}", None, 200),
    (
        "templates.patch",
        "PATCH",
        lambda c, n: f"/garages/{c['gid']}/templates/{c['tid']}",
        lambda c: {"name": "Renamed"},
        200,
    ),
    ("overrides.list", "GET", lambda c, n: f"/garages/{c['gid']}/overrides", None, 200),
    (
        "overrides.create",
        "POST",
        lambda c, n: f"/garages/{c['gid']}/overrides",
        lambda c: {
            "template_id": c["tid"],
            "start_date": c["day"].isoformat(),
            "end_date": c["day"].isoformat(),
            "quota": 40,
            "reason": "peak",
        },
        201,
    ),
    ("overrides.delete", "DELETE", lambda c, n: f"/garages/{c['gid']}/overrides/{_override(c, n)}", None, 200),
    (
        "overrides.holidays",
        "POST",
        lambda c, n: f"/garages/{c['gid']}/overrides/holidays",
        lambda c: {"year": 2026, "quota": 50},
        201,
    ),
    ("reports.nights", "GET", lambda c, n: f"/garages/{c['gid']}/reports/nights", None, 200),
    ("reports.nights.csv", "GET", lambda c, n: f"/garages/{c['gid']}/reports/nights?format=csv", None, 200),
    ("audit.garage", "GET", lambda c, n: f"/audit?garage_id={c['gid']}", None, 200),
    (
        "households.verify",
        "POST",
        lambda c, n: f"/households/{_household(c, n)}/verify",
        lambda c: {"decision": "verified"},
        200,
    ),
]
# Denied statuses per caller. Verification answers 404 to callers who are not staff of the garage
# at all (they learn nothing about the household); everything else answers 403.
DENIED = {
    "other_manager": {403, 404},
    "attendant": {403},
    "resident": {403, 404},
}


@pytest.fixture
def ctx(factory, db):
    from parking import clock

    window = factory.window(quota=60)
    garage = window.garage
    other_garage = factory.window(quota=60).garage
    return {
        "factory": factory,
        "garage": garage,
        "template": window.template,
        "gid": garage.id,
        "tid": window.template_id,
        "day": window.service_date,
        "now": clock.now(),
        "manager": factory.manager(garage),
        "admin": factory.admin(),
        "other_garage": other_garage,
        "other_manager": factory.manager(other_garage),
        "attendant": factory.attendant(garage),
        "resident": factory.resident(garage)[0],
    }


def _call(client, factory, user, method, path, body):
    headers = factory.headers(user) if user is not None else {}
    return client.open(f"/api/v1{path}", method=method, json=body, headers=headers)


@pytest.mark.parametrize(("name", "method", "path", "body", "allowed"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_manager_endpoint_scope(client, factory, db, ctx, name, method, path, body, allowed):
    payload = body(ctx) if body else None
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    for who, codes in DENIED.items():
        response = _call(client, factory, ctx[who], method, path(ctx, 9), payload)
        assert response.status_code in codes, (name, who, response.status_code, response.get_data(as_text=True))
        assert response.is_json
    anonymous = _call(client, factory, None, method, path(ctx, 9), payload)
    assert anonymous.status_code == 401 and anonymous.is_json
    # Denied callers changed nothing (the objects the path builders made write no audit event).
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events
    for n, who in enumerate(("manager", "admin")):
        response = _call(client, factory, ctx[who], method, path(ctx, n), payload)
        assert response.status_code == allowed, (name, who, response.status_code, response.get_data(as_text=True))


def test_verification_queue_lists_only_the_managers_garages(client, factory, ctx):
    mine = factory.household(ctx["garage"], state=HouseholdState.PENDING)
    other_garage_household = factory.household(ctx["other_garage"], state=HouseholdState.PENDING)
    seen = _call(client, factory, ctx["manager"], "GET", "/households?state=pending", None).json
    ids = {h["id"] for h in seen}
    assert mine.id in ids and other_garage_household.id not in ids
    for who in ("attendant", "resident"):
        assert _call(client, factory, ctx[who], "GET", "/households?state=pending", None).status_code == 403
    admin_ids = {h["id"] for h in _call(client, factory, ctx["admin"], "GET", "/households?state=pending", None).json}
    assert {mine.id, other_garage_household.id} <= admin_ids


def test_unknown_garage_is_404_for_managers_and_admins(client, factory, ctx):
    for who in ("manager", "admin"):
        response = _call(client, factory, ctx[who], "GET", "/garages/999999/templates", None)
        assert response.status_code == 404 and response.json["error"] == "not_found"
