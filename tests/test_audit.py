"""GET /audit: filters, pagination (X-Pagination header), managers see their garages only."""

from __future__ import annotations

import json
from datetime import timedelta

from parking import clock
from tests.manager_helpers import api, assert_error


def override(client, factory, manager, window, quota):
    day = window.service_date.isoformat()
    return api(
        client,
        factory,
        manager,
        "POST",
        f"/garages/{window.garage_id}/overrides",
        json={
            "template_id": window.template_id,
            "start_date": day,
            "end_date": day,
            "quota": quota,
            "reason": f"set to {quota}",
        },
    )


def test_manager_filters_by_object_and_sees_before_after_and_reason(client, factory):
    window = factory.window(quota=3)
    manager = factory.manager(window.garage)
    override(client, factory, manager, window, 5)
    response = api(client, factory, manager, "GET", f"/audit?object=window:{window.id}")
    assert response.status_code == 200, response.json
    (event,) = response.json
    assert event["object"] == f"window:{window.id}"
    assert event["action"] == "window.quota_changed"
    assert event["before"]["quota"] == 3 and event["after"]["quota"] == 5
    assert event["reason"] == "set to 5"
    assert event["actor"] == {"id": manager.id, "name": manager.name, "role": "manager"}
    assert set(event) >= {"id", "at", "actor", "action", "object", "before", "after", "reason"}


def test_filters_by_actor_and_time_range(client, factory):
    window = factory.window(quota=3)
    manager = factory.manager(window.garage)
    other_manager = factory.manager(window.garage)
    start = clock.now()
    override(client, factory, manager, window, 4)
    clock.advance(timedelta(hours=1))
    middle = clock.now()
    override(client, factory, other_manager, window, 5)

    mine = api(client, factory, other_manager, "GET", f"/audit?actor={manager.id}").json
    assert mine and all(e["actor"]["id"] == manager.id for e in mine)
    later = api(client, factory, manager, "GET", f"/audit?from={middle.isoformat().replace('+', '%2B')}").json
    assert later and all(e["actor"]["id"] == other_manager.id for e in later)
    earlier = api(
        client,
        factory,
        manager,
        "GET",
        f"/audit?from={start.isoformat().replace('+', '%2B')}&to={middle.isoformat().replace('+', '%2B')}",
    ).json
    assert earlier and all(e["actor"]["id"] == manager.id for e in earlier)


def test_results_are_paginated_newest_first_with_metadata_in_the_header(client, factory):
    window = factory.window(quota=3)
    manager = factory.manager(window.garage)
    for quota in range(4, 9):
        override(client, factory, manager, window, quota)
    first = api(client, factory, manager, "GET", f"/audit?object=window:{window.id}&page_size=2")
    meta = json.loads(first.headers["X-Pagination"])
    assert meta["total"] == 5 and meta["total_pages"] == 3 and meta["next_page"] == 2
    assert [e["after"]["quota"] for e in first.json] == [8, 7]
    last = api(client, factory, manager, "GET", f"/audit?object=window:{window.id}&page_size=2&page=3")
    assert [e["after"]["quota"] for e in last.json] == [4]


def test_managers_see_only_their_garages_and_admins_see_all(client, factory):
    mine = factory.window(quota=3)
    theirs = factory.window(quota=3)
    manager = factory.manager(mine.garage)
    other = factory.manager(theirs.garage)
    override(client, factory, manager, mine, 4)
    override(client, factory, other, theirs, 4)
    seen = api(client, factory, manager, "GET", "/audit").json
    assert seen and {e["garage_id"] for e in seen} == {mine.garage_id}
    assert api(client, factory, manager, "GET", f"/audit?object=window:{theirs.id}").json == []
    admin_seen = api(client, factory, factory.admin(), "GET", "/audit?page_size=200").json
    assert {e["garage_id"] for e in admin_seen} >= {mine.garage_id, theirs.garage_id}


def test_residents_and_attendants_may_not_read_the_audit_and_bad_filters_are_422(client, factory):
    window = factory.window(quota=3)
    resident, _ = factory.resident(window.garage)
    attendant = factory.attendant(window.garage)
    assert_error(api(client, factory, resident, "GET", "/audit"), 403, "forbidden")
    assert_error(api(client, factory, attendant, "GET", "/audit"), 403, "forbidden")
    assert client.get("/api/v1/audit").status_code == 401
    manager = factory.manager(window.garage)
    for query in (
        "object=window",
        "object=window:abc",
        "object=:1",
        "object=" + "x" * 100,
        "actor=0",
        "actor=abc",
        "from=yesterday",
        "page=0",
        "page=99999999999999999999",
        "page_size=1000",
        "from=2026-12-02T00:00:00%2B08:00&to=2026-12-01T00:00:00%2B08:00",
    ):
        response = api(client, factory, manager, "GET", f"/audit?{query}")
        assert response.status_code == 422 and response.is_json, (query, response.status_code)
