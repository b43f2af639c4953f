"""`make screenshots`: every page at phone (390×844) and desktop (1366×768) size, in zh and en,
written to docs/screenshots/. It serves a demo database (the `make run` seed plus a booking, a
waitlist and a notice) from a thread, with the clock at a fixed evening, and signs in per role."""

from __future__ import annotations

import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 768}}
#: 18:00 in Shanghai: tonight's window is bookable and opens in an hour.
AT = datetime(2026, 12, 1, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

#: (name, role, path): `{booking}` and `{garage}` are filled from the demo data.
PAGES: list[tuple[str, str | None, str]] = [
    ("welcome", None, "/"),
    ("login", None, "/login"),
    ("register", None, "/register"),
    ("reset", None, "/reset"),
    ("resident-home", "resident", "/home"),
    ("resident-household", "resident", "/household"),
    ("resident-nights", "resident", "/nights"),
    ("resident-bookings", "resident", "/bookings"),
    ("resident-booking", "resident", "/bookings/{booking}"),
    ("resident-pass", "resident", "/bookings/{booking}/pass"),
    ("resident-notifications", "resident", "/notifications"),
    ("resident-account", "resident", "/account"),
    ("manage-home", "manager", "/manage"),
    ("manage-calendar", "manager", "/manage/calendar"),
    ("manage-overrides", "manager", "/manage/overrides"),
    ("manage-verify", "manager", "/manage/verify"),
    ("manage-people", "manager", "/manage/people"),
    ("manage-templates", "manager", "/manage/templates"),
    ("manage-reports", "manager", "/manage/reports"),
    ("manage-audit", "manager", "/manage/audit"),
    ("resident-monthly", "resident", "/monthly"),
    ("resident-monthly-detail", "resident", "/monthly/{subscription}"),
    ("resident-monthly-pass", "resident", "/monthly/{subscription}/pass"),
    ("manage-monthly", "manager", "/manage/monthly"),
    ("gate", "attendant", "/gate"),
    ("admin", "admin", "/admin"),
]


def _offline_home(page, base: str, ids: dict[str, int]):
    """/home as the resident sees it underground: the copy this phone kept, with its age. The
    signal comes back after the screenshot."""
    page.goto(base + "/home")
    page.wait_for_selector("html[data-kept]", state="attached")
    page.context.set_offline(True)
    page.goto(base + "/home")
    page.wait_for_selector("#kept-note")
    return lambda: page.context.set_offline(False)


def _plate_answer(page, base: str, ids: dict[str, int]) -> None:
    """The gate's answer to a plate look-up, at the top where a scan's goes."""
    from parking.seed import DEMO_PLATE

    page.goto(f"{base}/gate?garage_id={ids['garage']}")
    page.locator(".lookup-form select[name=province]").select_option(DEMO_PLATE[0])
    page.locator(".lookup-form input[name=plate]").fill(DEMO_PLATE[1:])
    page.locator(".lookup-form button[type=submit]").click()
    page.wait_for_selector("#gate-result[data-result=lookup]")


#: States a plain visit does not show: (name, role, what to do before the screenshot, which may
#: answer what to undo after it).
STATES = [
    ("resident-home-offline", "resident", _offline_home),
    ("gate-plate-answer", "attendant", _plate_answer),
]


def _refused_later_night(page, base: str, ids: dict[str, int], app) -> None:
    """The trial's case: a later night, far down /nights, refused (the household is suspended after
    the page was shown, then let go again for the pictures after it)."""
    from datetime import timedelta

    from parking import clock
    from parking.extensions import db
    from parking.households.models import Household

    page.goto(f"{base}/nights")
    with app.app_context():
        household = db.session.get(Household, ids["household"])
        household.suspended_until = clock.now() + timedelta(days=3)
        db.session.commit()
    try:
        page.locator("form.book-form [type=submit]").last.click()
        page.wait_for_load_state()
    finally:
        with app.app_context():
            db.session.get(Household, ids["household"]).suspended_until = None
            db.session.commit()


def _refused_plate(page, base: str, ids: dict[str, int], app) -> None:
    page.goto(f"{base}/household")
    page.locator("#add-car input[name=plate]").fill("A1")
    page.locator("#add-car [type=submit]").click()
    page.wait_for_load_state()


#: "An error in view": (name, role, how to get refused), at phone size, a picture of the screen as
#: the person sees it after the refused submit (not the whole page): the message is on it.
REFUSALS = [
    ("error-nights", "resident", _refused_later_night),
    ("error-household-plate", "resident", _refused_plate),
]


def demo_app(instance: Path):
    from config import TestConfig
    from parking import clock, create_app
    from parking.extensions import db

    clock.set_now(AT)
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'demo.db'}",
        INSTANCE_PATH=instance,
        WTF_CSRF_ENABLED=True,
        PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
    )
    with app.app_context():
        db.create_all()
        ids = seed(app)
    return app, ids


