"""The database unreachable: a 503 with Retry-After everywhere (JSON under /api, a page in the
reader's language elsewhere, the language never asked of the database), never a 500; the first
request after the database returns succeeds; /healthz and /readyz."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from config import TestConfig
from parking import create_app
from parking.extensions import db as _db

#: Two databases that are not there: PostgreSQL at a port where nothing listens, and an SQLite
#: file in a folder that does not exist.
UNREACHABLE = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/x",
    "sqlite": "sqlite:////nonexistent-folder-of-the-faults-test/parking.db",
}


@pytest.fixture(params=sorted(UNREACHABLE))
def dead_app(request, tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=UNREACHABLE[request.param], INSTANCE_PATH=tmp_path)
    yield app
    with app.app_context():
        _db.engine.dispose()


def _signed_in(client, user_id: int = 1) -> None:
    """A browser holding a session cookie from before the outage."""
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:1:{'ab' * 16}"
        session["_fresh"] = True


def _assert_unavailable_json(response, language: str = "zh") -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert int(response.headers["Retry-After"]) > 0
    body = response.json
    assert body["code"] == 503 and body["status"] == "Service Unavailable"
    assert body["error"] == "service_unavailable"
    if language == "en":
        assert body["message"] == "The service is unavailable for a moment. Please try again in a minute."
    else:
        assert body["message"] == "服务暂时用不了，请过一分钟再试。"


def _assert_unavailable_page(response, language: str) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    if language == "en":
        assert '<html lang="en">' in page
        assert "The service is unavailable for a moment." in page
    else:
        assert '<html lang="zh-CN">' in page
        assert "服务暂时用不了" in page


def test_the_api_answers_503_with_retry_after_in_the_callers_language(dead_app):
    client = dead_app.test_client()
    _assert_unavailable_json(client.get("/api/v1/garages"))
    _assert_unavailable_json(client.get("/api/v1/garages", headers={"Accept-Language": "en-GB,en;q=0.9"}), "en")
    sign_in = client.post("/api/v1/auth/token", json={"phone": "13912345678", "password": "s3cret-pass"})
    _assert_unavailable_json(sign_in)
    booking = client.post(
        "/api/v1/bookings", json={"window_id": 1, "plate": "沪A12345"}, headers={"Authorization": "Bearer x.y"}
    )
    assert booking.status_code in (401, 503)  # an unreadable token is refused before any query


def test_signed_in_pages_answer_a_503_page_in_the_readers_language_without_asking_the_database(dead_app):
    client = dead_app.test_client()
    _signed_in(client)
    for path in ("/home", "/nights", "/household", "/bookings", "/"):
        _assert_unavailable_page(client.get(path), "zh")
        _assert_unavailable_page(client.get(path, headers={"Accept-Language": "en"}), "en")
    client.set_cookie("lang", "en")  # the language switch, remembered: it wins over the browser's
    _assert_unavailable_page(client.get("/nights", headers={"Accept-Language": "zh-CN"}), "en")
    page = client.get("/nights").get_data(as_text=True)
    assert 'href="/nights"' in page  # "try again" leads back to the same page


def test_the_login_form_answers_a_503_page_not_a_500(dead_app):
    client = dead_app.test_client()
    login = client.get("/login")
    assert login.status_code in (200, 503)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.get_data(as_text=True))
    data = {"phone": "13912345678", "password": "s3cret-pass", "csrf_token": token.group(1) if token else ""}
    _assert_unavailable_page(client.post("/login", data=data, headers={"Accept-Language": "en"}), "en")


def test_no_route_answers_500_while_the_database_is_down(dead_app):
    """Every GET route of the URL map (ids filled with 1), anonymous and signed in."""
    anonymous, signed_in = dead_app.test_client(), dead_app.test_client()
    _signed_in(signed_in)
    checked = 0
    for rule in dead_app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        path = rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]
        for client in (anonymous, signed_in):
            response = client.get(path)
            response.close()  # a file sent as it is (the service worker) is closed with its response
            assert response.status_code != 500, f"{path}: {response.get_data(as_text=True)[:200]}"
            if response.status_code == 503:
                assert "Retry-After" in response.headers, path
            checked += 1
    assert checked > 60


def test_healthz_says_the_process_is_alive_and_readyz_that_it_cannot_serve(dead_app):
    client = dead_app.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "Retry-After" in ready.headers
    assert ready.json["ready"] is False
    assert ready.json["database"] == "down"
    assert ready.json["redis"] == "not_configured"
    assert ready.json["error"] == "not_ready"


# --- /readyz against a database that answers ------------------------------------------------


def _migrated_app(tmp_path, **overrides):
    from flask_migrate import upgrade

    app = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrated.db'}", INSTANCE_PATH=tmp_path, **overrides
    )
    with app.app_context():
        upgrade()
    return app


def test_readyz_is_ready_at_the_migrations_head_and_not_behind_it(tmp_path):
    from flask_migrate import stamp

    from parking.health import migration_heads

    app = _migrated_app(tmp_path)
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json == {
        "ready": True,
        "database": "ok",
        "migrations": "head",
        "redis": "not_configured",
        "delivery_backlog": 0,  # notifications due to the garages' gateways, not yet sent
    }
    with app.app_context():
        (head,) = migration_heads()
        from alembic.script import ScriptDirectory

        previous = ScriptDirectory(str(app.config["BASE_DIR"] / "migrations")).get_revision(head).down_revision
        stamp(revision=previous)
    behind = client.get("/readyz")
    assert behind.status_code == 503
    assert behind.json["database"] == "ok" and behind.json["migrations"] == "behind"
    with app.app_context():
        _db.engine.dispose()


def test_readyz_is_not_ready_on_a_schema_that_migrations_never_built(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'bare.db'}", INSTANCE_PATH=tmp_path)
    with app.app_context():
        _db.create_all()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["migrations"] == "behind"
    with app.app_context():
        _db.engine.dispose()


def test_readyz_reports_redis_without_depending_on_it(tmp_path):
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed = probe.getsockname()[1]
    probe.close()
    app = _migrated_app(tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{closed}/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 200  # the limits fall back to memory: still ready
    assert response.json["redis"] == "down"
    with app.app_context():
        _db.engine.dispose()


# --- PostgreSQL: backends terminated under a running app ------------------------------------


def _terminate_backends(engine: sa.Engine) -> int:
    """Ends every other connection to this test's own database (the server keeps running), and
    waits (up to 5 s each) until each backend has gone, as a restarted server's have."""
    with engine.connect() as conn:
        ended = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    return int(ended)


