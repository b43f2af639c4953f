"""The pages' foundation without a browser: CSRF on every form, no session cookie on the API,
HTML error pages for people and JSON for the API, safe redirects, remembered language."""

from __future__ import annotations

import re

from parking.auth.models import User
from parking.extensions import db


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(client):
    response = client.post("/register", data={"name": "王", "phone": "13912345678", "password": "long-enough"})
    assert response.status_code == 400
    assert "已失效" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_the_same_form_with_its_token_registers(client):
    token = _csrf(client, "/register")
    response = client.post(
        "/register", data={"csrf_token": token, "name": "王", "phone": "13912345678", "password": "long-enough"}
    )
    assert response.status_code == 302
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_the_api_never_sets_or_reads_the_session_cookie(client, factory):
    factory.user(phone="13900000009")
    token = _csrf(client, "/login")
    signed_in = client.post("/login", data={"csrf_token": token, "phone": "13900000009", "password": "password123"})
    assert signed_in.status_code == 302 and "session=" in signed_in.headers.get("Set-Cookie", "")
    me = client.get("/api/v1/me")  # the browser sends its session cookie: the API ignores it
    assert me.status_code == 401
    assert "Set-Cookie" not in me.headers
    assert "Set-Cookie" not in client.get("/api/v1/garages").headers


def test_people_get_an_html_error_page_and_the_api_json(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.content_type.startswith("text/html")
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"
    script = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert script.get_json()["error"] == "not_found"


def test_login_never_redirects_off_site(client, factory):
    factory.user(phone="13900000008")
    for target in ["https://evil.example/", "//evil.example/x", "/\\evil.example"]:
        token = _csrf(client, "/login")
        response = client.post(
            "/login?next=" + target, data={"csrf_token": token, "phone": "13900000008", "password": "password123"}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/home"
        client.post("/logout", data={"csrf_token": _csrf(client, "/logout")})


def test_pages_send_a_content_security_policy_without_inline_scripts(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy


def test_a_password_change_ends_existing_sessions(client, factory):
    user = factory.user(phone="13900000007")
    token = _csrf(client, "/login")
    client.post("/login", data={"csrf_token": token, "phone": "13900000007", "password": "password123"})
    assert client.get("/home").status_code == 200
    db.session.get(User, user.id).token_version += 1
    db.session.commit()
    assert client.get("/home").status_code == 302


def test_behind_a_proxy_cookies_are_secure_and_the_client_address_is_the_forwarded_one(tmp_path):
    from flask import request

    from config import TestConfig
    from parking import create_app

    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI="sqlite://",
        INSTANCE_PATH=tmp_path,
        PROXY_FIX_HOPS=1,
        SESSION_COOKIE_SECURE=True,
    )
    seen = {}

    @app.get("/_probe")
    def probe():
        seen["addr"], seen["scheme"] = request.remote_addr, request.scheme
        return "ok"

    client = app.test_client()
    client.get("/_probe", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}
    login = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in login.headers["Set-Cookie"]


def test_the_language_switch_is_a_form_button_that_posts_and_remembers_the_account_choice(client, factory):
    user = factory.user(phone="13900000006")
    factory.browser(client, user)
    page = client.get("/home").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/lang">', page)
    assert '<button type="submit" name="code" value="en" lang="en">English</button>' in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    switched = client.post("/lang", data={"csrf_token": token, "code": "en", "next": "/home"})
    assert switched.status_code == 302 and switched.headers["Location"] == "/home"
    assert "lang=en" in switched.headers["Set-Cookie"]
    assert db.session.scalar(db.select(User.locale).where(User.id == user.id)) == "en"
    assert '<html lang="en">' in client.get("/home").get_data(as_text=True)
    assert client.post("/lang", data={"code": "zh", "next": "/home"}).status_code == 400  # no CSRF token


def test_a_language_link_changes_only_this_browser(client, factory):
    user = factory.user(phone="13900000005")
    factory.browser(client, user)
    followed = client.get("/lang/en?next=/home")
    assert followed.status_code == 302 and "lang=en" in followed.headers["Set-Cookie"]
    assert db.session.scalar(db.select(User.locale).where(User.id == user.id)) == "zh"
    assert client.get("/home").get_data(as_text=True).startswith('<!doctype html>\n<html lang="en">')


def test_each_refusal_names_its_field_itself_and_no_page_module_keeps_a_list_of_them():
    """The page puts a refusal beside the field the refusal names: declared with the exception (or
    beside the message of a reason raised without a class), never in a list page modules edit."""
    import parking.web.pages as pages
    from parking.errors import Conflict, PlateNotVerified
    from parking.garages.admin_services import CapacityBelowQuota
    from parking.monthly.services import ReceiptUsed

    assert not hasattr(pages, "REASON_FIELDS")
    assert (PlateNotVerified().field, CapacityBelowQuota().field, ReceiptUsed().field) == (
        "plate",
        "capacity",
        "receipt_number",
    )
    assert Conflict(reason="phone_taken").field == "phone"
    assert Conflict(reason="window_full").field is None  # said above the form
    assert Conflict(reason="window_full", field="plate").field == "plate"


def test_each_page_module_owns_its_blueprint(app):
    """No page module attaches routes to another module's blueprint. The manager's pages are one
    blueprint split into a package by page: its modules attach to the package's blueprint only."""
    import sys

    from parking.web import PAGE_BLUEPRINTS

    owners: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint in PAGE_BLUEPRINTS:
            view_module = app.view_functions[rule.endpoint].__module__
            module = sys.modules[view_module]
            assert module.bp.name == blueprint, (rule.rule, view_module)
            home = module.bp.import_name  # the module that defines the blueprint
            package = home.rpartition(".")[0]
            assert view_module == home or (package != "parking.web" and view_module.startswith(package + ".")), (
                rule.rule,
                view_module,
            )
            owners.setdefault(blueprint, set()).add(home)
    assert all(len(modules) == 1 for modules in owners.values()), owners


def test_local_times_come_from_one_helper():
    """A naive UTC instant (as SQLite gives it back) and an aware one read the same on the garage's
    clock, and a local day begins at its local midnight."""
    from datetime import UTC, date, datetime

    from parking import clock
    from parking.web.words import hour_minute

    aware, naive = datetime(2026, 12, 1, 11, 0, tzinfo=UTC), datetime(2026, 12, 1, 11, 0)
    assert clock.local(aware, "Asia/Shanghai") == clock.local(naive, "Asia/Shanghai")
    assert hour_minute(naive, "Asia/Shanghai") == "19:00" and hour_minute(None, "Asia/Shanghai") == ""
    assert clock.local_midnight(date(2026, 12, 2), "Asia/Shanghai") == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert clock.local_date(datetime(2026, 12, 1, 16, 0, tzinfo=UTC), "Asia/Shanghai") == date(2026, 12, 2)
