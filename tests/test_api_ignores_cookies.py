"""The API's caller is its bearer token alone. Every /api route of the URL map, sent the session and
remember cookies of a signed-in resident or admin and no token, answers exactly as it answers a
stranger: never a 500, never as that person, and it sets no cookie."""

from __future__ import annotations

import re

from parking.auth.models import Role

PASSWORD = "password123"


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _page_cookies(app, user) -> dict[str, str]:
    browser = app.test_client()
    data = {"csrf_token": _csrf(browser, "/login"), "phone": user.phone, "password": PASSWORD, "remember": "y"}
    assert browser.post("/login", data=data).status_code == 302
    assert browser.get("/home" if user.role == Role.RESIDENT else "/account").status_code == 200
    return {name: browser.get_cookie(name).value for name in ("session", "remember_token")}


def _api_requests(app, ids: dict[str, int]):
    """(method, path) for every rule under /api, its parameters filled with real ids (else 1)."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not (rule.rule == "/api" or rule.rule.startswith("/api/")):
            continue
        values = {name: ids.get(name, 1) for name in rule.arguments}
        if "filename" in values:
            values["filename"] = "swagger-ui.css"
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def _call(app, method: str, path: str, cookies: dict[str, str]):
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    kwargs = {} if method == "GET" else {"json": {}}
    response = client.open(path, method=method, **kwargs)
    response.get_data()  # read, then let go of a file the response streams
    response.close()
    return response


def test_every_api_route_ignores_the_session_and_remember_cookies(app, factory):
    window = factory.window(quota=5)
    resident, plate = factory.resident(window.garage)
    booking = factory.booking(window, user=resident, plate=plate)
    admin = factory.admin()
    household = resident.household
    ids = {
        "garage_id": window.garage_id,
        "template_id": window.template_id,
        "window_id": window.id,
        "booking_id": booking.id,
        "household_id": household.id,
        "vehicle_id": household.vehicles[0].id,
        "user_id": resident.id,
    }
    signed_in = [_page_cookies(app, resident), _page_cookies(app, admin)]
    requests = list(_api_requests(app, ids))
    assert len(requests) > 60  # the whole API, not a sample

    refused = 0
    for method, path in requests:
        stranger = _call(app, method, path, {})
        for cookies in signed_in:
            response = _call(app, method, path, cookies)
            said = f"{method} {path}: {response.status_code} {response.get_data(as_text=True)[:200]}"
            assert response.status_code != 500, said
            assert response.status_code == stranger.status_code, said
            assert "Set-Cookie" not in response.headers, said
            if response.is_json and stranger.is_json:
                assert response.json == stranger.json, said
        refused += stranger.status_code == 401
    assert refused > 40  # the protected routes said "please sign in" to the cookies


def test_the_printable_pass_needs_a_token_even_with_the_remember_cookie(app, client, factory):
    window = factory.window(quota=5)
    resident, plate = factory.resident(window.garage)
    booking = factory.booking(window, user=resident, plate=plate)
    cookies = _page_cookies(app, resident)
    path = f"/api/v1/bookings/{booking.id}/pass.html"
    assert _call(app, "GET", path, {"remember_token": cookies["remember_token"]}).status_code == 401
    assert _call(app, "GET", path, cookies).status_code == 401
    headers = factory.headers(resident)
    assert client.get(path, headers=headers).status_code == 200
