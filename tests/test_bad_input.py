"""Every malformed body, query string, id or type gets a 4xx JSON error of the one shape and
changes nothing — never a 500."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parking.extensions import db as _db

HUGE = 10**30
LONG = "x" * 5000


def assert_error_shape(response, status=None):
    assert response.is_json, response.data[:200]
    body = response.json
    assert {"code", "status", "message", "error"} <= set(body), body
    assert body["code"] == response.status_code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["error"], str) and body["error"]
    assert 400 <= response.status_code < 500, body
    if status is not None:
        assert response.status_code == status, body
    if "errors" in body:
        assert isinstance(body["errors"], dict)


def row_counts():
    _db.session.commit()  # the test's own transaction would hold SQLite's write lock
    with _db.engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in _db.metadata.sorted_tables
        }


def _build_world(factory, db):
    window = factory.window(quota=5)
    manager = factory.manager(window.garage)
    user, plate = factory.resident(window.garage)
    booking = factory.booking(window)
    from parking import clock
    from parking.gate import cameras
    from parking.gate.models import CameraDirection

    camera, credential = cameras.register(manager, window.garage_id, "lane 1", CameraDirection.BOTH, clock.now())
    db.session.commit()
    return {
        "camera": {"Authorization": f"Camera {credential}"},
        "camera_id": camera.id,
        "window": window.id,
        "garage": window.garage_id,
        "plate": plate,
        "booking": booking.id,
        "household": user.household_id,
        "vehicle": user.household.vehicles[0].id,
        "resident": factory.headers(user),
        "manager": factory.headers(manager),
    }


def _snapshot():
    """Every row of every table: a test that changed anything at all (not only a count) differs."""
    _db.session.commit()
    with _db.engine.connect() as conn:
        return {t.name: sorted(map(repr, conn.execute(sa.select(t)).all())) for t in _db.metadata.sorted_tables}


# The world is built once per backend for this module and reused while every table still holds
# exactly the rows it was built with; otherwise (a test wrote something, or another test ran in
# between) the database is cleaned and the world rebuilt, so a writing test cannot poison the next.
_WORLDS: dict[str, tuple[tuple[dict, dict], object]] = {}


@pytest.fixture(scope="module", autouse=True)
def _leave_an_empty_database():
    yield
    from tests.conftest import _clean

    for _kept, app in _WORLDS.values():
        _clean(app)
    _WORLDS.clear()


@pytest.fixture
def app(backend_app):
    """conftest's `app`, except that the rows stay for the next test (see _WORLDS)."""
    from tests.conftest import app_at_t0

    with app_at_t0(backend_app, clean=False) as app:
        yield app


@pytest.fixture
def world(app, factory, db):
    from tests.conftest import _clean

    backend = app.config["BACKEND"]
    kept = _WORLDS.get(backend)
    if kept is not None and kept[0][1] == _snapshot():
        return kept[0][0]
    _WORLDS.pop(backend, None)
    _db.session.remove()
    _clean(app)
    built = _build_world(factory, db)
    _WORLDS[backend] = ((built, _snapshot()), app)
    return built


