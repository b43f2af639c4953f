"""Helpers for the camera tests: a registered camera, its credential header, a plate event."""

from __future__ import annotations

import itertools
from typing import Any

from parking import clock

_events = itertools.count(1)


def register(client, factory, manager, garage_id: int, name: str = "east lane", direction: str = "both") -> dict:
    response = client.post(
        f"/api/v1/garages/{garage_id}/cameras",
        json={"name": name, "direction": direction},
        headers=factory.headers(manager),
    )
    assert response.status_code == 201, response.json
    return response.json


def camera_headers(camera: dict) -> dict[str, str]:
    return {"Authorization": f"Camera {camera['credential']}"}


def event_body(camera: dict, plate: str, **overrides: Any) -> dict:
    body = {
        "garage_id": camera["garage_id"],
        "camera_id": camera["id"],
        "event_id": f"evt-{next(_events)}",
        "plate": plate,
        "direction": "in",
        "confidence": 0.97,
        "captured_at": clock.now().isoformat(),
    }
    body.update(overrides)
    return body


def send(client, camera: dict, plate: str, **overrides: Any):
    return client.post(
        "/api/v1/gate/plate-events", json=event_body(camera, plate, **overrides), headers=camera_headers(camera)
    )
