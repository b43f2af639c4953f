"""Export: `GET /api/v1/me/export` and the button on /account give one JSON file of everything
stored about the caller, and nothing about anybody else, and no secret."""

from __future__ import annotations

import json
from datetime import timedelta

from parking import clock
from parking.extensions import db
from parking.notifications import webhooks
from parking.notifications.delivery import deliver_due
from tests.camera_helpers import register, send
from tests.delivery_helpers import Gateway
from tests.privacy_helpers import PASSWORD, bearer, drive_in_and_out, full_flow, ok

SECTIONS = {
    "format",
    "exported_at",
    "user",
    "household",
    "vehicles",
    "bookings",
    "subscriptions",
    "statements",
    "scans",
    "plate_events",
    "notifications",
    "sign_ins",
    "audit_events",
}


def test_the_export_holds_everything_stored_about_the_caller_and_nothing_else(client, factory):
    flow = full_flow(client, factory)
    neighbour = full_flow(client, factory, flow.window, plate="沪B54321")
    drive_in_and_out(client, factory, flow)
    camera = register(client, factory, flow.manager, flow.garage.id)
    assert send(client, camera, flow.plate, confidence=0.5).status_code in (200, 201, 202)

    response = client.get("/api/v1/me/export", headers=bearer(flow.token))
    body = ok(response)
    assert response.headers["Content-Disposition"].startswith('attachment; filename="tidal-parking-export-')
    assert response.headers["Cache-Control"] == "no-store"
    assert set(body) == SECTIONS and body["format"] == "tidal-parking export 1"
    assert (body["user"]["id"], body["user"]["phone"], body["user"]["name"]) == (flow.user.id, flow.phone, "王芳")
    assert body["household"]["id"] == flow.household_id and body["household"]["building"] == "3"
    assert [v["plate"] for v in body["vehicles"]] == [flow.plate]
    assert [(b["id"], b["plate"]) for b in body["bookings"]] == [(flow.booking_id, flow.plate)]
    assert [(s["direction"], s["result"]) for s in body["scans"]] == [("in", "accepted"), ("out", "accepted")]
    assert [e["plate"] for e in body["plate_events"]] == [flow.plate]
    kinds = {n["kind"] for n in body["notifications"]}
    assert "vehicle_verified" in kinds and all(n["text"] for n in body["notifications"])
    actions = {e["action"] for e in body["audit_events"]}
    assert {"user.created", "household.created", "vehicle.created", "booking.confirmed"} <= actions, actions
    assert all(e["actor_id"] == flow.user.id or e["object"] == f"user:{flow.user.id}" for e in body["audit_events"])
    assert len(body["sign_ins"]["browsers"]) == 0 and body["subscriptions"] == [] == body["statements"]

    text = json.dumps(body, ensure_ascii=False)
    for secret in ("password_hash", "pbkdf2", "scrypt", "pass_nonce", "code_hash", "fingerprint", PASSWORD):
        assert secret not in text, secret
    assert neighbour.phone not in text and neighbour.plate not in text and flow.reset_code not in text


def test_the_account_page_offers_the_same_export_as_a_file(client, factory):
    flow = full_flow(client, factory)
    browser = factory.browser(client, flow.user)
    page = browser.get("/account").get_data(as_text=True)
    assert 'href="/account/export"' in page and "download" in page
    response = browser.get("/account/export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment; ")
    body = json.loads(response.get_data(as_text=True))
    assert set(body) == SECTIONS and body["user"]["phone"] == flow.phone
    assert len(body["sign_ins"]["browsers"]) == 1
    api = ok(client.get("/api/v1/me/export", headers=bearer(flow.token)))
    assert {k: v for k, v in api.items() if k != "sign_ins"} == {k: v for k, v in body.items() if k != "sign_ins"}


def test_the_export_is_documented_in_the_openapi(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/me/export"]["get"]
    assert "Everything stored about the caller" in operation["summary"]
    assert "Content-Disposition" in operation["responses"]["200"]["headers"]


def test_a_stranger_cannot_export(client):
    assert client.get("/api/v1/me/export").status_code == 401


def test_a_manager_without_a_household_exports_their_account_and_what_they_did(client, factory):
    flow = full_flow(client, factory)
    body = ok(client.get("/api/v1/me/export", headers=factory.headers(flow.manager)))
    assert body["household"] is None and body["vehicles"] == [] == body["bookings"] == body["scans"]
    assert body["user"]["garage_ids"] == [flow.garage.id]
    assert {"household.verified", "vehicle.verified", "user.reset_code_issued"} <= {
        e["action"] for e in body["audit_events"]
    }
    assert flow.phone not in json.dumps(body, ensure_ascii=False)  # the resident's number is not the manager's


def test_each_notification_carries_its_delivery_state_and_attempts(app, client, factory):
    with Gateway(fail_first=1) as gateway:
        garage = factory.garage()
        answer = webhooks.set_webhook(garage.id, gateway.url, factory.admin(), clock.now() - timedelta(hours=1))
        db.session.commit()
        gateway.secret = answer.secret.encode()
        flow = full_flow(client, factory, factory.window(garage, quota=10))
        deliver_due(clock.now(), db.session.commit)  # refused once (503): failed, retried in a minute
        clock.set_now(clock.now() + timedelta(minutes=2))
        deliver_due(clock.now(), db.session.commit)
    body = ok(client.get("/api/v1/me/export", headers=bearer(flow.token)))
    channels = [d for n in body["notifications"] for d in n["deliveries"]]
    assert channels and all(d["channel"] == "webhook" for d in channels)
    assert {d["state"] for d in channels} == {"sent"}
    assert all([a["status_code"] for a in d["attempts_made"]] == [503, 200] for d in channels), channels
    assert "secret_encrypted" not in json.dumps(body) and answer.secret not in json.dumps(body)
