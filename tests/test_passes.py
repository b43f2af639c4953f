from __future__ import annotations

import base64
import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import zxingcpp
from cryptography.hazmat.primitives import serialization
from PIL import Image

from parking import clock
from parking.audit.models import AuditEvent
from parking.bookings.models import BookingStatus
from parking.extensions import db as _db
from parking.households.models import Vehicle, VehicleState
from parking.passes import offline, services
from parking.passes.models import Pass, PassKey
from tests.conftest import SHANGHAI
from tests.gate_helpers import booked, qr_codes, scan, token_of


def test_member_gets_a_stable_signed_pass_for_the_booking_window(client, factory, db):
    s = booked(factory)
    headers = factory.headers(s.resident)
    first = client.get(f"/api/v1/bookings/{s.booking.id}/pass", headers=headers)
    second = client.get(f"/api/v1/bookings/{s.booking.id}/pass", headers=headers)
    assert first.status_code == 200, first.json
    assert first.json["token"] == second.json["token"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Pass)) == 0  # signed when shown

    claims, _, _ = offline.parse(first.json["token"])
    assert claims.booking_id == s.booking.id
    assert claims.garage_id == s.garage.id
    assert claims.plate == s.booking.plate
    opens_local = s.window.opens_at.astimezone(SHANGHAI)
    assert (opens_local.hour, opens_local.minute) == (19, 0)
    assert claims.not_before == int((s.window.opens_at - timedelta(minutes=15)).timestamp())
    assert claims.not_after == int((s.window.closes_at + timedelta(minutes=15)).timestamp())
    assert first.json["not_before"] == (s.window.opens_at - timedelta(minutes=15)).isoformat()
    # No name or phone in the payload.
    payload = base64.urlsafe_b64decode(first.json["token"].split(".")[1] + "==")
    assert s.resident.phone.encode() not in payload
    assert s.resident.name.encode() not in payload
    # The nonce was written with the booking: the pass is its nonce and validity, signed.
    assert claims.nonce == db.session.get(type(s.booking), s.booking.id).pass_nonce


def test_pass_is_refused_for_a_booking_that_no_longer_holds_a_space(client, factory, db):
    s = booked(factory)
    cancel = client.post(f"/api/v1/bookings/{s.booking.id}/cancel", json={}, headers=factory.headers(s.resident))
    assert cancel.status_code == 200
    for suffix in ("", ".png", ".svg"):
        response = client.get(f"/api/v1/bookings/{s.booking.id}/pass{suffix}", headers=factory.headers(s.resident))
        assert response.status_code == 409, suffix
        assert response.json["error"] == "no_space_held"
        assert response.json["details"] == {"status": "cancelled"}


def test_pass_is_for_members_of_the_booking_household_only(client, factory):
    s = booked(factory)
    stranger, _ = factory.resident(s.garage)
    assert client.get(f"/api/v1/bookings/{s.booking.id}/pass", headers=factory.headers(stranger)).status_code == 404
    staff = client.get(f"/api/v1/bookings/{s.booking.id}/pass", headers=factory.headers(s.attendant))
    assert (staff.status_code, staff.json["error"]) == (403, "forbidden")
    assert client.get(f"/api/v1/bookings/{s.booking.id}/pass").status_code == 401
    assert client.get("/api/v1/bookings/999999/pass", headers=factory.headers(s.resident)).status_code == 404


def _new_energy_booking(factory, db):
    window = factory.window(quota=5)
    resident, _ = factory.resident(window.garage)
    db.session.add(
        Vehicle(
            household_id=resident.household_id, plate="沪AD12345", state=VehicleState.VERIFIED, created_at=clock.now()
        )
    )
    db.session.commit()
    return resident, factory.booking(window, user=resident, plate="沪AD12345")


def test_png_reads_back_to_the_exact_token_with_a_real_decoder(client, factory, db):
    resident, booking = _new_energy_booking(factory, db)
    token = token_of(client, factory, resident, booking.id)
    response = client.get(f"/api/v1/bookings/{booking.id}/pass.png", headers=factory.headers(resident))
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    results = qr_codes(Image.open(io.BytesIO(response.data)))
    assert [r.text for r in results] == [token]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode

    svg = client.get(f"/api/v1/bookings/{booking.id}/pass.svg", headers=factory.headers(resident))
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data


