"""Where sign-ins end. Logout ends this browser's sign-in on the server (a copied session or remember
cookie stops working) and no other; a password change and "sign out everywhere" end every browser
and bearer token of the user; POST /api/v1/auth/logout ends the one token it carries."""

from __future__ import annotations

import re
from datetime import timedelta

from flask_login.utils import encode_cookie
from itsdangerous import URLSafeTimedSerializer

from parking import clock
from parking.audit.models import AuditEvent
from parking.auth import tokens
from parking.auth.models import RevokedToken, Role, User, UserSession

PASSWORD = "password123"


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _sign_in(client, user, remember: bool = True) -> None:
    data = {"csrf_token": _csrf(client, "/login"), "phone": user.phone, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 302


def _cookies(client) -> dict[str, str]:
    return {name: client.get_cookie(name).value for name in ("session", "remember_token") if client.get_cookie(name)}


def _with_cookies(app, cookies: dict[str, str]):
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def _signed_in(client) -> bool:
    return client.get("/home").status_code == 200


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(client, user, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", json={"phone": user.phone, "password": password})
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def _logout(client):
    return client.post("/logout", data={"csrf_token": _csrf(client, "/logout")})


# -- one browser's logout ---------------------------------------------------------------------------


def test_after_logout_a_copied_session_cookie_and_a_copied_remember_cookie_no_longer_open_home(app, client, factory):
    user = factory.user(role=Role.RESIDENT)
    _sign_in(client, user)
    copied = _cookies(client)
    assert set(copied) == {"session", "remember_token"}
    assert _signed_in(_with_cookies(app, copied))
    assert _signed_in(_with_cookies(app, {"remember_token": copied["remember_token"]}))

    assert _logout(client).status_code == 302

    assert not _signed_in(client)
    assert not _signed_in(_with_cookies(app, copied))
    assert not _signed_in(_with_cookies(app, {"session": copied["session"]}))
    assert not _signed_in(_with_cookies(app, {"remember_token": copied["remember_token"]}))


def test_logout_on_one_phone_leaves_the_other_phone_signed_in(app, factory, db):
    user = factory.user(role=Role.RESIDENT)
    first, second = app.test_client(), app.test_client()
    _sign_in(first, user)
    _sign_in(second, user)
    assert db.session.scalar(db.select(db.func.count()).select_from(UserSession)) == 2

    _logout(first)

    assert not _signed_in(first)
    assert _signed_in(second)
    assert db.session.scalar(db.select(db.func.count()).select_from(UserSession)) == 1


def test_a_residents_logout_clears_the_kept_pass_pages_and_a_staff_logout_keeps_the_gate_queue(app, factory):
    garage = factory.garage()
    resident, attendant = factory.user(role=Role.RESIDENT), factory.attendant(garage)
    resident_browser, gate_browser = app.test_client(), app.test_client()
    _sign_in(resident_browser, resident)
    _sign_in(gate_browser, attendant)
    assert _logout(resident_browser).headers["Clear-Site-Data"] == '"cache", "storage"'
    # The gate station's scans made offline wait in the browser's storage until they are uploaded.
    assert _logout(gate_browser).headers["Clear-Site-Data"] == '"cache"'


def test_cookies_from_before_sign_ins_had_ids_are_refused(app, client, factory):
    user = factory.user(role=Role.RESIDENT)
    _sign_in(client, user, remember=False)
    assert _signed_in(client)
    old_style = f"{user.id}:{user.token_version}"
    with client.session_transaction() as session:
        session["_user_id"] = old_style
    assert not _signed_in(client)
    assert not _signed_in(_with_cookies(app, {"remember_token": encode_cookie(old_style)}))


# -- every browser and token at once ------------------------------------------------------------------


def test_a_password_change_keeps_this_browser_and_ends_every_other_browser_and_token(app, factory, db):
    user = factory.user(role=Role.RESIDENT)
    here, elsewhere = app.test_client(), app.test_client()
    _sign_in(here, user)
    _sign_in(elsewhere, user)
    copied = _cookies(here)
    token = _token(here, user)

    response = here.post(
        "/account/password",
        data={
            "csrf_token": _csrf(here, "/account"),
            "current_password": PASSWORD,
            "password": "a-new-secret-9",
            "password_again": "a-new-secret-9",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/account"

    assert _signed_in(here)
    assert not _signed_in(elsewhere)
    assert not _signed_in(_with_cookies(app, copied))  # this browser's old cookies went with the old password
    assert here.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    # Kept on this phone as before: the new remember cookie alone opens the home page.
    assert _signed_in(_with_cookies(app, {"remember_token": here.get_cookie("remember_token").value}))
    assert here.post("/api/v1/auth/token", json={"phone": user.phone, "password": PASSWORD}).status_code == 401
    _token(here, user, "a-new-secret-9")
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "user.password_changed"))
    assert (event.object_type, event.object_id, event.actor_id) == ("user", user.id, user.id)
    assert user.phone not in str(event.before) + str(event.after) and "secret" not in str(event.after)


def test_a_wrong_current_password_is_refused_beside_its_field_and_changes_nothing(app, factory, db):
    user = factory.user(role=Role.RESIDENT)
    here, elsewhere = app.test_client(), app.test_client()
    _sign_in(here, user)
    _sign_in(elsewhere, user)
    hash_before = db.session.get(User, user.id).password_hash

    response = here.post(
        "/account/password",
        data={
            "csrf_token": _csrf(here, "/account"),
            "current_password": "not-my-password",
            "password": "a-new-secret-9",
            "password_again": "a-new-secret-9",
        },
    )

    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert re.search(r'id="current_password-error"[^>]*>.*现在的密码不对', page)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == hash_before
    assert _signed_in(here) and _signed_in(elsewhere)


def test_two_different_new_passwords_are_refused_beside_the_second(client, factory):
    user = factory.user(role=Role.RESIDENT)
    _sign_in(client, user)
    response = client.post(
        "/account/password",
        data={
            "csrf_token": _csrf(client, "/account"),
            "current_password": PASSWORD,
            "password": "a-new-secret-9",
            "password_again": "a-new-secret-8",
        },
    )
    assert response.status_code == 422
    assert re.search(r'id="password_again-error"[^>]*>.*两次输入的新密码不一样', response.get_data(as_text=True))
    assert _signed_in(client)


def test_sign_out_everywhere_asks_first_then_ends_every_browser_and_token(app, factory, db):
    user = factory.user(role=Role.RESIDENT)
    here, elsewhere = app.test_client(), app.test_client()
    _sign_in(here, user)
    _sign_in(elsewhere, user)
    token = _token(here, user)

    confirm = here.get("/account/sign-out-everywhere")
    assert confirm.status_code == 200 and _signed_in(here)

    response = here.post(
        "/account/sign-out-everywhere", data={"csrf_token": _csrf(here, "/account/sign-out-everywhere")}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'

    assert not _signed_in(here) and not _signed_in(elsewhere)
    assert here.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    assert db.session.scalar(db.select(db.func.count()).select_from(UserSession)) == 0
    actions = db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.object_id == user.id)).all()
    assert "user.signed_out_everywhere" in actions


def test_every_role_reaches_its_account_page_from_the_menu(app, factory):
    garage = factory.garage()
    for user in (factory.user(role=Role.RESIDENT), factory.attendant(garage), factory.manager(garage), factory.admin()):
        browser = app.test_client()
        _sign_in(browser, user)
        page = browser.get("/account")
        assert page.status_code == 200
        assert 'href="/account"' in page.get_data(as_text=True)


# -- the API ---------------------------------------------------------------------------------------


def test_api_logout_ends_only_the_token_it_carries(client, factory):
    user = factory.user()
    first, second = _token(client, user), _token(client, user)
    assert first != second

    assert client.post("/api/v1/auth/logout", headers=_bearer(first)).status_code == 204

    assert client.get("/api/v1/me", headers=_bearer(first)).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=_bearer(first)).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(second)).status_code == 200


