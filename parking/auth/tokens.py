"""Bearer tokens: signed (itsdangerous), expiring, revoked by bumping the user's token_version."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

_SALT = "parking.api-token.v1"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue(user: Any) -> tuple[str, int]:
    ttl = int(current_app.config["TOKEN_TTL_SECONDS"])
    return _serializer().dumps({"u": user.id, "v": user.token_version}), ttl


def read(token: str) -> tuple[int, int] | None:
    """(user id, token version), or None for a token that is forged, altered or expired."""
    try:
        data = _serializer().loads(token, max_age=int(current_app.config["TOKEN_TTL_SECONDS"]))
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("v"), int):
        return None
    return data["u"], data["v"]
