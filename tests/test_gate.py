from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parking import clock
from parking.audit.models import AuditEvent
from parking.auth.models import Role, User
from parking.bookings.models import Booking, BookingStatus
from parking.gate.models import Scan
from parking.passes import offline
from parking.windows.models import Garage, Window
from tests.gate_helpers import booked, scan, token_of


def _at_opening(setup, minutes=0):
    clock.set_now(setup.window.opens_at + timedelta(minutes=minutes))


def _booking(db, booking_id):
    db.session.expire_all()
    return db.session.get(Booking, booking_id)


def _scans(db):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Scan).order_by(Scan.id)))


def test_entry_checks_in_exit_lets_out_and_re_entry_is_allowed_in_the_window(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s, -15)  # early entry from 18:45

    entry = scan(client, factory, s.attendant, s.garage.id, token=token, device="gate-1")
    assert entry.status_code == 200
    assert {k: entry.json[k] for k in ("result", "reason", "booking", "plate", "direction")} == {
        "result": "accepted",
        "reason": None,
        "booking": s.booking.id,
        "plate": s.booking.plate,
        "direction": "in",
    }
    booking = _booking(db, s.booking.id)
    assert (booking.status, booking.inside, booking.entered_at) == (BookingStatus.CHECKED_IN, True, clock.now())

    clock.advance(timedelta(hours=1))
    out = scan(client, factory, s.attendant, s.garage.id, token=token, direction="out")
    assert out.json["result"] == "accepted"
    booking = _booking(db, s.booking.id)
    assert (booking.status, booking.inside, booking.exited_at) == (BookingStatus.CHECKED_IN, False, clock.now())

    clock.advance(timedelta(hours=1))
    again = scan(client, factory, s.attendant, s.garage.id, token=token)
    assert again.json["result"] == "accepted"
    assert _booking(db, s.booking.id).inside is True

    actions = list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.object_type == "booking", AuditEvent.object_id == s.booking.id)
            .order_by(AuditEvent.id)
        )
    )
    assert actions == ["booking.confirmed", "booking.checked_in", "booking.exited", "booking.entered"]
    scans = _scans(db)
    assert [(x.direction.value, x.result.value, x.actor_id) for x in scans] == [
        ("in", "accepted", s.attendant.id),
        ("out", "accepted", s.attendant.id),
        ("in", "accepted", s.attendant.id),
    ]
    assert scans[0].device == "gate-1"


def test_double_entry_and_exit_without_entry_are_refused(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s)
    out = scan(client, factory, s.attendant, s.garage.id, token=token, direction="out")
    assert (out.status_code, out.json["result"], out.json["reason"]) == (200, "rejected", "not_inside")
    assert scan(client, factory, s.attendant, s.garage.id, token=token).json["result"] == "accepted"
    twice = scan(client, factory, s.attendant, s.garage.id, token=token)
    assert (twice.json["result"], twice.json["reason"]) == ("rejected", "already_inside")
    assert twice.json["message"]
    assert [(x.result.value, x.reason) for x in _scans(db)] == [
        ("rejected", "not_inside"),
        ("accepted", None),
        ("rejected", "already_inside"),
    ]


def test_entry_too_early_or_too_late_is_refused(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s, -16)
    assert scan(client, factory, s.attendant, s.garage.id, token=token).json["reason"] == "not_yet_valid"
    clock.set_now(s.window.closes_at + timedelta(minutes=15))
    assert scan(client, factory, s.attendant, s.garage.id, token=token).json["reason"] == "expired"
    assert _booking(db, s.booking.id).status == BookingStatus.CONFIRMED