BAD_BODIES = [
    ("POST", "/api/v1/auth/register", None, {"phone": 13912345678, "password": "abcdefgh", "name": "x"}),
    ("POST", "/api/v1/auth/register", None, {"phone": "13912345678", "password": "short", "name": "x"}),
    ("POST", "/api/v1/auth/register", None, {"phone": "13912345678", "password": "abcdefgh", "name": LONG}),
    ("POST", "/api/v1/auth/register", None, {"phone": "13912345678", "password": "abcdefgh", "name": "a\x00b"}),
    (
        "POST",
        "/api/v1/auth/register",
        None,
        {"phone": "13912345678", "password": "abcdefgh", "name": "x", "role": "admin"},
    ),
    ("POST", "/api/v1/auth/token", None, {"phone": "13912345678"}),
    ("POST", "/api/v1/auth/token", None, {"phone": ["13912345678"], "password": "x"}),
    ("POST", "/api/v1/households", "resident", {"garage_id": "1", "building": "1", "unit": "1", "room": "1"}),
    ("POST", "/api/v1/households", "resident", {"garage_id": HUGE, "building": "1", "unit": "1", "room": "1"}),
    ("POST", "/api/v1/households", "resident", {"garage_id": -1, "building": "1", "unit": "1", "room": "1"}),
    ("POST", "/api/v1/households", "resident", {"garage_id": 1, "building": "", "unit": "1", "room": "1"}),
    ("POST", "/api/v1/households", "resident", {"garage_id": 1.5, "building": "1", "unit": "1", "room": "1"}),
    ("POST", "/api/v1/households/{household}/vehicles", "resident", {"plate": None}),
    ("POST", "/api/v1/households/{household}/vehicles", "resident", {"plate": LONG}),
    ("POST", "/api/v1/households/{household}/vehicles", "resident", {"plate": "沪A1234\x00"}),
    ("POST", "/api/v1/households/{household}/members", "resident", {"phone": "12"}),
    ("POST", "/api/v1/households/{household}/verify", "manager", {"decision": "maybe"}),
    ("POST", "/api/v1/households/{household}/verify", "manager", {"decision": "verified", "reason": LONG}),
    ("POST", "/api/v1/vehicles/{vehicle}/verify", "manager", {"decision": True}),
    ("POST", "/api/v1/bookings", "resident", {"window_id": "{window}", "plate": "{plate}"}),
    ("POST", "/api/v1/bookings", "resident", {"window_id": HUGE, "plate": "{plate}"}),
    ("POST", "/api/v1/bookings", "resident", {"window_id": 0, "plate": "{plate}"}),
    ("POST", "/api/v1/bookings", "resident", {"window_id": True, "plate": "{plate}"}),
    ("POST", "/api/v1/bookings", "resident", {"plate": "{plate}"}),
    ("POST", "/api/v1/bookings", "resident", {"window_id": 1, "plate": 12345}),
    ("POST", "/api/v1/bookings", "resident", {"window_id": 1, "plate": "{plate}", "waitlist": "perhaps"}),
    ("POST", "/api/v1/bookings", "resident", {"window_id": 1, "plate": "{plate}", "extra": 1}),
    ("POST", "/api/v1/bookings", "resident", {"window_id": 1, "plate": "{plate}", "waitlist": [1]}),
    ("POST", "/api/v1/bookings/{booking}/cancel", "resident", {"reason": 5}),
    ("POST", "/api/v1/bookings/{booking}/cancel", "resident", {"reason": LONG}),
    *[
        ("POST", "/api/v1/gate/scans/offline", "manager", {"garage_id": "{garage}", "device": "d", "scans": scans})
        for scans in (
            [],
            "not a list",
            [{"idempotency_key": "k", "plate": "{plate}", "direction": "in"}],  # no device time
            [{"idempotency_key": "k", "plate": "{plate}", "direction": "in", "device_time": "2026-12-01T20:00:00"}],
            [
                {
                    "idempotency_key": "k",
                    "plate": "{plate}",
                    "direction": "in",
                    "device_time": "9999-12-31T23:59:59-14:00",
                }
            ],
            [{"idempotency_key": "k", "plate": "{plate}", "direction": "in", "device_time": "yesterday"}],
            [
                {
                    "idempotency_key": "k",
                    "plate": "{plate}",
                    "token": "x",
                    "direction": "in",
                    "device_time": "2026-12-01T20:00:00+08:00",
                }
            ],
            [
                {
                    "idempotency_key": "k",
                    "plate": "{plate}",
                    "direction": "up",
                    "device_time": "2026-12-01T20:00:00+08:00",
                }
            ],
            [
                {
                    "idempotency_key": "k",
                    "plate": "{plate}",
                    "direction": "in",
                    "device_time": "2026-12-01T20:00:00+08:00",
                    "offline_result": "maybe",
                }
            ],
            [
                {
                    "idempotency_key": "k",
                    "plate": "{plate}",
                    "direction": "in",
                    "device_time": "2026-12-01T20:00:00+08:00",
                }
            ]
            * 2,
            [
                {
                    "idempotency_key": f"k{i}",
                    "plate": "{plate}",
                    "direction": "in",
                    "device_time": "2026-12-01T20:00:00+08:00",
                }
                for i in range(501)
            ],
        )
    ],
    ("POST", "/api/v1/gate/scans/offline", "manager", {"garage_id": 1, "scans": []}),
    ("POST", "/api/v1/garages/{garage}/cameras", "manager", {"name": "", "direction": "in"}),
    ("POST", "/api/v1/garages/{garage}/cameras", "manager", {"name": LONG, "direction": "in"}),
    ("POST", "/api/v1/garages/{garage}/cameras", "manager", {"name": "lane 2", "direction": "sideways"}),
    ("POST", "/api/v1/garages/{garage}/cameras", "manager", {"name": "lane 2", "direction": "in", "secret": "mine"}),
    ("POST", "/api/v1/garages/{garage}/cameras", "manager", {"name": "lane 1", "direction": "in"}),  # name taken
    ("POST", "/api/v1/garages/{garage}/cameras", "resident", {"name": "lane 2", "direction": "in"}),
    ("POST", "/api/v1/cameras/{camera_id}/revoke", "manager", {"reason": LONG}),
    ("POST", "/api/v1/cameras/{camera_id}/revoke", "resident", {}),
    *[
        (
            "POST",
            "/api/v1/gate/plate-events",
            "camera",
            {
                "garage_id": "{garage}",
                "camera_id": "{camera_id}",
                "event_id": "e1",
                "plate": "{plate}",
                "direction": "in",
                "confidence": 0.95,
                "captured_at": "2026-12-01T20:00:00+08:00",
                **change,
            },
        )
        for change in (
            {"confidence": 1.5},
            {"confidence": -0.1},
            {"confidence": "high"},
            {"captured_at": "2026-12-01T20:00:00"},
            {"event_id": "e" * 65},
            {"event_id": ""},
            {"plate": None},
            {"plate": LONG},
            {"direction": "both"},
            {"camera_id": 2147483647},  # another camera's id: 403
            {"garage_id": HUGE},
            {"extra": 1},
        )
    ],
    ("POST", "/api/v1/gate/plate-events", "manager", {"garage_id": 1}),
    ("POST", "/api/v1/plate-events/99999/confirm", "manager", {"plate": 5}),
    ("POST", "/api/v1/plate-events/99999/confirm", "manager", {}),
    ("POST", "/api/v1/plate-events/99999/dismiss", "manager", {"reason": LONG}),
    ("POST", "/api/v1/households/{household}/resubmit", "resident", {"building": "1", "unit": "1", "room": "1"}),
    ("POST", "/api/v1/households/{household}/resubmit", "resident", {"building": "🏠", "unit": "1", "room": "1"}),
    ("POST", "/api/v1/households/{household}/resubmit", "resident", {"building": "1", "unit": LONG, "room": "1"}),
    ("POST", "/api/v1/households/{household}/reopen", "manager", {"reason": LONG}),
    ("POST", "/api/v1/households/{household}/reopen", "resident", {}),
    ("POST", "/api/v1/vehicles/{vehicle}/release", "manager", {}),
    ("POST", "/api/v1/vehicles/{vehicle}/release", "manager", {"reason": LONG}),
    ("POST", "/api/v1/vehicles/{vehicle}/release", "resident", {"reason": "sold"}),
    ("PUT", "/api/v1/garages/{garage}/addresses", "manager", {"spec": "1-3, 1 单元"}),
    ("PUT", "/api/v1/garages/{garage}/addresses", "manager", {"spec": "1-100000 号楼, 1 单元, 1 室"}),
    ("PUT", "/api/v1/garages/{garage}/addresses", "manager", {"spec": "x" * 4001}),
    ("PUT", "/api/v1/garages/{garage}/addresses", "resident", {"spec": "1 号楼, 1 单元, 1 室"}),
]


