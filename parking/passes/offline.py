"""Pass tokens and the gate's decision from public material alone (DESIGN section 5).

This module is the one place where a pass is encoded, parsed and judged. The server gate calls
`verify()` with the keys from its database; a gate device (or `flask passes verify`) calls it with
the published JWKS and revocation list. It imports only the standard library, `cryptography` and
`cbor2`, so that it can be copied onto a gate device that has no Flask and no database.

Token: ``P1.`` + base64url(payload) + ``.`` + base64url(signature), without padding. The payload is
a canonical CBOR array ``[version, kid, booking_id, garage_id, plate, not_before, not_after, nonce]``
(instants in unix seconds, nonce 8 random bytes); the signature is Ed25519 over the payload bytes.
A pass is valid in ``[not_before, not_after)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "P1."
VERSION = 1
NONCE_BYTES = 8
#: A real pass is about 160 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 400
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_MAX_INT = 2**63 - 1

ACCEPTED = "accepted"
REJECTED = "rejected"
IN, OUT = "in", "out"

# The reasons of DESIGN section 6 that this module decides; the server adds the ones that need
# the database (unknown_booking, already_inside, not_inside, no_booking).
MALFORMED = "malformed"
BAD_SIGNATURE = "bad_signature"
UNKNOWN_KEY = "unknown_key"
WRONG_GARAGE = "wrong_garage"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
REVOKED = "revoked"
PLATE_MISMATCH = "plate_mismatch"


class TokenError(ValueError):
    """A token that is not a well-formed pass; `reason` is always `malformed`."""

    reason = MALFORMED


@dataclass(frozen=True, slots=True)
class PassClaims:
    version: int
    kid: str
    booking_id: int
    garage_id: int
    plate: str
    not_before: int
    not_after: int
    nonce: bytes

    def as_list(self) -> list[Any]:
        return [
            self.version,
            self.kid,
            self.booking_id,
            self.garage_id,
            self.plate,
            self.not_before,
            self.not_after,
            self.nonce,
        ]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the gate says: `accepted`, or `rejected` with a reason. `claims` is set once the token
    parsed (even when the signature then failed: a caller must look at `ok` before trusting it)."""

    result: str
    reason: str | None
    claims: PassClaims | None = None

    @property
    def ok(self) -> bool:
        return self.result == ACCEPTED


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: str
    garage_id: int | None  # None: the key file did not say; trusted for any garage
    key: Ed25519PublicKey


@dataclass(frozen=True, slots=True)
class RevocationList:
    garage_id: int | None
    generated_at: datetime
    booking_ids: frozenset[int]

    def age_seconds(self, at: datetime) -> float:
        return (at - self.generated_at).total_seconds()

    def is_stale(self, at: datetime, max_age_seconds: float) -> bool:
        return self.age_seconds(at) > max_age_seconds


# -- encoding --------------------------------------------------------------------------------------


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict base64url without padding: other alphabets, padding and stray bits are refused."""
    if not text or not _B64_ALPHABET.issuperset(text) or len(text) % 4 == 1:
        raise TokenError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError("not base64url") from exc
    if b64encode(data) != text:  # non-zero trailing bits: a second spelling of the same bytes
        raise TokenError("not canonical base64url")
    return data


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def key_id(public_raw: bytes) -> str:
    """A short key id from the public key itself: 36 bits of its SHA-256, 6 characters. Short,
    because every byte of the payload grows the QR code. Key ids are unique in the database, so a
    (one in 2**36) collision is refused there, never silently shared."""
    return b64encode(hashlib.sha256(public_raw).digest())[:6]


def encode_payload(claims: PassClaims) -> bytes:
    return cbor2.dumps(claims.as_list(), canonical=True)


def sign(claims: PassClaims, private_key: Ed25519PrivateKey) -> str:
    payload = encode_payload(claims)
    return f"{PREFIX}{b64encode(payload)}.{b64encode(private_key.sign(payload))}"


# -- parsing ---------------------------------------------------------------------------------------


def _is_int(value: Any, low: int = 0, high: int = _MAX_INT) -> bool:
    return type(value) is int and low <= value <= high


def parse(token: Any) -> tuple[PassClaims, bytes, bytes]:
    """(claims, payload bytes, signature) of a well-formed token, else `TokenError`. Never
    raises anything else, whatever `token` is: the fuzz tests hold it to that."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not token.startswith(PREFIX):
        raise TokenError("not a pass")
    parts = token[len(PREFIX) :].split(".")
    if len(parts) != 2:
        raise TokenError("not two parts")
    payload = b64decode(parts[0])
    signature = b64decode(parts[1])
    if len(signature) != 64:
        raise TokenError("signature length")
    try:
        items = cbor2.loads(payload, max_depth=2, allow_indefinite=False)
    except Exception as exc:  # any decoder failure on hostile bytes is "malformed"
        raise TokenError("not CBOR") from exc
    if not isinstance(items, list) or len(items) != 8:
        raise TokenError("not a pass payload")
    version, kid, booking_id, garage_id, plate, not_before, not_after, nonce = items
    if not (
        _is_int(version, 1, 1)
        and isinstance(kid, str)
        and 1 <= len(kid) <= 32
        and _is_int(booking_id, 1)
        and _is_int(garage_id, 1)
        and isinstance(plate, str)
        and 1 <= len(plate) <= 16
        and _is_int(not_before)
        and _is_int(not_after)
        and not_before < not_after
        and isinstance(nonce, bytes)
        and len(nonce) == NONCE_BYTES
    ):
        raise TokenError("bad payload fields")
    claims = PassClaims(version, kid, booking_id, garage_id, plate, not_before, not_after, nonce)
    # One byte string per pass: a payload that decodes but is not what we would have written
    # (non-canonical lengths, trailing bytes) is not ours.
    if encode_payload(claims) != payload:
        raise TokenError("not canonical CBOR")
    return claims, payload, signature