def test_cancelled_booking_pass_is_revoked(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    client.post(f"/api/v1/bookings/{s.booking.id}/cancel", json={}, headers=factory.headers(s.resident))
    _at_opening(s)
    response = scan(client, factory, s.attendant, s.garage.id, token=token)
    assert (response.json["result"], response.json["reason"], response.json["booking"]) == (
        "rejected",
        "revoked",
        s.booking.id,
    )
    assert _booking(db, s.booking.id).status == BookingStatus.CANCELLED


def test_forged_altered_garbage_and_unknown_key_tokens_are_rejected(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s)
    claims, _, _ = offline.parse(token)
    forged = offline.sign(claims, Ed25519PrivateKey.generate())
    other = Ed25519PrivateKey.generate()
    unknown = offline.sign(
        offline.PassClaims(**{**_fields(claims), "kid": offline.key_id(other.public_key().public_bytes_raw())}), other
    )
    altered_payload = offline.encode_payload(offline.PassClaims(**{**_fields(claims), "plate": "沪A99999"}))
    altered = f"P1.{offline.b64encode(altered_payload)}.{token.split('.')[2]}"
    cases = {
        forged: "bad_signature",
        altered: "bad_signature",
        unknown: "unknown_key",
        "hello world": "malformed",
        "P1.!!!.???": "malformed",
    }
    for bad, reason in cases.items():
        response = scan(client, factory, s.attendant, s.garage.id, token=bad)
        assert response.status_code == 200
        assert (response.json["result"], response.json["reason"], response.json["booking"]) == (
            "rejected",
            reason,
            None,
        ), bad
        assert response.json["plate"] is None  # nothing from an untrusted token is echoed as fact
    assert _booking(db, s.booking.id).inside is False
    assert len(_scans(db)) == len(cases)


def _fields(claims):
    return {name: getattr(claims, name) for name in offline.PassClaims.__slots__}


def test_pass_of_another_garage_is_rejected_as_wrong_garage(client, factory, db):
    here = booked(factory)
    there = booked(factory)
    token = token_of(client, factory, there.resident, there.booking.id)
    _at_opening(here)
    response = scan(client, factory, here.attendant, here.garage.id, token=token)
    assert (response.json["result"], response.json["reason"]) == ("rejected", "wrong_garage")
    assert _booking(db, there.booking.id).inside is False


def test_plate_seen_must_match_the_pass(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s)
    wrong = scan(client, factory, s.attendant, s.garage.id, token=token, plate_seen="京A00000")
    assert (wrong.json["result"], wrong.json["reason"]) == ("rejected", "plate_mismatch")
    spaced = f"{s.booking.plate[:2]} {s.booking.plate[2:]}".lower()
    right = scan(client, factory, s.attendant, s.garage.id, token=token, plate_seen=spaced)
    assert right.json["result"] == "accepted"


def test_a_re_sent_scan_gets_the_same_answer_and_is_recorded_once(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s)
    first = scan(client, factory, s.attendant, s.garage.id, token=token, key="dev1-0001")
    clock.advance(timedelta(seconds=5))
    again = scan(client, factory, s.attendant, s.garage.id, token=token, key="dev1-0001")
    assert first.json == again.json
    assert first.json["result"] == "accepted"  # not "already_inside": it is the same scan
    assert len(_scans(db)) == 1
    checked_in = sa.select(sa.func.count()).where(
        AuditEvent.action == "booking.checked_in", AuditEvent.object_id == s.booking.id
    )
    assert db.session.scalar(checked_in) == 1
    reused = scan(client, factory, s.attendant, s.garage.id, token=token, key="dev1-0001", direction="out")
    assert (reused.status_code, reused.json["error"]) == (409, "idempotency_key_reused")
    # The key is per garage: another garage's device may use the same one.
    other = booked(factory)
    elsewhere = scan(client, factory, other.attendant, other.garage.id, token=token, key="dev1-0001")
    assert elsewhere.json["reason"] == "wrong_garage"


def test_the_scan_row_returned_by_the_claim_is_the_stored_row_column_for_column(app, client, factory, db):
    """The claim's INSERT … RETURNING is loaded as the Scan itself (no second query), matched to
    the table's columns by position: a column added to the model must be added there too."""
    from parking.gate import services as gate

    s = booked(factory)
    attendant_id = s.attendant.id
    _at_opening(s)
    with app.test_request_context():
        actor = db.session.get(User, attendant_id)
        claimed, fresh = gate._claim(s.garage.id, "claim-1", "f" * 64, actor, gate.Direction.IN, "lane-9", clock.now())
        assert fresh
        loaded = {c.name: getattr(claimed, c.key) for c in Scan.__table__.columns}
        db.session.commit()
    row = db.session.execute(sa.select(Scan.__table__).where(Scan.id == loaded["id"])).mappings().one()
    assert loaded == dict(row)
    assert (loaded["idempotency_key"], loaded["device"], loaded["reason"]) == ("claim-1", "lane-9", "pending")


def test_concurrent_identical_scans_are_recorded_once_with_one_answer(app, client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s)
    headers = factory.headers(s.attendant)
    body = {"garage_id": s.garage.id, "token": token, "direction": "in", "idempotency_key": "burst-1"}
    booking_id = s.booking.id
    db.session.commit()  # the test's session must hold no SQLite lock while the threads run
    copies = 6
    barrier = threading.Barrier(copies)

    def send(_):
        client = app.test_client()
        barrier.wait()
        return client.post("/api/v1/gate/scan", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=copies) as pool:
        responses = list(pool.map(send, range(copies)))
    assert {r.status_code for r in responses} == {200}
    assert {(r.json["id"], r.json["result"], r.json["reason"]) for r in responses} == {
        (responses[0].json["id"], "accepted", None)
    }
    assert len(_scans(db)) == 1
    assert _booking(db, booking_id).status == BookingStatus.CHECKED_IN


def test_concurrent_entries_with_different_keys_admit_the_car_once(app, client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s)
    headers = factory.headers(s.attendant)
    garage_id = s.garage.id
    db.session.commit()
    copies = 5
    barrier = threading.Barrier(copies)

    def send(i):
        client = app.test_client()
        barrier.wait()
        body = {"garage_id": garage_id, "token": token, "direction": "in", "idempotency_key": f"lane-{i}"}
        return client.post("/api/v1/gate/scan", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=copies) as pool:
        responses = list(pool.map(send, range(copies)))
    reasons = sorted((r.json["result"], r.json["reason"] or "") for r in responses)
    assert reasons == [("accepted", "")] + [("rejected", "already_inside")] * (copies - 1)


def test_only_staff_of_the_garage_may_scan(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s)
    other_garage = factory.garage()
    for user in (s.resident, factory.attendant(other_garage), factory.manager(other_garage)):
        response = scan(client, factory, user, s.garage.id, token=token)
        assert (response.status_code, response.json["error"]) == (403, "forbidden")
    assert _scans(db) == []
    assert client.post("/api/v1/gate/scan", json={}).status_code == 401
    manager = scan(client, factory, factory.manager(s.garage), s.garage.id, token=token)
    assert manager.json["result"] == "accepted"
    admin = scan(client, factory, factory.admin(), 999999, token=token)
    assert admin.status_code == 404


def test_malformed_request_bodies_get_the_validation_error_shape(client, factory):
    s = booked(factory)
    headers = factory.headers(s.attendant)
    base = {"garage_id": s.garage.id, "direction": "in", "idempotency_key": "k"}
    for body in (
        {**base},  # neither token nor plate
        {**base, "token": "x", "plate": "沪A12345"},
        {**base, "token": "x", "direction": "sideways"},
        {k: v for k, v in {**base, "token": "x"}.items() if k != "idempotency_key"},
        {**base, "token": "x", "idempotency_key": "k" * 65},
        {**base, "token": "x" * 1000},
        {**base, "token": "x", "garage_id": "1"},
    ):
        response = client.post("/api/v1/gate/scan", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json["error"] == "validation_error"
        assert response.json["errors"]


def test_plate_look_up_admits_and_lets_out_a_resident_without_a_phone(client, factory, db):
    s = booked(factory)
    _at_opening(s, -10)
    entry = scan(client, factory, s.attendant, s.garage.id, plate=s.booking.plate.lower())
    assert (entry.json["result"], entry.json["booking"], entry.json["plate"]) == (
        "accepted",
        s.booking.id,
        s.booking.plate,
    )
    assert scan(client, factory, s.attendant, s.garage.id, plate=s.booking.plate).json["reason"] == "already_inside"
    out = scan(client, factory, s.attendant, s.garage.id, plate=s.booking.plate, direction="out")
    assert out.json["result"] == "accepted"
    assert _booking(db, s.booking.id).inside is False
    again = scan(client, factory, s.attendant, s.garage.id, plate=s.booking.plate, direction="out")
    assert again.json["reason"] == "not_inside"
    assert _scans(db)[0].by_plate is True

    nobody = scan(client, factory, s.attendant, s.garage.id, plate="京A00000")
    assert (nobody.json["result"], nobody.json["reason"], nobody.json["booking"]) == ("rejected", "no_booking", None)
    assert scan(client, factory, s.attendant, s.garage.id, plate="not a plate").json["reason"] == "malformed"


def test_plate_look_up_reports_too_early_and_revoked(client, factory, db):
    s = booked(factory)
    cancelled = booked(factory, window=s.window)
    client.post(f"/api/v1/bookings/{cancelled.booking.id}/cancel", json={}, headers=factory.headers(cancelled.resident))
    _at_opening(s, -16)
    assert scan(client, factory, s.attendant, s.garage.id, plate=s.booking.plate).json["reason"] == "not_yet_valid"
    _at_opening(s)
    revoked = scan(client, factory, s.attendant, s.garage.id, plate=cancelled.booking.plate)
    assert (revoked.json["reason"], revoked.json["booking"]) == ("revoked", cancelled.booking.id)


def test_a_car_inside_can_leave_after_the_grace_and_an_overstay_exit_completes_the_booking(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s)
    scan(client, factory, s.attendant, s.garage.id, token=token)
    # The tide marks the overstay (another module); the gate only reads the status.
    clock.set_now(s.window.closes_at + timedelta(minutes=40))
    db.session.execute(sa.update(Booking).where(Booking.id == s.booking.id).values(status=BookingStatus.OVERSTAYED))
    db.session.commit()

    occupancy = client.get(f"/api/v1/garages/{s.garage.id}/occupancy", headers=factory.headers(s.attendant))
    assert [o["booking"] for o in occupancy.json["overstays"]] == [s.booking.id]

    assert scan(client, factory, s.attendant, s.garage.id, token=token).json["reason"] == "expired"
    out = scan(client, factory, s.attendant, s.garage.id, token=token, direction="out")
    assert out.json["result"] == "accepted"
    booking = _booking(db, s.booking.id)
    assert (booking.status, booking.inside, booking.slot) == (BookingStatus.COMPLETED, False, None)
    assert db.session.get(Window, s.window.id).booked == 0
    completed = sa.select(AuditEvent).where(AuditEvent.action == "booking.completed")
    assert db.session.scalar(completed).after["status"] == "completed"


def test_occupancy_lists_cars_inside_and_overstays_even_before_the_tide_runs(client, factory, db):
    s = booked(factory)
    parked = booked(factory, window=s.window)
    token = token_of(client, factory, parked.resident, parked.booking.id)
    _at_opening(s, 30)
    scan(client, factory, s.attendant, s.garage.id, token=token)
    response = client.get(f"/api/v1/garages/{s.garage.id}/occupancy", headers=factory.headers(s.attendant))
    assert response.status_code == 200
    (car,) = response.json["inside"]
    assert (car["booking"], car["plate"], car["status"]) == (parked.booking.id, parked.booking.plate, "checked_in")
    assert offline.parse_instant(car["entered_at"]) == clock.now()
    assert response.json["overstays"] == []

    clock.set_now(s.window.closes_at + timedelta(minutes=15))  # the tide has not marked it
    late = client.get(f"/api/v1/garages/{s.garage.id}/occupancy", headers=factory.headers(s.attendant))
    assert [o["booking"] for o in late.json["overstays"]] == [parked.booking.id]

    assert (
        client.get(f"/api/v1/garages/{s.garage.id}/occupancy", headers=factory.headers(s.resident)).status_code == 403
    )
    other = factory.attendant(factory.garage())
    assert client.get(f"/api/v1/garages/{s.garage.id}/occupancy", headers=factory.headers(other)).status_code == 403


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.one_of(st.text(min_size=1, max_size=200), st.text(alphabet="P1.-_Aa0", min_size=1, max_size=200)))
def test_any_token_string_at_the_gate_is_a_clean_decision_never_an_error(client, factory, db, token):
    garage = db.session.scalar(sa.select(Garage)) or factory.garage()
    attendant = db.session.scalar(sa.select(User).where(User.role == Role.ATTENDANT)) or factory.attendant(garage)
    response = scan(client, factory, attendant, garage.id, token=token)
    if response.status_code == 422:  # blank after trimming, or control characters
        assert response.json["error"] == "validation_error"
        return
    assert response.status_code == 200, response.json
    assert response.json["result"] == "rejected"
    assert response.json["reason"] == "malformed"


def test_a_car_leaving_after_the_grace_before_the_tide_ran_is_charged_the_overstay_once(client, factory, db):
    from parking.households.models import Strike
    from parking.notifications.models import Notification
    from parking.tide.services import run_tide

    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s)
    scan(client, factory, s.attendant, s.garage.id, token=token)
    clock.set_now(s.window.closes_at + timedelta(minutes=40))  # past the 15-minute grace; no tide ran
    out = scan(client, factory, s.attendant, s.garage.id, token=token, direction="out")
    assert out.json["result"] == "accepted"
    booking = _booking(db, s.booking.id)
    assert (booking.status, booking.inside) == (BookingStatus.COMPLETED, False)
    assert db.session.get(Window, s.window.id).booked == 0

    run_tide(clock.now())  # the tide comes later and must not charge it again
    db.session.commit()
    strikes = db.session.scalars(sa.select(Strike).where(Strike.booking_id == s.booking.id)).all()
    assert [st.kind.value for st in strikes] == ["overstay"]
    notes = db.session.scalars(sa.select(Notification.kind).where(Notification.booking_id == s.booking.id)).all()
    assert notes.count("overstayed") == 1
    statuses = [
        e.after["status"]
        for e in db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.object_type == "booking", AuditEvent.object_id == s.booking.id)
            .order_by(AuditEvent.id)
        )
        if e.after and "status" in e.after
    ]
    assert statuses[-2:] == ["overstayed", "completed"]


