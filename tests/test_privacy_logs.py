"""Plates, phones, passwords, tokens, reset codes and the secret key never reach a log line: a
resident's whole way through the service runs with every logger at DEBUG, the access log included
(gunicorn's formatter with the repository's gunicorn.conf.py, and the development server's
request line through the `werkzeug` logger as it logs it), and no captured line holds any of them."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from parking import clock
from parking.extensions import db
from parking.notifications import webhooks
from parking.notifications.delivery import deliver_due
from parking.windows.models import Window
from schedules.jobs import tide_pass
from tests.delivery_helpers import Gateway
from tests.gate_helpers import scan
from tests.privacy_helpers import PASSWORD, bearer, full_flow, gunicorn_logger, ok

NEW_PASSWORD = "a new one 2"


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class AccessLogged:
    """Each request logged as the production server (gunicorn) and the development server
    (werkzeug) log it, query string and all handed to them."""

    def __init__(self, wsgi_app, gunicorn) -> None:
        self.wsgi_app, self.gunicorn = wsgi_app, gunicorn

    def __call__(self, environ, start_response):
        started, answer = time.monotonic(), {}

        def remember(status, headers, exc_info=None):
            answer.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        body = b"".join(self.wsgi_app(environ, remember))
        query = environ.get("QUERY_STRING", "")
        path = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
        environ.setdefault("RAW_URI", path)
        response = SimpleNamespace(status=answer["status"], sent=len(body), headers=answer["headers"])
        request = SimpleNamespace(
            headers=[(k[5:].replace("_", "-"), v) for k, v in environ.items() if k[:5] == "HTTP_"]
        )
        self.gunicorn.access(response, request, environ, timedelta(seconds=time.monotonic() - started))
        line = f"{environ['REQUEST_METHOD']} {path} {environ.get('SERVER_PROTOCOL', 'HTTP/1.1')}"
        # As werkzeug.serving.WSGIRequestHandler.log_request hands it to the `werkzeug` logger.
        dev_server = logging.getLogger("werkzeug")
        dev_server.info('127.0.0.1 - - [04/Dec/2026 10:00:00] "%s" %s %s', line, answer["status"][:3], len(body))
        return [body]


@pytest.fixture
def every_line(app):
    """Every logger at DEBUG, each line captured; put back afterwards."""
    handler = Captured()
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    gunicorn = gunicorn_logger(handler)
    wsgi_app = app.wsgi_app
    app.wsgi_app = AccessLogged(wsgi_app, gunicorn)
    try:
        yield handler.lines
    finally:
        app.wsgi_app = wsgi_app
        logging.getLogger().removeHandler(handler)
        for logger, level in levels.items():
            logger.setLevel(level)


def test_a_whole_day_at_debug_logs_no_plate_phone_password_token_code_or_key(app, client, factory, every_line):
    with Gateway() as gateway:
        _a_whole_day(app, client, factory, every_line, gateway)


def _a_whole_day(app, client, factory, every_line, gateway):
    flow = full_flow(client, factory, plate="沪A12345")
    # The garage's SMS gateway (a real HTTP server on 127.0.0.1), set before the day's messages.
    answer = webhooks.set_webhook(flow.garage.id, gateway.url, factory.admin(), clock.now() - timedelta(hours=1))
    db.session.commit()
    gateway.secret = answer.secret.encode()
    attendant, manager = factory.headers(flow.attendant), factory.headers(flow.manager)
    # Sign in on the page, once wrongly (a counted failure), then rightly.
    client.post("/login", data={"phone": flow.phone, "password": "wrong password"})
    client.post("/login", data={"phone": flow.phone, "password": PASSWORD})
    # Plates and phones in query strings: a manager's search, the gate's plate look-up.
    ok(client.get(f"/api/v1/bookings?garage_id={flow.garage.id}&plate={quote(flow.plate)}", headers=manager))
    browser = factory.browser(app.test_client(), flow.attendant)
    browser.get(f"/gate?garage_id={flow.garage.id}&plate={quote(flow.plate)}&phone={flow.phone}")
    # At the gate: in by the pass, out by the plate; a stranger's token refused.
    window = db.session.get(Window, flow.window.id)
    clock.set_now(window.opens_at)
    entry = ok(scan(client, factory, flow.attendant, flow.garage.id, token=flow.pass_token, direction="in"))
    assert entry["result"] == "accepted", entry
    refused = ok(scan(client, factory, flow.attendant, flow.garage.id, token=flow.pass_token + "x", direction="in"))
    assert refused["result"] == "rejected"
    clock.set_now(window.closes_at)
    exit_ = ok(scan(client, factory, flow.attendant, flow.garage.id, plate=flow.plate, direction="out"))
    assert exit_["result"] == "accepted", exit_
    # The tide settles the night; the resident reads the inbox and exports; then resets the password.
    clock.set_now(window.closes_at + timedelta(hours=1))
    db.session.commit()  # the test's own transaction ends: the job opens its own
    assert tide_pass(app) is not None
    sent = deliver_due(clock.now(), db.session.commit)  # the outbox delivered to the gateway
    assert sent["sent"] >= 1 and gateway.delivered(), (sent, gateway.posts)
    ok(client.get("/api/v1/notifications", headers=bearer(flow.token)))
    ok(client.get("/api/v1/me/export", headers=bearer(flow.token)))
    ok(client.get(f"/api/v1/garages/{flow.garage.id}/occupancy", headers=attendant))
    bad = client.post("/api/v1/auth/reset", json={"phone": flow.phone, "code": "00000000", "password": NEW_PASSWORD})
    assert bad.status_code == 401
    reset = {"phone": flow.phone, "code": flow.reset_code, "password": NEW_PASSWORD}
    assert client.post("/api/v1/auth/reset", json=reset).status_code == 204
    ok(client.post("/api/v1/auth/token", json={"phone": flow.phone, "password": NEW_PASSWORD}))

    text = "\n".join(every_line)
    assert '"GET /api/v1/bookings HTTP/1.1" 200' in text, "the access log was not captured"
    assert "tide:" in text and "sqlalchemy.engine" in text, "not everything was at DEBUG"
    secrets = {
        "phone": flow.phone,
        "phone's last eight": flow.phone[-8:],
        "plate": flow.plate,
        "plate's number": flow.plate[2:],
        "plate in a URL": quote(flow.plate),
        "password": PASSWORD,
        "new password": NEW_PASSWORD,
        "bearer token": flow.token,
        "pass token": flow.pass_token[-20:],
        "reset code": flow.reset_code,
        "secret key": app.config["SECRET_KEY"],
        "gateway secret": gateway.secret.decode(),
    }
    found = {name: [line for line in every_line if value in line][:2] for name, value in secrets.items()}
    assert not any(found.values()), {name: lines for name, lines in found.items() if lines}
    assert len(every_line) > 100 and not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)