def seed(app) -> dict[str, int]:
    from parking import clock
    from parking.auth.models import User
    from parking.bookings import services as bookings
    from parking.extensions import db
    from parking.households.models import Household, HouseholdState
    from parking.monthly import sale as monthly
    from parking.seed import DEMO_PLATE, DEMO_USERS, seed_demo
    from parking.windows.models import Window

    now = clock.now()
    garage = seed_demo(now)
    db.session.commit()
    resident = db.session.scalar(db.select(User).where(User.phone == DEMO_USERS["resident"][0]))
    tonight = db.session.scalars(db.select(Window).order_by(Window.service_date)).first()
    booking = bookings.request_booking(resident, tonight.id, DEMO_PLATE, False, now)
    # A household waiting for verification, for the manager's queue.
    pending = Household(
        garage_id=garage.id, building="8号楼", unit="1单元", room="301", state=HouseholdState.PENDING, created_at=now
    )
    db.session.add(pending)
    db.session.commit()
    later = db.session.scalars(db.select(Window).order_by(Window.service_date)).all()[3]
    later.quota = 1
    db.session.commit()
    # The rest of December as a monthly pass (tonight is booked already, so a partial month).
    month = monthly.subscribe(resident, tonight.template_id, now.date().replace(day=1), DEMO_PLATE, True, now)
    db.session.commit()
    return {
        "household": resident.household_id,
        "booking": booking.id,
        "garage": garage.id,
        "window": tonight.id,
        "full_window": later.id,
        "subscription": month.id,
    }


def _signed_in(browser, base: str, viewport: dict, lang: str, role: str):
    from parking.seed import DEMO_PASSWORD, DEMO_USERS

    page = browser.new_context(viewport=viewport, locale="zh-CN" if lang == "zh" else "en-US").new_page()
    page.goto(f"{base}/lang/{lang}?next=/login")
    page.locator("input[name=phone]").fill(DEMO_USERS[role][0])
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state()
    return page


def main(names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    from parking.seed import DEMO_PASSWORD, DEMO_USERS
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app, ids = demo_app(Path(tmp))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        written = 0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for size, viewport in SIZES.items():
                for lang in ("zh", "en"):
                    pages_by_role: dict[str | None, object] = {}
                    visits = [(name, role, path) for name, role, path in PAGES]
                    visits += [(name, role, state) for name, role, state in STATES]
                    for name, role, path in visits:
                        if names and name not in names:
                            continue
                        page = pages_by_role.get(role)
                        if page is None:
                            locale = "zh-CN" if lang == "zh" else "en-US"
                            page = browser.new_context(viewport=viewport, locale=locale).new_page()
                            page.goto(f"{base}/lang/{lang}?next=/login")
                            if role is not None:
                                page.locator("input[name=phone]").fill(DEMO_USERS[role][0])
                                page.locator("input[name=password]").fill(DEMO_PASSWORD)
                                page.locator("form.form button[type=submit]").click()
                                page.wait_for_load_state()
                            pages_by_role[role] = page
                        after = None
                        if callable(path):
                            after = path(page, base, ids)
                        else:
                            response = page.goto(base + path.format(**ids))
                            if response is None or response.status >= 400:
                                print(f"screenshots: {name}: {path} answered {response and response.status}")
                        page.wait_for_timeout(150)
                        page.screenshot(path=str(OUT / f"{name}-{size}-{lang}.png"), full_page=True)
                        if after is not None:
                            after()
                        written += 1
                    for name, role, refuse in REFUSALS if size == "phone" else []:
                        if names and name not in names:
                            continue
                        page = _signed_in(browser, base, viewport, lang, role)
                        refuse(page, base, ids, app)
                        page.wait_for_timeout(150)
                        page.screenshot(path=str(OUT / f"{name}-{size}-{lang}.png"))
                        page.context.close()
                        written += 1
            browser.close()
        server.shutdown()
        print(f"screenshots: {written} written to {OUT.relative_to(ROOT)}/")


if __name__ == "__main__":
    main(sys.argv[1:])
