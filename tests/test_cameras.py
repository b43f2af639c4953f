"""Plate-recognition cameras: credentials shown once and revocable, plate events
judged by the plate scan and stored once, reads below the threshold confirmed by an attendant."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.bookings.models import Booking, BookingStatus
from parking.gate.models import Camera, PlateEvent, Scan
from tests.camera_helpers import camera_headers, event_body, register, send
from tests.concurrency_helpers import race
from tests.gate_helpers import booked


def _count(db, model):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _night(factory):
    s = booked(factory)
    manager = factory.manager(s.garage)
    clock.set_now(s.window.opens_at + timedelta(minutes=5))
    return s, manager


def test_a_camera_credential_is_shown_once_stored_hashed_and_never_listed(client, factory, db, caplog):
    s, manager = _night(factory)
    caplog.set_level(logging.DEBUG)
    camera = register(client, factory, manager, s.garage.id, direction="in")
    secret = camera["credential"].split(":", 1)[1]
    assert camera["credential"].startswith(f"{camera['id']}:") and len(secret) >= 40
    stored = db.session.get(Camera, camera["id"])
    assert secret not in stored.credential_hash and len(stored.credential_hash) == 64
    listed = client.get(f"/api/v1/garages/{s.garage.id}/cameras", headers=factory.headers(manager))
    assert listed.status_code == 200
    assert [c["name"] for c in listed.json] == ["east lane"]
    assert secret not in listed.text and "credential" not in listed.json[0]
    audits = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "camera")).all()
    assert [a.action for a in audits] == ["camera.registered"]
    assert secret not in str([(a.before, a.after) for a in audits])
    assert secret not in caplog.text
    twin = client.post(
        f"/api/v1/garages/{s.garage.id}/cameras",
        json={"name": "east lane", "direction": "in"},
        headers=factory.headers(manager),
    )
    assert (twin.status_code, twin.json["error"]) == (409, "camera_name_taken")


def test_only_the_garages_managers_register_list_and_revoke_cameras(client, factory, db):
    s, manager = _night(factory)
    camera = register(client, factory, manager, s.garage.id)
    other_manager = factory.manager(factory.garage())
    for user in (s.attendant, s.resident, other_manager):
        h = factory.headers(user)
        assert (
            client.post(
                f"/api/v1/garages/{s.garage.id}/cameras", json={"name": "x", "direction": "in"}, headers=h
            ).status_code
            == 403
        )
        assert client.get(f"/api/v1/garages/{s.garage.id}/cameras", headers=h).status_code == 403
        assert client.post(f"/api/v1/cameras/{camera['id']}/revoke", json={}, headers=h).status_code == 404
    assert _count(db, Camera) == 1


def test_a_confident_read_admits_the_booked_car_and_a_resend_gets_the_stored_answer(client, factory, db):
    s, manager = _night(factory)
    camera = register(client, factory, manager, s.garage.id)
    body = event_body(camera, s.booking.plate.lower())
    first = client.post("/api/v1/gate/plate-events", json=body, headers=camera_headers(camera))
    assert first.status_code == 200, first.json
    assert {k: first.json[k] for k in ("open", "result", "reason", "display", "booking", "status")} == {
        "open": True,
        "result": "accepted",
        "reason": None,
        "display": f"欢迎 {s.booking.plate}",
        "booking": s.booking.id,
        "status": "decided",
    }
    db.session.expire_all()
    booking = db.session.get(Booking, s.booking.id)
    assert (booking.status, booking.inside) == (BookingStatus.CHECKED_IN, True)
    scan = db.session.scalar(sa.select(Scan))
    assert (scan.by_plate, scan.actor_id, scan.device) == (True, None, f"camera-{camera['id']}")

    clock.advance(timedelta(seconds=3))
    again = client.post("/api/v1/gate/plate-events", json=body, headers=camera_headers(camera))
    assert again.json == first.json
    assert (_count(db, PlateEvent), _count(db, Scan)) == (1, 1)
    reused = client.post(
        "/api/v1/gate/plate-events", json={**body, "plate": "京A00000"}, headers=camera_headers(camera)
    )
    assert (reused.status_code, reused.json["error"]) == (409, "event_id_reused")

    twice = send(client, camera, s.booking.plate)
    assert (twice.json["open"], twice.json["reason"]) == (False, "already_inside")
    assert twice.json["display"] == "车辆已在场内，请联系值班员"
    out = send(client, camera, s.booking.plate, direction="out")
    assert (out.json["open"], out.json["display"]) == (True, f"一路平安 {s.booking.plate}")


def test_an_unbooked_plate_is_refused_with_the_led_text(client, factory, db):
    s, manager = _night(factory)
    camera = register(client, factory, manager, s.garage.id)
    response = send(client, camera, "京A00000")
    assert {k: response.json[k] for k in ("open", "result", "reason", "display")} == {
        "open": False,
        "result": "rejected",
        "reason": "no_booking",
        "display": "未预约，请联系值班员",
    }


def test_a_read_below_the_threshold_waits_for_the_attendant_who_corrects_and_confirms_it(client, factory, db):
    s, manager = _night(factory)
    camera = register(client, factory, manager, s.garage.id)
    misread = s.booking.plate[:-1] + ("8" if s.booking.plate[-1] != "8" else "9")
    response = send(client, camera, misread, confidence=0.6)
    assert {k: response.json[k] for k in ("open", "result", "display", "status")} == {
        "open": False,
        "result": "pending",
        "display": "请稍候，值班员确认中",
        "status": "pending",
    }
    assert _count(db, Scan) == 0
    gate = factory.headers(s.attendant)
    pending = client.get(f"/api/v1/garages/{s.garage.id}/plate-events", headers=gate)
    assert [(e["plate"], e["camera_name"], e["confidence"]) for e in pending.json] == [(misread, "east lane", 0.6)]

    event_id = pending.json[0]["id"]
    confirmed = client.post(f"/api/v1/plate-events/{event_id}/confirm", json={"plate": s.booking.plate}, headers=gate)
    assert confirmed.status_code == 200, confirmed.json
    assert (confirmed.json["open"], confirmed.json["result"], confirmed.json["booking"]) == (
        True,
        "accepted",
        s.booking.id,
    )
    db.session.expire_all()
    event = db.session.get(PlateEvent, event_id)
    assert (event.status.value, event.resolved_by_id, event.confirmed_plate) == (
        "confirmed",
        s.attendant.id,
        s.booking.plate,
    )
    scan = db.session.scalar(sa.select(Scan))
    assert (scan.actor_id, scan.plate_event_id, scan.result.value) == (s.attendant.id, event_id, "accepted")
    assert db.session.get(Booking, s.booking.id).inside is True
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "plate_event.confirmed"))
    assert (audit.actor_id, audit.before, audit.after["plate"]) == (s.attendant.id, {"plate": misread}, s.booking.plate)
    assert client.get(f"/api/v1/garages/{s.garage.id}/plate-events", headers=gate).json == []

    again = client.post(f"/api/v1/plate-events/{event_id}/confirm", json={}, headers=gate)
    assert (again.status_code, again.json["error"]) == (409, "event_not_pending")
    # The camera re-sending its event now hears the attendant's decision.
    resent = client.post(
        "/api/v1/gate/plate-events",
        json=event_body(
            camera,
            misread,
            confidence=0.6,
            event_id=pending.json[0]["event_id"],
            captured_at=event.captured_at.isoformat(),
        ),
        headers=camera_headers(camera),
    )
    assert (resent.json["status"], resent.json["open"]) == ("confirmed", True)


def test_a_dismissed_read_judges_nothing_and_the_threshold_is_a_garage_rule(client, factory, db):
    s, manager = _night(factory)
    s.garage.camera_confidence_threshold = 0.5
    db.session.commit()
    assert client.get(f"/api/v1/garages/{s.garage.id}").json["rules"]["camera_confidence_threshold"] == 0.5
    camera = register(client, factory, manager, s.garage.id)
    assert send(client, camera, "京A00000", confidence=0.6).json["result"] == "rejected"  # decided at 0.6 now
    pending = send(client, camera, s.booking.plate, confidence=0.4)
    assert pending.json["result"] == "pending"
    (event,) = client.get(f"/api/v1/garages/{s.garage.id}/plate-events", headers=factory.headers(s.attendant)).json
    dismissed = client.post(
        f"/api/v1/plate-events/{event['id']}/dismiss",
        json={"reason": "a van, not the booked car"},
        headers=factory.headers(s.attendant),
    )
    assert (dismissed.json["open"], dismissed.json["status"], dismissed.json["display"]) == (
        False,
        "dismissed",
        "未放行，请联系值班员",
    )
    db.session.expire_all()
    assert db.session.get(Booking, s.booking.id).inside is False
    stranger = factory.attendant(factory.garage())
    assert (
        client.post(
            f"/api/v1/plate-events/{event['id']}/confirm", json={}, headers=factory.headers(stranger)
        ).status_code
        == 404
    )


def test_revoked_unknown_or_forged_credentials_are_401_and_another_garage_is_403(client, factory, db):
    s, manager = _night(factory)
    camera = register(client, factory, manager, s.garage.id, direction="in")
    other_garage = factory.garage()
    other = register(client, factory, factory.manager(other_garage), other_garage.id)
    forged = {**camera, "credential": f"{camera['id']}:{'x' * 43}"}
    for headers in (
        {},
        {"Authorization": "Bearer abc"},
        camera_headers(forged),
        {"Authorization": f"Camera {camera['id']}"},
        {"Authorization": "Camera 99999999999999999999:abc"},
    ):
        response = client.post("/api/v1/gate/plate-events", json=event_body(camera, s.booking.plate), headers=headers)
        assert (response.status_code, response.json["error"]) == (401, "camera_unauthorized"), headers
    wrong_garage = client.post(
        "/api/v1/gate/plate-events",
        json=event_body(camera, s.booking.plate, garage_id=other_garage.id),
        headers=camera_headers(camera),
    )
    assert (wrong_garage.status_code, wrong_garage.json["error"]) == (403, "wrong_camera")
    someone_else = client.post(
        "/api/v1/gate/plate-events", json=event_body(other, s.booking.plate), headers=camera_headers(camera)
    )
    assert someone_else.status_code == 403
    wrong_way = send(client, camera, s.booking.plate, direction="out")
    assert (wrong_way.status_code, wrong_way.json["error"]) == (422, "wrong_direction")

    assert send(client, camera, s.booking.plate).json["open"] is True
    revoked = client.post(
        f"/api/v1/cameras/{camera['id']}/revoke", json={"reason": "stolen"}, headers=factory.headers(manager)
    )
    assert (revoked.status_code, revoked.json["active"]) == (200, False)
    after = send(client, camera, "京A00000")
    assert (after.status_code, after.json["error"]) == (401, "camera_unauthorized")
    twice = client.post(f"/api/v1/cameras/{camera['id']}/revoke", json={}, headers=factory.headers(manager))
    assert (twice.status_code, twice.json["error"]) == (409, "camera_revoked")
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "camera").order_by(AuditEvent.id)
    ).all()
    assert actions == ["camera.registered", "camera.registered", "camera.revoked"]
    assert (_count(db, PlateEvent), _count(db, Scan)) == (1, 1)


def test_a_camera_re_sending_one_event_at_once_is_recorded_once(app, client, factory, db):
    s, manager = _night(factory)
    camera = register(client, factory, manager, s.garage.id)
    body = event_body(camera, s.booking.plate)
    headers = camera_headers(camera)
    db.session.commit()
    responses = race(app, [lambda c: c.post("/api/v1/gate/plate-events", json=body, headers=headers)] * 4)
    assert {r.status_code for r in responses} == {200}
    assert {(r.json["open"], r.json["result"]) for r in responses} == {(True, "accepted")}
    assert (_count(db, PlateEvent), _count(db, Scan)) == (1, 1)


def test_two_lanes_and_two_attendants_letting_one_plate_in_at_once_admit_it_once(app, client, factory, db):
    """Two cameras and two attendants' plate look-ups for the same car at the same instant: the
    booking is found and locked in one statement; whoever waits re-reads it and finds the car in."""
    s, manager = _night(factory)
    lanes = [register(client, factory, manager, s.garage.id, name=f"lane {n}") for n in (1, 2)]
    gate_headers = factory.headers(s.attendant)
    plate = s.booking.plate
    reads = [(event_body(lane, plate), camera_headers(lane)) for lane in lanes]
    look_ups = [
        {"garage_id": s.garage.id, "plate": plate, "direction": "in", "idempotency_key": f"look-up-{n}"} for n in (1, 2)
    ]
    calls = [lambda c, b=b, h=h: c.post("/api/v1/gate/plate-events", json=b, headers=h) for b, h in reads] + [
        lambda c, b=b: c.post("/api/v1/gate/scan", json=b, headers=gate_headers) for b in look_ups
    ]
    db.session.commit()
    responses = race(app, calls)
    assert {r.status_code for r in responses} == {200}
    results = sorted((r.json["result"], r.json["reason"]) for r in responses)
    assert results == [("accepted", None)] + [("rejected", "already_inside")] * 3
    booking = db.session.get(Booking, s.booking.id)
    db.session.refresh(booking)
    assert (booking.status, booking.inside) == (BookingStatus.CHECKED_IN, True)
    assert _count(db, Scan) == 4
    checked_in = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "booking.checked_in", AuditEvent.object_id == booking.id)
    )
    assert checked_in == 1


def test_two_attendants_confirming_one_read_at_once_judge_it_once(app, client, factory, db):
    s, manager = _night(factory)
    camera = register(client, factory, manager, s.garage.id)
    send(client, camera, s.booking.plate, confidence=0.3)
    event_id = db.session.scalar(sa.select(PlateEvent.id))
    attendants = [factory.headers(s.attendant), factory.headers(factory.attendant(s.garage))]
    db.session.commit()
    responses = race(
        app, [lambda c, h=h: c.post(f"/api/v1/plate-events/{event_id}/confirm", json={}, headers=h) for h in attendants]
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert _count(db, Scan) == 1


def test_the_gate_endpoints_and_the_camera_credential_are_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json
    for path in (
        "/api/v1/gate/scans/offline",
        "/api/v1/gate/scan-image",
        "/api/v1/gate/plate-events",
        "/api/v1/garages/{garage_id}/cameras",
        "/api/v1/cameras/{camera_id}/revoke",
        "/api/v1/garages/{garage_id}/plate-events",
        "/api/v1/plate-events/{event_id}/confirm",
        "/api/v1/plate-events/{event_id}/dismiss",
        "/api/v1/garages/{garage_id}/gate-conflicts",
    ):
        assert path in doc["paths"], path
    assert doc["components"]["securitySchemes"]["camera"]["name"] == "Authorization"
    assert doc["paths"]["/api/v1/gate/plate-events"]["post"]["security"] == [{"camera": []}]
    assert "multipart/form-data" in doc["paths"]["/api/v1/gate/scan-image"]["post"]["requestBody"]["content"]
