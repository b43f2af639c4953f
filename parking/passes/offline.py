"""Pass tokens and the gate's decision from public material alone.

This module is the one place where a pass is encoded, parsed and judged. The server gate calls
`verify()` with the keys from its database; a gate device (or `flask passes verify`) calls it with
the published JWKS and revocation list. It imports only the standard library, `cryptography` and
`cbor2`, so that it can be copied onto a gate device that has no Flask and no database.

Token: ``P1.`` + base64url(payload) + ``.`` + base64url(signature), without padding. The payload is
a canonical CBOR array ``[version, kid, booking_id, garage_id, plate, not_before, not_after, nonce]``
(instants in unix seconds, nonce 8 random bytes); the signature is Ed25519 over the payload bytes.
A pass is valid in ``[not_before, not_after)``.

A monthly pass is one token for the nights of a subscription: ``M1.`` +
base64url(payload) + ``.`` + base64url(signature), the payload a canonical CBOR array
``[version, kid, subscription_id, garage_id, plate, not_before, not_after, nonce, span, nights]``.
Night ``j`` (``j`` days after the first) is valid in ``[not_before + j·86400, … + span)`` when bit
``j`` of ``nights`` is set: the nights booked when the pass was issued. A night handed back or
bumped later is revoked by an entry ``{subscription_id, service_date, not_before, not_after}`` of
the revocation list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "P1."
VERSION = 1
SUBSCRIPTION_PREFIX = "M1."
DAY = 86400
MAX_NIGHTS = 31
NONCE_BYTES = 8
#: A real pass is about 160 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 400
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_MAX_INT = 2**63 - 1

ACCEPTED = "accepted"
REJECTED = "rejected"
IN, OUT = "in", "out"

# The refusal reasons of the API that this module decides; the server adds the ones that need
# the database (unknown_booking, already_inside, not_inside, no_booking).
MALFORMED = "malformed"
BAD_SIGNATURE = "bad_signature"
UNKNOWN_KEY = "unknown_key"
WRONG_GARAGE = "wrong_garage"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
REVOKED = "revoked"
PLATE_MISMATCH = "plate_mismatch"
NOT_TONIGHT = "not_tonight"  # a monthly pass at the time of a night it has not booked


_NO_NIGHTS: Mapping[int, Sequence[tuple[int, int]]] = {}  # read only


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
class SubscriptionClaims:
    """A monthly pass: `nights` is a bit mask of the nights it admits, counted in days from the
    first; each night is valid `span` seconds from `not_before + j * DAY`."""

    version: int
    kid: str
    subscription_id: int
    garage_id: int
    plate: str
    not_before: int
    not_after: int
    nonce: bytes
    span: int
    nights: int

    def as_list(self) -> list[Any]:
        return [
            self.version,
            self.kid,
            self.subscription_id,
            self.garage_id,
            self.plate,
            self.not_before,
            self.not_after,
            self.nonce,
            self.span,
            self.nights,
        ]

    def night_at(self, at: float) -> int | None:
        """The night (days after the first) whose validity holds `at`, booked or not; None between
        nights. Nights may be longer than a day apart's remainder, so the day before counts too."""
        offset = at - self.not_before
        if offset < 0:
            return None
        day = int(offset // DAY)
        for j in (day, day - 1):
            if 0 <= j < MAX_NIGHTS and offset - j * DAY < self.span:
                return j
        return None

    def admits(self, night: int) -> bool:
        return bool(self.nights >> night & 1)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the gate says: `accepted`, or `rejected` with a reason. `claims` (a booking's pass) or
    `subscription` (a monthly pass) is set once the token parsed (even when the signature then
    failed: a caller must look at `ok` before trusting it)."""

    result: str
    reason: str | None
    claims: PassClaims | None = None
    subscription: SubscriptionClaims | None = None

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
    #: Monthly passes: subscription id → the [not_before, not_after) of its revoked nights.
    subscription_nights: Mapping[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)

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


def encode_payload(claims: PassClaims | SubscriptionClaims) -> bytes:
    return cbor2.dumps(claims.as_list(), canonical=True)


def sign(claims: PassClaims | SubscriptionClaims, private_key: Ed25519PrivateKey) -> str:
    payload = encode_payload(claims)
    prefix = SUBSCRIPTION_PREFIX if isinstance(claims, SubscriptionClaims) else PREFIX
    return f"{prefix}{b64encode(payload)}.{b64encode(private_key.sign(payload))}"


def is_subscription_token(token: Any) -> bool:
    return isinstance(token, str) and token.startswith(SUBSCRIPTION_PREFIX)


# -- parsing ---------------------------------------------------------------------------------------


def _is_int(value: Any, low: int = 0, high: int = _MAX_INT) -> bool:
    return type(value) is int and low <= value <= high


def _envelope(token: Any, prefix: str, length: int) -> tuple[list[Any], bytes, bytes]:
    """The CBOR items, payload bytes and signature of a token with `prefix`, else `TokenError`."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not token.startswith(prefix):
        raise TokenError("not a pass")
    parts = token[len(prefix) :].split(".")
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
    if not isinstance(items, list) or len(items) != length:
        raise TokenError("not a pass payload")
    return items, payload, signature


def _common_fields_ok(
    version: Any, kid: Any, object_id: Any, garage_id: Any, plate: Any, not_before: Any, not_after: Any, nonce: Any
) -> bool:
    """The fields every pass carries, single-night or monthly, each of the type and size we write."""
    return bool(
        _is_int(version, 1, 1)
        and isinstance(kid, str)
        and 1 <= len(kid) <= 32
        and _is_int(object_id, 1)
        and _is_int(garage_id, 1)
        and isinstance(plate, str)
        and 1 <= len(plate) <= 16
        and _is_int(not_before)
        and _is_int(not_after)
        and not_before < not_after
        and isinstance(nonce, bytes)
        and len(nonce) == NONCE_BYTES
    )


def parse(token: Any) -> tuple[PassClaims, bytes, bytes]:
    """(claims, payload bytes, signature) of a well-formed token, else `TokenError`. Never
    raises anything else, whatever `token` is: the fuzz tests hold it to that."""
    items, payload, signature = _envelope(token, PREFIX, 8)
    version, kid, booking_id, garage_id, plate, not_before, not_after, nonce = items
    if not _common_fields_ok(version, kid, booking_id, garage_id, plate, not_before, not_after, nonce):
        raise TokenError("bad payload fields")
    claims = PassClaims(version, kid, booking_id, garage_id, plate, not_before, not_after, nonce)
    # One byte string per pass: a payload that decodes but is not what we would have written
    # (non-canonical lengths, trailing bytes) is not ours.
    if encode_payload(claims) != payload:
        raise TokenError("not canonical CBOR")
    return claims, payload, signature


def parse_subscription(token: Any) -> tuple[SubscriptionClaims, bytes, bytes]:
    """As `parse`, for a monthly pass."""
    items, payload, signature = _envelope(token, SUBSCRIPTION_PREFIX, 10)
    version, kid, subscription_id, garage_id, plate, not_before, not_after, nonce, span, nights = items
    if not (
        _common_fields_ok(version, kid, subscription_id, garage_id, plate, not_before, not_after, nonce)
        and _is_int(span, 1, 2 * DAY)
        and _is_int(nights, 1, 2**MAX_NIGHTS - 1)
    ):
        raise TokenError("bad payload fields")
    claims = SubscriptionClaims(
        version, kid, subscription_id, garage_id, plate, not_before, not_after, nonce, span, nights
    )
    if encode_payload(claims) != payload:
        raise TokenError("not canonical CBOR")
    return claims, payload, signature


# -- deciding --------------------------------------------------------------------------------------


def _unix(at: datetime | float | int) -> float:
    return at.timestamp() if isinstance(at, datetime) else float(at)


Claims = PassClaims | SubscriptionClaims


def _signed_here(
    claims: Claims, payload: bytes, signature: bytes, keys: Mapping[str, PublicKey], garage_id: int | None, now: float
) -> str | None:
    """The checks every pass kind shares: a key we publish for the pass's garage, its signature,
    this garage, and not before its validity."""
    key = keys.get(claims.kid)
    if key is None or (key.garage_id is not None and key.garage_id != claims.garage_id):
        return UNKNOWN_KEY
    try:
        key.key.verify(signature, payload)
    except InvalidSignature:
        return BAD_SIGNATURE
    if garage_id is not None and claims.garage_id != garage_id:
        return WRONG_GARAGE
    if now < claims.not_before:
        return NOT_YET_VALID
    return None


def _night_entry(
    claims: PassClaims, now: float, revoked: Container[int], _nights: Mapping[int, Sequence[tuple[int, int]]]
) -> str | None:
    return REVOKED if claims.booking_id in revoked else None


def _month_entry(
    claims: SubscriptionClaims, now: float, _revoked: Container[int], nights: Mapping[int, Sequence[tuple[int, int]]]
) -> str | None:
    """On entry a monthly pass must be at the time of a night it booked (`not_tonight` when the
    night is not one of them, `not_yet_valid` between nights), not revoked (handed back, bumped)."""
    night = claims.night_at(now)
    if night is None:
        later = claims.nights >> (int((now - claims.not_before) // DAY) + 1)
        return NOT_YET_VALID if later else EXPIRED
    if not claims.admits(night):
        return NOT_TONIGHT
    if any(start <= now < end for start, end in nights.get(claims.subscription_id, ())):
        return REVOKED
    return None


@dataclass(frozen=True)
class TokenKind:
    """One kind of pass: its prefix, its parser, what entry checks beyond the shared ones, and
    where its claims go in a `Decision`."""

    name: str
    prefix: str
    parse: Any  # (token) -> (claims, payload, signature), else TokenError
    entry: Any  # (claims, now, revoked bookings, revoked nights) -> reason or None
    field: str  # the Decision field of its claims


#: The pass kinds a gate judges, by token prefix: a night (P1) and a month (M1).
TOKEN_KINDS: dict[str, TokenKind] = {
    PREFIX: TokenKind("night", PREFIX, parse, _night_entry, "claims"),
    SUBSCRIPTION_PREFIX: TokenKind("month", SUBSCRIPTION_PREFIX, parse_subscription, _month_entry, "subscription"),
}


def token_kind(token: Any) -> TokenKind:
    """The kind a token claims by its prefix (a night's, when it names none: parsing refuses it)."""
    prefix = token[: len(PREFIX)] if isinstance(token, str) else None
    return TOKEN_KINDS.get(prefix or "", TOKEN_KINDS[PREFIX])


def verify(
    token: Any,
    keys: Mapping[str, PublicKey],
    *,
    garage_id: int | None,
    at: datetime | float,
    revoked: Container[int] = frozenset(),
    direction: str = IN,
    plate_seen: str | None = None,
    revoked_nights: Mapping[int, Sequence[tuple[int, int]]] = _NO_NIGHTS,
) -> Decision:
    """The gate's decision on a token of any kind from public material: format, key, signature,
    garage, time window, revocation (`revoked` booking ids for a night's pass, `revoked_nights`
    for a month's: subscription id → [start, end) pairs), plate. Entry is judged on all of them;
    exit only on the pass being genuine, for this garage and not used before its window: a car
    that is inside is let out even after the grace or a revocation (its overstay is the tide's
    business, not the barrier's).

    `keys` maps key ids to public keys (any Mapping: a dict from a JWKS, or the server's lookup).
    `plate_seen` is compared as given, so normalise it first (the server does)."""
    kind = token_kind(token)
    try:
        claims, payload, signature = kind.parse(token)
    except TokenError:
        return Decision(REJECTED, MALFORMED)
    now = _unix(at)
    reason = _signed_here(claims, payload, signature, keys, garage_id, now)
    if reason is None and direction == IN:
        reason = EXPIRED if now >= claims.not_after else kind.entry(claims, now, revoked, revoked_nights)
    if reason is None and plate_seen is not None and plate_seen != claims.plate:
        reason = PLATE_MISMATCH
    return Decision(ACCEPTED if reason is None else REJECTED, reason, **{kind.field: claims})


#: A monthly pass is judged by the one `verify`; the name stays for the callers that say which.
verify_subscription = verify


def subscription_window(nights: Sequence[tuple[int, int, int]]) -> tuple[int, int, int, int]:
    """(not_before, not_after, span, mask) of a monthly pass for its booked nights, each given as
    (days after the first night, start, end) in unix seconds. Each night's [start, end) lies inside
    `[not_before + j * DAY, … + span)`, also across a daylight-saving change."""
    if not nights:
        raise ValueError("a monthly pass needs at least one night")
    not_before = min(start - j * DAY for j, start, _end in nights)
    span = max(end - j * DAY for j, _start, end in nights) - not_before
    mask = 0
    for j, _start, _end in nights:
        if not 0 <= j < MAX_NIGHTS:
            raise ValueError("a monthly pass covers at most 31 nights")
        mask |= 1 << j
    return not_before, max(end for _j, _start, end in nights), span, mask


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
    nights: dict[int, list[tuple[int, int]]] = {}
    entries = document.get("subscription_nights")
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping) or not _is_int(entry.get("subscription_id"), 1):
            continue
        try:
            start = int(parse_instant(str(entry["not_before"])).timestamp())
            end = int(parse_instant(str(entry["not_after"])).timestamp())
        except (KeyError, ValueError):
            continue
        nights.setdefault(entry["subscription_id"], []).append((start, end))
    return RevocationList(
        garage_id=garage_id if _is_int(garage_id, 1) else None,
        generated_at=parse_instant(generated),
        booking_ids=frozenset(i for i in document["booking_ids"] if _is_int(i, 1)),
        subscription_nights={k: tuple(v) for k, v in nights.items()},
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
