"""Redis unreachable: the rate limits fall back to per-process memory, sign-in, registration and
booking keep working, the fallback is logged at most once a minute, and the limits return to
Redis once it answers again. Against the real Redis of this machine (each test with its own key
prefix, deleting only its own keys), a port where nothing listens, and a listener that accepts
connections and never answers."""

from __future__ import annotations

import logging
import os
import re
import secrets
import time

import pytest
import redis

from config import Config, TestConfig
from parking import clock, create_app
from parking.extensions import OncePerInterval, limiter
from parking.extensions import db as _db
from tests.conftest import T0
from tests.faults_helpers import BlackHole, TcpProxy, closed_port

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def real_redis():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"REQUIRE_REDIS is set but no Redis answers at {REDIS_URL}")
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    prefix = f"test-faults-{secrets.token_hex(6)}"
    yield client, prefix
    for key in client.scan_iter(match=f"{prefix}:*"):  # only this test's keys; never FLUSHDB
        client.delete(key)
    client.close()


def _app(tmp_path, storage_uri: str, prefix: str = "test-faults", limit: str = "5/minute"):
    app = create_app(
        TestConfig,
        RATELIMIT_ENABLED=True,
        RATELIMIT_AUTH=limit,
        RATELIMIT_LOGIN_FAILURES=limit,
        RATELIMIT_STORAGE_URI=storage_uri,
        RATELIMIT_STORAGE_OPTIONS={**Config.RATELIMIT_STORAGE_OPTIONS, "key_prefix": prefix},
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'redis-faults.db'}",
        INSTANCE_PATH=tmp_path,
    )
    with app.app_context():
        _db.create_all()
    return app


@pytest.fixture
def fresh_limiter():
    """The limiter is one object per process: each test starts with its storage taken for alive
    and an empty fallback memory."""

    def reset() -> None:
        limiter._storage_dead = False
        limiter._storage_options.pop("key_prefix", None)  # options accumulate across apps
        fallback = getattr(limiter, "_fallback_storage", None)  # made by the first app with limits on
        if fallback is not None:
            fallback.reset()

    reset()
    clock.set_now(T0)
    yield
    reset()
    clock.set_now(None)


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _sign_in_register_and_book(app) -> list[int]:
    """Registration (API and page), sign-in (API and the /login form) and a booking: the codes."""
    from tests.factories import Factory

    with app.app_context():
        factory = Factory(app)
        window = factory.window()
        user, plate = factory.resident(window.garage)
        phone, window_id = user.phone, window.id
        headers = factory.headers(user)
    client = app.test_client()
    codes = [
        client.post(
            "/api/v1/auth/register", json={"phone": "13800000001", "password": "s3cret-pass", "name": "李"}
        ).status_code,
        client.post("/api/v1/auth/token", json={"phone": phone, "password": "password123"}).status_code,
        client.post(
            "/register",
            data={
                "csrf_token": _csrf(client, "/register"),
                "name": "王",
                "phone": "13800000002",
                "password": "long-pass",
            },
        ).status_code,
    ]
    page = app.test_client()
    codes.append(
        page.post(
            "/login", data={"csrf_token": _csrf(page, "/login"), "phone": phone, "password": "password123"}
        ).status_code
    )
    codes.append(
        client.post("/api/v1/bookings", json={"window_id": window_id, "plate": plate}, headers=headers).status_code
    )
    return codes


def _limiter_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "flask-limiter" and r.levelno >= logging.WARNING]


def test_with_nothing_listening_at_the_redis_url_people_still_sign_in_register_and_book(
    tmp_path, fresh_limiter, caplog
):
    app = _app(tmp_path, f"redis://127.0.0.1:{closed_port()}/0")
    caplog.set_level(logging.INFO)
    assert _sign_in_register_and_book(app) == [201, 200, 302, 302, 201]

    # The limits still hold, in this process's memory: five failed sign-ins from one address (each
    # for another phone, so that no phone's own lock-out answers first), then a 429.
    client = app.test_client()
    codes = [
        client.post("/api/v1/auth/token", json={"phone": f"1390000009{i}", "password": "wrong"}).status_code
        for i in range(6)
    ]
    assert codes == [401] * 5 + [429]  # the sign-ins that succeeded before counted nothing
    # Told once, not once per request.
    assert len(_limiter_warnings(caplog)) == 1
    assert "falling back to in-memory" in _limiter_warnings(caplog)[0].getMessage()


