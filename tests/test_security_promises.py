"""The promises about cookies, forms and headers, read from the running app built from the
production `Config` (not the tests' config): a form's CSRF token lives at least 20 h, the cookies are
HttpOnly and SameSite=Lax (and Secure, with HSTS, behind HTTPS), and the API and its docs page are
never sniffed or framed."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from werkzeug.security import generate_password_hash

from config import Config
from parking import clock, create_app
from parking.auth.models import Role, User
from parking.extensions import db

PHONE, PASSWORD = "13900000001", "password123"


def _app(tmp_path, **overrides):
    app = create_app(
        Config,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'promises.db'}",
        INSTANCE_PATH=tmp_path,
        SECRET_KEY="promises-secret",
        **overrides,
    )
    with app.app_context():
        db.create_all()
        db.session.add(
            User(
                phone=PHONE,
                name="王",
                role=Role.RESIDENT,
                password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),
                created_at=clock.now(),
            )
        )
        db.session.commit()
    return app


@pytest.fixture
def running(tmp_path):
    return _app(tmp_path)


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _set_cookies(response) -> dict[str, str]:
    """Each Set-Cookie header as sent, by cookie name."""
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def _attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


def _csrf_dated(app, client, hours_ago: float) -> str:
    """The form token Flask-WTF would have put in the page `hours_ago` hours back, for this browser."""
    client.get("/login")
    with client.session_transaction() as session:
        raw = session["csrf_token"]

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - hours_ago * 3600)

    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.config["SECRET_KEY"]
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token", signer=Earlier).dumps(raw)


def _login(client, token: str, remember: bool = True):
    data = {"csrf_token": token, "phone": PHONE, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


def test_a_form_token_dated_19_hours_back_is_accepted(running):
    client = running.test_client()
    response = _login(client, _csrf_dated(running, client, 19))
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert client.get("/home").status_code == 200


def test_a_form_token_has_a_limit_all_the_same(running):
    client = running.test_client()
    response = _login(client, _csrf_dated(running, client, 8 * 24))
    assert response.status_code == 400 and "已失效" in response.get_data(as_text=True)


def test_the_session_and_remember_cookies_are_httponly_and_samesite_lax(running):
    client = running.test_client()
    cookies = _set_cookies(_login(client, _csrf(client, "/login")))
    assert set(cookies) >= {"session", "remember_token"}
    for name in ("session", "remember_token"):
        attributes = _attributes(cookies[name])
        assert {"httponly", "samesite=lax", "path=/"} <= attributes, cookies[name]
        assert "secure" not in attributes  # plain http on a LAN still signs in
        assert any(a.startswith("expires=") for a in attributes)  # kept when the browser closes


def test_behind_https_both_cookies_are_secure_and_every_response_sends_hsts(tmp_path):
    app = _app(tmp_path, HTTPS=True)
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # a browser keeps Secure cookies over HTTPS only
    login_page = client.get("/login")
    cookies = _set_cookies(_login(client, _csrf(client, "/login")))
    for name in ("session", "remember_token"):
        assert "secure" in _attributes(cookies[name]), cookies[name]
    for response in (login_page, client.get("/api/v1/garages"), client.get("/api/v1/me"), client.get("/healthz")):
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_without_the_https_switch_no_hsts_is_sent(running):
    client = running.test_client()
    for path in ("/login", "/api/v1/garages"):
        assert "Strict-Transport-Security" not in client.get(path).headers


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/garages",  # JSON
        "/api/v1/me",  # an error in the JSON shape
        "/api/v1/no-such-thing",
        "/api/v1/openapi.json",
        "/api/v1/docs",  # the docs page
        "/api/v1/docs/static/swagger-ui.css",  # its files
    ],
)
def test_the_api_and_its_docs_page_are_never_sniffed_or_framed(running, path):
    response = running.test_client().get(path)
    response.close()  # a file the response streams
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    if response.content_type.startswith("text/html"):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_pages_keep_their_own_policy(running):
    response = running.test_client().get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in response.headers["Content-Security-Policy"]