def test_real_pass_fits_a_qr_code_of_version_ten_at_level_m(client, factory, db):
    resident, booking = _new_energy_booking(factory, db)
    token = token_of(client, factory, resident, booking.id)
    code = services.qr(token)
    assert code.version <= 10
    print(f"\nFIGURE real pass (8-char plate, booking {booking.id}): {len(token)} chars, QR version {code.version} M")


def test_second_render_comes_from_the_cache(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    services.render_png.cache_clear()
    started = time.perf_counter()
    first = services.render_png(token)
    first_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    second = services.render_png(token)
    cached_ms = (time.perf_counter() - started) * 1000
    assert second is first
    assert services.render_png.cache_info().hits == 1
    print(f"\nFIGURE pass PNG render: first {first_ms:.2f} ms, cached {cached_ms:.4f} ms")


def test_printable_page_shows_plate_window_and_garage(client, factory):
    s = booked(factory)
    response = client.get(f"/api/v1/bookings/{s.booking.id}/pass.html", headers=factory.headers(s.resident))
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert s.booking.plate in page
    assert s.garage.name in page
    assert "19:00" in page and "07:30" in page
    assert "车牌" in page and "Plate" in page
    assert "<svg" in page
    assert client.get(f"/api/v1/bookings/{s.booking.id}/pass.html").status_code == 401


def _jwks(client, factory, user, garage_id):
    return client.get(f"/api/v1/garages/{garage_id}/keys", headers=factory.headers(user))


def test_keys_are_published_as_public_jwks_to_the_garage_staff_only(client, factory, db):
    s = booked(factory)
    response = _jwks(client, factory, s.attendant, s.garage.id)
    assert response.status_code == 200
    (jwk,) = response.json["keys"]
    assert set(jwk) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert len(base64.urlsafe_b64decode(jwk["x"] + "=")) == 32
    assert _jwks(client, factory, factory.manager(s.garage), s.garage.id).status_code == 200
    assert _jwks(client, factory, s.resident, s.garage.id).status_code == 403
    other = factory.garage()
    assert _jwks(client, factory, factory.attendant(other), s.garage.id).status_code == 403
    revocations = client.get(f"/api/v1/garages/{s.garage.id}/revocations", headers=factory.headers(s.resident))
    assert revocations.status_code == 403
    # One key per garage, made when the garage was opened, and reused.
    token_of(client, factory, s.resident, s.booking.id)
    assert db.session.scalar(db.select(db.func.count()).where(PassKey.garage_id == s.garage.id)) == 1


def test_private_key_never_appears_in_an_api_response_or_repr(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    responses = [
        _jwks(client, factory, s.attendant, s.garage.id),
        client.get(f"/api/v1/garages/{s.garage.id}/revocations", headers=factory.headers(s.attendant)),
        client.get(f"/api/v1/bookings/{s.booking.id}/pass", headers=factory.headers(s.resident)),
        client.get(f"/api/v1/bookings/{s.booking.id}/pass.html", headers=factory.headers(s.resident)),
        client.get(f"/api/v1/garages/{s.garage.id}/occupancy", headers=factory.headers(s.attendant)),
        scan(client, factory, s.attendant, s.garage.id, token=token),
        client.get("/api/v1/audit", headers=factory.headers(factory.manager(s.garage))),
        client.get("/api/v1/openapi.json"),
    ]
    key = db.session.scalar(db.select(PassKey))
    private = services._private(key)
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    secrets = [
        base64.urlsafe_b64encode(raw).rstrip(b"="),
        base64.b64encode(raw).rstrip(b"="),
        raw.hex().encode(),
        bytes(key.private_key_encrypted),
    ]
    for response in responses:
        for secret in secrets:
            assert secret not in response.data, response.request.path
    assert "private" not in repr(key) and key.private_key_encrypted.decode() not in repr(key)
    # Stored encrypted: the raw key is not in the column.
    assert raw not in bytes(key.private_key_encrypted)


def test_rotation_keeps_old_passes_valid_signs_new_ones_with_the_new_key_and_publishes_both(
    client, factory, db, runner
):
    old = booked(factory)
    old_token = token_of(client, factory, old.resident, old.booking.id)
    old_kid = offline.parse(old_token)[0].kid

    result = runner.invoke(args=["passes", "rotate-key", "--garage", str(old.garage.id)])
    assert result.exit_code == 0, result.output
    new = booked(factory, window=old.window)
    new_token = token_of(client, factory, new.resident, new.booking.id)
    new_kid = offline.parse(new_token)[0].kid
    assert new_kid != old_kid
    # Signed when shown, by the active key: shown again, the old pass carries the new key; the
    # token shown (or printed) before stays valid while its booking's pass can be used.
    again = token_of(client, factory, old.resident, old.booking.id)
    assert offline.parse(again)[0].kid == new_kid and offline.parse(again)[0].nonce == offline.parse(old_token)[0].nonce

    kids = {k["kid"] for k in _jwks(client, factory, old.attendant, old.garage.id).json["keys"]}
    assert kids == {old_kid, new_kid}
    clock.set_now(old.window.opens_at)
    assert scan(client, factory, old.attendant, old.garage.id, token=old_token).json["result"] == "accepted"
    assert scan(client, factory, old.attendant, old.garage.id, token=new_token).json["result"] == "accepted"

    # Once the old passes can no longer be used, the retired key is no longer published.
    clock.set_now(old.window.closes_at + timedelta(minutes=15))
    kids = {k["kid"] for k in _jwks(client, factory, old.attendant, old.garage.id).json["keys"]}
    assert kids == {new_kid}
    actions = set(db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.object_type == "pass_key")))
    assert actions == {"pass_key.created", "pass_key.retired"}
    assert runner.invoke(args=["passes", "rotate-key", "--garage", "999"]).exit_code != 0


