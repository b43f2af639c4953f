"""After a refused submit the page opens at the message, on every form of every role, in Chromium at
phone size (390x844): the first field in error has the focus and its message is on the screen, or,
when no field is in error, the message itself has the focus on the screen. No script does this:
the form's action carries `#<form id>-errors` and the field `autofocus` (macros.html `post`,
parking.web.pages.in_view).

The forms are found by reading the templates, so a new form without a case here fails. A case is a
function that signs in, opens the page and makes the one refused submit; or a `Skip` with why no
refusal can be staged."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from parking import clock
from parking.bookings.models import Booking, BookingStatus
from parking.extensions import db
from parking.households.models import Household, HouseholdState, VehicleState
from parking.windows.services import today
from tests.browser.conftest import PHONE
from tests.browser.pages import sign_in

#: Where the browser scrolls and what it focuses does not depend on the database: SQLite only (the
#: refusals themselves are the services', tested on both).
WHAT_CHROMIUM_DRAWS = True
TEMPLATES = Path(__file__).resolve().parents[2] / "parking" / "web" / "templates"
PASSWORD = "password123"


def template_forms() -> list[str]:
    """Every form of the templates: `<template> <form id>` for a form of the `post` macro or with an
    id (a trailing `-` where the id goes on with a number), else `<template> <its action>`."""
    found: set[str] = set()
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name == "macros.html":
            continue
        text = path.read_text()
        for call in re.finditer(r"\{%-? call post\((.*?)%\}", text, re.S):
            form_id = re.search(r"'([a-z][a-z-]*)'", call.group(1))
            if form_id:
                found.add(f"{name} {form_id.group(1)}")
                continue
            # a macro of the template that draws such a form: the ids its calls give
            macro = re.findall(r"\{% macro (\w+)\(", text[: call.start()])[-1]
            for use in re.finditer(rf"\{{\{{ {macro}\((.*?)\}}\}}", text):
                given = re.search(r"'([a-z][a-z-]*)'", use.group(1))
                found.add(f"{name} {given.group(1)}")
        for tag in re.finditer(r"<form\b[^>]*>", text):
            named = re.search(r'\bid="([a-z-]+)', tag.group(0))
            action = re.search(r'action="\{\{ *([^}]*?) *\}\}', tag.group(0))
            endpoint = re.search(r"url_for\('([\w.]+)'", action.group(1)) if action else None
            found.add(f"{name} {named.group(1) if named else endpoint.group(1) if endpoint else action.group(1)}")
    return sorted(found)


@dataclass(frozen=True)
class Skip:
    why: str


def _in_view(page) -> dict:
    """What has the focus after the refused submit, and whether it and its message are on screen."""
    page.wait_for_load_state("load")
    with contextlib.suppress(AssertionError):  # autofocus is applied at a frame after the load
        expect(page.locator(":focus")).to_have_count(1, timeout=3000)
    return page.evaluate(
        """() => {
            const inView = (n) => {
                const r = n.getBoundingClientRect();
                return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
            };
            const ids = [...document.querySelectorAll('[id]')].map((n) => n.id);
            const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
            if (twice.length) return {focused: null, ids_used_twice: twice};  // a label or anchor would miss
            const el = document.activeElement;
            if (!el || el === document.body) return {focused: null, url: location.href};
            if (el.matches('input, select, textarea')) {
                const ids = (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
                const message = ids.map((id) => document.getElementById(id)).find((n) => n && n.matches('.error'));
                return {focused: el.name, invalid: el.getAttribute('aria-invalid') === 'true',
                        shown: inView(el) && !!message && inView(message), text: message ? message.innerText : ''};
            }
            return {focused: el.id, invalid: !!el.closest('[role=alert], [role=status]'),
                    shown: inView(el), text: el.innerText};
        }"""
    )


# -- staging ----------------------------------------------------------------------------------------


def _resident(factory, nights: int = 1, **kwargs):
    first = factory.window(quota=3)
    windows = [first.id]
    for n in range(1, nights):
        day = today(first.garage, first.opens_at) + timedelta(days=n)
        windows.append(factory.window(template=first.template, quota=3, day=day).id)
    user, plate = factory.resident(first.garage, **kwargs)
    db.session.commit()
    return user.phone, user.household_id, windows, plate


def _manager(factory):
    garage = factory.garage(name="东站车库")
    factory.window(garage, quota=5)
    factory.household(garage, state=HouseholdState.PENDING)
    manager = factory.manager(garage)
    db.session.commit()
    return manager.phone, garage.id


def _as_manager(page, live, factory, path: str) -> int:
    phone, garage_id = _manager(factory)
    sign_in(page, live, phone, PASSWORD)
    page.goto(f"{live}{path}{'&' if '?' in path else '?'}garage_id={garage_id}")
    return garage_id


def _submit(page, form: str) -> None:
    page.locator(f"{form} [type=submit]").last.click()


def login(page, live, factory):
    phone, *_ = _resident(factory)
    page.goto(live + "/login")
    page.locator("input[name=phone]").fill(phone)
    page.locator("input[name=password]").fill("not-the-password")
    _submit(page, "#sign-in")


def register(page, live, factory):
    page.goto(live + "/register")
    _submit(page, "#register")


def reset(page, live, factory):
    page.goto(live + "/reset")
    page.locator("input[name=phone]").fill("13800000000")
    _submit(page, "#reset")


def change_password(page, live, factory):
    phone, *_ = _resident(factory)
    sign_in(page, live, phone, PASSWORD)
    page.goto(live + "/account")
    page.locator("input[name=current_password]").fill("not-the-password")
    page.locator("#change-password input[name=password]").fill("a-new-password-1")
    page.locator("input[name=password_again]").fill("a-new-password-1")
    _submit(page, "#change-password")


def erase_account(page, live, factory):
    phone, *_ = _resident(factory)
    sign_in(page, live, phone, PASSWORD)
    page.goto(live + "/account/delete")
    page.locator("#erase-account input[name=current_password]").fill("not-the-password")
    page.locator("#erase-account input[name=understood]").check()
    _submit(page, "#erase-account")


def erase_by_admin(page, live, factory):
    admin = factory.admin()
    db.session.commit()
    sign_in(page, live, admin.phone, PASSWORD)
    page.goto(live + "/admin/accounts/erase")
    page.locator("#erase-by-admin input[name=phone]").fill("13900000999")  # nobody's
    page.locator("#erase-by-admin input[name=understood]").check()
    _submit(page, "#erase-by-admin")


def webhook(page, live, factory):
    _admin_garage(page, live, factory)
    page.locator("#webhook input[name=url]").fill("ftp://gateway.example/hook")
    _submit(page, "#webhook")


def new_garage(page, live, factory):
    admin = factory.admin()
    db.session.commit()
    sign_in(page, live, admin.phone, PASSWORD)
    page.goto(live + "/admin/garages/new")
    _submit(page, "#garage")


def _admin_garage(page, live, factory) -> None:
    admin, garage = factory.admin(), factory.garage(name="东站车库")
    db.session.commit()
    sign_in(page, live, admin.phone, PASSWORD)
    page.goto(f"{live}/admin/garages/{garage.id}")


def remove_staff(page, live, factory):
    """A button's refusal: the person left the garage's staff meanwhile; said at the top."""
    from parking.auth.models import GarageStaff

    admin, garage = factory.admin(), factory.garage(name="东站车库")
    factory.attendant(garage)
    factory.manager(garage)
    db.session.commit()
    sign_in(page, live, admin.phone, PASSWORD)
    page.goto(f"{live}/admin/garages/{garage.id}")
    first = page.locator("form[id^=remove-]").first
    user_id = int(first.get_attribute("id").removeprefix("remove-"))
    db.session.rollback()
    db.session.execute(db.delete(GarageStaff).where(GarageStaff.user_id == user_id))
    db.session.commit()
    first.locator("[type=submit]").click()


def add_staff(page, live, factory):
    _admin_garage(page, live, factory)
    page.locator("#add-staff input[name=phone]").fill("12345")  # not a mobile number
    _submit(page, "#add-staff")


def garage_settings(page, live, factory):
    _admin_garage(page, live, factory)
    page.locator("#garage input[name=capacity]").fill("-5")
    _submit(page, "#garage")


def new_rule(page, live, factory):
    _as_manager(page, live, factory, "/manage/overrides")
    _submit(page, "#new-rule")


def holidays(page, live, factory):
    _as_manager(page, live, factory, "/manage/overrides")
    page.locator("#holidays input[name=year]").fill("1800")
    _submit(page, "#holidays")


def reject_household(page, live, factory):
    _as_manager(page, live, factory, "/manage/verify")
    page.locator("form.decide button[value=rejected]").first.click()


def reject_plate(page, live, factory):
    phone, garage_id = _manager(factory)
    household = factory.household(_garage(garage_id))
    household.vehicles[0].state = VehicleState.PENDING
    db.session.commit()
    sign_in(page, live, phone, PASSWORD)
    page.goto(f"{live}/manage/verify?garage_id={garage_id}")
    page.locator("form[id^=decide-vehicle-] button[value=rejected]").first.click()


def reopen(page, live, factory):
    """A button's refusal: the household was reopened meanwhile (in another tab); said at the top."""
    phone, garage_id = _manager(factory)
    household = factory.household(_garage(garage_id))
    household.state = HouseholdState.REJECTED
    household.state_reason = "室号不对"
    household_id = household.id
    db.session.commit()
    sign_in(page, live, phone, PASSWORD)
    page.goto(f"{live}/manage/verify?garage_id={garage_id}")
    db.session.rollback()
    db.session.get(Household, household_id).state = HouseholdState.PENDING
    db.session.commit()
    _submit(page, f"#reopen-{household_id}")


def reset_code(page, live, factory):
    """A button's refusal: the person moved out of the garage's households meanwhile."""
    from parking.auth.models import User

    phone, garage_id = _manager(factory)
    person_id = factory.household(_garage(garage_id)).members[0].id
    db.session.commit()
    sign_in(page, live, phone, PASSWORD)
    page.goto(f"{live}/manage/people?garage_id={garage_id}")
    db.session.rollback()
    db.session.get(User, person_id).household_id = None
    db.session.commit()
    _submit(page, f"#reset-code-{person_id}")


def lift(page, live, factory):
    """A button's refusal: the lock-out was lifted meanwhile; said at the top."""
    from parking.auth.models import LoginLockout

    phone, garage_id = _manager(factory)
    person = factory.household(_garage(garage_id)).members[0]
    now = clock.now()
    db.session.add(LoginLockout(user_id=person.id, level=1, started_at=now, locked_until=now + timedelta(hours=1)))
    person_id = person.id
    db.session.commit()
    sign_in(page, live, phone, PASSWORD)
    page.goto(f"{live}/manage/people?garage_id={garage_id}")
    db.session.rollback()
    db.session.execute(db.delete(LoginLockout).where(LoginLockout.user_id == person_id))
    db.session.commit()
    _submit(page, f"#lift-{person_id}")


def buy_monthly(page, live, factory):
    from tests.monthly_helpers import offered

    setup = offered(factory)
    user, _plate = factory.resident(setup.garage)
    db.session.commit()
    sign_in(page, live, user.phone, PASSWORD)
    page.goto(live + "/monthly")
    db.session.rollback()
    db.session.get(type(setup.offer), setup.offer.id).active = False  # taken off sale meanwhile
    db.session.commit()
    _submit(page, f"#buy-{setup.template.id}")


def mark_paid(page, live, factory, client):
    from tests.monthly_helpers import offered, subscribe

    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    assert subscribe(client, factory, user, setup, plate).status_code == 201
    phone, garage_id = setup.manager.phone, setup.garage.id
    db.session.commit()
    sign_in(page, live, phone, PASSWORD)
    page.goto(f"{live}/manage/monthly?garage_id={garage_id}&month=2026-12")
    page.locator("form.paid-form [type=submit]").first.click()  # no receipt number


def remove_rule(page, live, factory):
    """The rule was removed meanwhile (in another tab): the refusal is said where the row was."""
    from parking.quotas.models import QuotaOverride

    _as_manager(page, live, factory, "/manage/overrides")
    form = page.locator("#new-rule")
    form.locator("input[name=start_date]").fill(clock.now().date().isoformat())
    form.locator("input[name=end_date]").fill(clock.now().date().isoformat())
    form.locator("input[name=quota]").fill("5")
    form.locator("input[name=reason]").fill("春运")
    _submit(page, "#new-rule")
    expect(page.locator("form[id^=remove-]")).to_have_count(1)
    db.session.rollback()
    db.session.execute(db.delete(QuotaOverride))
    db.session.commit()
    page.locator("form[id^=remove-] [type=submit]").click()


def hand_back(page, live, factory, client):
    """The night was handed back meanwhile (from another phone of the household)."""
    from tests.monthly_helpers import offered, subscribe

    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    subscription_id = subscribe(client, factory, user, setup, plate).json["id"]
    headers, phone = factory.headers(user), user.phone
    db.session.commit()
    sign_in(page, live, phone, PASSWORD)
    page.goto(f"{live}/monthly/{subscription_id}/nights/2026-12-05/hand-back")
    answer = client.post(
        f"/api/v1/subscriptions/{subscription_id}/hand-back", json={"service_date": "2026-12-05"}, headers=headers
    )
    assert answer.status_code == 200, answer.json
    _submit(page, "#hand-back")


def _garage(garage_id: int):
    from parking.garages.models import Garage

    return db.session.get(Garage, garage_id)


def addresses(page, live, factory):
    _as_manager(page, live, factory, "/manage/addresses")
    page.locator("#addresses textarea").fill("这不是地址")
    page.locator("#addresses button[type=submit]:not([name=preview])").click()


def calendar_month(page, live, factory):
    _as_manager(page, live, factory, "/manage/calendar")
    page.locator("#pick-month input[name=month]").fill("2026-13")
    _submit(page, "#pick-month")


def calendar_range(page, live, factory):
    _as_manager(page, live, factory, "/manage/calendar")
    page.locator("#range-form input[name=start_date]").fill("2026-12-10")
    page.locator("#range-form input[name=end_date]").fill("2026-12-05")
    _submit(page, "#range-form")


def offer(page, live, factory):
    _as_manager(page, live, factory, "/manage/monthly")
    page.locator("form.offer-form input[name=fee]").first.fill("-1")
    page.locator("form.offer-form [type=submit]").first.click()


def month_pick(page, live, factory):
    _as_manager(page, live, factory, "/manage/monthly")
    page.locator("#month-pick input[name=month]").fill("2026-13")
    _submit(page, "#month-pick")


def report(page, live, factory):
    _as_manager(page, live, factory, "/manage/reports")
    page.locator("#report input[name=from]").fill("2026-12-05")
    page.locator("#report input[name=to]").fill("2026-12-01")
    _submit(page, "#report")


def audit(page, live, factory):
    _as_manager(page, live, factory, "/manage/audit")
    page.locator("#audit-filter input[name=object]").fill("booking-42")
    _submit(page, "#audit-filter")


def new_window(page, live, factory):
    _as_manager(page, live, factory, "/manage/templates")
    page.locator("#new-window input[name=name]").fill("")
    _submit(page, "#new-window")


def edit_window(page, live, factory):
    _as_manager(page, live, factory, "/manage/templates")
    page.locator("a[href*='/manage/templates/']").first.click()
    page.locator("#window input[name=default_quota]").fill("100000000")
    _submit(page, "#window")


def cancel(page, live, factory):
    phone, household_id, (window_id,), _plate = _resident(factory)
    sign_in(page, live, phone, PASSWORD)
    page.goto(live + "/nights")
    page.locator(f"#book-{window_id} [type=submit]").click()
    booking_id = _scalar(db.select(Booking.id).where(Booking.household_id == household_id))
    page.goto(f"{live}/bookings/{booking_id}/cancel")
    db.session.rollback()
    db.session.get(Booking, booking_id).status = BookingStatus.CHECKED_IN  # the car drove in meanwhile
    db.session.commit()
    _submit(page, "#cancel")


def _scalar(statement):
    db.session.rollback()
    try:
        return db.session.scalar(statement)
    finally:
        db.session.commit()


def resubmit(page, live, factory):
    phone, household_id, *_ = _resident(factory)
    db.session.get(Household, household_id).state = HouseholdState.REJECTED
    db.session.commit()
    sign_in(page, live, phone, PASSWORD)
    page.goto(live + "/household")
    page.locator("#resubmit input[name=room]").fill("4O2!")
    _submit(page, "#resubmit")


def add_car(page, live, factory, signed_in: bool = False):
    if not signed_in:
        phone, *_ = _resident(factory)
        sign_in(page, live, phone, PASSWORD)
        page.goto(live + "/household")
    page.locator("#add-car input[name=plate]").fill("A1")
    _submit(page, "#add-car")


def add_member(page, live, factory):
    phone, *_ = _resident(factory)
    sign_in(page, live, phone, PASSWORD)
    page.goto(live + "/household")
    page.locator("#add-member input[name=phone]").fill("12345")
    _submit(page, "#add-member")


def new_household(page, live, factory):
    factory.window(quota=3)
    user = factory.user()
    db.session.commit()
    sign_in(page, live, user.phone, PASSWORD)
    page.goto(live + "/household")
    _submit(page, "#household")


def several(page, live, factory):
    phone, *_ = _resident(factory, nights=3)
    sign_in(page, live, phone, PASSWORD)
    page.goto(live + "/nights")
    _submit(page, "#several")  # nothing ticked


def book_a_later_night(page, live, factory):
    """The refusal the trial met: a later night, far down the page, refused (the household was
    suspended after the page was shown)."""
    phone, household_id, windows, _plate = _resident(factory, nights=6)
    sign_in(page, live, phone, PASSWORD)
    page.goto(live + "/nights")
    db.session.rollback()
    db.session.get(Household, household_id).suspended_until = clock.now() + timedelta(days=30)
    db.session.commit()
    page.locator(f"#book-{windows[-1]} [type=submit]").click()


BUTTON = Skip("one button that asks nothing and is never refused")
GATE = Skip(
    "the gate's answers and refusals take the top of the gate page while the scan field keeps the "
    "focus for the hand scanner: tested in test_gate_page.py, test_gate_offline_first_visit.py and "
    "test_gate_station_page.py"
)

CASES = {
    "account/account.html change-password": change_password,
    "account/account.html sms-switch": BUTTON,
    "account/erase.html erase-account": erase_account,
    "admin/erase.html erase-by-admin": erase_by_admin,
    "admin/garage.html webhook": webhook,
    "admin/garage.html remove-webhook": BUTTON,
    "manage/deliveries.html send-again-": Skip(
        "a button whose one refusal (the letter was sent again meanwhile) is said at the top, as lift-"
    ),
    "gate/home.html gate_station.plate_lookup": GATE,
    "account/login.html sign-in": login,
    "account/logout.html sign-out": BUTTON,
    "account/register.html register": register,
    "account/reset.html reset": reset,
    "account/sign_out_everywhere.html sign-out-everywhere": BUTTON,
    "admin/garage.html add-staff": add_staff,
    "admin/garage.html garage": garage_settings,
    "admin/garage.html remove-": remove_staff,
    "admin/garage_form.html garage": new_garage,
    "base.html account.logout": BUTTON,
    "base.html switch_language": BUTTON,
    "gate/_lists.html gate_station.confirm_event": GATE,
    "gate/_lists.html gate_station.dismiss_event": GATE,
    "gate/home.html gate_station.home": GATE,
    "gate/home.html gate_station.scan": GATE,
    "gate/home.html scan-form": GATE,
    "manage/addresses.html addresses": addresses,
    "manage/audit.html audit-filter": audit,
    "manage/calendar.html pick-month": calendar_month,
    "manage/calendar.html range-form": Skip(
        "it only fills in the new-rule form on /manage/overrides, whose "
        "dates are checked when the rule is saved (new-rule)"
    ),
    "manage/confirm_cut.html confirm": Skip("its one choice comes chosen; a refusal after it is a flash at the top"),
    "manage/layout.html request.path": Skip("a choice among the person's own garages: nothing to refuse"),
    "manage/monthly.html month-pick": month_pick,
    "manage/monthly.html sell-": offer,
    "manage/monthly.html paid-": mark_paid,
    "manage/overrides.html holidays": holidays,
    "manage/overrides.html new-rule": new_rule,
    "manage/overrides.html remove-": remove_rule,
    "manage/people.html lift-": lift,
    "manage/people.html request.path": Skip("a search: every query is allowed"),
    "manage/people.html reset-code-": reset_code,
    "manage/reports.html report": report,
    "manage/template_edit.html window": edit_window,
    "manage/templates.html new-window": new_window,
    "manage/verify.html decide-household-": reject_household,
    "manage/verify.html release-": Skip("needs a plate held by two households; the same field macro as household-"),
    "manage/verify.html reopen-": reopen,
    "manage/verify.html decide-vehicle-": reject_plate,
    "resident/_parts.html book-": book_a_later_night,
    "resident/cancel.html cancel": cancel,
    "resident/household.html add-car": add_car,
    "resident/household.html add-member": add_member,
    "resident/household.html resubmit": resubmit,
    "resident/household_new.html household": new_household,
    "resident/monthly.html buy-": buy_monthly,
    "resident/monthly_detail.html renew": Skip("needs a monthly pass in its renewal days"),
    "resident/monthly_hand_back.html hand-back": hand_back,
    "resident/nights.html several": several,
}


def test_every_form_of_the_templates_has_a_case():
    forms = template_forms()
    assert [form for form in forms if form not in CASES] == [], "a form without an errors-in-view case"
    assert [case for case in CASES if case not in forms] == [], "a case for a form that is gone"


STAGED = [name for name, case in CASES.items() if not isinstance(case, Skip)]


@pytest.mark.parametrize("form", STAGED)
def test_a_refused_submit_opens_at_its_message(live, new_page, factory, client, form):
    page = new_page(viewport=PHONE)
    case = CASES[form]
    if case in (mark_paid, hand_back):
        case(page, live, factory, client)
    else:
        case(page, live, factory)
    found = _in_view(page)
    assert found.get("focused"), (form, found)
    assert found["invalid"] and found["shown"] and found["text"].strip(), (form, found)


def test_a_second_refusal_opens_at_the_message_through_the_actions_anchor(live, new_page, factory):
    """Once refused, the form's action carries its anchor: the next refusal opens there too, where a
    browser ignores autofocus; a first visit's form carries none (it would follow a success)."""
    page = new_page(viewport=PHONE)
    phone, *_ = _resident(factory)
    sign_in(page, live, phone, PASSWORD)
    page.goto(live + "/household")
    assert page.locator("#add-car").get_attribute("action") == "/household/vehicles"
    add_car(page, live, factory, signed_in=True)
    assert page.locator("#add-car").get_attribute("action") == "/household/vehicles#add-car-errors"
    _submit(page, "#add-car")
    assert page.url.endswith("/household/vehicles#add-car-errors")
    found = _in_view(page)
    assert found["focused"] == "plate" and found["invalid"] and found["shown"], found
