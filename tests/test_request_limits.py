"""Request limits: bodies over 64 KB are a 413 (the offline-scan upload 512 KB, the scan image
8 MB), chunked bodies included; JSON deeper than 32 levels is a 400; out-of-range months, dates
and instants are a 422; all in the one error shape, and never a 500."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from parking.fields import FIRST_DAY, LAST_DAY, Day, Instant, month_start
from parking.request_limits import LARGER_BODIES, OFFLINE_UPLOAD_MAX_BYTES, json_deeper_than

KB = 1024
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


DEEP = "[" * 1000 + "]" * 1000
OVERSIZED = json.dumps({"name": "x" * (64 * KB)})


def _csrf_header(client, path: str = "/login") -> dict[str, str]:
    """A page's CSRF token, sent the way the pages' scripts send it."""
    page = client.get(path).get_data(as_text=True)
    return {"X-CSRFToken": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)}


def _body_routes(app):
    """Every (method, path, endpoint) of the URL map that takes a body, ids filled with 1."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(set(rule.methods) & set(BODY_METHODS)):
            path = rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]
            yield method, path, rule.endpoint


def _assert_error_shape(response, code: int, reason: str) -> None:
    assert response.status_code == code, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.json
    assert body["code"] == code and body["error"] == reason
    assert body["status"] and body["message"]


def test_every_json_endpoint_refuses_a_deep_and_an_oversized_body_in_the_error_shape(app):
    client = app.test_client()
    headers = {"Content-Type": "application/json", **_csrf_header(client)}
    routes = list(_body_routes(app))
    assert len(routes) > 50
    for method, path, endpoint in routes:
        deep = client.open(path, method=method, data=DEEP, headers=headers)
        _assert_error_shape(deep, 400, "too_deep")
        big = client.open(path, method=method, data=OVERSIZED, headers=headers)
        if endpoint in LARGER_BODIES:
            assert big.status_code not in (413, 500), (path, big.status_code)
        else:
            _assert_error_shape(big, 413, "payload_too_large")


def test_json_may_nest_32_levels_and_brackets_inside_strings_do_not_count():
    assert not json_deeper_than(_nested(32).encode(), 32)
    assert json_deeper_than(_nested(33).encode(), 32)
    assert not json_deeper_than(json.dumps({"note": "[" * 500, "list": [[1, 2], {"b": "}}}"}]}).encode(), 32)
    assert not json_deeper_than(json.dumps({"quote": 'a "[[[[" \\" [[[[' * 20}).encode(), 32)


def test_depth_at_the_limit_reaches_validation_and_one_more_is_refused(client):
    at_limit = client.post("/api/v1/auth/register", data=_nested(32), content_type="application/json")
    assert at_limit.status_code == 422  # parsed, then refused for its fields
    over = client.post("/api/v1/auth/register", data=_nested(33), content_type="application/json")
    _assert_error_shape(over, 400, "too_deep")
    assert over.json["message"] == "请求内容嵌套的层数太多。"
    assert over.json["details"] == {"max_depth": 32}


def test_a_chunked_body_without_a_content_length_is_cut_at_the_limit(client):
    def chunked(body: bytes):
        return client.post(
            "/api/v1/auth/register",
            input_stream=io.BytesIO(body),
            content_type="application/json",
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )

    small = json.dumps({"phone": "13912345678", "password": "s3cret-pass", "name": "张"}).encode()
    assert chunked(small).status_code == 201
    too_big = chunked(OVERSIZED.encode())
    _assert_error_shape(too_big, 413, "payload_too_large")
    assert too_big.json["details"] == {"max_bytes": 64 * KB}


def test_an_oversized_form_is_a_413_page_on_the_pages_and_json_on_the_api(client):
    form = {"phone": "13912345678", "password": "x" * (65 * KB)}
    page = client.post("/login", data=form)
    assert page.status_code == 413
    assert page.mimetype == "text/html"
    assert "请求内容过大" in page.get_data(as_text=True)
    _assert_error_shape(client.post("/api/v1/auth/token", data=form), 413, "payload_too_large")