def test_an_ended_token_is_forgotten_once_it_would_have_expired(app, client, factory, db):
    user = factory.user()
    ended = _token(client, user)
    ended_jti = tokens.read(ended).jti
    client.post("/api/v1/auth/logout", headers=_bearer(ended))
    assert db.session.scalar(db.select(db.func.count()).select_from(RevokedToken)) == 1
    clock.set_now(clock.now() + timedelta(seconds=app.config["TOKEN_TTL_SECONDS"] + 60))
    client.post("/api/v1/auth/logout", headers=_bearer(_token(client, user)))
    jtis = db.session.scalars(db.select(RevokedToken.jti)).all()
    assert len(jtis) == 1 and jtis[0] != ended_jti


def test_api_password_change_needs_the_current_password_and_answers_a_new_token(client, factory, db):
    user = factory.user()
    old = _token(client, user)
    other = _token(client, user)

    wrong = client.post(
        "/api/v1/me/password", json={"current_password": "nope", "password": "a-new-secret-9"}, headers=_bearer(old)
    )
    assert wrong.status_code == 403 and wrong.json["error"] == "wrong_password"
    assert client.get("/api/v1/me", headers=_bearer(old)).status_code == 200

    short = client.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "password": "x"}, headers=_bearer(old)
    )
    assert short.status_code == 422 and "password" in short.json["errors"]

    done = client.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "password": "a-new-secret-9"}, headers=_bearer(old)
    )
    assert done.status_code == 200 and done.json["token_type"] == "Bearer"
    assert client.get("/api/v1/me", headers=_bearer(old)).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(other)).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(done.json["access_token"])).status_code == 200


def test_api_sign_out_everywhere_ends_every_token_and_browser(app, client, factory):
    user = factory.user(role=Role.RESIDENT)
    browser = app.test_client()
    _sign_in(browser, user)
    first, second = _token(client, user), _token(client, user)

    assert client.post("/api/v1/me/sign-out-everywhere", headers=_bearer(first)).status_code == 204

    assert client.get("/api/v1/me", headers=_bearer(first)).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(second)).status_code == 401
    assert not _signed_in(browser)


def test_a_token_without_an_id_is_refused(app, client, factory):
    user = factory.user()
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="parking.api-token.v1")
    old_style = serializer.dumps({"u": user.id, "v": user.token_version})
    assert client.get("/api/v1/me", headers=_bearer(old_style)).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(_token(client, user))).status_code == 200