def test_a_car_leaving_within_the_grace_is_not_charged(client, factory, db):
    from parking.households.models import Strike

    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s)
    scan(client, factory, s.attendant, s.garage.id, token=token)
    clock.set_now(s.window.closes_at + timedelta(minutes=14))
    assert scan(client, factory, s.attendant, s.garage.id, token=token, direction="out").json["result"] == "accepted"
    assert _booking(db, s.booking.id).status == BookingStatus.CHECKED_IN
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Strike)) == 0


def test_a_late_exit_that_is_the_third_strike_suspends_the_household(client, factory, db):
    from parking.households.models import Household, Strike, StrikeKind

    s = booked(factory)
    earlier = [factory.booking(factory.window(s.garage, quota=5)) for _ in range(2)]
    for b in earlier:
        db.session.add(
            Strike(household_id=s.booking.household_id, booking_id=b.id, kind=StrikeKind.NO_SHOW, at=clock.now())
        )
    db.session.commit()
    token = token_of(client, factory, s.resident, s.booking.id)
    _at_opening(s)
    scan(client, factory, s.attendant, s.garage.id, token=token)
    clock.set_now(s.window.closes_at + timedelta(minutes=30))
    scan(client, factory, s.attendant, s.garage.id, token=token, direction="out")
    household = db.session.get(Household, s.booking.household_id)
    assert household.suspended_until is not None and household.suspended_until > clock.now()