@pytest.fixture
def pg_app(app):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("terminating backends is a PostgreSQL fault")
    return app


def _resident_client(app, factory):
    window = factory.window()
    user, _ = factory.resident(window.garage)
    client = app.test_client()
    factory.browser(client, user)
    return client, factory.headers(user)


def test_the_first_request_after_the_backends_are_terminated_succeeds(pg_app, factory):
    client, headers = _resident_client(pg_app, factory)
    assert client.get("/nights").status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    _db.session.remove()
    admin = sa.create_engine(pg_app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    try:
        assert _terminate_backends(admin) >= 1
    finally:
        admin.dispose()
    # No restart: the pool notices the dead connections before it hands them out.
    assert client.get("/nights").status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_a_connection_cut_under_a_request_is_a_503_and_the_next_request_succeeds(pg_app, factory, tmp_path):
    client_of_fixture, headers = _resident_client(pg_app, factory)
    cookie = client_of_fixture.get_cookie("session")
    # The same database without the check at checkout: a cut connection fails in the middle of the work.
    raw = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=pg_app.config["SQLALCHEMY_DATABASE_URI"],
        DATABASE_CHECK_AT_CHECKOUT=False,
        INSTANCE_PATH=tmp_path,
    )
    client = raw.test_client()
    client.set_cookie("session", cookie.value)
    _db.session.remove()
    try:
        assert client.get("/nights").status_code == 200
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        admin = sa.create_engine(pg_app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
        try:
            assert _terminate_backends(admin) >= 1
            _assert_unavailable_page(client.get("/nights", headers={"Accept-Language": "en"}), "en")
            assert client.get("/nights").status_code == 200  # the next one reconnects
            assert _terminate_backends(admin) >= 1
            _assert_unavailable_json(client.get("/api/v1/me", headers=headers))
        finally:
            admin.dispose()
        assert client.get("/nights").status_code == 200
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    finally:
        with raw.app_context():
            _db.session.remove()
            _db.engine.dispose()


def test_a_database_host_that_never_answers_is_a_503_within_seconds_not_a_held_worker(tmp_path):
    import time

    from tests.faults_helpers import BlackHole

    hole = BlackHole()
    try:
        app = create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{hole.port}/x",
            DATABASE_CONNECT_TIMEOUT_SECONDS=2,
            INSTANCE_PATH=tmp_path,
        )
        client = app.test_client()
        for path in ("/api/v1/garages", "/readyz"):
            started = time.monotonic()
            response = client.get(path)
            assert response.status_code == 503, path
            assert "Retry-After" in response.headers
            assert time.monotonic() - started < 4, path
        with app.app_context():
            _db.engine.dispose()
    finally:
        hole.close()


def test_a_pool_with_no_connection_to_spare_is_a_503_not_a_500(app, tmp_path):
    busy = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2},
        INSTANCE_PATH=tmp_path,
    )
    client = busy.test_client()
    with busy.app_context():
        held = _db.engine.connect()  # another request holding the only connection
        try:
            _assert_unavailable_json(client.get("/api/v1/garages", headers={"Accept-Language": "en"}), "en")
        finally:
            held.close()
        assert client.get("/api/v1/garages").status_code == 200
        _db.session.remove()  # the requests ran in this app context and share its session
        _db.engine.dispose()


def test_postgresql_gone_and_back_503_while_away_and_the_first_request_after_succeeds(pg_app, factory, tmp_path):
    """PostgreSQL stops (every connection cut, new ones refused) and starts again: simulated by a
    relay in front of the shared server, which keeps running."""
    from sqlalchemy.engine import make_url

    from tests.faults_helpers import TcpProxy

    fixture_client, headers = _resident_client(pg_app, factory)
    cookie = fixture_client.get_cookie("session")
    _db.session.remove()
    url = make_url(pg_app.config["SQLALCHEMY_DATABASE_URI"])
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    relayed = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        INSTANCE_PATH=tmp_path,
    )
    client = relayed.test_client()
    client.set_cookie("session", cookie.value)
    try:
        assert client.get("/nights").status_code == 200
        assert client.get("/readyz").json["database"] == "ok"
        proxy.cut()
        for _ in range(3):
            _assert_unavailable_page(client.get("/nights", headers={"Accept-Language": "en"}), "en")
            _assert_unavailable_json(client.get("/api/v1/me", headers=headers))
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
        proxy.restore()
        assert client.get("/nights").status_code == 200  # the very first request, no restart
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    finally:
        proxy.close()
        with relayed.app_context():
            _db.engine.dispose()
