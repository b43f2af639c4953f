"""Request heads: a request line over 4,096 bytes is a 414 and a header field over 8,190 bytes (or
more than 100 fields, or 32 KB of them) a 431, in the one error shape under /api and as the error
page on the pages; behind the production server (gunicorn with the repository's
gunicorn.conf.py) too, whose own limits are set above the application's so that its HTML page
is never what a client gets."""

from __future__ import annotations

import json
import runpy

from parking.request_limits import (
    MAX_HEADER_BYTES,
    MAX_HEADER_FIELD_BYTES,
    MAX_HEADER_FIELDS,
    MAX_REQUEST_LINE_BYTES,
    request_line_bytes,
)
from tests.serving_helpers import ROOT, raw, served

KB = 1024


def _assert_error_shape(response, code: int, reason: str) -> None:
    assert response.status_code == code, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.json
    assert body["code"] == code and body["error"] == reason
    assert body["status"] and body["message"]


def _line(path: str) -> int:
    return request_line_bytes({"REQUEST_METHOD": "GET", "RAW_URI": path, "SERVER_PROTOCOL": "HTTP/1.1"})


def test_the_request_line_may_be_4096_bytes_and_one_more_is_a_414(client):
    path = "/api/v1/garages?q="
    at_limit = path + "a" * (MAX_REQUEST_LINE_BYTES - _line(path))
    assert _line(at_limit) == MAX_REQUEST_LINE_BYTES
    assert client.get(at_limit).status_code == 200
    over = client.get(at_limit + "a")
    _assert_error_shape(over, 414, "uri_too_long")
    assert over.json["details"] == {"max_bytes": 4096}
    assert over.json["message"] == "网址太长了。"
    # Before routing, before the sign-in and the CSRF check: an unknown path or a form post too.
    _assert_error_shape(client.get("/api/v1/nowhere/" + "a" * 5000), 414, "uri_too_long")
    _assert_error_shape(client.post("/api/v1/bookings?" + "a" * 5000, json={}), 414, "uri_too_long")


def test_header_fields_over_their_size_count_or_total_are_a_431(client):
    name = "X-Padding"
    fits = {name: "b" * (MAX_HEADER_FIELD_BYTES - len(name) - 2)}
    assert client.get("/api/v1/garages", headers=fits).status_code == 200
    too_big = client.get("/api/v1/garages", headers={name: fits[name] + "b"})
    _assert_error_shape(too_big, 431, "headers_too_large")
    assert too_big.json["details"] == {"max_field_bytes": 8190, "max_fields": 100, "max_bytes": 32 * KB}
    assert too_big.json["message"] == "请求头太大了。"
    many = {f"X-Field-{i}": "1" for i in range(MAX_HEADER_FIELDS + 1)}
    _assert_error_shape(client.get("/api/v1/garages", headers=many), 431, "headers_too_large")
    each = MAX_HEADER_FIELD_BYTES - 20
    total = {f"X-Part-{i}": "c" * each for i in range(MAX_HEADER_BYTES // each + 1)}
    _assert_error_shape(client.get("/api/v1/garages", headers=total), 431, "headers_too_large")
    # Before the body is judged.
    _assert_error_shape(client.post("/api/v1/auth/token", json={}, headers=many), 431, "headers_too_large")


def test_the_pages_answer_the_error_page(client):
    long_line = client.get("/login?next=" + "a" * 5000)
    assert long_line.status_code == 414 and long_line.mimetype == "text/html"
    assert "网址太长了" in long_line.get_data(as_text=True)
    big_header = client.get("/login", headers={"X-Padding": "b" * 9000})
    assert big_header.status_code == 431 and big_header.mimetype == "text/html"
    assert "请求头太大了" in big_header.get_data(as_text=True)


# --- behind gunicorn ------------------------------------------------------------------------


def test_gunicorns_own_limits_sit_above_the_applications():
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["limit_request_line"] > MAX_REQUEST_LINE_BYTES
    assert conf["limit_request_field_size"] > MAX_HEADER_FIELD_BYTES + 2  # gunicorn counts the CRLF
    assert conf["limit_request_fields"] > MAX_HEADER_FIELDS
    assert conf["limit_request_fields"] * conf["limit_request_field_size"] > MAX_HEADER_BYTES
    assert conf["accesslog"] == "-" and "%(U)s" in conf["access_log_format"]  # the log format stays


def _json_error(answer: tuple[int, dict[str, str], bytes], code: int, reason: str) -> dict:
    status, headers, body = answer
    assert status == code, (status, body[:300])
    assert headers["content-type"].startswith("application/json"), headers
    error = json.loads(body)
    assert error["code"] == code and error["error"] == reason and error["message"] and error["status"]
    return error


def test_behind_gunicorn_414_and_431_come_in_the_error_shape(tmp_path):
    end = b"Host: t\r\nConnection: close\r\n\r\n"
    with served(tmp_path) as port:
        normal = raw(port, b"GET /api/v1/garages HTTP/1.1\r\n" + end)
        assert normal[0] == 200 and json.loads(normal[2]) == []
        # 5 KB and 8,000-byte request lines: above the application's limit, within gunicorn's.
        for size in (5 * KB, 8000):
            target = b"/api/v1/garages?q=" + b"a" * (size - 30)
            _json_error(raw(port, b"GET " + target + b" HTTP/1.1\r\n" + end), 414, "uri_too_long")
        # A 9 KB header field, and a 9 KB cookie.
        for field in (b"X-Padding: " + b"b" * 9 * KB, b"Cookie: session=" + b"c" * 9 * KB):
            answer = raw(port, b"GET /api/v1/garages HTTP/1.1\r\n" + field + b"\r\n" + end)
            _json_error(answer, 431, "headers_too_large")
        # 150 small fields: over the application's count, within gunicorn's.
        many = b"".join(b"X-F%d: 1\r\n" % i for i in range(150))
        _json_error(raw(port, b"GET /api/v1/garages HTTP/1.1\r\n" + many + end), 431, "headers_too_large")
        # Past gunicorn's own limits, and a request line it cannot read: gunicorn answers, in the
        # application's error shape and default language, never its HTML page.
        long_line = b"GET /api/v1/garages?q=" + b"a" * 9000 + b" HTTP/1.1\r\n" + end
        assert _json_error(raw(port, long_line), 414, "uri_too_long")["message"] == "网址太长了。"
        huge_field = b"GET /api/v1/garages HTTP/1.1\r\nX-Padding: " + b"b" * 20 * KB + b"\r\n" + end
        _json_error(raw(port, huge_field), 431, "headers_too_large")
        too_many = b"".join(b"X-F%d: 1\r\n" % i for i in range(250))
        _json_error(raw(port, b"GET /api/v1/garages HTTP/1.1\r\n" + too_many + end), 431, "headers_too_large")
        _json_error(raw(port, b"GET /api/v1/garages HTTP/9.9\r\n" + end), 400, "bad_request")
        # A page gets the error page, in the layout.
        status, headers, body = raw(port, b"GET /login?next=" + b"a" * 5 * KB + b" HTTP/1.1\r\n" + end)
        assert status == 414 and headers["content-type"].startswith("text/html")
        assert "网址太长了" in body.decode()
