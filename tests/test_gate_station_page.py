"""The gate station page through the test client: the plain form (no JavaScript) and the JSON
helpers of the page script, each calling the same service as the API."""

from __future__ import annotations

import re
from datetime import timedelta

from parking import clock
from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db
from parking.gate.models import PlateEvent, PlateEventStatus, Scan
from tests.camera_helpers import register, send
from tests.conftest import T0
from tests.gate_helpers import booked, token_of

EVENING = T0.replace(hour=19, minute=30)


def _sign_in(client, user) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf_token": token, "phone": user.phone, "password": "password123"})
    assert response.status_code == 302


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _json(client, path, body, csrf):
    return client.post(path, json=body, headers={"X-CSRFToken": csrf, "Accept": "application/json"})


def test_attendant_page_shows_the_scan_field_the_switch_and_the_lists(client, factory):
    setup = booked(factory)
    _sign_in(client, setup.attendant)
    page = client.get("/gate")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="token"' in html and "autofocus" in html
    assert 'value="in"' in html and 'value="out"' in html
    assert "今晚预约未到：1" in html and setup.booking.plate in html
    assert "script-src 'self' 'nonce-" in page.headers["Content-Security-Policy"]


def test_a_resident_cannot_open_the_gate_page(client, factory):
    setup = booked(factory)
    _sign_in(client, setup.resident)
    assert client.get("/gate").status_code == 403


def test_staff_of_another_garage_cannot_open_this_garages_gate(client, factory):
    setup = booked(factory)
    other = factory.attendant(factory.garage())
    _sign_in(client, other)
    assert client.get(f"/gate?garage_id={setup.garage.id}").status_code == 403


def test_plain_form_scan_redirects_and_shows_the_last_result_once(client, factory):
    setup = booked(factory)
    token = token_of(client, factory, setup.resident, setup.booking.id)
    clock.set_now(EVENING)
    _sign_in(client, setup.attendant)
    csrf = _csrf(client, "/gate")
    form = {
        "csrf_token": csrf,
        "garage_id": setup.garage.id,
        "direction": "in",
        "token": token,
        "idempotency_key": "form-1",
    }
    response = client.post("/gate/scan", data=form)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/gate?garage_id=")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is-ok" in html and "通过" in html and setup.booking.plate in html
    assert "is-idle" in client.get("/gate").get_data(as_text=True)  # shown once
    again = client.post("/gate/scan", data=form)  # the browser re-sends the same form
    assert again.status_code == 302
    assert db.session.scalar(db.select(db.func.count(Scan.id))) == 1
    assert db.session.get(Booking, setup.booking.id).status == BookingStatus.CHECKED_IN


def test_plain_form_without_a_pass_says_so_beside_the_field(client, factory):
    setup = booked(factory)
    _sign_in(client, setup.attendant)
    csrf = _csrf(client, "/gate")
    form = {"csrf_token": csrf, "garage_id": setup.garage.id, "direction": "in", "token": "", "idempotency_key": "k"}
    response = client.post("/gate/scan", data=form)
    assert response.status_code == 422
    assert "请先扫码" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Scan.id))) == 0


def test_json_scan_answers_with_the_plain_reason_and_the_night(client, factory):
    setup = booked(factory)
    token = token_of(client, factory, setup.resident, setup.booking.id)
    _sign_in(client, setup.attendant)
    csrf = _csrf(client, "/gate")
    body = {"garage_id": setup.garage.id, "direction": "in", "token": token, "idempotency_key": "j-1"}
    early = _json(client, "/gate/scan", body, csrf)
    assert early.status_code == 200
    assert early.json["result"] == "rejected" and early.json["reason"] == "not_yet_valid"
    assert early.json["text"] == "来早了：18:45 起才能进。"
    clock.set_now(EVENING)
    accepted = _json(client, "/gate/scan", body | {"idempotency_key": "j-2"}, csrf)
    assert accepted.json["ok"] is True and accepted.json["word"] == "通过"
    assert accepted.json["plate"] == setup.booking.plate
    assert accepted.json["night"] == "12月1日 晚 19:00 至次日 07:30"
    twice = _json(client, "/gate/scan", body | {"idempotency_key": "j-3"}, csrf)
    assert twice.json["reason"] == "already_inside" and "已经在场内" in twice.json["text"]


def test_json_scan_errors_have_the_one_error_shape(client, factory):
    setup = booked(factory)
    _sign_in(client, setup.attendant)
    csrf = _csrf(client, "/gate")
    missing = _json(client, "/gate/scan", {"garage_id": setup.garage.id, "direction": "in"}, csrf)
    assert missing.status_code == 422
    assert missing.json["error"] == "validation_error" and "idempotency_key" in missing.json["errors"]
    no_csrf = client.post("/gate/scan", json={"garage_id": setup.garage.id}, headers={"Accept": "application/json"})
    assert no_csrf.status_code == 400 and no_csrf.json["error"] == "csrf"
    not_object = _json(client, "/gate/scan", [1, 2], csrf)
    assert not_object.status_code == 400 and not_object.json["error"] == "malformed_request"
    other = factory.garage()
    body = {"garage_id": other.id, "direction": "in", "token": "P1.x.y", "idempotency_key": "x"}
    forbidden = _json(client, "/gate/scan", body, csrf)
    assert forbidden.status_code == 403 and forbidden.json["error"] == "forbidden"


