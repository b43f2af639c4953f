"""bench/camera_client.py against a real HTTP server (werkzeug on 127.0.0.1, in a thread): two
cameras with keep-alive connections post their plate events, each sent twice as a camera that
missed an answer would; every event is stored once and every answer is right."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa
from werkzeug.serving import make_server

from bench.camera_client import CameraSpec, PlateRead, play
from parking import clock
from parking.gate.models import PlateEvent, Scan
from tests.camera_helpers import register
from tests.gate_helpers import booked

EVENTS = 3


def test_two_cameras_as_http_clients_get_their_answers_and_each_event_is_stored_once(app, client, factory, db):
    window = factory.window(quota=10)
    manager = factory.manager(window.garage)
    cars = [booked(factory, window=window) for _ in range(EVENTS)]
    specs = []
    for name, direction in (("entry lane", "in"), ("exit lane", "out")):
        camera = register(client, factory, manager, window.garage_id, name=name, direction=direction)
        specs.append(CameraSpec(camera["id"], window.garage_id, camera["credential"]))
    plates = [s.booking.plate for s in cars]
    clock.set_now(window.opens_at + timedelta(minutes=1))
    db.session.commit()  # the test's session must hold no SQLite lock while the server runs
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        entering, leaving = specs
        reads = {
            entering.camera_id: [PlateRead(p, "in") for p in plates],
            leaving.camera_id: [PlateRead("京A00000", "out")] * EVENTS,  # no booking here
        }
        runs = play(server.server_port, specs, reads, time_limit=30, resend=True)
    finally:
        server.shutdown()
        thread.join(10)
    entry_run, exit_run = runs
    assert (entry_run.errors, exit_run.errors) == (0, 0)
    assert [(s.status, s.body["open"], s.body["display"]) for s in entry_run.sent] == [
        (200, True, f"欢迎 {p}") for p in plates for _ in range(2)
    ]
    assert [(s.status, s.body["open"], s.body["reason"]) for s in exit_run.sent] == [(200, False, "no_booking")] * (
        2 * EVENTS
    )
    for run in runs:  # the re-sent copy got the stored answer
        assert [s.body for s in run.sent[::2]] == [s.body for s in run.sent[1::2]]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlateEvent)) == 2 * EVENTS
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scan)) == 2 * EVENTS
