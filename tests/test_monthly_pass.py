"""The one QR pass of a monthly subscription: at the server gate and in the offline verifier, it
admits the car on each booked night and refuses it on a night handed back, bumped, or not booked."""

from __future__ import annotations

from datetime import date

import qrcode
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from parking import clock
from parking.passes import offline
from parking.quotas.services import Target, apply_targets
from tests.gate_helpers import scan
from tests.monthly_helpers import offered, sh, subscribe, window_of


def _month_pass(client, factory, *, quota=5, accept_partial=False, before=None):
    setup = offered(factory, quota=quota, share="1")
    user, plate = factory.resident(setup.garage)
    if before is not None:
        before(setup)
    answer = subscribe(client, factory, user, setup, plate, accept_partial=accept_partial)
    assert answer.status_code == 201, answer.json
    subscription_id = answer.json["id"]
    issued = client.get(f"/api/v1/subscriptions/{subscription_id}/pass", headers=factory.headers(user))
    assert issued.status_code == 200, issued.json
    return setup, user, plate, subscription_id, issued.json["token"]


def _hand_back(client, factory, user, subscription_id, day):
    response = client.post(
        f"/api/v1/subscriptions/{subscription_id}/hand-back",
        json={"service_date": day.isoformat()},
        headers=factory.headers(user),
    )
    assert response.status_code == 200, response.json


def _offline_material(client, factory, setup, attendant):
    headers = factory.headers(attendant)
    keys = client.get(f"/api/v1/garages/{setup.garage.id}/keys", headers=headers).json
    revocations = client.get(f"/api/v1/garages/{setup.garage.id}/revocations", headers=headers).json
    return offline.load_jwks(keys), offline.load_revocations(revocations), revocations


def test_the_month_pass_admits_on_each_booked_night_and_the_gate_finds_tonights_booking(client, factory, db):
    setup, user, plate, subscription_id, token = _month_pass(client, factory)
    assert token.startswith("M1.")
    attendant = factory.attendant(setup.garage)
    gid = setup.garage.id

    clock.set_now(sh(12, 1, 12, 0))  # noon: tonight's validity has not begun
    assert scan(client, factory, attendant, gid, token=token).json["reason"] == "not_yet_valid"
    clock.set_now(sh(12, 1, 18, 50))
    entry = scan(client, factory, attendant, gid, token=token, plate_seen=plate)
    assert entry.json["result"] == "accepted", entry.json
    first_night = entry.json["booking"]
    assert scan(client, factory, attendant, gid, token=token).json["reason"] == "already_inside"
    clock.set_now(sh(12, 2, 7, 10))
    assert scan(client, factory, attendant, gid, token=token, direction="out").json["result"] == "accepted"
    assert scan(client, factory, attendant, gid, token=token, direction="out").json["reason"] == "not_inside"

    clock.set_now(sh(12, 20, 21, 0))  # another night of the month: another booking, the same pass
    again = scan(client, factory, attendant, gid, token=token)
    assert again.json["result"] == "accepted" and again.json["booking"] != first_night
    nights = client.get(f"/api/v1/subscriptions/{subscription_id}", headers=factory.headers(user)).json["nights"]
    by_day = {n["service_date"]: n for n in nights}
    assert by_day["2026-12-01"]["status"] == "checked_in" and by_day["2026-12-20"]["inside"] is True
    assert by_day["2026-12-20"]["booking_id"] == again.json["booking"]
    assert scan(client, factory, attendant, gid, token=token, plate_seen="沪Z99999").json["reason"] in (
        "plate_mismatch",
        "already_inside",
    )


def test_the_pass_is_refused_on_a_handed_back_or_bumped_night_at_the_gate_and_offline(client, factory, db):
    setup, user, _plate, subscription_id, token = _month_pass(client, factory, quota=1)
    attendant = factory.attendant(setup.garage)
    _hand_back(client, factory, user, subscription_id, date(2026, 12, 3))
    bumped = window_of(setup, date(2026, 12, 4))
    apply_targets({bumped.id: Target(0, False, "coaches")}, "bump", setup.manager, clock.now(), reason=None)
    db.session.commit()

    keys, revocations, document = _offline_material(client, factory, setup, attendant)
    entries = {(e["subscription_id"], e["service_date"]) for e in document["subscription_nights"]}
    assert entries == {(subscription_id, "2026-12-03"), (subscription_id, "2026-12-04")}

    def offline_reason(at):
        decision = offline.verify(
            token,
            keys,
            garage_id=setup.garage.id,
            at=at,
            revoked=revocations.booking_ids,
            revoked_nights=revocations.subscription_nights,
        )
        return decision.reason

    for day, expected in ((3, "revoked"), (4, "revoked"), (5, None)):
        clock.set_now(sh(12, day, 20, 0))
        assert scan(client, factory, attendant, setup.garage.id, token=token).json["reason"] == expected, day
        assert offline_reason(clock.now()) == expected, day
        if expected is None:
            scan(client, factory, attendant, setup.garage.id, token=token, direction="out")