def _look_up(client, garage_id: int, plate: str, csrf: str | None = None):
    csrf = csrf or _csrf(client, "/gate")
    data = {"csrf_token": csrf, "garage_id": garage_id, "direction": "in", "province": plate[0], "plate": plate[1:]}
    return client.post("/gate/plate", data=data)


def _top(html: str) -> str:
    """The result at the top of the page (the section a scan's answer takes)."""
    return re.search(r'<section id="gate-result".*?</section>', html, re.S).group(0)


def test_plate_lookup_shows_tonights_booking_at_the_top_and_lets_the_car_in_by_plate(client, factory):
    setup = booked(factory)
    clock.set_now(EVENING)
    _sign_in(client, setup.attendant)
    plate = setup.booking.plate
    answer = _look_up(client, setup.garage.id, plate)
    assert answer.status_code == 200
    top = _top(answer.get_data(as_text=True))
    assert plate in top and "已预约，未进场" in top and "凭车牌放行入场" in top
    assert "请扫码" not in top and "凭车牌放行出场" not in top  # not inside: nothing to let out
    key_in = re.search(
        r'name="direction" value="in">\s*<input type="hidden" name="idempotency_key" value="([^"]+)"', top
    )
    csrf = _csrf(client, "/gate")
    response = client.post(
        "/gate/scan",
        data={
            "csrf_token": csrf,
            "garage_id": setup.garage.id,
            "plate": plate,
            "direction": "in",
            "idempotency_key": key_in.group(1),
        },
    )
    assert response.status_code == 302
    assert db.session.get(Booking, setup.booking.id).inside is True
    inside = _top(_look_up(client, setup.garage.id, plate).get_data(as_text=True))
    assert "凭车牌放行出场" in inside and "凭车牌放行入场" not in inside  # inside now: only out
    bad = _look_up(client, setup.garage.id, "沪123")
    assert bad.status_code == 422
    top = _top(bad.get_data(as_text=True))  # the refusal where the attendant looks, with no button
    assert "不是有效的" in top and "请扫码" not in top and "凭车牌放行" not in top


def test_an_unknown_plate_offers_no_button_to_let_it_in_or_out(client, factory):
    setup = booked(factory)
    clock.set_now(EVENING)
    _sign_in(client, setup.attendant)
    answer = _look_up(client, setup.garage.id, "沪Z99999")
    assert answer.status_code == 200
    top = _top(answer.get_data(as_text=True))
    assert "沪Z99999" in top and "今晚没有预约" in top and "请扫码" not in top
    assert "凭车牌放行" not in answer.get_data(as_text=True)
    assert 'name="plate" value="沪Z99999"' not in answer.get_data(as_text=True)  # no form to scan it


def test_a_cancelled_booking_is_said_and_offers_no_let_in(client, factory):
    setup = booked(factory)
    setup.booking.status = BookingStatus.CANCELLED
    db.session.commit()
    clock.set_now(EVENING)
    _sign_in(client, setup.attendant)
    top = _top(_look_up(client, setup.garage.id, setup.booking.plate).get_data(as_text=True))
    assert "已取消" in top and "凭车牌放行" not in top


def test_the_plate_never_stands_in_an_address(client, factory):
    setup = booked(factory)
    clock.set_now(EVENING)
    _sign_in(client, setup.attendant)
    plate = setup.booking.plate
    by_get = client.get(f"/gate?garage_id={setup.garage.id}&province={plate[0]}&plate={plate[1:]}")
    assert by_get.status_code == 200
    html = by_get.get_data(as_text=True)
    assert "请扫码" in _top(html) and "凭车牌放行入场" not in html  # a GET looks nothing up
    form = re.search(r'<form method="(\w+)" action="([^"]+)" class="lookup-form"', html)
    assert form.groups() == ("post", "/gate/plate")
    no_token = client.post("/gate/plate", data={"garage_id": setup.garage.id, "province": plate[0], "plate": plate[1:]})
    assert no_token.status_code == 400  # a POST without the page's token is refused
    other = factory.garage()
    assert _look_up(client, other.id, plate).status_code == 403


def test_lists_refresh_as_json_with_the_rendered_lists(client, factory):
    setup = booked(factory)
    clock.set_now(EVENING)
    _sign_in(client, setup.attendant)
    answer = client.get(f"/gate/lists?garage_id={setup.garage.id}", headers={"Accept": "application/json"})
    assert answer.json["counts"] == {"inside": 0, "expected": 1, "overstays": 0, "pending": 0}
    assert setup.booking.plate in answer.json["html"]


