"""What gunicorn's workers do at start-up, read from a running server with the repository's
gunicorn.conf.py: the objects a worker loads before its first request are frozen, so that the
garbage collector's full collections no longer walk them (a stall of 52 to 77 ms of the whole
worker each time, docs/benchmarks.md, "The garbage collector")."""

from __future__ import annotations

import json

from tests.serving_helpers import raw, served


def _get(port: int, path: str) -> tuple[int, bytes]:
    status, _, body = raw(port, f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    return status, body


def test_a_worker_freezes_what_it_loaded_and_its_collections_walk_only_what_came_after(tmp_path):
    with served(tmp_path, "tests.gc_probe:app") as port:
        # Requests that build what a worker builds on first use: a page, the API, the API's document.
        for path in ("/login", "/api/v1/garages", "/api/v1/openapi.json", "/healthz"):
            assert _get(port, path)[0] == 200, path
        status, body = _get(port, "/_probe/gc")
        assert status == 200
        counts = json.loads(body)
        # The application, its modules and libraries: far more than a bare interpreter's objects.
        assert counts["frozen"] > 50_000, counts
        # What a full collection still walks: what the requests built after start-up.
        assert counts["walked"] < counts["frozen"] // 4, counts
