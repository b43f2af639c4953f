"""The application as gunicorn serves it, with one path more for `tests/test_serving.py`:
`/_probe/gc` says what the worker's garbage collector has frozen and what it still walks. Only the
tests serve this module; the application itself has no such path."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable
from typing import Any

from wsgi import app as served


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") != "/_probe/gc":
        return served(environ, start_response)
    body = json.dumps({"frozen": gc.get_freeze_count(), "walked": len(gc.get_objects())}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