def test_overstays_are_listed_once_the_exit_grace_is_over(client, factory):
    setup = booked(factory)
    token = token_of(client, factory, setup.resident, setup.booking.id)
    clock.set_now(EVENING)
    _sign_in(client, setup.attendant)
    csrf = _csrf(client, "/gate")
    body = {"garage_id": setup.garage.id, "direction": "in", "token": token, "idempotency_key": "o-1"}
    assert _json(client, "/gate/scan", body, csrf).json["ok"]
    clock.set_now(EVENING + timedelta(hours=12, minutes=16))  # 07:46 next morning
    answer = client.get(f"/gate/lists?garage_id={setup.garage.id}", headers={"Accept": "application/json"})
    assert answer.json["counts"]["overstays"] == 1 and answer.json["counts"]["inside"] == 1


def test_offline_material_has_the_keys_the_revocations_and_the_server_clock(client, factory):
    setup = booked(factory)
    _sign_in(client, setup.attendant)
    answer = client.get(f"/gate/offline-material?garage_id={setup.garage.id}", headers={"Accept": "application/json"})
    assert answer.status_code == 200
    assert answer.json["jwks"]["keys"][0]["crv"] == "Ed25519"
    assert answer.json["revocations"]["booking_ids"] == []
    assert answer.json["server_time"].startswith("2026-12-01T02:00:00")


def test_service_worker_is_served_for_the_gate_scope(client, factory):
    response = client.get("/gate/sw.js")
    assert response.status_code == 200
    assert response.headers["Service-Worker-Allowed"] == "/gate"
    assert "javascript" in response.content_type


def test_a_doubtful_camera_read_waits_on_the_page_and_the_attendant_corrects_it(client, factory):
    setup = booked(factory)
    clock.set_now(EVENING)
    camera = register(client, factory, factory.manager(setup.garage), setup.garage.id)
    wrong = setup.booking.plate[:-1] + ("8" if setup.booking.plate[-1] != "8" else "9")
    assert send(client, camera, wrong, confidence=0.42).json["result"] == "pending"
    _sign_in(client, setup.attendant)
    html = client.get("/gate").get_data(as_text=True)
    assert "摄像头没把握的车牌：1" in html and wrong in html
    event_id = db.session.scalar(db.select(PlateEvent.id))
    csrf = _csrf(client, "/gate")
    answer = _json(client, f"/gate/plate-events/{event_id}/confirm", {"plate": setup.booking.plate}, csrf)
    assert answer.status_code == 200, answer.json
    assert answer.json["ok"] is True and answer.json["plate"] == setup.booking.plate
    assert db.session.get(Booking, setup.booking.id).inside is True
    again = _json(client, f"/gate/plate-events/{event_id}/confirm", {"plate": setup.booking.plate}, csrf)
    assert again.status_code == 409 and again.json["error"] == "event_not_pending"
    assert "摄像头没把握" not in client.get("/gate").get_data(as_text=True)


def test_a_dismissed_camera_read_decides_nothing_and_the_plain_form_works(client, factory):
    setup = booked(factory)
    clock.set_now(EVENING)
    camera = register(client, factory, factory.manager(setup.garage), setup.garage.id)
    send(client, camera, setup.booking.plate, confidence=0.3)
    _sign_in(client, setup.attendant)
    event_id = db.session.scalar(db.select(PlateEvent.id))
    csrf = _csrf(client, "/gate")
    response = client.post(f"/gate/plate-events/{event_id}/dismiss", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert db.session.get(PlateEvent, event_id).status == PlateEventStatus.DISMISSED
    assert db.session.get(Booking, setup.booking.id).inside is False
    stranger = factory.attendant(factory.garage())
    client.post("/logout", data={"csrf_token": csrf})
    _sign_in(client, stranger)
    send(client, camera, setup.booking.plate, confidence=0.3)
    other = db.session.scalar(db.select(PlateEvent.id).where(PlateEvent.id != event_id))
    refused = _json(client, f"/gate/plate-events/{other}/confirm", {}, _csrf(client, "/gate"))
    assert refused.status_code == 404


def test_offline_upload_records_each_scan_once_and_refuses_a_bad_queue_plainly(client, factory):
    setup = booked(factory)
    token = token_of(client, factory, setup.resident, setup.booking.id)
    clock.set_now(EVENING)
    _sign_in(client, setup.attendant)
    csrf = _csrf(client, "/gate")
    item = {
        "idempotency_key": "off-1",
        "token": token,
        "direction": "in",
        "device_time": (EVENING - timedelta(minutes=2)).isoformat(),
        "offline_result": "accepted",
    }
    body = {"garage_id": setup.garage.id, "device": "web-test", "scans": [item]}
    first = _json(client, "/gate/offline-upload", body, csrf)
    assert first.status_code == 200, first.json
    assert first.json["scans"][0]["recorded"] is True and first.json["scans"][0]["result"] == "accepted"
    again = _json(client, "/gate/offline-upload", body, csrf)
    assert again.json["scans"][0]["recorded"] is True
    assert db.session.scalar(db.select(db.func.count(Scan.id))) == 1
    bad = _json(client, "/gate/offline-upload", body | {"scans": [item | {"direction": "up"}]}, csrf)
    assert bad.status_code == 422 and bad.json["error"] == "validation_error" and "scans" in bad.json["errors"]
