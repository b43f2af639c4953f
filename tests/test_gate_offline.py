"""The offline queue upload: each queued scan recorded once, judged at its device
time in device-time order, conflicts audited and notified to the managers; on both databases."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.bookings.models import Booking, BookingStatus
from parking.gate.models import Scan
from parking.notifications.models import Notification
from tests.concurrency_helpers import race
from tests.gate_helpers import booked, token_of

UPLOAD = "/api/v1/gate/scans/offline"


def _iso(instant):
    return instant.isoformat()


def _cancel(client, factory, setup, at):
    clock.set_now(at)
    response = client.post(
        f"/api/v1/bookings/{setup.booking.id}/cancel", json={}, headers=factory.headers(setup.resident)
    )
    assert response.status_code == 200, response.json


class Queue:
    """A night at one garage: six households booked, their passes, and a manager to notify."""

    def __init__(self, client, factory, db):
        first = booked(factory)
        self.window = first.window
        self.garage = first.garage
        self.attendant = first.attendant
        self.manager = factory.manager(self.garage)
        self.cars = {"a": first}
        for name in ("b", "c", "e", "f"):
            self.cars[name] = booked(factory, window=self.window)
        self.tokens = {n: token_of(client, factory, s.resident, s.booking.id) for n, s in self.cars.items()}
        opens = self.window.opens_at
        _cancel(client, factory, self.cars["b"], opens - timedelta(hours=1))  # before the device time
        _cancel(client, factory, self.cars["e"], opens + timedelta(minutes=30))  # after it
        self.opens = opens

    def at(self, minutes):
        return _iso(self.opens + timedelta(minutes=minutes))

    def body(self, prefix="q"):
        def item(key, minutes, name=None, direction="in", plate=None, offline_result="accepted"):
            entry = {"idempotency_key": f"{prefix}-{key}", "direction": direction, "device_time": self.at(minutes)}
            if plate:
                entry["plate"] = plate
            else:
                entry["token"] = self.tokens[name]
            if offline_result:
                entry["offline_result"] = offline_result
            return entry

        scans = [
            item("a-out", 50, "a", direction="out"),  # given before its entry: the server sorts by device time
            item("a-in", 5, "a"),
            item("b-in", 10, "b"),
            item("c-in", 15, "c"),
            item("c-in-again", 20, "c"),
            item("e-in", 12, "e"),
            item("f-plate", 25, plate=self.cars["f"].booking.plate, offline_result="rejected"),
            item("future", 70, "f"),
        ]
        return {"garage_id": self.garage.id, "device": "gate-east-1", "scans": scans}


def _outcomes(response):
    assert response.status_code == 200, response.json
    return {
        s["idempotency_key"].split("-", 1)[1]: (s["result"], s["reason"], s["conflict"]) for s in response.json["scans"]
    }


EXPECTED = {
    "a-out": ("accepted", None, None),
    "a-in": ("accepted", None, None),
    "b-in": ("rejected", "revoked", "revoked_meanwhile"),
    "c-in": ("accepted", None, None),
    "c-in-again": ("rejected", "already_inside", "scanned_elsewhere"),
    "e-in": ("accepted", None, "revoked_meanwhile"),
    "f-plate": ("rejected", "refused_offline", "result_mismatch"),
    "future": ("rejected", "device_time_in_future", None),
}


def _counts(db):
    db.session.expire_all()
    scans = db.session.scalar(sa.select(sa.func.count()).select_from(Scan))
    audits = db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "scan.conflict"))
    notes = db.session.scalar(sa.select(sa.func.count()).where(Notification.kind == "gate_conflict"))
    return scans, audits, notes


def test_a_queue_is_recorded_once_judged_at_device_time_with_its_conflicts(client, factory, db):
    q = Queue(client, factory, db)
    clock.set_now(q.opens + timedelta(minutes=60))
    headers = factory.headers(q.attendant)
    first = client.post(UPLOAD, json=q.body(), headers=headers)
    assert _outcomes(first) == EXPECTED
    assert [s["idempotency_key"] for s in first.json["scans"]] == [s["idempotency_key"] for s in q.body()["scans"]]

    db.session.expire_all()
    a = db.session.get(Booking, q.cars["a"].booking.id)
    assert (a.status, a.inside, a.entered_at, a.exited_at) == (
        BookingStatus.CHECKED_IN,
        False,
        q.opens + timedelta(minutes=5),
        q.opens + timedelta(minutes=50),
    )
    c = db.session.get(Booking, q.cars["c"].booking.id)
    assert (c.inside, c.entered_at) == (True, q.opens + timedelta(minutes=15))
    for name in ("b", "e"):
        assert db.session.get(Booking, q.cars[name].booking.id).status == BookingStatus.CANCELLED
    f = db.session.get(Booking, q.cars["f"].booking.id)
    assert (f.status, f.inside) == (BookingStatus.CONFIRMED, False)  # the device kept the barrier shut

    stored = {s.idempotency_key: s for s in db.session.scalars(sa.select(Scan))}
    assert all(s.offline and s.device == "gate-east-1" and s.actor_id == q.attendant.id for s in stored.values())
    assert stored["q-a-in"].device_time == q.opens + timedelta(minutes=5)
    assert stored["q-a-in"].at == clock.now()
    assert stored["q-f-plate"].by_plate is True
    assert _counts(db) == (8, 4, 4)  # one manager, four conflicts
    note = db.session.scalar(sa.select(Notification).where(Notification.kind == "gate_conflict"))
    assert note.user_id == q.manager.id

    clock.advance(timedelta(minutes=2))
    again = client.post(UPLOAD, json=q.body(), headers=headers)
    assert again.json == first.json
    assert _counts(db) == (8, 4, 4)

    listed = client.get(f"/api/v1/garages/{q.garage.id}/gate-conflicts", headers=factory.headers(q.manager))
    assert listed.status_code == 200
    assert sorted(c["idempotency_key"] for c in listed.json) == ["q-b-in", "q-c-in-again", "q-e-in", "q-f-plate"]
    assert all(c["conflict_message"] for c in listed.json)
    notices = client.get("/api/v1/notifications", headers=factory.headers(q.manager)).json
    assert len(notices) == 4 and all(n["message"] != "gate_conflict" for n in notices)


def test_two_devices_uploading_the_same_queue_at_once_record_it_once(app, client, factory, db):
    q = Queue(client, factory, db)
    clock.set_now(q.opens + timedelta(minutes=60))
    headers = factory.headers(q.attendant)
    body = q.body()
    db.session.commit()
    responses = race(app, [lambda c: c.post(UPLOAD, json=body, headers=headers)] * 2)
    assert [_outcomes(r) for r in responses] == [EXPECTED, EXPECTED]
    assert responses[0].json == responses[1].json
    assert _counts(db) == (8, 4, 4)
    db.session.expire_all()
    assert db.session.get(Booking, q.cars["c"].booking.id).entered_at == q.opens + timedelta(minutes=15)


def test_a_queue_after_its_night_is_over_is_not_judged_and_the_device_clock_is_checked(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    headers = factory.headers(s.attendant)
    grace_end = s.window.closes_at + timedelta(minutes=s.garage.exit_grace_minutes)
    clock.set_now(grace_end + timedelta(minutes=1))
    scans = [
        {"idempotency_key": "late-in", "token": token, "direction": "in", "device_time": _iso(s.window.opens_at)},
        {
            "idempotency_key": "ancient",
            "plate": "京A00000",
            "direction": "in",
            "device_time": "2026-11-01T20:00:00+08:00",
        },
    ]
    response = client.post(UPLOAD, json={"garage_id": s.garage.id, "device": "d", "scans": scans}, headers=headers)
    assert [(x["result"], x["reason"]) for x in response.json["scans"]] == [
        ("rejected", "device_time_too_old"),
        ("rejected", "device_time_too_old"),
    ]
    assert all(x["message"] for x in response.json["scans"])
    db.session.expire_all()
    assert db.session.get(Booking, s.booking.id).inside is False


def test_an_offline_entry_older_than_an_online_exit_elsewhere_is_not_replayed(client, factory, db):
    from tests.gate_helpers import scan

    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    clock.set_now(s.window.opens_at)
    assert scan(client, factory, s.attendant, s.garage.id, token=token).json["result"] == "accepted"
    clock.advance(timedelta(hours=2))
    assert scan(client, factory, s.attendant, s.garage.id, token=token, direction="out").json["result"] == "accepted"
    # A device that was offline meanwhile saw the car enter at +1 h through its lane.
    item = {
        "idempotency_key": "old-in",
        "token": token,
        "direction": "in",
        "device_time": _iso(s.window.opens_at + timedelta(hours=1)),
    }
    body = {"garage_id": s.garage.id, "device": "gate-west", "scans": [item]}
    response = client.post(UPLOAD, json=body, headers=factory.headers(s.attendant))
    (answer,) = response.json["scans"]
    assert (answer["result"], answer["conflict"]) == ("accepted", "scanned_elsewhere")
    db.session.expire_all()
    assert db.session.get(Booking, s.booking.id).inside is False


def test_a_key_reused_for_another_scan_is_answered_alone_and_the_rest_is_recorded(client, factory, db):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    clock.set_now(s.window.opens_at + timedelta(minutes=30))
    headers = factory.headers(s.attendant)
    base = {"garage_id": s.garage.id, "device": "d"}
    first = {"idempotency_key": "k1", "token": token, "direction": "in", "device_time": _iso(s.window.opens_at)}
    client.post(UPLOAD, json={**base, "scans": [first]}, headers=headers)
    changed = {**first, "direction": "out"}
    other = {**first, "idempotency_key": "k2", "direction": "out", "device_time": _iso(clock.now())}
    response = client.post(UPLOAD, json={**base, "scans": [changed, other]}, headers=headers)
    assert [(x["reason"], x["recorded"]) for x in response.json["scans"]] == [
        ("idempotency_key_reused", False),
        (None, True),
    ]
    # not stored, so it has no id, way, device or time of its own to give
    assert set(response.json["scans"][0]) == {
        "idempotency_key",
        "result",
        "reason",
        "message",
        "conflict",
        "booking",
        "plate",
        "device_time",
        "recorded",
    }
    assert _counts(db)[0] == 2


def test_only_staff_of_the_garage_upload_and_list_conflicts(client, factory, db):
    s = booked(factory)
    body = {
        "garage_id": s.garage.id,
        "device": "d",
        "scans": [
            {"idempotency_key": "x", "plate": s.booking.plate, "direction": "in", "device_time": _iso(clock.now())}
        ],
    }
    stranger = factory.attendant(factory.garage())
    for user in (s.resident, stranger):
        assert client.post(UPLOAD, json=body, headers=factory.headers(user)).status_code == 403
        conflicts = client.get(f"/api/v1/garages/{s.garage.id}/gate-conflicts", headers=factory.headers(user))
        assert conflicts.status_code == 403
    assert client.post(UPLOAD, json=body).status_code == 401
    assert _counts(db)[0] == 0