def test_a_night_the_month_did_not_get_is_not_tonight_online_and_offline(client, factory, db):
    def fill_night(setup):
        full = factory.window(template=setup.template, day=date(2026, 12, 2), quota=5)
        for _ in range(5):
            factory.booking(full)

    setup, _user, _plate, _sid, token = _month_pass(client, factory, accept_partial=True, before=fill_night)
    attendant = factory.attendant(setup.garage)
    keys, _revocations, _doc = _offline_material(client, factory, setup, attendant)
    clock.set_now(sh(12, 2, 20, 0))
    assert scan(client, factory, attendant, setup.garage.id, token=token).json["reason"] == "not_tonight"
    decision = offline.verify(token, keys, garage_id=setup.garage.id, at=clock.now())
    assert decision.reason == "not_tonight"
    clock.set_now(sh(12, 3, 20, 0))
    assert offline.verify(token, keys, garage_id=setup.garage.id, at=clock.now()).ok
    clock.set_now(sh(12, 31, 12, 0))
    assert offline.verify(token, keys, garage_id=setup.garage.id, at=clock.now()).reason == "not_yet_valid"
    clock.set_now(sh(1, 1, 12, 0, year=2027))
    assert offline.verify(token, keys, garage_id=setup.garage.id, at=clock.now()).reason == "expired"


def test_the_pass_is_stable_household_only_and_fits_a_version_10_qr_code(client, factory, db):
    setup, user, _plate, subscription_id, token = _month_pass(client, factory)
    again = client.get(f"/api/v1/subscriptions/{subscription_id}/pass", headers=factory.headers(user)).json["token"]
    assert again == token
    stranger, _ = factory.resident(setup.garage)
    url = f"/api/v1/subscriptions/{subscription_id}/pass"
    assert client.get(url, headers=factory.headers(stranger)).status_code == 404
    assert client.get(url, headers=factory.headers(setup.manager)).status_code == 403
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(token)
    code.make(fit=True)
    assert code.version <= 10, (code.version, len(token))
    png = client.get(url + ".png", headers=factory.headers(user))
    assert png.status_code == 200 and png.mimetype == "image/png"


# -- the token alone ---------------------------------------------------------------------------------

PRIVATE = Ed25519PrivateKey.generate()
RAW = PRIVATE.public_key().public_bytes_raw()
KID = offline.key_id(RAW)
KEYS = offline.load_jwks({"garage_id": 3, "keys": [offline.to_jwk(KID, RAW)]})
START = 1_796_000_000  # a night's validity begins
SPAN = 12 * 3600 + 30 * 60


def _token(nights, span=SPAN, subscription_id=7, **overrides):
    entries = [(j, START + j * offline.DAY, START + j * offline.DAY + span) for j in nights]
    not_before, not_after, span, mask = offline.subscription_window(entries)
    values = dict(
        version=1,
        kid=KID,
        subscription_id=subscription_id,
        garage_id=3,
        plate="沪AD12345",
        not_before=not_before,
        not_after=not_after,
        nonce=b"\x02" * 8,
        span=span,
        nights=mask,
    )
    values.update(overrides)
    return offline.sign(offline.SubscriptionClaims(**values), PRIVATE)


