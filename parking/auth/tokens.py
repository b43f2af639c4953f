"""Bearer tokens: signed (itsdangerous) and expiring. Each carries a random id (`j`), so that
`POST /auth/logout` can end that one token; bumping the user's token_version ends them all."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from parking import clock

_SALT = "parking.api-token.v1"


class _ClockSigner(TimestampSigner):
    """Issue and expiry times from the one clock (tests move it), not the machine's."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


@dataclass(frozen=True)
class Claims:
    user_id: int
    version: int
    jti: str
    expires_at: datetime


def _serializer() -> URLSafeTimedSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"])


@functools.lru_cache(maxsize=8)
def _serializer_for(secret_key: str) -> URLSafeTimedSerializer:
    """Built once per secret, not on every request (it derives its signing key lazily, and holds
    no state between calls)."""
    return URLSafeTimedSerializer(secret_key, salt=_SALT, signer=_ClockSigner)


def issue(user: Any) -> tuple[str, int]:
    ttl = int(current_app.config["TOKEN_TTL_SECONDS"])
    payload = {"u": user.id, "v": user.token_version, "j": secrets.token_hex(16)}
    return _serializer().dumps(payload), ttl


def read(token: str) -> Claims | None:
    """The token's claims, or None for a token that is forged, altered or expired. A token issued
    before tokens had an id (no `j`) is refused too: it could not be ended on its own."""
    ttl = int(current_app.config["TOKEN_TTL_SECONDS"])
    try:
        data, issued_at = _serializer().loads(token, max_age=ttl, return_timestamp=True)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    user_id, version, jti = data.get("u"), data.get("v"), data.get("j")
    if not isinstance(user_id, int) or not isinstance(version, int) or not isinstance(jti, str) or len(jti) != 32:
        return None
    return Claims(user_id, version, jti, issued_at.astimezone(UTC) + timedelta(seconds=ttl))
