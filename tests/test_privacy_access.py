"""Only who needs it sees it: an attendant reads a household's address, state and plates, never
its members' phones or names; access logs, as the production server (gunicorn.conf.py) and the
development server are configured, never record a query string."""

from __future__ import annotations

import logging
import threading
import urllib.request
from datetime import timedelta
from types import SimpleNamespace

import pytest

from tests.privacy_helpers import bearer, full_flow, gunicorn_logger, ok


def test_an_attendant_reads_a_household_without_its_members_phones_or_names(client, factory):
    flow = full_flow(client, factory)
    path = f"/api/v1/households/{flow.household_id}"
    seen = ok(client.get(path, headers=factory.headers(flow.attendant)))
    assert (seen["building"], seen["unit"], seen["state"]) == ("3", "1", "verified")
    assert [v["plate"] for v in seen["vehicles"]] == [flow.plate]
    assert seen["members"] == [{"id": flow.user.id, "name": None, "phone": None}]
    assert flow.phone not in str(seen) and flow.phone[-4:] not in str(seen)
    for reader in (factory.headers(flow.manager), bearer(flow.token)):
        members = ok(client.get(path, headers=reader))["members"]
        assert members == [{"id": flow.user.id, "name": "王芳", "phone": flow.phone}]


def test_what_an_attendant_reads_about_bookings_carries_no_phone(client, factory):
    flow = full_flow(client, factory)
    attendant = factory.headers(flow.attendant)
    reads = [
        client.get(f"/api/v1/bookings?garage_id={flow.garage.id}", headers=attendant),
        client.get(f"/api/v1/bookings/{flow.booking_id}", headers=attendant),
        client.get(f"/api/v1/garages/{flow.garage.id}/occupancy", headers=attendant),
    ]
    browser = factory.browser(client, flow.attendant)
    reads.append(browser.get(f"/gate?garage_id={flow.garage.id}"))
    reads.append(browser.get(f"/gate?garage_id={flow.garage.id}&plate={flow.plate}"))  # the plate look-up
    for response in reads:
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        text = response.get_data(as_text=True)
        assert flow.phone not in text and flow.phone[-4:] not in text, response.request.path
    assert flow.plate in reads[-1].get_data(as_text=True)  # the look-up found the night's booking


def _gunicorn_access_line(path: str, query: str) -> str:
    """One access line as gunicorn formats it with the repository's gunicorn.conf.py."""
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger = gunicorn_logger(handler)
    cfg = logger.cfg
    assert cfg.accesslog == "-" and "%(r)s" not in cfg.access_log_format and "%(q)s" not in cfg.access_log_format
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"{path}?{query}",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_REFERER": f"https://parking.example{path}?{query}",
        "HTTP_USER_AGENT": "test",
    }
    response = SimpleNamespace(status="200 OK", sent=12, headers=[])
    logger.access(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=3))
    (line,) = records
    return line


def test_the_production_access_log_never_records_a_query_string():
    line = _gunicorn_access_line("/gate", "garage_id=1&plate=%E6%B2%AAA12345&phone=13800000003")
    assert '"GET /gate HTTP/1.1" 200' in line
    assert "?" not in line and "plate" not in line and "13800000003" not in line and "A12345" not in line


@pytest.mark.sqlite_only
def test_the_development_server_logs_requests_without_their_query_strings(app, caplog):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            url = f"http://127.0.0.1:{server.server_port}/healthz?plate=%E6%B2%AAA12345&phone=13800000003"
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
            server.shutdown()
            thread.join(timeout=10)
    finally:
        server.server_close()
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any('"GET /healthz HTTP/1.1" 200' in line for line in lines), lines
    assert not any("?" in line or "13800000003" in line or "A12345" in line for line in lines), lines