def test_revocation_list_names_bookings_with_live_passes_that_lost_their_space(client, factory, db):
    s = booked(factory)
    kept = booked(factory, window=s.window)
    for setup in (s, kept):
        token_of(client, factory, setup.resident, setup.booking.id)
    client.post(f"/api/v1/bookings/{s.booking.id}/cancel", json={}, headers=factory.headers(s.resident))
    response = client.get(f"/api/v1/garages/{s.garage.id}/revocations", headers=factory.headers(s.attendant))
    assert response.status_code == 200
    assert response.json["booking_ids"] == [s.booking.id]
    assert response.json["garage_id"] == s.garage.id
    assert offline.parse_instant(response.json["generated_at"]) == clock.now()
    clock.set_now(s.window.closes_at + timedelta(minutes=15))
    later = client.get(f"/api/v1/garages/{s.garage.id}/revocations", headers=factory.headers(s.attendant))
    assert later.json["booking_ids"] == []


def _offline_files(client, factory, setup, tmp_path):
    keys = _jwks(client, factory, setup.attendant, setup.garage.id).json
    revocations = client.get(
        f"/api/v1/garages/{setup.garage.id}/revocations", headers=factory.headers(setup.attendant)
    ).json
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    (tmp_path / "rev.json").write_text(json.dumps(revocations))
    return ["--keys", str(tmp_path / "keys.json"), "--revocations", str(tmp_path / "rev.json")]


def test_cli_verify_decides_from_public_material_as_the_gate_does(client, factory, db, runner, tmp_path):
    s = booked(factory)
    gone = booked(factory, window=s.window)
    token = token_of(client, factory, s.resident, s.booking.id)
    gone_token = token_of(client, factory, gone.resident, gone.booking.id)
    client.post(f"/api/v1/bookings/{gone.booking.id}/cancel", json={}, headers=factory.headers(gone.resident))
    files = _offline_files(client, factory, s, tmp_path)
    at = (s.window.opens_at + timedelta(minutes=5)).isoformat()

    def verify(tok, *extra):
        result = runner.invoke(args=["passes", "verify", tok, *files, "--at", at, *extra])
        return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1]), result.stderr

    code, out, err = verify(token, "--max-age", "86400")
    assert (code, out["result"], out["reason"], out["booking"]) == (0, "accepted", None, s.booking.id)
    assert err == ""
    assert verify(gone_token)[1]["reason"] == "revoked"
    assert verify(token, "--plate-seen", "京A00000")[1]["reason"] == "plate_mismatch"
    assert verify(token, "--garage", str(s.garage.id + 1))[1]["reason"] == "wrong_garage"
    early = (s.window.opens_at - timedelta(minutes=16)).isoformat()
    assert verify(token, "--at", early)[1]["reason"] == "not_yet_valid"
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BAA")
    assert verify(tampered)[1]["reason"] == "bad_signature", (token, tampered)
    code, out, _ = verify("hello")
    assert (code, out["reason"]) == (1, "malformed")

    # The gate says the same about the same passes.
    clock.set_now(s.window.opens_at + timedelta(minutes=5))
    assert scan(client, factory, s.attendant, s.garage.id, token=gone_token).json["reason"] == "revoked"

    # The list was generated at T0; at the window it is hours old: a warning, the decision stands.
    code, _, err = verify(token, "--max-age", "600")
    assert code == 0
    assert "revocation list" in err and "old" in err


