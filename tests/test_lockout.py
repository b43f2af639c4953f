"""Login protection: per-phone failures lock password sign-in (a database row, 15 minutes doubling
up to a day), a failures-only per-address limit, both shared by the page and the API; audited as
user:<id>; lifted by an admin, or a manager for their garage's residents and attendants."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.auth.models import LoginLockout
from tests.conftest import FIGURES, T0

PASSWORD = "password123"  # tests.factories


def token(client, phone, password, addr="203.0.113.1"):
    return client.post(
        "/api/v1/auth/token", json={"phone": phone, "password": password}, environ_base={"REMOTE_ADDR": addr}
    )


def fail(client, phone, times, addr="203.0.113.1"):
    return [token(client, phone, "wrong-password", addr) for _ in range(times)]


def csrf_of(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)[1]


def page_login(client, phone, password, lang="zh"):
    client.set_cookie("lang", lang)
    return client.post("/login", data={"phone": phone, "password": password, "csrf_token": csrf_of(client, "/login")})


def test_five_failures_lock_the_phone_and_even_the_right_password_waits_until_the_end(client, factory, db):
    user = factory.user()
    answers = fail(client, user.phone, 5)
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 403]
    assert answers[-1].json["error"] == "login_locked"
    assert answers[-1].json["details"]["locked_until"] == clock.as_utc(T0 + timedelta(minutes=15)).isoformat()
    assert answers[-1].headers["Retry-After"] == "900"

    refused = token(client, user.phone, PASSWORD)
    assert (refused.status_code, refused.json["error"]) == (403, "login_locked")
    clock.advance(timedelta(minutes=14, seconds=59))
    assert token(client, user.phone, PASSWORD).headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    assert token(client, user.phone, PASSWORD).status_code == 200
    rows = db.session.scalars(sa.select(LoginLockout)).all()
    assert [(r.user_id, r.level) for r in rows] == [(user.id, 1)]


def test_a_hundred_wrong_passwords_from_a_hundred_addresses_lock_after_five(client, factory):
    user = factory.user()
    codes = [token(client, user.phone, "nope-nope", f"198.51.{i // 250}.{i % 250 + 1}").status_code for i in range(100)]
    assert codes[:4] == [401] * 4
    assert set(codes[4:]) == {403}
    assert token(client, user.phone, PASSWORD, "192.0.2.77").json["error"] == "login_locked"


def test_the_lock_out_schedule_doubles_up_to_a_day(app, client, factory):
    user = factory.user()
    minutes = []
    for _ in range(9):
        answer = fail(client, user.phone, 5)[-1]
        assert answer.json["error"] == "login_locked"
        seconds = int(answer.headers["Retry-After"])
        minutes.append(seconds // 60)
        clock.advance(timedelta(seconds=seconds))
        assert token(client, user.phone, PASSWORD).status_code == 200
    assert minutes == [15, 30, 60, 120, 240, 480, 960, 1440, 1440]
    # A day without a lock-out: back to the first rung.
    clock.advance(timedelta(hours=24))
    answer = fail(client, user.phone, 5)[-1]
    assert answer.headers["Retry-After"] == "900"
    FIGURES.append(
        f"login lock-outs in a row ({app.config['BACKEND']}, minutes, measured): "
        + ", ".join(map(str, minutes))
        + "; after a quiet day: 15"
    )


def test_a_lock_out_never_ends_an_existing_session_or_token(client, factory):
    user = factory.user()
    bearer = token(client, user.phone, PASSWORD).json["access_token"]
    assert page_login(client, user.phone, PASSWORD).status_code == 302
    fail(client, user.phone, 5)
    assert token(client, user.phone, PASSWORD).status_code == 403
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"}).status_code == 200
    home = client.get("/")
    assert home.status_code == 302 and "/login" not in home.headers["Location"]
    assert client.get(home.headers["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("zh", ["密码错误次数太多", "12月1日 10:15", "车库管理员"]),
        ("en", ["Too many wrong passwords", "1 December 10:15", "garage manager can lift"]),
    ],
)
def test_the_page_and_the_api_share_the_counters_and_the_page_says_until_when(client, factory, lang, said):
    user = factory.user()
    fail(client, user.phone, 2)
    pages = [page_login(client, user.phone, "wrong-password", lang) for _ in range(3)]
    assert [p.status_code for p in pages] == [401, 401, 403]
    text = pages[-1].get_data(as_text=True)
    for words in said:
        assert words in text
    assert token(client, user.phone, PASSWORD).json["error"] == "login_locked"
    api = token(client, user.phone, PASSWORD)
    assert api.json["message"]  # in the caller's language too
    en = client.post(
        "/api/v1/auth/token", json={"phone": user.phone, "password": PASSWORD}, headers={"Accept-Language": "en"}
    )
    assert "1 December 10:15" in en.json["message"]


def test_failures_and_lock_outs_are_audited_on_the_user_without_phone_or_password(client, factory, db):
    garage = factory.garage()
    user, _ = factory.resident(garage)
    fail(client, user.phone, 5)
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    mine = [e for e in events if e.action.startswith("user.") and e.action != "user.created"]
    assert [e.action for e in mine] == ["user.login_failed"] * 5 + ["user.locked_out"]
    assert {(e.object_type, e.object_id, e.garage_id) for e in mine} == {("user", user.id, garage.id)}
    assert mine[-1].after["level"] == 1 and mine[-1].after["minutes"] == 15
    dumped = json.dumps([[e.before, e.after, e.reason] for e in mine], ensure_ascii=False)
    assert user.phone not in dumped and "wrong-password" not in dumped and PASSWORD not in dumped


def test_an_unknown_phone_is_answered_alike_but_locks_and_audits_nothing(client, db):
    answers = fail(client, "13700000001", 8)
    assert {a.status_code for a in answers} == {401}
    assert {a.json["error"] for a in answers} == {"bad_credentials"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginLockout)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def lift(client, factory, actor, user):
    return client.delete(f"/api/v1/users/{user.id}/lockout", headers=factory.headers(actor))


def test_an_admin_lifts_any_lock_out_a_manager_only_their_garages_residents_and_attendants(client, factory, db):
    garage, other = factory.garage(), factory.garage()
    manager, admin = factory.manager(garage), factory.admin()
    resident, _ = factory.resident(garage)
    stranger, _ = factory.resident(other)
    attendant, colleague = factory.attendant(garage), factory.manager(garage)
    for person in (resident, stranger, attendant, colleague):
        fail(client, person.phone, 5)

    assert lift(client, factory, manager, stranger).status_code == 403
    assert lift(client, factory, manager, colleague).status_code == 403
    assert lift(client, factory, factory.attendant(garage), resident).status_code == 403
    shown = client.get(f"/api/v1/users/{resident.id}/lockout", headers=factory.headers(manager))
    assert shown.status_code == 200 and shown.json["level"] == 1
    lifted = lift(client, factory, manager, resident)
    assert lifted.status_code == 200 and lifted.json["lifted_by_id"] == manager.id
    assert lift(client, factory, manager, attendant).status_code == 200
    for person in (stranger, colleague):
        assert lift(client, factory, admin, person).status_code == 200
    again = lift(client, factory, admin, resident)
    assert (again.status_code, again.json["error"]) == (404, "not_locked_out")
    assert client.get(f"/api/v1/users/{resident.id}/lockout", headers=factory.headers(admin)).status_code == 404
    for person in (resident, stranger, attendant, colleague):
        assert token(client, person.phone, PASSWORD).status_code == 200
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.lockout_lifted")).all()
    assert sorted((e.object_id, e.actor_id) for e in events) == sorted(
        [(resident.id, manager.id), (attendant.id, manager.id), (stranger.id, admin.id), (colleague.id, admin.id)]
    )


def test_a_lifted_lock_out_starts_the_ladder_again(client, factory):
    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    fail(client, resident.phone, 5)
    assert lift(client, factory, manager, resident).status_code == 200
    assert fail(client, resident.phone, 5)[-1].headers["Retry-After"] == "900"


def test_the_manager_lifts_a_lock_out_on_the_people_page(client, factory, db):
    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    fail(client, resident.phone, 5)
    assert page_login(client, manager.phone, PASSWORD).status_code == 302
    page = client.get("/manage/people").get_data(as_text=True)
    assert "10:15" in page and resident.name in page
    lifted = client.post(f"/manage/people/{resident.id}/lift", data={"csrf_token": csrf_of(client, "/manage/people")})
    assert lifted.status_code == 302
    assert "10:15" not in client.get("/manage/people").get_data(as_text=True)
    assert token(client, resident.phone, PASSWORD).status_code == 200


# -- with the rate limiter on: the counters live in its storage --------------------------------------


@pytest.fixture
def limited(tmp_path):
    """An app with rate limits on (the shared test app has them off), on a file SQLite database."""
    from config import TestConfig
    from parking import create_app
    from parking.extensions import db, limiter

    was_enabled = limiter.enabled

    def make(**overrides):
        app = create_app(
            TestConfig,
            RATELIMIT_ENABLED=True,
            INSTANCE_PATH=tmp_path,
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}",
            **overrides,
        )
        with app.app_context():
            db.create_all()
        return app

    yield make
    limiter.enabled = was_enabled


def _user_in(app):
    from tests.factories import Factory

    with app.app_context():
        user = Factory(app).user()
        return user.phone


def test_with_limits_on_the_failures_sit_in_the_limiters_storage_and_only_failures_count_per_address(limited):
    from limits import parse

    from parking.auth import lockout
    from parking.extensions import limiter

    app = limited(RATELIMIT_LOGIN_FAILURES="10 per 15 minutes")
    phone = _user_in(app)
    client = app.test_client()
    # Thirty good sign-ins from one carrier address never use up its budget …
    assert {token(client, phone, PASSWORD, "10.9.9.9").status_code for _ in range(30)} == {200}
    with app.test_request_context():
        key = lockout._key(phone)
        fail(client, phone, 3, "10.9.9.9")
        assert limiter.limiter.get_window_stats(parse("5 per 15 minutes"), *key).remaining == 2
        assert phone not in "/".join(key)
    # … but failures do, across phones: 3 above, 7 more here, then 429 for the address.
    codes = [token(client, f"1370000{i:04d}", "x", "10.9.9.9").status_code for i in range(8)]
    assert codes == [401] * 7 + [429]
    assert token(client, phone, PASSWORD, "10.9.9.10").status_code == 200  # another address is unaffected


def test_with_limits_on_a_hundred_addresses_still_lock_the_phone_after_five(limited):
    app = limited()
    phone = _user_in(app)
    client = app.test_client()
    codes = [token(client, phone, "nope-nope", f"100.64.{i}.1").status_code for i in range(100)]
    assert codes[:4] == [401] * 4 and set(codes[4:]) == {403}
    with app.app_context():
        from parking.extensions import db

        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginLockout)) == 1


def test_with_redis_the_counters_live_there_under_a_hashed_key_and_the_lock_out_is_a_row(limited):
    redis = pytest.importorskip("redis")
    server = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    server.ping()  # Redis runs beside the suite (CI and here); a missing server is a failure, not a skip
    prefix = f"wt-lockout-test-{uuid.uuid4().hex}"
    app = limited(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", RATELIMIT_KEY_PREFIX=prefix)
    phone = _user_in(app)
    client = app.test_client()
    try:
        fail(client, phone, 3)
        keys = server.keys(f"*{prefix}*")
        assert keys and all(phone.encode() not in key for key in keys)
        assert [a.status_code for a in fail(client, phone, 2)] == [401, 403]
        assert token(client, phone, PASSWORD).json["error"] == "login_locked"
        with app.app_context():
            from parking.extensions import db

            assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginLockout)) == 1
    finally:
        for key in server.keys(f"*{prefix}*"):
            server.delete(key)


def test_many_wrong_passwords_at_once_open_exactly_one_lock_out(app, client, factory, db):
    from tests.concurrency_helpers import race

    user = factory.user()
    phone = user.phone
    db.session.commit()
    answers = race(app, [lambda c: token(c, phone, "wrong-password")] * 12)
    codes = sorted(a.status_code for a in answers)
    # Requests already past the lock-out check when it opened still answer 401 (a wrong password
    # either way); what must hold is one lock-out, not one per request that saw the window full.
    assert set(codes) == {401, 403}
    rows = db.session.scalars(sa.select(LoginLockout)).all()
    assert len(rows) == 1 and rows[0].level == 1
    assert token(client, phone, PASSWORD).json["error"] == "login_locked"
