"""The token and the offline decision, with no app and no database."""

from __future__ import annotations

import contextlib

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from parking.passes import offline

NOW = 1_796_000_000
GARAGE = 3


def _key():
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes_raw()
    return private, offline.key_id(raw), raw


PRIVATE, KID, RAW = _key()
KEYS = offline.load_jwks({"garage_id": GARAGE, "keys": [offline.to_jwk(KID, RAW)]})


def _claims(**overrides):
    values = {
        "version": 1,
        "kid": KID,
        "booking_id": 42,
        "garage_id": GARAGE,
        "plate": "沪AD12345",
        "not_before": NOW - 600,
        "not_after": NOW + 3600,
        "nonce": b"\x01" * 8,
    }
    values.update(overrides)
    return offline.PassClaims(**values)


TOKEN = offline.sign(_claims(), PRIVATE)


def _verify(token=TOKEN, **kwargs):
    kwargs.setdefault("garage_id", GARAGE)
    kwargs.setdefault("at", NOW)
    return offline.verify(token, KEYS, **kwargs)


def test_genuine_pass_is_accepted_in_its_window():
    decision = _verify()
    assert decision.ok and decision.reason is None
    assert decision.claims == _claims()


def test_forged_signature_is_rejected():
    forger = Ed25519PrivateKey.generate()
    forged = offline.sign(_claims(), forger)  # same kid, wrong private key
    assert _verify(forged).reason == "bad_signature"


def test_altered_payload_is_rejected():
    prefix, _, signature = TOKEN.split(".")
    altered = offline.encode_payload(_claims(plate="沪AD99999"))
    token = f"{prefix}.{offline.b64encode(altered)}.{signature}"
    assert _verify(token).reason == "bad_signature"
    longer = offline.encode_payload(_claims(not_after=NOW + 999_999))
    assert _verify(f"{prefix}.{offline.b64encode(longer)}.{signature}").reason == "bad_signature"


def test_unknown_key_id_is_rejected():
    private, kid, _ = _key()
    assert _verify(offline.sign(_claims(kid=kid), private)).reason == "unknown_key"


def test_key_of_another_garage_is_not_trusted_for_this_one():
    private, kid, raw = _key()
    keys = dict(KEYS) | offline.load_jwks({"garage_id": GARAGE + 1, "keys": [offline.to_jwk(kid, raw)]})
    token = offline.sign(_claims(kid=kid), private)  # claims GARAGE, signed with the other garage's key
    assert offline.verify(token, keys, garage_id=GARAGE, at=NOW).reason == "unknown_key"


def test_pass_of_another_garage_is_rejected():
    assert _verify(garage_id=GARAGE + 1).reason == "wrong_garage"


def test_too_early_and_too_late_entry_are_rejected_at_the_exact_bounds():
    assert _verify(at=NOW - 601).reason == "not_yet_valid"
    assert _verify(at=NOW - 600).ok
    assert _verify(at=NOW + 3599).ok
    assert _verify(at=NOW + 3600).reason == "expired"


def test_revoked_booking_is_rejected_on_entry():
    assert _verify(revoked=frozenset({42})).reason == "revoked"
    assert _verify(revoked=frozenset({41, 43})).ok


def test_a_car_inside_is_let_out_after_the_grace_or_a_revocation():
    assert _verify(at=NOW + 7200, direction="out").ok
    assert _verify(revoked=frozenset({42}), direction="out").ok
    assert _verify(at=NOW - 601, direction="out").reason == "not_yet_valid"


def test_plate_seen_must_match():
    assert _verify(plate_seen="沪AD12346").reason == "plate_mismatch"
    assert _verify(plate_seen="沪AD12345").ok


def test_non_canonical_spellings_of_a_pass_are_malformed():
    prefix, payload, signature = TOKEN.split(".")
    assert _verify(f"{prefix}.{payload}=.{signature}").reason == "malformed"
    assert _verify(f"{prefix}.{payload}.{signature}.x").reason == "malformed"
    assert _verify(f"{prefix}.{payload.replace('-', '+').replace('_', '/')}+.{signature}").reason == "malformed"
    # The same array in a non-canonical CBOR encoding (a 2-byte length for a short list).
    items = _claims().as_list()
    loose = b"\x98\x08" + b"".join(cbor2.dumps(i) for i in items)
    assert cbor2.loads(loose) == items
    token = offline.PREFIX + offline.b64encode(loose) + "." + offline.b64encode(PRIVATE.sign(loose))
    assert _verify(token).reason == "malformed"


def test_wrong_field_types_are_malformed_even_when_signed():
    for bad in (
        [1, KID, 42, GARAGE, "沪AD12345", NOW, NOW - 1, b"\x01" * 8],  # ends before it starts
        [2, KID, 42, GARAGE, "沪AD12345", NOW, NOW + 1, b"\x01" * 8],  # unknown version
        [1, KID, True, GARAGE, "沪AD12345", NOW, NOW + 1, b"\x01" * 8],  # bool, not int
        [1, KID, 42, GARAGE, "沪AD12345", NOW, NOW + 1, b"\x01" * 7],  # short nonce
        [1, KID, 42, GARAGE, "沪AD12345", NOW, NOW + 1],
        {"kid": KID},
    ):
        payload = cbor2.dumps(bad, canonical=True)
        token = offline.PREFIX + offline.b64encode(payload) + "." + offline.b64encode(PRIVATE.sign(payload))
        assert _verify(token).reason == "malformed", bad


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=500), st.text(alphabet="P1.-_AZaz09+/=", max_size=300), st.none(), st.integers()))
def test_any_string_gets_a_clean_rejection(text):
    decision = _verify(text)
    assert decision.result == "rejected"
    assert decision.reason == "malformed"
    with contextlib.suppress(offline.TokenError):
        offline.parse(text)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200), st.binary(min_size=0, max_size=80))
def test_any_bytes_in_token_form_get_a_clean_rejection(payload, signature):
    token = f"P1.{offline.b64encode(payload)}.{offline.b64encode(signature)}"
    decision = _verify(token)
    assert decision.result == "rejected"
    assert decision.reason in {"malformed", "unknown_key", "bad_signature"}


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=3, max_value=len(TOKEN) - 1), st.sampled_from("ABCxyz019-_.=!中"))
def test_a_pass_with_any_character_changed_is_rejected_never_crashes(position, char):
    if TOKEN[position] == char:
        return
    token = TOKEN[:position] + char + TOKEN[position + 1 :]
    decision = _verify(token)
    assert decision.result == "rejected"
    assert decision.reason in {"malformed", "unknown_key", "bad_signature"}


def test_revocation_list_staleness():
    rev = offline.load_revocations({"generated_at": "2026-12-01T10:00:00+08:00", "garage_id": 3, "booking_ids": [5]})
    at = offline.parse_instant("2026-12-01T02:10:00Z")
    assert rev.age_seconds(at) == 600
    assert not rev.is_stale(at, 600)
    assert rev.is_stale(at, 599)
    assert rev.booking_ids == frozenset({5})