def _offline_queue(garage_id: int, scans: int) -> dict:
    at = datetime(2026, 12, 1, 9, 0).isoformat() + "+08:00"
    return {
        "garage_id": garage_id,
        "device": "gate-1",
        "scans": [
            {
                "idempotency_key": f"{i:064d}",
                "token": "P1." + "A" * 397,  # tokens at their longest
                "direction": "in",
                "device_time": at,
                "offline_result": "accepted",
            }
            for i in range(scans)
        ],
    }


def test_a_gates_full_offline_queue_of_500_scans_uploads(app, factory):
    from parking.auth.models import Role

    garage = factory.garage()
    attendant = factory.user(Role.ATTENDANT, garage)
    client = app.test_client()
    full = _offline_queue(garage.id, 500)
    size = len(json.dumps(full).encode())
    assert 64 * KB < size <= OFFLINE_UPLOAD_MAX_BYTES
    response = client.post("/api/v1/gate/scans/offline", json=full, headers=factory.headers(attendant))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert len(response.json["scans"]) == 500
    # The gate page uploads its queue through its own endpoint, behind the CSRF check.
    page = app.test_client()
    factory.browser(page, attendant)
    again = {
        **full,
        "device": "gate-2",
        "scans": [{**scan, "idempotency_key": "p" + scan["idempotency_key"][1:]} for scan in full["scans"]],
    }
    on_page = page.post("/gate/offline-upload", json=again, headers=_csrf_header(page, f"/gate?garage_id={garage.id}"))
    assert on_page.status_code == 200, on_page.get_data(as_text=True)[:300]
    too_big = json.dumps(full).replace('"device": "gate-1"', '"device": "gate-1", "pad": "' + "x" * (300 * KB) + '"')
    refused = client.post(
        "/api/v1/gate/scans/offline",
        data=too_big,
        content_type="application/json",
        headers=factory.headers(attendant),
    )
    _assert_error_shape(refused, 413, "payload_too_large")


def test_the_scan_image_may_be_megabytes_but_not_more_than_8_on_the_api_and_the_gate_page(app, factory):
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    from parking.auth.models import Role

    garage = factory.garage()
    attendant = factory.user(Role.ATTENDANT, garage)
    api = app.test_client()
    page = app.test_client()
    factory.browser(page, attendant)
    csrf = _csrf_header(page, f"/gate?garage_id={garage.id}")

    def upload(client, url: str, size: int, headers: dict):
        fields = {"garage_id": str(garage.id), "direction": "in", "idempotency_key": "k" * 16}
        fields["image"] = FileStorage(io.BytesIO(b"\x89PNG" + b"\0" * size), filename="photo.png")
        # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
        boundary, body = encode_multipart(fields)
        return client.post(url, data=body, headers=headers, content_type=f"multipart/form-data; boundary={boundary}")

    for client, url, headers in (
        (api, "/api/v1/gate/scan-image", factory.headers(attendant)),
        (page, "/gate/scan-image", {**csrf, "Accept": "application/json"}),  # as the page's script sends it
    ):
        photo = upload(client, url, 2 * KB * KB, headers)
        assert photo.status_code == 422, (url, photo.get_data(as_text=True)[:200])
        assert photo.json["error"] == "not_an_image"  # read whole, then judged
        _assert_error_shape(upload(client, url, 8 * KB * KB + 1, headers), 413, "payload_too_large")


# --- months, dates and instants -------------------------------------------------------------


OUT_OF_RANGE_MONTHS = ["9999-12", "0000-01", "10000-01", "1899-12", "2200-01"]
OUT_OF_RANGE_DAYS = ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01"]
OUT_OF_RANGE_INSTANTS = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59+00:00"]