def _fill(value, world):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in world:
        return world[value[1:-1]]
    if isinstance(value, str):
        return value.format(**world) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


@pytest.mark.parametrize(("method", "path", "who", "body"), BAD_BODIES)
def test_bad_bodies_get_a_json_error_and_change_nothing(client, world, method, path, who, body):
    before = row_counts()
    # window_id given as the string form of a real id: strict ints refuse it
    if body.get("window_id") == "{window}":
        body = {**body, "window_id": str(world["window"])}
    response = client.open(
        _fill(path, world), method=method, json=_fill(body, world), headers=world.get(who, {}) if who else {}
    )
    assert_error_shape(response)
    assert response.status_code in (400, 401, 403, 404, 409, 422)
    assert row_counts() == before


RAW_BODIES = [b"", b"{", b"[1, 2]", b"null", b'"text"', b"\xff\xfe", b'{"window_id": NaN}', b"1" * 100]


@pytest.mark.parametrize("raw", RAW_BODIES)
@pytest.mark.parametrize("path", ["/api/v1/bookings", "/api/v1/auth/register", "/api/v1/households"])
def test_malformed_json_gets_a_json_error(client, world, raw, path):
    before = row_counts()
    response = client.post(path, data=raw, headers={**world["resident"], "Content-Type": "application/json"})
    assert_error_shape(response)
    assert row_counts() == before


def test_form_encoded_body_is_refused_cleanly(client, world):
    response = client.post("/api/v1/bookings", data={"window_id": "1"}, headers=world["resident"])
    assert_error_shape(response)


