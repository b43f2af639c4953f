"""Browser fixtures: the app served by a real HTTP server in a thread (the same app and database as
the test, SQLite file and PostgreSQL), and Playwright driving Debian's Chromium. Without a browser
the browser tests are skipped with a loud note; CI (REQUIRE_BROWSER=1) fails instead."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

#: Debian's Chromium, as its headless build when installed (`chromium-headless-shell`, the same
#: engine without the desktop browser around it, which Playwright itself uses for headless runs):
#: it draws the same pages at about 60 % of the CPU, and the browser tests are CPU-bound.
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or (HEADLESS_SHELL if Path(HEADLESS_SHELL).exists() else "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SKIPPED_BROWSER = {"count": 0}


def _no_browser(reason: str):
    if os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(f"REQUIRE_BROWSER is set but {reason}")
    SKIPPED_BROWSER["count"] += 1
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def playwright_instance():
    if not Path(CHROMIUM).exists():
        _no_browser(f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev requirements install it
        _no_browser("playwright is not installed")
    manager = sync_playwright()
    instance = manager.start()
    yield instance
    manager.__exit__(None, None, None)


@pytest.fixture(scope="session")
def browser(playwright_instance):
    try:
        chromium = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:
        _no_browser(f"Chromium did not start: {exc}")
    yield chromium
    chromium.close()


def read_whole(app):
    """The app as the test server runs it: each answer read whole (and its file closed) before it is
    sent. Werkzeug's development server leaves a static file open when the browser drops the
    connection mid-answer (a service worker's fetch given up, a page left), which the suite's
    warnings-as-errors turns into a failure of whichever test runs next; gunicorn closes it."""

    def wsgi(environ, start_response):
        answer = app(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            if hasattr(answer, "close"):
                answer.close()

    return wsgi


class LiveServer:
    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, read_whole(app), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)
        self.server.server_close()


@pytest.fixture(scope="session")
def _server(backend_app):
    server = LiveServer(backend_app)
    yield server
    server.stop()


@pytest.fixture
def live(app, _server) -> str:
    """The base URL of the running app; the test's database is cleaned afterwards by `app`."""
    return _server.url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def screenshot_folder() -> Path:
    """Where a browser test leaves its screenshots: docs/screenshots/ when `WRITE_SCREENSHOTS=1`
    (`make screenshots`), else a folder of the run's own, so that a test run leaves the checkout
    as it found it."""
    if os.environ.get("WRITE_SCREENSHOTS") == "1":
        folder = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    else:
        folder = Path(tempfile.gettempdir()) / f"tidal-screenshots-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def new_page(browser, request):
    """`new_page(viewport=PHONE, locale="zh-CN")`: a page in a fresh browser context. On failure
    each page's screenshot is saved under test-results/."""
    contexts = []

    def make(viewport: dict | None = None, locale: str = "zh-CN", **options):
        context = browser.new_context(viewport=viewport or PHONE, locale=locale, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for n, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            for m, page in enumerate(context.pages):
                with contextlib.suppress(Exception):  # a closed page has nothing to show
                    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{n}-{m}.png"), full_page=True)
        context.close()


def _outside_the_postgresql_corner(item) -> bool:
    params = getattr(item, "callspec", None)
    params = params.params if params else {}
    return params.get("backend_app") == "postgresql" and (
        params.get("locale", "zh") != "zh"
        or params.get("viewport", PHONE) != PHONE
        or getattr(item.module, "WHAT_CHROMIUM_DRAWS", False)
        or item.get_closest_marker("drawing") is not None
    )


def pytest_collection_modifyitems(config, items):
    """A browser test of what Chromium draws only (`@pytest.mark.drawing`, or a module with
    WHAT_CHROMIUM_DRAWS: axe, text and target sizes, where the focus lands, the bytes of a first
    load, the pass saved as a picture) runs on SQLite alone: the markup does not depend on the
    database, and every page it draws is rendered on PostgreSQL too by the tests that render every
    GET page of the URL map (test_catalogue_pages, test_get_never_writes). Every browser flow
    (booking, scanning, the offline queue, a reset, ...) runs on both databases, in Chinese at phone
    size on PostgreSQL and in every language and size on SQLite."""
    dropped = [item for item in items if _outside_the_postgresql_corner(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not _outside_the_postgresql_corner(item)]


def pytest_terminal_summary(terminalreporter):
    if SKIPPED_BROWSER["count"] or not Path(CHROMIUM).exists():
        terminalreporter.write_line("")
        terminalreporter.write_line(
            f"NOTE: the BROWSER tests were SKIPPED (no Chromium at {CHROMIUM}); `.ci/run` installs it and runs them.",
            yellow=True,
            bold=True,
        )