# -- deciding --------------------------------------------------------------------------------------


def _unix(at: datetime | float | int) -> float:
    return at.timestamp() if isinstance(at, datetime) else float(at)


def verify(
    token: Any,
    keys: Mapping[str, PublicKey],
    *,
    garage_id: int | None,
    at: datetime | float,
    revoked: Container[int] = frozenset(),
    direction: str = IN,
    plate_seen: str | None = None,
) -> Decision:
    """The gate's decision on a token from public material: format, key, signature, garage,
    time window, revocation, plate. Entry is judged on all of them; exit only on the pass being
    genuine, for this garage and not used before its window: a car that is inside is let out even
    after the grace or a revocation (its overstay is the tide's business, not the barrier's).

    `keys` maps key ids to public keys (any Mapping: a dict from a JWKS, or the server's lookup).
    `plate_seen` is compared as given, so normalise it first (the server does)."""
    try:
        claims, payload, signature = parse(token)
    except TokenError:
        return Decision(REJECTED, MALFORMED)
    key = keys.get(claims.kid)
    if key is None or (key.garage_id is not None and key.garage_id != claims.garage_id):
        return Decision(REJECTED, UNKNOWN_KEY, claims)
    try:
        key.key.verify(signature, payload)
    except InvalidSignature:
        return Decision(REJECTED, BAD_SIGNATURE, claims)
    if garage_id is not None and claims.garage_id != garage_id:
        return Decision(REJECTED, WRONG_GARAGE, claims)
    now = _unix(at)
    if now < claims.not_before:
        return Decision(REJECTED, NOT_YET_VALID, claims)
    if direction == IN:
        if now >= claims.not_after:
            return Decision(REJECTED, EXPIRED, claims)
        if claims.booking_id in revoked:
            return Decision(REJECTED, REVOKED, claims)
    if plate_seen is not None and plate_seen != claims.plate:
        return Decision(REJECTED, PLATE_MISMATCH, claims)
    return Decision(ACCEPTED, None, claims)


# -- public material -------------------------------------------------------------------------------


def to_jwk(kid: str, public_raw: bytes) -> dict[str, str]:
    return {"kty": "OKP", "crv": "Ed25519", "x": b64encode(public_raw), "kid": kid, "use": "sig", "alg": "EdDSA"}


def load_jwks(document: Mapping[str, Any]) -> dict[str, PublicKey]:
    """The public keys of a JWKS document (`{"garage_id": .., "keys": [...]}`); entries that are
    not Ed25519 signing keys are skipped. Raises ValueError when the document is not a JWKS."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document: no 'keys' list")
    garage_id = document.get("garage_id")
    garage_id = garage_id if _is_int(garage_id, 1) else None
    keys: dict[str, PublicKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        kid, x = jwk.get("kid"), jwk.get("x")
        if not isinstance(kid, str) or not isinstance(x, str):
            continue
        try:
            raw = b64decode(x)
            keys[kid] = PublicKey(kid, garage_id, Ed25519PublicKey.from_public_bytes(raw))
        except (TokenError, ValueError):
            continue
    return keys


def parse_instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(f"instant without an offset: {text}")
    return instant.astimezone(UTC)


def load_revocations(document: Mapping[str, Any]) -> RevocationList:
    if not isinstance(document, Mapping) or not isinstance(document.get("booking_ids"), list):
        raise ValueError("not a revocation list: no 'booking_ids' list")
    generated = document.get("generated_at")
    if not isinstance(generated, str):
        raise ValueError("not a revocation list: no 'generated_at'")
    garage_id = document.get("garage_id")
    return RevocationList(
        garage_id=garage_id if _is_int(garage_id, 1) else None,
        generated_at=parse_instant(generated),
        booking_ids=frozenset(i for i in document["booking_ids"] if _is_int(i, 1)),
    )


# -- measuring -------------------------------------------------------------------------------------


def measure_verify_us(iterations: int = 5000) -> float:
    """Microseconds to verify one real-sized pass (8-character new-energy plate) offline: the
    mean over `iterations` calls of `verify`, after a warm-up. Used by the bench and the report."""
    private = Ed25519PrivateKey.generate()
    public_raw = private.public_key().public_bytes_raw()
    kid = key_id(public_raw)
    now = 1_796_000_000
    claims = PassClaims(VERSION, kid, 123456, 1, "沪AD12345", now - 3600, now + 43200, new_nonce())
    token = sign(claims, private)
    keys = load_jwks({"garage_id": 1, "keys": [to_jwk(kid, public_raw)]})
    revoked = frozenset(range(1000, 1200))
    for _ in range(min(iterations, 200)):
        verify(token, keys, garage_id=1, at=now, revoked=revoked)
    start = time.perf_counter()
    for _ in range(iterations):
        decision = verify(token, keys, garage_id=1, at=now, revoked=revoked)
    elapsed = time.perf_counter() - start
    assert decision.ok, decision
    return elapsed / iterations * 1e6