def test_out_of_range_months_dates_and_instants_are_422_on_every_api_that_takes_them(app, factory):
    garage = factory.garage()
    template = factory.template(garage)
    admin = factory.headers(factory.admin())
    client = app.test_client()
    g, t = garage.id, template.id
    cases: list[tuple[str, str, dict | None, str]] = []
    for month in OUT_OF_RANGE_MONTHS:
        cases += [
            ("POST", "/api/v1/subscriptions", {"template_id": t, "month": month, "plate": "沪A12345"}, "month"),
            ("GET", f"/api/v1/garages/{g}/subscriptions?month={month}", None, "month"),
            ("GET", f"/api/v1/garages/{g}/statements?month={month}", None, "month"),
        ]
    for day in OUT_OF_RANGE_DAYS:
        fine = "2026-12-01"
        cases += [
            ("GET", f"/api/v1/garages/{g}/windows?from={day}&to={day}", None, "from"),
            ("GET", f"/api/v1/garages/{g}/windows?from={fine}&to={day}", None, "to"),
            ("GET", f"/api/v1/garages/{g}/reports/nights?from={day}", None, "from"),
            ("GET", f"/api/v1/garages/{g}/overrides?to={day}", None, "to"),
            (
                "POST",
                f"/api/v1/garages/{g}/overrides",
                {"template_id": t, "start_date": fine, "end_date": day, "quota": 3, "reason": "x"},
                "end_date",
            ),
            (
                "PUT",
                f"/api/v1/garages/{g}/templates/{t}/monthly",
                {"fee": "100", "sale_starts_on": day},
                "sale_starts_on",
            ),
            ("POST", "/api/v1/subscriptions/1/hand-back", {"service_date": day}, "service_date"),
        ]
    for instant in OUT_OF_RANGE_INSTANTS:
        quoted = instant.replace("+", "%2B")
        cases += [
            ("GET", f"/api/v1/audit?from={quoted}", None, "from"),
            ("GET", f"/api/v1/audit?to={quoted}", None, "to"),
        ]
    for method, path, body, field in cases:
        response = client.open(path, method=method, json=body, headers=admin)
        _assert_error_shape(response, 422, "validation_error")
        assert field in response.json["errors"], (path, response.json)


def test_out_of_range_months_and_dates_on_the_pages_are_422_beside_the_field(app, factory):
    garage = factory.garage()
    factory.template(garage)
    manager = factory.manager(garage)
    client = app.test_client()
    factory.browser(client, manager)
    for path in (
        "/manage/calendar?month=9999-12",
        "/manage/calendar?month=0000-01",
        "/manage/reports?from=9999-12-30&to=9999-12-31",
        "/manage/reports?from=0001-01-01",
    ):
        response = client.get(path)
        assert response.status_code == 422, path
        assert "1900" in response.get_data(as_text=True) and "2199" in response.get_data(as_text=True), path


@settings(max_examples=300, deadline=None)
@given(st.dates())
def test_a_day_field_gives_a_day_in_the_calendar_or_a_validation_error(day):
    try:
        loaded = Day().deserialize(day.isoformat())
    except ValidationError:
        assert not FIRST_DAY <= day <= LAST_DAY
    else:
        assert loaded == day and FIRST_DAY <= loaded <= LAST_DAY
        assert loaded + timedelta(days=400) > loaded  # any service arithmetic stays in the calendar


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=99999), st.integers(min_value=0, max_value=99))
def test_a_month_is_its_first_day_in_the_calendar_or_nothing(year, month):
    text = f"{year:04d}-{month:02d}"
    first = month_start(text)
    if first is None:
        assert not (1 <= month <= 12 and FIRST_DAY.year <= year <= LAST_DAY.year)
    else:
        assert first == date(year, month, 1)
        assert first.replace(day=28) + timedelta(days=40) > first  # the month after exists


@settings(max_examples=300, deadline=None)
@given(st.datetimes(), st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_an_instant_field_gives_utc_in_the_calendar_or_a_validation_error(moment, offset_minutes):
    sign = "+" if offset_minutes >= 0 else "-"
    offset = f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    text = moment.isoformat() + offset
    try:
        loaded = Instant().deserialize(text)
    except ValidationError:
        return
    assert loaded.utcoffset() == timedelta(0)
    assert FIRST_DAY <= loaded.date() <= LAST_DAY


@pytest.mark.parametrize("month", ["2027-01", "1900-01", "2199-12"])
def test_months_inside_the_calendar_are_their_first_day(month):
    assert month_start(month) == date(int(month[:4]), int(month[5:]), 1)