def test_offline_mask_nights_bounds_and_revoked_nights():
    token = _token([0, 1, 3])
    verify = lambda at, **kw: offline.verify(token, KEYS, garage_id=3, at=at, **kw).reason  # noqa: E731
    assert verify(START) is None and verify(START + SPAN - 1) is None
    assert verify(START + SPAN) == "not_yet_valid"  # between nights
    assert verify(START + offline.DAY + 60) is None
    assert verify(START + 2 * offline.DAY + 60) == "not_tonight"
    assert verify(START + 3 * offline.DAY + SPAN - 1) is None
    assert verify(START + 3 * offline.DAY + SPAN) == "expired"
    assert verify(START - 1) == "not_yet_valid"
    revoked = {7: [(START + offline.DAY, START + offline.DAY + SPAN)], 8: [(START, START + SPAN)]}
    assert verify(START + offline.DAY + 60, revoked_nights=revoked) == "revoked"
    assert verify(START + 60, revoked_nights=revoked) is None  # another subscription's night
    # A car inside is let out whatever the night.
    out = offline.verify(token, KEYS, garage_id=3, at=START + 2 * offline.DAY + 60, direction="out")
    assert out.ok
    assert offline.verify(token, KEYS, garage_id=4, at=START).reason == "wrong_garage"


def test_a_night_shifted_by_a_clock_change_stays_inside_its_validity():
    shifted = [(0, START, START + SPAN), (1, START + offline.DAY - 3600, START + offline.DAY - 3600 + SPAN)]
    not_before, not_after, span, mask = offline.subscription_window(shifted)
    claims = offline.SubscriptionClaims(1, KID, 9, 3, "沪A12345", not_before, not_after, b"\x03" * 8, span, mask)
    for j, start, end in shifted:
        assert claims.night_at(start) == j and claims.night_at(end - 1) == j


def test_a_booking_pass_and_a_month_pass_are_not_each_other():
    token = _token([0])
    assert offline.verify(token.replace("M1.", "P1.", 1), KEYS, garage_id=3, at=START).reason == "malformed"
    forged = offline.sign(
        offline.SubscriptionClaims(1, KID, 7, 3, "沪AD12345", START, START + SPAN, b"\x02" * 8, SPAN, 1),
        Ed25519PrivateKey.generate(),
    )
    assert offline.verify(forged, KEYS, garage_id=3, at=START).reason == "bad_signature"


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=len(_token([0, 5])) - 1), st.characters(codec="ascii"))
def test_a_month_pass_with_any_character_changed_is_rejected_never_crashes(position, char):
    token = _token([0, 5])
    changed = token[:position] + char + token[position + 1 :]
    decision = offline.verify(changed, KEYS, garage_id=3, at=START + 60)
    assert decision.ok == (changed == token)


def test_revocation_documents_carry_the_nights_through_json():
    document = {
        "generated_at": "2026-12-01T10:00:00+08:00",
        "garage_id": 3,
        "booking_ids": [1],
        "subscription_nights": [
            {"subscription_id": 7, "service_date": "2026-12-02", "not_before": "2026-12-02T18:45:00+08:00",
             "not_after": "2026-12-03T07:45:00+08:00"},
            {"subscription_id": "x"},
        ],
    }  # fmt: skip
    loaded = offline.load_revocations(document)
    start = int((clock.as_utc(sh(12, 2, 18, 45))).timestamp())
    assert loaded.subscription_nights == {7: ((start, start + 13 * 3600),)}


def test_flask_passes_verify_judges_a_month_pass_with_its_revoked_nights(client, factory, db, runner, tmp_path):
    import json

    setup, user, _plate, subscription_id, token = _month_pass(client, factory)
    _hand_back(client, factory, user, subscription_id, date(2026, 12, 6))
    attendant = factory.attendant(setup.garage)
    headers = factory.headers(attendant)
    keys = tmp_path / "keys.json"
    revocations = tmp_path / "revocations.json"
    keys.write_text(json.dumps(client.get(f"/api/v1/garages/{setup.garage.id}/keys", headers=headers).json))
    revocations.write_text(
        json.dumps(client.get(f"/api/v1/garages/{setup.garage.id}/revocations", headers=headers).json)
    )
    base = ["passes", "verify", token, "--keys", str(keys), "--revocations", str(revocations), "--max-age", "99999999"]
    handed_back = runner.invoke(args=[*base, "--at", "2026-12-06T20:00:00+08:00"])
    assert handed_back.exit_code == 1 and json.loads(handed_back.output)["reason"] == "revoked"
    booked = runner.invoke(args=[*base, "--at", "2026-12-07T20:00:00+08:00"])
    assert booked.exit_code == 0, booked.output
    assert json.loads(booked.output)["subscription"] == subscription_id
