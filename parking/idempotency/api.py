"""`@idempotent(blp)`: the `Idempotency-Key` header on an API operation that books, documented in
the OpenAPI. The decorated view does not commit: the decorator is its unit's boundary."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, request
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor
from parking.idempotency.models import KEY_MAX_LENGTH
from parking.idempotency.services import HEADER, fingerprint, run_once

F = TypeVar("F", bound=Callable[..., Any])

#: Set on a response that is the stored answer of an earlier request with the same key.
REPLAYED_HEADER = "Idempotent-Replayed"

KEY_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": "^[\\x20-\\x7E]+$"},
    "description": (
        "A key of your choosing (1 to 255 printable ASCII characters, e.g. a UUID) that makes a retry safe. "
        "The same key from the same user within 24 h returns the first answer, status and body, without "
        f"booking again (marked by the `{REPLAYED_HEADER}: true` header), also while the first request is "
        "still running: the retry waits for it. A rule's refusal (e.g. 409 `window_full`, 403 "
        "`household_not_verified`) is an answer and is replayed too; a body that fails validation, or a request "
        "that failed (5xx, e.g. 503 with `Retry-After` while the database is unreachable), stored nothing, so "
        "its retry runs afresh. The same key with another body or on another operation is 409 "
        "`idempotency_key_reused`. A malformed key is 400 `invalid_idempotency_key`."
    ),
}


def _body() -> Any:
    """The request's JSON as sent (canonicalised by the fingerprint), or its raw text."""
    data = request.get_json(silent=True)
    return data if data is not None else request.get_data(as_text=True)


def idempotent(blp: Blueprint) -> Callable[[F], F]:
    """Place it under `@require()` and above `@blp.arguments` and `@blp.response`: it sees the
    serialised response it stores."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(HEADER)
            sent: dict[str, Response] = {}

            def work() -> tuple[int, str]:
                response = current_app.make_response(view(*args, **kwargs))
                sent["response"] = response
                return response.status_code, response.get_data(as_text=True)

            if key is None:
                answer = run_once(0, None, "", clock.now(), work)
            else:
                print_ = fingerprint(request.method, request.path, _body())
                answer = run_once(current_actor().id, key, print_, clock.now(), work)
            if not answer.replayed:
                return sent["response"]
            replay = Response(answer.body, status=answer.status, mimetype="application/json")
            replay.headers[REPLAYED_HEADER] = "true"
            return replay

        documented = blp.doc(parameters=[KEY_PARAMETER])(wrapper)
        documented = blp.alt_response(
            400, schema="Error", description="`invalid_idempotency_key`: not 1 to 255 printable ASCII characters"
        )(documented)
        return blp.alt_response(
            409,
            schema="Error",
            description="A conflict, e.g. `idempotency_key_reused`: this `Idempotency-Key` came with another request",
        )(documented)

    return decorator