def test_a_gate_entry_racing_a_cancel_never_leaves_a_cancelled_car_inside(app, client, factory, db):
    from tests.concurrency_helpers import race
    from tests.test_concurrency import _holding

    window = factory.window(quota=10)
    attendant = factory.attendant(window.garage)
    setups = [booked(factory, window=window) for _ in range(6)]
    tokens = [token_of(client, factory, s.resident, s.booking.id) for s in setups]
    _at_opening(setups[0])
    gate_headers = factory.headers(attendant)
    calls = []
    for n, (s, token) in enumerate(zip(setups, tokens, strict=True)):
        body = {"garage_id": window.garage_id, "token": token, "direction": "in", "idempotency_key": f"race-{n}"}
        owner = factory.headers(s.resident)
        calls.append(lambda c, body=body: c.post("/api/v1/gate/scan", json=body, headers=gate_headers))
        calls.append(lambda c, b=s.booking.id, h=owner: c.post(f"/api/v1/bookings/{b}/cancel", json={}, headers=h))
    db.session.commit()
    responses = race(app, calls)
    assert all(r.status_code == 200 for r in responses[::2])
    db.session.expire_all()
    for s, entry, cancel in zip(setups, responses[::2], responses[1::2], strict=True):
        booking = _booking(db, s.booking.id)
        if entry.json["result"] == "accepted":
            assert (booking.status, booking.inside) == (BookingStatus.CHECKED_IN, True)
            assert (cancel.status_code, cancel.json["error"]) == (422, "not_cancellable")
        else:
            assert entry.json["reason"] == "revoked"
            assert cancel.status_code == 200
            assert (booking.status, booking.inside) == (BookingStatus.CANCELLED, False)
    assert db.session.get(Window, window.id).booked == _holding(db, window.id)
