"""Every page in the reader's language: every GET page of the URL map, rendered in Chinese for a
resident, an attendant, a manager and an administrator over a garage with bookings in every state,
audit events of real changes (a cancellation, a bump, a quota change, a holiday preset, a
verification), a report and a provisional holiday, shows no raw event code (`booking.bumped`,
`window.quota_changed`) and no English word. A code may stay as a tooltip (a `title`), and an
allow-list names what is not a word to translate: plates, units, the names of formats.

Cheap on purpose: the Flask test client, no browser. A new page is covered without a line here
(the routes come from the URL map); a new audit action without its words in the catalogue fails the
second test."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import sqlalchemy as sa
from flask import url_for

from parking import clock
from parking.audit.services import record
from parking.bookings.models import Booking, BookingStatus
from parking.catalogue import AUDIT_ACTIONS
from parking.extensions import db
from parking.households.models import HouseholdState, Vehicle, VehicleState
from parking.quotas.holidays import PROVISIONAL_NOTE
from parking.quotas.models import QuotaOverride
from parking.windows.models import Window
from tests.manager_helpers import api, check_in
from tests.monthly_helpers import offered, subscribe

#: Latin words a Chinese page may show: names of formats and standards, units, and the English
#: name of the language switch.
ALLOWED = {
    "English",
    "API",
    "JSON",
    "CSV",
    "PNG",
    "SVG",
    "PDF",
    "QR",
    "HTTPS",
    "OpenAPI",
    "Asia",
    "Shanghai",  # a time zone's name (Asia/Shanghai)
    "CNY",
    "JavaScript",
    "Excel",
    "Chrome",  # the pass page names the browsers to open it in when this one keeps no pages
    "Safari",
    "http",  # a gateway address's scheme, as the admin types it (http:// or https://)
}
#: A dotted lower-case code such as `booking.bumped` (not a file name or an address).
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)*\.[a-z]+(?:_[a-z]+)*\b")
WORD = re.compile(r"[A-Za-z][A-Za-z'’]{2,}")
NOT_WORDS = re.compile(
    r"\b[a-z_]+:\d+\b|https?://\S+|\b[\w.-]+@[\w.-]+|\b[\w-]+\.(?:css|js|png|svg|json|csv|html)\b|/[\w/.-]+"
)


class _Visible(HTMLParser):
    """The text a reader sees or hears: text outside script and style, and the labels read out."""

    SKIP = {"script", "style", "template", "code", "pre"}
    SPOKEN = ("aria-label", "placeholder", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP or (tag == "select" and dict(attrs).get("name") == "timezone"):
            self.depth += 1  # a time zone's options are its IANA names, proper names
        for name, value in attrs:
            if name in self.SPOKEN and value:
                self.parts.append(value)
            if tag == "input" and name == "value" and dict(attrs).get("type") in ("submit", "button") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if (tag in self.SKIP or tag == "select") and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth and data.strip():
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return "\n".join(parser.parts)


def _name(obj, value):
    obj.name = value
    return obj


def _world(client, factory):
    """One garage lived in for a while, named as its people would name it."""
    setup = offered(factory, quota=5)
    garage, template, manager = setup.garage, setup.template, setup.manager
    garage.name = "浦东东站长途客运站地下车库"
    template.name = "夜间"
    manager.name = "李站长"
    db.session.commit()
    today = clock.local_date(clock.now(), garage.timezone)

    def night(offset: int, quota: int = 5) -> Window:
        return factory.window(template=template, quota=quota, day=today + timedelta(days=offset))

    user, plate = factory.resident(garage, plates=2)
    _name(user, "王阿姨")
    other, other_plate = factory.resident(garage)
    _name(other, "张先生")
    db.session.commit()

    tonight = factory.booking(night(0), user=user, plate=plate)
    check_in(tonight)
    factory.booking(night(1), user=user, plate=plate)  # confirmed
    cancelled = factory.booking(night(2), user=user, plate=plate)
    gone = client.post(f"/api/v1/bookings/{cancelled.id}/cancel", json={}, headers=factory.headers(user))
    assert gone.status_code == 200, gone.get_json()
    ended = {4: BookingStatus.COMPLETED, 5: BookingStatus.NO_SHOW, 6: BookingStatus.OVERSTAYED}
    ended[7] = BookingStatus.REQUESTED
    for offset, status in ended.items():
        booking = factory.booking(night(offset), user=user, plate=plate)
        row = db.session.get(Booking, booking.id)
        row.status = status
        db.session.commit()
    bumped = night(8, quota=2)
    factory.booking(bumped, user=user, plate=plate)
    cut = api(
        client,
        factory,
        manager,
        "POST",
        f"/garages/{garage.id}/overrides",
        json={
            "template_id": template.id,
            "start_date": bumped.service_date.isoformat(),
            "end_date": bumped.service_date.isoformat(),
            "quota": 0,
            "reason": "春运高峰，车站要用车库",
            "policy": "bump",
        },
    )
    assert cut.status_code == 201, cut.get_json()
    preset = api(
        client, factory, manager, "POST", f"/garages/{garage.id}/overrides/holidays", json={"year": 2026, "quota": 3}
    )
    assert preset.status_code in (200, 201), preset.get_json()
    full = night(9, quota=1)  # after the preset, which sets every night's quota anew
    factory.booking(full, user=other, plate=other_plate)
    factory.booking(full, user=user, plate=plate, waitlist=True)  # waitlisted
    db.session.add(
        QuotaOverride(
            garage_id=garage.id,
            template_id=template.id,
            start_date=date(2027, 10, 1),
            end_date=date(2027, 10, 7),
            quota=3,
            closed=False,
            reason=f"National Day 国庆节 ({PROVISIONAL_NOTE})",
            source="holiday",
            provisional=True,
            created_by_id=manager.id,
            created_at=clock.now(),
        )
    )
    bought = subscribe(client, factory, user, setup, user.household.vehicles[1].plate, accept_partial=True)
    assert bought.status_code == 201, bought.get_json()

    waiting = factory.household(garage, state=HouseholdState.PENDING)
    _name(waiting.members[0], "赵大爷")
    db.session.add(
        Vehicle(household_id=other.household_id, plate="沪B54321", state=VehicleState.PENDING, created_at=clock.now())
    )
    db.session.commit()
    record(manager, "household.verified", user.household, after={"state": "verified"}, at=clock.now())
    db.session.commit()

    attendant = _name(factory.attendant(garage), "门岗小陈")
    admin = _name(factory.admin(), "系统管理员")
    db.session.commit()
    subscription_id = db.session.scalar(
        sa.text("SELECT id FROM subscriptions WHERE household_id = :h"), {"h": user.household_id}
    )
    args = {
        "garage_id": garage.id,
        "template_id": template.id,
        "booking_id": tonight.id,
        "window_id": bumped.id,
        "subscription_id": subscription_id,
        "household_id": user.household_id,
        "user_id": user.id,
        "service_date": today.isoformat(),
        "code": "zh",
    }
    people = {"resident": user, "waiting": waiting.members[0], "attendant": attendant, "manager": manager}
    people["admin"] = admin
    bookings = db.session.scalars(
        sa.select(Booking).where(Booking.household_id == user.household_id).order_by(Booking.id)
    )
    return args, people, _one_of_each_kind(bookings, today)


def _one_of_each_kind(bookings, today: date) -> list[int]:
    """One booking of each kind the pages tell apart: its state, where its night falls (past,
    tonight, to come), whether it is a monthly pass's night, waitlisted with priority, cancelled
    late, inside, reminded, drawn, with a pass… The month's nights differ only by their date (24
    bookings alike): asking each booking page about each of them, as each role, was two thirds of
    the test's requests and showed the same words."""
    kinds: dict[tuple, int] = {}
    for booking in bookings:
        day = booking.window.service_date
        kind = (
            booking.status,
            (day > today) - (day < today),
            booking.window.template_id,
            booking.subscription_id is not None,
            booking.slot is not None,
            booking.priority,
            booking.late_cancel,
            booking.inside,
            *(
                getattr(booking, name) is not None
                for name in (
                    "confirmed_at",
                    "cancelled_at",
                    "entered_at",
                    "exited_at",
                    "reminded_at",
                    "draw_rank",
                    "won_draw_at",
                    "pass_nonce",
                    "pass_not_before",
                    "anonymised_at",
                )
            ),
        )
        kinds.setdefault(kind, booking.id)
    return sorted(kinds.values())