def test_offline_module_imports_nothing_from_flask_or_sqlalchemy():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(offline))
    modules = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert modules <= {
        "__future__",
        "base64",
        "binascii",
        "hashlib",
        "os",
        "time",
        "collections",
        "dataclasses",
        "datetime",
        "typing",
        "cbor2",
        "cryptography",
    }


def test_measure_offline_verification_time():
    micros = offline.measure_verify_us(2000)
    assert micros > 0
    print(f"\nFIGURE offline verify: {micros:.1f} µs per pass")


def test_booking_status_changes_do_not_change_an_issued_token(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    clock.set_now(s.window.opens_at)
    scan(client, factory, s.attendant, s.garage.id, token=token)
    assert _db.session.get(type(s.booking), s.booking.id).status == BookingStatus.CHECKED_IN
    assert token_of(client, factory, s.resident, s.booking.id) == token


def test_first_passes_requested_at_once_share_one_new_garage_key(app, client, factory, db):
    window = factory.window(quota=10)
    setups = [booked(factory, window=window) for _ in range(4)]
    requests = [(factory.headers(s.resident), s.booking.id) for s in setups]
    db.session.commit()
    barrier = threading.Barrier(len(requests))

    def fetch(request):
        headers, booking_id = request
        client = app.test_client()
        barrier.wait()
        return client.get(f"/api/v1/bookings/{booking_id}/pass", headers=headers)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        responses = list(pool.map(fetch, requests))
    assert [r.status_code for r in responses] == [200] * len(requests)
    kids = {offline.parse(r.json["token"])[0].kid for r in responses}
    assert len(kids) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(PassKey)) == 1


def test_the_same_pass_requested_twice_at_once_is_issued_once(app, client, factory, db):
    s = booked(factory)
    headers, booking_id = factory.headers(s.resident), s.booking.id
    db.session.commit()
    barrier = threading.Barrier(3)

    def fetch(_):
        client = app.test_client()
        barrier.wait()
        return client.get(f"/api/v1/bookings/{booking_id}/pass", headers=headers)

    with ThreadPoolExecutor(max_workers=3) as pool:
        responses = list(pool.map(fetch, range(3)))
    assert len({r.json["token"] for r in responses}) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Pass)) == 0


def test_showing_a_pass_writes_nothing_for_a_night_or_a_month(client, factory, db):
    """The nonce and validity are written with the booking (and the month's nonce with its
    subscription); showing the pass only signs: no INSERT, UPDATE or DELETE during the GETs."""
    from tests.monthly_helpers import offered, subscribe
    from tests.test_query_budget import statements

    s = booked(factory)
    token_of(client, factory, s.resident, s.booking.id)  # the garage's first key is made by its first use
    other = booked(factory, window=s.window)
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    subscription_id = subscribe(client, factory, user, setup, plate).json["id"]
    client.get(f"/api/v1/garages/{setup.garage.id}/keys", headers=factory.headers(setup.manager))
    paths = [
        (other.resident, f"/api/v1/bookings/{other.booking.id}/pass"),
        (other.resident, f"/api/v1/bookings/{other.booking.id}/pass.png"),
        (other.resident, f"/api/v1/bookings/{other.booking.id}/pass.svg"),
        (user, f"/api/v1/subscriptions/{subscription_id}/pass"),
        (user, f"/api/v1/subscriptions/{subscription_id}/pass.png"),
    ]
    for who, path in paths:
        with statements() as seen:
            response = client.get(path, headers=factory.headers(who))
        assert response.status_code == 200, (path, response.data[:200])
        writes = [q for q in seen if q.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
        assert writes == [], (path, writes)
    assert db.session.scalar(db.select(db.func.count()).select_from(Pass)) == 0
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "pass.issued")) is None
