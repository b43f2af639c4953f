from __future__ import annotations

from parking.auth.models import User


def register(client, phone="13912345678", password="s3cret-pass", name="张阿姨"):
    return client.post("/api/v1/auth/register", json={"phone": phone, "password": password, "name": name})


def test_register_then_sign_in_then_me(client, db):
    response = register(client)
    assert response.status_code == 201, response.json
    assert response.json["phone"] == "13912345678"
    assert response.json["roles"] == ["resident"]
    assert "password" not in response.json and "password_hash" not in response.json
    user = db.session.scalar(db.select(User))
    assert user.password_hash.startswith("pbkdf2:") or user.password_hash.startswith("scrypt:")
    assert "s3cret-pass" not in user.password_hash

    token = client.post("/api/v1/auth/token", json={"phone": "13912345678", "password": "s3cret-pass"})
    assert token.status_code == 200
    assert token.json["token_type"] == "Bearer"
    assert token.json["expires_in"] > 0
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.json['access_token']}"})
    assert me.status_code == 200
    assert me.json["name"] == "张阿姨"
    assert me.json["household"] is None


def test_phone_must_be_a_mainland_mobile_number(client):
    for phone in ["1391234567", "23912345678", "139123456789", "abc", "", "12012345678"]:
        response = register(client, phone=phone)
        assert response.status_code == 422, phone
        assert response.json["error"] == "validation_error"
        assert "phone" in response.json["errors"]


def test_phone_is_registered_once(client):
    assert register(client).status_code == 201
    again = register(client)
    assert (again.status_code, again.json["error"]) == (409, "phone_taken")


def test_bad_credentials_get_401_with_the_same_reason_for_unknown_phone_and_wrong_password(client):
    register(client)
    wrong = client.post("/api/v1/auth/token", json={"phone": "13912345678", "password": "nope-nope"})
    unknown = client.post("/api/v1/auth/token", json={"phone": "13900000000", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["error"] == unknown.json["error"] == "bad_credentials"


def test_tokens_expire_and_forged_tokens_are_refused(client, app):
    register(client)
    token = client.post("/api/v1/auth/token", json={"phone": "13912345678", "password": "s3cret-pass"}).json
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    forged = {"Authorization": f"Bearer {token['access_token'][:-2]}xx"}
    assert client.get("/api/v1/me", headers=forged).json["error"] == "unauthorized"
    assert client.get("/api/v1/me").status_code == 401
    # itsdangerous reads the real time for max_age: move the issue time back instead.
    real_ttl = app.config["TOKEN_TTL_SECONDS"]
    app.config["TOKEN_TTL_SECONDS"] = -1
    try:
        assert client.get("/api/v1/me", headers=headers).status_code == 401
    finally:
        app.config["TOKEN_TTL_SECONDS"] = real_ttl


def test_bumping_the_token_version_revokes_old_tokens(client, db):
    register(client)
    token = client.post("/api/v1/auth/token", json={"phone": "13912345678", "password": "s3cret-pass"}).json
    user = db.session.scalar(db.select(User))
    user.token_version += 1
    db.session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 401


def test_sign_in_failures_are_rate_limited_per_address(tmp_path):
    from config import TestConfig
    from parking import create_app

    app = create_app(
        TestConfig,
        RATELIMIT_ENABLED=True,
        RATELIMIT_LOGIN_FAILURES="3/minute",
        INSTANCE_PATH=tmp_path,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'rl.db'}",
    )
    from parking.extensions import db

    with app.app_context():
        db.create_all()
    client = app.test_client()
    codes = [
        client.post("/api/v1/auth/token", json={"phone": "13900000000", "password": "x"}).status_code for _ in range(5)
    ]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429
    limited = client.post("/api/v1/auth/token", json={"phone": "13900000000", "password": "x"})
    assert limited.json["error"] == "rate_limited"
    assert "Retry-After" in limited.headers or "X-RateLimit-Reset" in limited.headers


def test_messages_follow_the_callers_language(client):
    zh = client.get("/api/v1/me", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    en = client.get("/api/v1/me", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert zh.json["error"] == en.json["error"] == "unauthorized"
    assert en.json["message"] == "Please sign in."
    assert zh.json["message"] != en.json["message"]
    assert client.get("/api/v1/me?lang=en").json["message"] == "Please sign in."