BAD_URLS = [
    ("GET", "/api/v1/bookings/99999999999999999999999", "resident", 404),
    ("GET", "/api/v1/bookings/-1", "resident", 404),
    ("GET", "/api/v1/bookings/abc", "resident", 404),
    ("GET", "/api/v1/bookings/0", "resident", 404),
    ("GET", "/api/v1/bookings/2147483647", "resident", 404),
    ("POST", "/api/v1/bookings/99999999999999999999/cancel", "resident", 404),
    ("GET", "/api/v1/garages/99999999999999999999", None, 404),
    ("GET", "/api/v1/garages/{garage}/windows?from=2026-13-01", None, 422),
    ("GET", "/api/v1/garages/{garage}/windows?from=2026-12-01&to=%00", None, 422),
    ("GET", "/api/v1/bookings?limit=0", "resident", 422),
    ("GET", "/api/v1/bookings?limit=99999999999999999999", "resident", 422),
    ("GET", "/api/v1/bookings?status=parked", "resident", 422),
    ("GET", "/api/v1/bookings?window_id=-5", "resident", 422),
    ("GET", "/api/v1/households?state=unknown", "manager", 422),
    ("GET", "/api/v1/notifications?limit=abc", "resident", 422),
    ("GET", "/api/v1/notifications?before_id=99999999999999999999", "resident", 422),
    ("DELETE", "/api/v1/bookings", "resident", 405),
    ("PUT", "/api/v1/garages", None, 405),
    ("GET", "/api/v1/no-such-thing", None, 404),
    ("GET", "/api/v1/me", None, 401),
    ("GET", "/api/v1/households?state=pending", "resident", 403),
    ("GET", "/api/v1/garages/99999999999/gate-conflicts", "manager", 404),
    ("GET", "/api/v1/garages/{garage}/gate-conflicts", "resident", 403),
    ("GET", "/api/v1/garages/{garage}/plate-events", "resident", 403),
    ("GET", "/api/v1/garages/{garage}/cameras", "resident", 403),
    ("GET", "/api/v1/garages/{garage}/cameras", None, 401),
    ("POST", "/api/v1/cameras/0/revoke", "manager", 404),
    ("POST", "/api/v1/gate/plate-events", "camera", 422),
    ("GET", "/api/v1/gate/plate-events", "camera", 405),
]


@pytest.mark.parametrize(("method", "path", "who", "status"), BAD_URLS)
def test_bad_urls_and_queries_get_a_json_error(client, world, method, path, who, status):
    response = client.open(_fill(path, world), method=method, headers=world.get(who, {}) if who else {})
    assert_error_shape(response, status)


def test_authorization_header_garbage_is_401(client):
    for header in ["Bearer", "Bearer ", "Basic abc", "Bearer \x7f", "Bearer " + "a" * 5000, "Token x.y.z"]:
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert_error_shape(response, 401)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["window_id", "plate", "waitlist", "x"]), json_values, max_size=4))
def test_fuzzed_booking_bodies_never_reach_a_500(client, world, body):
    response = client.post(
        "/api/v1/bookings", data=json.dumps(body), headers={**world["resident"], "Content-Type": "application/json"}
    )
    if response.status_code == 201:
        return  # a lucky valid body
    assert_error_shape(response)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.dictionaries(
        st.sampled_from(["from", "to", "garage_id", "status", "limit", "plate", "offset"]),
        st.text(max_size=30),
        max_size=3,
    )
)
def test_fuzzed_query_strings_never_reach_a_500(client, world, query):
    for path in (f"/api/v1/garages/{world['garage']}/windows", "/api/v1/bookings"):
        response = client.get(path, query_string=query, headers=world["manager"])
        if response.status_code != 200:
            assert_error_shape(response)


def test_a_constraint_that_fires_mid_request_is_a_409_in_the_callers_language_not_a_500(tmp_path):
    """A failed flush leaves the session unusable; rendering the error must not touch it (the
    caller's locale is kept apart from the ORM object)."""
    from config import TestConfig
    from parking import clock, create_app
    from parking.auth import tokens
    from parking.auth.access import current_actor
    from parking.auth.models import User

    app = create_app(TestConfig, INSTANCE_PATH=tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'c.db'}")

    @app.post("/api/v1/_twin_users")
    def twin_users():
        current_actor()
        for _ in range(2):
            _db.session.add(User(phone="13700000000", name="twin", password_hash="!", created_at=clock.now()))
        _db.session.flush()  # the unique phone index fires here
        return {}

    from parking.extensions import csrf

    csrf.exempt(twin_users)  # a bearer-token endpoint, like the API blueprints

    with app.app_context():
        _db.create_all()
        caller = User(phone="13700000001", name="caller", password_hash="!", locale="en", created_at=clock.now())
        _db.session.add(caller)
        _db.session.commit()
        token = tokens.issue(caller)[0]
    response = app.test_client().post("/api/v1/_twin_users", headers={"Authorization": f"Bearer {token}"})
    assert_error_shape(response, 409)
    assert response.json["message"] == "This conflicts with the current state."
