"""A real gateway on 127.0.0.1 (http.server in a thread) and scheduler processes that run the
delivery pass at the same instant."""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import threading
import traceback
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Gateway:
    """Answers `fail_first` POSTs of each delivery id with `fail_status`, then 200; checks each
    signature against `secret` and counts what it received."""

    def __init__(self, fail_first: int = 0, fail_status: int = 503) -> None:
        self.fail_first, self.fail_status = fail_first, fail_status
        self.secret: bytes = b""
        self.lock = threading.Lock()
        self.posts: list[dict] = []  # every POST: id header, signature ok, status answered, body
        self.seen: Counter = Counter()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                delivery = self.headers.get("X-Tidal-Delivery")
                expected = "sha256=" + hmac.new(gateway.secret, body, hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(expected, self.headers.get("X-Tidal-Signature", ""))
                with gateway.lock:
                    gateway.seen[delivery] += 1
                    status = gateway.fail_status if gateway.seen[delivery] <= gateway.fail_first else 200
                    if not signed:
                        status = 401
                    gateway.posts.append({"id": delivery, "signed": signed, "status": status, "body": json.loads(body)})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def delivered(self) -> Counter:
        """2xx answers per delivery id."""
        with self.lock:
            return Counter(p["id"] for p in self.posts if p["status"] == 200)


def delivery_worker(url: str, instants: list[str], barrier, results) -> None:
    """One scheduler process: its own app and engine; runs one delivery pass at each of `instants`
    (the clock moved between them, as the scheduler's interval would), together with the others."""
    try:
        from config import TestConfig
        from parking import create_app
        from parking.extensions import db
        from parking.notifications.delivery import deliver_due

        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
        totals: Counter = Counter()
        with app.app_context():
            db.session.execute(db.select(1))
            db.session.rollback()
            for instant in instants:
                # The processes share one clock: each pass starts when every process has reached
                # its instant (a lease is measured on that clock).
                barrier.wait(timeout=120)
                totals.update(deliver_due(datetime.fromisoformat(instant), db.session.commit))
            db.session.remove()
            db.engine.dispose()
        results.put(("ok", dict(totals)))
    except Exception:
        results.put(("error", traceback.format_exc()))


def race_delivery_processes(app, instants: list[datetime], processes: int = 2) -> list[dict]:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["config", "parking", "parking.notifications.delivery", "tests.delivery_helpers"])
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    args = (url, [i.isoformat() for i in instants], barrier, results)
    workers = [ctx.Process(target=delivery_worker, args=args) for _ in range(processes)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    errors = [detail for status, detail in outcomes if status != "ok"]
    assert not errors, errors[0]
    return [detail for _status, detail in outcomes]
