"""Plays plate cameras as real HTTP clients: one thread and one keep-alive connection per camera
(stdlib http.client), each posting its plate events to a running server one after the other, as an
ANPR camera at a barrier does. Loopback only; every run is bounded in events and in time.

    .venv/bin/python -m bench.camera_client --port 5000 --camera 3:SECRET:1 --plate 沪A12345 --events 5

prints one JSON line per camera with its answers. `bench/cameras.py` and the tests call `play()`."""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

HOST = "127.0.0.1"
PATH = "/api/v1/gate/plate-events"
MAX_EVENTS = 10_000  # per camera


@dataclass(frozen=True)
class CameraSpec:
    camera_id: int
    garage_id: int
    credential: str  # "<camera_id>:<secret>"


@dataclass(frozen=True)
class PlateRead:
    plate: str
    direction: str = "in"
    confidence: float = 0.97


@dataclass
class Sent:
    event_id: str
    status: int
    body: dict
    latency_ms: float


@dataclass
class CameraRun:
    camera: CameraSpec
    sent: list[Sent] = field(default_factory=list)
    errors: int = 0


def event_body(camera: CameraSpec, event_id: str, read: PlateRead, captured_at: datetime) -> dict:
    return {
        "garage_id": camera.garage_id,
        "camera_id": camera.camera_id,
        "event_id": event_id,
        "plate": read.plate,
        "direction": read.direction,
        "confidence": read.confidence,
        "captured_at": captured_at.isoformat(),
    }


def _run_camera(
    port: int, camera: CameraSpec, reads: list[PlateRead], run: CameraRun, deadline: float, resend: bool
) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Camera {camera.credential}"}
    try:
        for n, read in enumerate(reads[:MAX_EVENTS]):
            if time.monotonic() >= deadline:
                break
            event_id = f"cam{camera.camera_id}-{n}"
            payload = json.dumps(event_body(camera, event_id, read, datetime.now(UTC))).encode()
            for _attempt in range(2 if resend else 1):  # a camera that did not hear the answer sends again
                started = time.perf_counter()
                try:
                    conn.request("POST", PATH, body=payload, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException):
                    run.errors += 1
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=30)
                    continue
                latency = (time.perf_counter() - started) * 1000
                run.sent.append(Sent(event_id, response.status, json.loads(data) if data else {}, latency))
    finally:
        conn.close()


def play(
    port: int,
    cameras: list[CameraSpec],
    reads: dict[int, list[PlateRead]],
    *,
    time_limit: float = 60.0,
    resend: bool = False,
) -> list[CameraRun]:
    """Each camera posts its `reads[camera_id]` in order, all cameras at once; their runs."""
    deadline = time.monotonic() + time_limit
    runs = [CameraRun(camera) for camera in cameras]
    threads = [
        threading.Thread(target=_run_camera, args=(port, c, reads.get(c.camera_id, []), r, deadline, resend))
        for c, r in zip(cameras, runs, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(time_limit + 35)
    return runs


def _camera(text: str) -> CameraSpec:
    camera_id, secret, garage_id = text.split(":")
    return CameraSpec(int(camera_id), int(garage_id), f"{camera_id}:{secret}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--camera", action="append", type=_camera, required=True, help="ID:SECRET:GARAGE_ID")
    parser.add_argument("--plate", action="append", required=True)
    parser.add_argument("--direction", default="in", choices=["in", "out"])
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    events = min(args.events, MAX_EVENTS)
    reads = {
        c.camera_id: [PlateRead(args.plate[i % len(args.plate)], args.direction) for i in range(events)]
        for c in args.camera
    }
    for run in play(args.port, args.camera, reads, time_limit=args.time_limit):
        answers = [{"event_id": s.event_id, "status": s.status, **s.body} for s in run.sent]
        print(
            json.dumps(
                {"camera_id": run.camera.camera_id, "errors": run.errors, "answers": answers}, ensure_ascii=False
            )
        )


if __name__ == "__main__":
    main()