def _pages(app, args, booking_ids):
    """Every GET route of the URL map that takes only the arguments the world has, once per booking."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.startswith(("/api", "/static", "/lang")):
            continue
        if not set(rule.arguments) <= set(args):
            continue
        with app.test_request_context():
            if "booking_id" in rule.arguments:
                for booking_id in booking_ids:
                    paths.add(
                        url_for(rule.endpoint, **{**{n: args[n] for n in rule.arguments}, "booking_id": booking_id})
                    )
            else:
                paths.add(url_for(rule.endpoint, **{n: args[n] for n in rule.arguments}))
    paths |= {f"/manage/audit?garage_id={args['garage_id']}", f"/manage/calendar?garage_id={args['garage_id']}"}
    return sorted(paths)


def test_no_page_shows_a_raw_code_or_an_english_word_in_chinese(app, factory):
    setup_client = app.test_client()
    args, people, booking_ids = _world(setup_client, factory)
    pages = _pages(app, args, booking_ids)
    assert len(pages) > 40  # the whole map, not a hand-picked few
    found: dict[str, set[str]] = {}
    shown = 0
    for role, person in people.items():
        client = app.test_client()
        factory.browser(client, person)
        for path in pages:
            response = client.get(path, headers={"Accept-Language": "zh-CN"})
            response.close()
            if response.status_code != 200 or not response.content_type.startswith("text/html"):
                continue
            shown += 1
            text = NOT_WORDS.sub(" ", visible_text(response.get_data(as_text=True)))
            codes = {code for code in CODE.findall(text) if code.split(".")[0] not in ("www",)}
            words = {word for word in WORD.findall(text) if word not in ALLOWED}
            if codes or words:
                found[f"{role} {path}"] = codes | words
    assert shown > 60, shown
    statuses = set(db.session.scalars(sa.select(Booking.status).where(Booking.id.in_(booking_ids))))
    assert statuses == set(BookingStatus), statuses  # bookings in every state were shown
    assert found == {}, "\n".join(f"{page}: {sorted(bad)}" for page, bad in sorted(found.items()))


def test_every_audit_action_written_has_its_words():
    """Each action the service writes (`record(..., "x.y", ...)`, `action="x.y"`) is in the catalogue."""
    source = "\n".join(p.read_text() for p in Path("parking").rglob("*.py"))
    written = set(re.findall(r'record\(\s*[^,()]+,\s*"([a-z_]+\.[a-z_]+)"', source))
    written |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', source))
    written |= set(re.findall(r'^\s*"([a-z_]+\.[a-z_]+)",\s*$', source, re.M))  # a CancelPolicy's action
    written = {action for action in written if action.split(".")[0] not in ("gate_station", "manage", "account")}
    assert len(written) > 30, sorted(written)
    assert written - set(AUDIT_ACTIONS) == set()