def test_with_redis_up_the_limits_are_counted_there_and_people_sign_in_register_and_book(
    tmp_path, fresh_limiter, real_redis, caplog
):
    client_redis, prefix = real_redis
    app = _app(tmp_path, REDIS_URL, prefix)
    caplog.set_level(logging.INFO)
    assert _sign_in_register_and_book(app) == [201, 200, 302, 302, 201]

    def counted() -> list[int]:
        return sorted(int(client_redis.get(key) or 0) for key in client_redis.scan_iter(match=f"{prefix}:*"))

    assert counted() == [2]  # two registrations, API and page together; sign-ins that succeed count nothing
    client = app.test_client()
    assert client.post("/api/v1/auth/token", json={"phone": "13900000098", "password": "wrong"}).status_code == 401
    assert counted() == [1, 1, 2]  # a failure counts for its address and for its phone, in Redis
    assert not _limiter_warnings(caplog)


def test_a_redis_that_accepts_and_never_answers_does_not_hold_up_sign_in(tmp_path, fresh_limiter):
    hole = BlackHole()
    try:
        app = _app(tmp_path, f"redis://127.0.0.1:{hole.port}/0", limit="50/minute")
        client = app.test_client()
        with app.app_context():
            from tests.factories import Factory

            user = Factory(app).user()
            phone = user.phone
        for _ in range(4):
            started = time.monotonic()
            response = client.post("/api/v1/auth/token", json={"phone": phone, "password": "password123"})
            took = time.monotonic() - started
            assert response.status_code == 200, response.json
            assert took < 2.0, f"sign-in took {took:.2f} s"
        started = time.monotonic()
        assert _sign_in_register_and_book(app) == [201, 200, 302, 302, 201]
        assert time.monotonic() - started < 2.0 * 6
    finally:
        hole.close()


def test_limits_live_in_redis_and_return_there_within_a_minute_of_it_coming_back(
    tmp_path, fresh_limiter, real_redis, caplog
):
    client_redis, prefix = real_redis
    host, port = (
        client_redis.connection_pool.connection_kwargs["host"],
        client_redis.connection_pool.connection_kwargs["port"],
    )
    proxy = TcpProxy((host, port))
    caplog.set_level(logging.INFO)
    try:
        app = _app(tmp_path, f"redis://127.0.0.1:{proxy.port}/0", prefix)
        client = app.test_client()

        def attempt() -> int:
            return client.post("/api/v1/auth/token", json={"phone": "13900000077", "password": "x"}).status_code

        def counted_in_redis() -> int:
            return sum(int(client_redis.get(key) or 0) for key in client_redis.scan_iter(match=f"{prefix}:*"))

        assert attempt() == 401
        base = counted_in_redis()
        assert base >= 1  # the failure counters live in Redis

        proxy.cut()  # Redis "restarts"
        assert [attempt() for _ in range(3)] == [401, 401, 401]  # counted in memory meanwhile
        assert counted_in_redis() == base

        proxy.restore()
        started = time.monotonic()
        while counted_in_redis() == base and time.monotonic() - started < 60:
            assert attempt() in (401, 403, 429)  # 403: the phone's own lock-out, counted in memory
            time.sleep(0.25)  # requests keep arriving; the limiter re-checks Redis between them
        back_after = time.monotonic() - started
        assert counted_in_redis() > base, "the limits did not return to Redis within a minute"
        assert any("recovered" in r.getMessage() for r in caplog.records if r.name == "flask-limiter")
        from tests.conftest import FIGURES

        FIGURES.append(f"rate limits back in Redis {back_after:.1f} s after it returned (promise: < 60 s)")
    finally:
        proxy.close()


def test_storage_trouble_is_logged_at_most_once_a_minute():
    now = [1000.0]
    throttle = OncePerInterval(60, clock=lambda: now[0])
    logger = logging.getLogger("test-faults-throttle")

    def record(level=logging.WARNING, msg="Rate limit storage unreachable - falling back to in-memory storage"):
        return logger.makeRecord(logger.name, level, __file__, 1, msg, (), None)

    assert throttle.filter(record())
    assert not throttle.filter(record())
    assert not throttle.filter(record(logging.ERROR, "Failed to rate limit. Swallowing error"))
    assert throttle.filter(record(logging.INFO, "Rate limit storage recovered"))  # rare, always told
    now[0] += 59.9
    assert not throttle.filter(record())
    now[0] += 0.2
    again = record()
    assert throttle.filter(again)
    assert "3 similar messages held back" in again.getMessage()
