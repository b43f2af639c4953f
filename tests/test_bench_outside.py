"""bench/outside.py: the request file wrk replays, its result line, and wrk replaying a list
against a small local server (no database): each request sent, none lost, the count wrk reports
the count the server saw."""

from __future__ import annotations

import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.common import Request
from bench.outside import parse_result, request_line, run_wrk


def test_a_request_line_carries_method_path_headers_and_body():
    line = request_line(Request("POST", "/api/v1/bookings", {"plate": "沪A12345"}, {"Authorization": "Bearer t"}))
    method, path, headers, body = line.split("\t")
    assert (method, path) == ("POST", "/api/v1/bookings")
    assert dict(pair.split("\2") for pair in headers.split("\1")) == {
        "Content-Type": "application/json",
        "Authorization": "Bearer t",
    }
    assert json.loads(body) == {"plate": "沪A12345"}
    form = request_line(Request("POST", "/nights", None, {"Content-Type": "x-www-form-urlencoded"}, b"a=1&b=2"))
    assert form.endswith("\ta=1&b=2") and "\2x-www-form-urlencoded" in form
    with pytest.raises(ValueError, match="cannot replay"):
        request_line(Request("GET", "/a\tb"))


def test_the_result_line_is_read_in_milliseconds_with_its_statuses():
    out = 'noise\nWRK_RESULT {"requests": 10, "duration_us": 500000, "p50_us": 1500, "p99_us": 9000, '
    out += '"max_us": 9100, "socket_errors": 0, "statuses": "201:3 409:4 201:2 409:1"}\n'
    result = parse_result(out)
    assert (result.requests, result.rps, result.p50_ms, result.p99_ms) == (10, 20.0, 1.5, 9.0)
    assert result.statuses == {201: 5, 409: 5}


def test_wrk_replays_each_request_of_the_list_and_stops_when_they_are_answered():
    if shutil.which("wrk") is None:
        if os.environ.get("REQUIRE_WRK"):
            pytest.fail("REQUIRE_WRK is set and wrk is not installed")
        pytest.skip("wrk is not installed (apt-get install wrk)")
    seen: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                seen.append(json.loads(body)["n"])
            status = 201 if json.loads(body)["n"] % 2 else 409
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # wrk resets its connections when it stops

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        requests = [Request("POST", "/x", {"n": n}) for n in range(60)]
        result = run_wrk(requests, server.server_address[1], connections=4, threads=2)
    finally:
        server.shutdown()
        server.server_close()
    assert set(seen) == set(range(60))  # every request of the list, each thread its share
    # At most one repeat per connection once the list is sent, and wrk counts what was answered.
    assert 60 <= len(seen) <= 64 and result.requests <= len(seen)
    assert sum(result.statuses.values()) >= 60
    assert set(result.statuses) == {201, 409}
    assert result.seconds < 10  # stopped when answered, not at the end of its 120 s
