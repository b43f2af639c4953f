"""The gate station in Chromium: a scanner typing passes, the answer at the top, the
offline verifier against the Python one, offline scans queued and uploaded once, the camera and
photos, and the accessibility rules at phone and desktop sizes."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from playwright.sync_api import expect

from parking import clock, models  # noqa: F401  (every model, before any is used)
from parking.bookings.models import Booking
from parking.bookings.services import cancel
from parking.extensions import db
from parking.gate.models import Direction, Scan
from parking.gate.services import scan as scan_service
from parking.passes import offline
from parking.passes.services import issue, render_png
from parking.passes.services import jwks as jwks_of
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, screenshot_folder
from tests.browser.pages import db_scalar, meets_the_page_rules, sign_in
from tests.conftest import FIGURES, T0
from tests.gate_helpers import booked
from tests.monthly_helpers import offered, sh, subscribe

EVENING = T0.replace(hour=19, minute=30)
SHANGHAI = T0.tzinfo


def _token(setup, booking=None) -> str:
    booking = booking or setup.booking
    member = booking.household.members[0]
    token = issue(member, booking.id, clock.now()).token
    db.session.commit()
    return token


def _open_gate(new_page, live, user, viewport=PHONE, locale="zh-CN", path="/gate"):
    phone = user.phone
    db.session.commit()  # reading `user` may have begun a transaction: on SQLite it would block the server
    page = new_page(viewport=viewport, locale=locale)
    sign_in(page, live, phone, "password123")
    page.goto(live + path)
    expect(page.locator("html")).to_have_attribute("data-gate-ready", "true")
    return page


def db_scalar_all(statement) -> list:
    db.session.rollback()
    try:
        return list(db.session.scalars(statement))
    finally:
        db.session.commit()


def _scans() -> int:
    return db_scalar(db.select(db.func.count(Scan.id)))


def _answers(page) -> int:
    return int(page.locator("#gate-result").get_attribute("data-seq") or 0)


def _scan(page, text: str, state: str, key: str = "Enter") -> None:
    """Type like a scanner and wait for the page's next answer (not the one already shown)."""
    before = _answers(page)
    page.keyboard.type(text)
    page.keyboard.press(key)
    expect(page.locator("#gate-result")).to_have_attribute("data-seq", str(before + 1))
    expect(page.locator("#gate-result")).to_have_attribute("data-result", state)


def _focused_name(page) -> str | None:
    return page.evaluate("document.activeElement && document.activeElement.name")


def test_attendant_scans_passes_with_a_keyboard_scanner(live, new_page, factory):
    setup = booked(factory)
    token = _token(setup)
    clock.set_now(EVENING)
    page = _open_gate(new_page, live, setup.attendant)
    result = page.locator("#gate-result")
    assert _focused_name(page) == "token"

    # The scanner reads the pass twice in a row: the second read is ignored, not "already inside".
    # A scanner sends its characters in one burst; typing them one key at a time through the
    # browser's protocol can take longer than the 2.5 s double-read window on a busy machine.
    page.keyboard.insert_text(token)
    page.keyboard.press("Enter")
    page.keyboard.insert_text(token)
    page.keyboard.press("Enter")
    expect(page.locator("#camera-status")).to_contain_text("读了两次")
    expect(result).to_have_attribute("data-result", "ok")
    expect(result.locator(".word")).to_have_text("通过")
    expect(result.locator(".result-plate")).to_have_text(setup.booking.plate)
    expect(result.locator(".result-night")).to_contain_text("12月1日 晚 19:00")
    assert page.locator("input[name=token]").input_value() == ""
    assert _answers(page) == 1
    assert _scans() == 1

    # Focus wanders off (a click on the page); the next scan still lands in the field, ended by Tab.
    page.locator("h2#lookup-title").click()
    page.locator("#gate-camera").click()
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    _scan(page, forged, "bad", key="Tab")
    expect(result.locator(".word")).to_have_text("拒绝")
    expect(result.locator(".result-reason")).to_contain_text("假码")
    assert _focused_name(page) == "token"
    assert _scans() == 2

    # Out through the switch, then in again: the pass admits one car, once, in order.
    page.get_by_text("出场", exact=True).click()
    assert _focused_name(page) == "token"
    _scan(page, token, "ok")
    expect(result.locator(".result-reason")).to_contain_text("请放行出场")
    page.get_by_text("入场", exact=True).click()  # turning the switch ends the double-read window
    _scan(page, token, "ok")
    expect(result.locator(".result-reason")).to_contain_text("请放行入场")
    assert db_scalar(db.select(Booking.inside).where(Booking.id == setup.booking.id)) is True
    assert _scans() == 4


def test_a_refused_pass_says_why_in_plain_words(live, new_page, factory):
    setup = booked(factory)
    token = _token(setup)
    page = _open_gate(new_page, live, setup.attendant)  # 10:00: too early for tonight's pass
    _scan(page, token, "bad")
    result = page.locator("#gate-result")
    expect(result.locator(".result-reason")).to_contain_text("来早了：18:45 起才能进")
    expect(result.locator(".result-plate")).to_have_text(setup.booking.plate)


def test_screenshots_of_an_accepted_and_a_refused_scan_at_phone_size(live, new_page, factory):
    setup = booked(factory)
    token = _token(setup)
    other = factory.booking(setup.window)
    other_token = _token(setup, other)
    clock.set_now(EVENING)
    page = _open_gate(new_page, live, setup.attendant)
    shots = screenshot_folder()
    _scan(page, token, "ok")
    page.screenshot(path=str(shots / "gate-accepted-phone-zh.png"))
    page.get_by_text("出场", exact=True).click()
    _scan(page, other_token, "bad")
    expect(page.locator("#gate-result .result-reason")).to_contain_text("没有入场记录")
    page.screenshot(path=str(shots / "gate-refused-phone-zh.png"))


@pytest.mark.drawing
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_gate_page_passes_axe_and_the_size_rules_with_an_answer_shown(live, new_page, factory, locale):
    setup = booked(factory)
    token = _token(setup)
    factory.booking(setup.window)
    clock.set_now(EVENING)
    page = _open_gate(new_page, live, setup.attendant, viewport=PHONE, path=f"/lang/{locale}?next=/gate")
    for state, text in (("ok", token), ("bad", "not-a-pass")):
        _scan(page, text, state)
        meets_the_page_rules(page, 60)
    plate_px = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.result-plate')).fontSize)")
    assert plate_px >= 48


# -- (a) one table, two verifiers ------------------------------------------------------------------

NOW = 1_796_000_000
GARAGE = 3


def _keypair():
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes_raw()
    return private, offline.key_id(raw), raw


def _signed(items: list, private) -> str:
    payload = cbor2.dumps(items, canonical=True)
    return f"{offline.PREFIX}{offline.b64encode(payload)}.{offline.b64encode(private.sign(payload))}"


def _raw_token(payload: bytes, private) -> str:
    return f"{offline.PREFIX}{offline.b64encode(payload)}.{offline.b64encode(private.sign(payload))}"


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _other_char(char: str) -> str:
    return _B64[(_B64.index(char) + 4) % 64]


def _stray_bits(text: str) -> str:
    """The same bytes spelled with non-zero unused bits in the last character (64 bytes = 86
    characters, the last one carrying 2 unused bits)."""
    assert len(text) % 4 == 2 or len(text) % 4 == 3
    return text[:-1] + _B64[_B64.index(text[-1]) | 1]


def _table() -> tuple[list[dict], list[dict]]:
    """(JWKS documents, rows): every row a token and the circumstances of its scan."""
    private, kid, raw = _keypair()
    other_private, other_kid, other_raw = _keypair()  # a key of garage 4
    stranger, stranger_kid, _ = _keypair()  # published nowhere
    jwks = [
        {"garage_id": GARAGE, "keys": [offline.to_jwk(kid, raw), {"kty": "RSA", "kid": "x"}]},
        {"garage_id": GARAGE + 1, "keys": [offline.to_jwk(other_kid, other_raw)]},
    ]
    nonce = b"\x07" * 8

    def claims(**overrides):
        values = [1, kid, 42, GARAGE, "沪AD12345", NOW - 600, NOW + 3600, nonce]
        names = ["version", "kid", "booking_id", "garage_id", "plate", "not_before", "not_after", "nonce"]
        for name, value in overrides.items():
            values[names.index(name)] = value
        return values

    valid = _signed(claims(), private)
    prefix, payload, signature = valid.split(".")
    altered = offline.b64encode(cbor2.dumps(claims(plate="沪AD99999"), canonical=True))
    loose = b"\x98\x08" + b"".join(cbor2.dumps(i) for i in claims())
    long_int = bytearray(cbor2.dumps(claims(), canonical=True))
    rows = [
        ("valid", valid, {}),
        ("valid at the first second", valid, {"at": NOW - 600}),
        ("valid at the last second", valid, {"at": NOW + 3599}),
        ("forged: same key id, another private key", _signed(claims(), stranger), {}),
        ("altered plate, old signature", f"{prefix}.{altered}.{signature}", {}),
        ("altered signature", f"{prefix}.{payload}.{signature[:-4]}AAAA", {}),
        ("wrong garage", valid, {"garage_id": GARAGE + 1}),
        ("too early", valid, {"at": NOW - 601}),
        ("too late", valid, {"at": NOW + 3600}),
        ("too late, on the way out", valid, {"at": NOW + 7200, "direction": "out"}),
        ("too early, on the way out", valid, {"at": NOW - 601, "direction": "out"}),
        ("revoked", valid, {"revoked": [41, 42]}),
        ("revoked, on the way out", valid, {"revoked": [42], "direction": "out"}),
        ("not revoked", valid, {"revoked": [41, 43]}),
        ("unknown key", _signed(claims(kid=stranger_kid), stranger), {}),
        ("key of another garage", _signed(claims(kid=other_kid), other_private), {}),
        ("plate seen differs", valid, {"plate_seen": "沪AD12346"}),
        ("plate seen matches", valid, {"plate_seen": "沪AD12345"}),
        ("malformed: words", "hello", {}),
        ("malformed: empty", "", {}),
        ("malformed: prefix only", "P1.", {}),
        ("malformed: three parts", f"{valid}.x", {}),
        ("malformed: padding", f"{prefix}.{payload}=.{signature}", {}),
        ("malformed: standard base64", f"{prefix}.{payload.replace('-', '+').replace('_', '/')}+.{signature}", {}),
        ("altered last character", f"{prefix}.{payload[:-1]}{_other_char(payload[-1])}.{signature}", {}),
        ("malformed: stray trailing bits", f"{prefix}.{payload}.{_stray_bits(signature)}", {}),
        ("malformed: too long", valid + "A" * 400, {}),
        ("malformed: non-canonical CBOR", _raw_token(loose, private), {}),
        ("malformed: trailing byte", _raw_token(bytes(long_int) + b"\x00", private), {}),
        ("malformed: version 2", _signed(claims(version=2), private), {}),
        ("malformed: boolean booking", _signed(claims(booking_id=True), private), {}),
        ("malformed: negative booking", _signed(claims(booking_id=-5), private), {}),
        ("malformed: booking beyond 2**63", _signed(claims(booking_id=2**63), private), {}),
        ("malformed: short nonce", _signed(claims(nonce=b"\x01" * 7), private), {}),
        ("malformed: ends before it starts", _signed(claims(not_after=NOW - 700), private), {}),
        ("malformed: seven items", _signed(claims()[:7], private), {}),
        ("malformed: a map", _signed({"kid": kid}, private), {}),  # type: ignore[arg-type]
        ("malformed: empty plate", _signed(claims(plate=""), private), {}),
        ("malformed: 17-character plate", _signed(claims(plate="沪" * 17), private), {}),
        ("malformed: float time", _signed(claims(not_before=float(NOW - 600)), private), {}),
        ("malformed: short signature", f"{prefix}.{payload}.{signature[:40]}", {}),
        ("valid: 16-character plate", _signed(claims(plate="沪" * 16), private), {}),
        ("valid: byte-order mark in the plate", _signed(claims(plate="\ufeff沪AD1"), private), {}),
        ("valid: not after 2**63-1", _signed(claims(not_after=2**63 - 1), private), {"at": NOW + 10**9}),
        ("32-character key id, unknown", _signed(claims(kid="k" * 32), private), {}),
        *_monthly_rows(private, kid, stranger, other_private, other_kid),
    ]
    table = []
    for name, token, circumstances in rows:
        row = {"name": name, "token": token, "garage_id": GARAGE, "at": NOW, "direction": "in", "revoked": []}
        row["plate_seen"] = None
        row["subscription_nights"] = []
        row.update(circumstances)
        table.append(row)
    return jwks, table


# A monthly pass of subscription 7 for nights 0, 2 and 3 (mask 0b1101): each night is valid for
# SPAN seconds from FIRST + j days; NOW falls 600 s into night 2.
SUBSCRIPTION = 7
FIRST = NOW - 2 * offline.DAY - 600
SPAN = 4200
MASK = 0b1101


def _iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).astimezone(SHANGHAI).isoformat()


def _handed_back(night: int) -> dict:
    """The revocation list's entry for a night of the monthly pass (passes.services.revocations)."""
    start = FIRST + night * offline.DAY
    return {"subscription_id": SUBSCRIPTION, "service_date": f"2026-12-{night + 1:02d}"} | {
        "not_before": _iso(start),
        "not_after": _iso(start + SPAN),
    }


def _monthly_rows(private, kid, stranger, other_private, other_kid) -> list[tuple[str, str, dict]]:
    """Monthly passes signed by the Python signer (offline.sign of SubscriptionClaims)."""
    nonce = b"\x09" * 8
    names = ["version", "kid", "subscription_id", "garage_id", "plate", "not_before", "not_after", "nonce"]
    names += ["span", "nights"]
    last_end = FIRST + 3 * offline.DAY + SPAN

    def month(key=private, **overrides) -> str:
        values = [1, kid, SUBSCRIPTION, GARAGE, "沪AD12345", FIRST, last_end, nonce, SPAN, MASK]
        for name, value in overrides.items():
            values[names.index(name)] = value
        return offline.sign(offline.SubscriptionClaims(*values), key)

    valid = month()
    assert offline.is_subscription_token(valid)
    prefix, payload, signature = valid.split(".")
    altered_mask = offline.b64encode(
        cbor2.dumps([*cbor2.loads(offline.b64decode(payload))[:9], 0b1111], canonical=True)
    )
    altered_plate = offline.b64encode(
        cbor2.dumps(
            [*cbor2.loads(offline.b64decode(payload))[:4], "沪AD99999", *cbor2.loads(offline.b64decode(payload))[5:]],
            canonical=True,
        )
    )
    booking_payload = _signed([1, kid, 42, GARAGE, "沪AD12345", NOW - 600, NOW + 3600, nonce], private).split(".", 1)[1]
    day = offline.DAY
    return [
        ("monthly: valid tonight", valid, {}),
        ("monthly: valid, first second of the night", valid, {"at": FIRST + 2 * day}),
        ("monthly: valid, last second of the night", valid, {"at": FIRST + 2 * day + SPAN - 1}),
        ("monthly: valid on the first night", valid, {"at": FIRST + 60}),
        ("monthly: valid on the last night", valid, {"at": FIRST + 3 * day + 60}),
        ("monthly: handed-back night", valid, {"subscription_nights": [_handed_back(2)]}),
        ("monthly: another night handed back", valid, {"subscription_nights": [_handed_back(3)]}),
        (
            "monthly: handed back, another subscription",
            valid,
            {"subscription_nights": [_handed_back(2) | {"subscription_id": 8}]},
        ),
        ("monthly: handed back, on the way out", valid, {"subscription_nights": [_handed_back(2)], "direction": "out"}),
        ("monthly: handed back, booking list only", valid, {"revoked": [SUBSCRIPTION]}),
        ("monthly: not tonight", valid, {"at": FIRST + day + 60}),
        ("monthly: not tonight, on the way out", valid, {"at": FIRST + day + 60, "direction": "out"}),
        ("monthly: between nights", valid, {"at": FIRST + 2 * day + SPAN}),
        ("monthly: before the first night", valid, {"at": FIRST - 1}),
        ("monthly: expired", valid, {"at": last_end}),
        ("monthly: expired, on the way out", valid, {"at": last_end + day, "direction": "out"}),
        ("monthly: wrong garage", valid, {"garage_id": GARAGE + 1}),
        ("monthly: key of another garage", month(other_private, kid=other_kid), {}),
        ("monthly: forged", month(stranger), {}),
        ("monthly: altered nights, old signature", f"{prefix}.{altered_mask}.{signature}", {"at": FIRST + day + 60}),
        ("monthly: altered plate, old signature", f"{prefix}.{altered_plate}.{signature}", {}),
        ("monthly: altered signature", f"{prefix}.{payload}.{signature[:-4]}AAAA", {}),
        ("monthly: plate seen differs", valid, {"plate_seen": "沪AD12346"}),
        ("monthly: plate seen matches", valid, {"plate_seen": "沪AD12345"}),
        ("monthly: a day pass's payload", f"{prefix}.{booking_payload}", {}),
        ("monthly: its payload as a day pass", f"{offline.PREFIX}{payload}.{signature}", {}),
        ("monthly: no nights", month(nights=0), {}),
        ("monthly: a 32nd night", month(nights=2**31), {}),
        ("monthly: span of nothing", month(span=0), {}),
        ("monthly: span over two days", month(span=2 * day + 1), {}),
        ("monthly: span of two days", month(span=2 * day), {"at": FIRST + 60}),
        ("monthly: nights beyond 2**63", month(nights=2**64), {}),
        (
            "monthly: no mask",
            _raw_month(cbor2.dumps(cbor2.loads(offline.b64decode(payload))[:9], canonical=True), private),
            {},
        ),
    ]


def _raw_month(payload: bytes, private) -> str:
    return f"{offline.SUBSCRIPTION_PREFIX}{offline.b64encode(payload)}.{offline.b64encode(private.sign(payload))}"


def _revocations(row: dict) -> dict:
    """The revocation list of a row, as /gate/offline-material hands it to the page."""
    nights = row["subscription_nights"]
    return {
        "generated_at": _iso(NOW),
        "garage_id": GARAGE,
        "booking_ids": row["revoked"],
        "subscription_nights": nights,
    }


def _python_answer(jwks: list[dict], row: dict) -> str:
    keys: dict = {}
    for document in jwks:
        keys |= offline.load_jwks(document)
    revocations = offline.load_revocations(_revocations(row))
    decision = offline.verify(
        row["token"],
        keys,
        garage_id=row["garage_id"],
        at=row["at"],
        revoked=revocations.booking_ids,
        direction=row["direction"],
        plate_seen=row["plate_seen"],
        revoked_nights=revocations.subscription_nights,
    )
    return decision.reason or decision.result


_JS_TABLE = """async ({jwks, rows}) => {
    const v = await import('/static/js/gate-verify.js');
    if (!(await v.ed25519Supported())) return null;
    const keys = new Map();
    for (const document of jwks) for (const [kid, key] of await v.loadJwks(document)) keys.set(kid, key);
    const answers = [];
    for (const row of rows) {
        const revoked = v.loadRevocations(row.revocations);
        const revokedNights = v.loadRevokedNights(row.revocations);
        const d = await v.verify(row.token, keys, {garageId: row.garage_id, at: row.at, revoked, revokedNights,
                                                   direction: row.direction, plateSeen: row.plate_seen});
        answers.push(d.reason || d.result);
    }
    return answers;
}"""


def test_the_browser_verifier_and_the_python_verifier_agree_on_every_token(live, new_page):
    jwks, table = _table()
    page = new_page()
    page.goto(live + "/login")
    rows = [row | {"revocations": _revocations(row)} for row in table]
    browser = page.evaluate(_JS_TABLE, {"jwks": jwks, "rows": rows})
    assert browser is not None, "this Chromium has no Ed25519 in WebCrypto"
    python = [_python_answer(jwks, row) for row in table]
    lines = [f"{row['name']:<45} python={p:<14} browser={b}" for row, p, b in zip(table, python, browser, strict=True)]
    same = sum(p == b for p, b in zip(python, browser, strict=True))
    FIGURES.append(f"gate page offline verifier: {same} of {len(table)} tokens judged alike by Python and Chromium")
    FIGURES.extend("  " + line for line in lines)
    assert python == browser, "\n".join(lines)
    assert set(python) >= {"accepted", "bad_signature", "unknown_key", "wrong_garage", "not_yet_valid", "expired"}
    assert set(python) >= {"revoked", "plate_mismatch", "malformed"}
    monthly = {row["name"]: p for row, p in zip(table, python, strict=True) if row["name"].startswith("monthly")}
    assert monthly["monthly: valid tonight"] == "accepted"
    assert monthly["monthly: handed-back night"] == "revoked"
    assert monthly["monthly: not tonight"] == "not_tonight"
    assert monthly["monthly: between nights"] == "not_yet_valid"
    assert monthly["monthly: wrong garage"] == "wrong_garage"
    assert monthly["monthly: forged"] == "bad_signature"
    assert monthly["monthly: altered nights, old signature"] == "bad_signature"
    assert monthly["monthly: expired"] == "expired"


_JS_PASSBACK = """async ({jwks, token, garage, at, steps}) => {
    const v = await import('/static/js/gate-verify.js');
    const keys = await v.loadJwks(jwks);
    const queue = [];
    const answers = [];
    for (const direction of steps) {
        const d = await v.checkOffline(token, keys, {garageId: garage, at, revoked: new Set(), direction, queue});
        queue.push({booking: d.claims && d.claims.bookingId.toString(), direction, offline_result: d.result});
        answers.push(d.reason || d.result);
    }
    return answers;
}"""


def test_offline_anti_passback_against_the_queue_answers_as_the_server_does(live, new_page, factory, client):
    """The passback rows of the table: a pass scanned in, in, out, out, in. The browser judges them
    against its own queue; the server (gate.services.scan) against the database."""
    setup = booked(factory)
    token = _token(setup)
    clock.set_now(EVENING)
    jwks = jwks_of(setup.attendant, setup.garage.id, clock.now())
    db.session.commit()
    steps = ["in", "in", "out", "out", "in"]
    server = []
    for n, direction in enumerate(steps):
        answer = scan_service(
            setup.attendant,
            setup.garage.id,
            direction=Direction(direction),
            idempotency_key=f"passback-{n}",
            now=clock.now(),
            token=token,
        )
        server.append(answer.reason or answer.result.value)
        db.session.commit()
    page = new_page()
    page.goto(live + "/login")
    args = {"jwks": jwks, "token": token, "garage": setup.garage.id, "at": clock.now().timestamp(), "steps": steps}
    browser = page.evaluate(_JS_PASSBACK, args)
    FIGURES.append(f"gate page anti-passback {'/'.join(steps)}: server={server} browser={browser}")
    assert server == ["accepted", "already_inside", "accepted", "not_inside", "accepted"]
    assert browser == server


# -- (c), (d) offline ------------------------------------------------------------------------------


def _scan_and_wait(page, token: str, state: str) -> None:
    _scan(page, token, state)


def _keep_page_for_offline(page) -> None:
    """Wait until the page's first load is kept by the service worker (no second load needed)."""
    assert page.evaluate("() => navigator.serviceWorker.ready.then(r => r.active.scriptURL)").endswith("/gate/sw.js")
    expect(page.locator("html")).to_have_attribute("data-gate-kept", "true")


def _queue_length(page) -> int:
    return page.evaluate("window.gateStation.queue().length")


def test_offline_scans_are_judged_in_the_browser_queued_and_recorded_once(live, new_page, factory):
    setup = booked(factory)
    a, b = setup.booking, factory.booking(setup.window)
    c = factory.booking(setup.window)
    tokens = {name: _token(setup, booking) for name, booking in (("a", a), ("b", b), ("c", c))}
    cancel(c.household.members[0], c.id, clock.now())  # before the page fetches its revocation list
    db.session.commit()
    clock.set_now(EVENING)
    page = _open_gate(new_page, live, setup.attendant)
    _keep_page_for_offline(page)
    banner = page.locator("#gate-banner")
    expect(banner).to_have_attribute("data-network", "online")

    page.context.set_offline(True)
    expect(banner).to_have_attribute("data-network", "offline")
    result = page.locator("#gate-result")
    _scan_and_wait(page, tokens["a"], "ok")
    expect(result.locator(".result-offline")).to_be_visible()
    expect(result.locator(".result-offline")).to_have_text("离线")
    _scan_and_wait(page, tokens["b"], "ok")
    _scan_and_wait(page, tokens["c"], "bad")
    expect(result.locator(".result-reason")).to_contain_text("预约已取消")
    # a second entry, not a re-read: another pass was read in between
    _scan_and_wait(page, tokens["a"], "bad")
    expect(result.locator(".result-reason")).to_contain_text("已经在场内")
    assert _queue_length(page) == 4
    assert db_scalar(db.select(db.func.count(Scan.id))) == 0

    # A reload without network: the service worker's copy of the page, with the queue kept.
    reloaded = page.reload()
    assert reloaded is not None and reloaded.from_service_worker
    expect(page.locator("html")).to_have_attribute("data-gate-ready", "true")
    expect(banner).to_have_attribute("data-queue", "4")
    page.get_by_text("出场", exact=True).click()
    _scan_and_wait(page, tokens["b"], "ok")
    queued = _queue_length(page)

    page.context.set_offline(False)
    expect(banner).to_have_attribute("data-queue", "0", timeout=15_000)
    rows = db_scalar_all(db.select(Scan).order_by(Scan.device_time))
    outcomes = [(r.booking_id, r.direction.value, r.result.value, r.reason, r.offline) for r in rows]
    assert outcomes == [
        (a.id, "in", "accepted", None, True),
        (b.id, "in", "accepted", None, True),
        (c.id, "in", "rejected", "revoked", True),
        (a.id, "in", "rejected", "already_inside", True),
        (b.id, "out", "accepted", None, True),
    ]
    assert len({r.idempotency_key for r in rows}) == 5
    inside = {i: db_scalar(db.select(Booking.inside).where(Booking.id == i)) for i in (a.id, b.id, c.id)}
    assert inside == {a.id: True, b.id: False, c.id: False}
    uploaded = page.evaluate(f"JSON.parse(localStorage.getItem('gate:{setup.garage.id}:uploaded'))")
    FIGURES.append(f"gate page offline: {queued} scans queued, {uploaded} uploaded, {len(rows)} recorded by the server")
    assert queued == uploaded == len(rows) == 5

    # Uploading again (a second tab, a retry after a lost answer) records nothing new.
    page.evaluate(
        f"items => localStorage.setItem('gate:{setup.garage.id}:queue', JSON.stringify(items))",
        [
            {
                "idempotency_key": r.idempotency_key,
                "token": tokens["a"],
                "direction": "in",
                "device_time": r.device_time.isoformat(),
                "offline_result": "accepted",
            }
            for r in rows[:1]
        ],
    )
    page.evaluate("window.gateStation.upload()")
    expect(banner).to_have_attribute("data-queue", "0")
    assert db_scalar(db.select(db.func.count(Scan.id))) == 5


def test_a_stale_revocation_list_is_said_in_the_banner(live, new_page, factory):
    setup = booked(factory)
    clock.set_now(EVENING)
    page = _open_gate(new_page, live, setup.attendant)
    _keep_page_for_offline(page)
    banner = page.locator("#gate-banner")
    expect(banner).to_have_attribute("data-stale", "false")
    expect(page.locator("#gate-warn")).to_be_hidden()
    # The list on this device was fetched 16 minutes ago (the limit is 15 minutes), then the network went.
    page.context.set_offline(True)
    page.evaluate(
        """(garage) => {
            const key = `gate:${garage}:material`;
            const m = JSON.parse(localStorage.getItem(key));
            const aged = new Date(Date.parse(m.revocations.generated_at) - 16 * 60 * 1000).toISOString();
            m.revocations.generated_at = aged;
            localStorage.setItem(key, JSON.stringify(m));
        }""",
        setup.garage.id,
    )
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-gate-ready", "true")
    expect(banner).to_have_attribute("data-stale", "true")
    expect(page.locator("#gate-warn")).to_contain_text("吊销名单太旧了")
    expect(page.locator("#gate-age")).to_contain_text("16 分钟")


def test_a_browser_without_ed25519_is_told_and_never_guesses(live, new_page, factory):
    setup = booked(factory)
    token = _token(setup)
    clock.set_now(EVENING)
    page = new_page()
    page.add_init_script(
        """(() => {
            const real = crypto.subtle.importKey.bind(crypto.subtle);
            crypto.subtle.importKey = (format, key, algorithm, ...rest) => {
                const name = typeof algorithm === 'string' ? algorithm : algorithm && algorithm.name;
                if (name === 'Ed25519') return Promise.reject(new DOMException('no', 'NotSupportedError'));
                return real(format, key, algorithm, ...rest);
            };
        })();"""
    )
    sign_in(page, live, setup.attendant.phone, "password123")
    page.goto(live + "/gate")
    expect(page.locator("html")).to_have_attribute("data-gate-ready", "true")
    expect(page.locator("#gate-warn")).to_contain_text("这个浏览器不能离线核验")
    page.context.set_offline(True)
    _scan_and_wait(page, token, "error")
    expect(page.locator("#gate-result .result-reason")).to_contain_text("不能离线核验")
    assert _queue_length(page) == 0


# -- camera and photo ------------------------------------------------------------------------------


def _pass_picture(token: str, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """The pass's QR code as a phone camera might see it: on a grey desk, not filling the frame."""
    code = Image.open(io.BytesIO(render_png(token))).convert("RGB")
    side = min(size) * 3 // 4
    code = code.resize((side, side), Image.NEAREST)
    picture = Image.new("RGB", size, (150, 150, 150))
    picture.paste(code, ((size[0] - side) // 2, (size[1] - side) // 2))
    return picture


def _y4m(picture: Image.Image, path: Path, frames: int = 10) -> None:
    """A YUV4MPEG2 file (I420) of `frames` copies of `picture`: Chromium's fake camera plays it."""
    width, height = picture.size
    y, u, v = picture.convert("YCbCr").split()
    half = (width // 2, height // 2)
    frame = b"FRAME\n" + y.tobytes() + u.resize(half, Image.BOX).tobytes() + v.resize(half, Image.BOX).tobytes()
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)


def test_attendant_scans_a_pass_with_the_camera(live, factory, playwright_instance, tmp_path):
    setup = booked(factory)
    token = _token(setup)
    clock.set_now(EVENING)
    video = tmp_path / "pass.y4m"
    _y4m(_pass_picture(token), video)
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
    try:
        context = browser.new_context(viewport=PHONE, locale="zh-CN", permissions=["camera"])
        context.set_default_timeout(15_000)
        page = context.new_page()
        sign_in(page, live, setup.attendant.phone, "password123")
        page.goto(live + "/gate")
        expect(page.locator("html")).to_have_attribute("data-gate-ready", "true")
        page.get_by_role("button", name="用摄像头扫码").click()
        result = page.locator("#gate-result")
        expect(result).to_have_attribute("data-result", "ok")
        expect(result.locator(".result-plate")).to_have_text(setup.booking.plate)
        decoder = page.locator("#gate-camera").get_attribute("data-decoder")
        if decoder == "server":  # the frame loop pauses after an answer; the next car is a tap away
            expect(page.get_by_role("button", name="扫下一辆车")).to_be_visible()
        page.wait_for_timeout(1500)  # the pass stays in front of the camera: read once, not again
        scans = db_scalar_all(db.select(Scan))
        FIGURES.append(f"gate page camera: decoded by the {decoder}, {len(scans)} scan(s) recorded")
        assert [(s.result.value, s.booking_id) for s in scans] == [("accepted", setup.booking.id)]
        context.close()
    finally:
        browser.close()


def test_attendant_scans_a_photo_of_a_pass(live, new_page, factory):
    setup = booked(factory)
    token = _token(setup)
    clock.set_now(EVENING)
    page = _open_gate(new_page, live, setup.attendant)
    blank = io.BytesIO()
    Image.new("RGB", (320, 240), (255, 255, 255)).save(blank, "JPEG")
    page.locator("#photo-input").set_input_files(
        {"name": "desk.jpg", "mimeType": "image/jpeg", "buffer": blank.getvalue()}
    )
    expect(page.locator("#gate-result")).to_have_attribute("data-result", "error")
    expect(page.locator("#gate-result .result-reason")).to_contain_text("没找到二维码")
    photo = io.BytesIO()
    _pass_picture(token, (1200, 900)).save(photo, "JPEG", quality=85)
    page.locator("#photo-input").set_input_files(
        {"name": "pass.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()}
    )
    expect(page.locator("#gate-result")).to_have_attribute("data-result", "ok")
    expect(page.locator("#gate-result .result-plate")).to_have_text(setup.booking.plate)
    assert [s.result.value for s in db_scalar_all(db.select(Scan))] == ["accepted"]


def test_offline_monthly_passes_are_judged_in_the_browser_queued_and_recorded(live, new_page, factory, client):
    """Real monthly passes (M1) on the page without network: tonight's night admits once (anti-passback
    by subscription against the device's queue), a night handed back is refused from the revocation
    list's `subscription_nights`, and the server records the queue through the gate's one decision."""
    setup = offered(factory, quota=5, share="1")
    passes = {}
    for name in ("a", "b"):
        user, plate = factory.resident(setup.garage)
        answer = subscribe(client, factory, user, setup, plate)
        assert answer.status_code == 201, answer.json
        issued = client.get(f"/api/v1/subscriptions/{answer.json['id']}/pass", headers=factory.headers(user))
        passes[name] = (user, answer.json["id"], issued.json["token"])
    user_b, sub_b, _ = passes["b"]
    back = client.post(
        f"/api/v1/subscriptions/{sub_b}/hand-back", json={"service_date": "2026-12-01"}, headers=factory.headers(user_b)
    )
    assert back.status_code == 200, back.json
    attendant = factory.attendant(setup.garage)
    db.session.commit()
    clock.set_now(sh(12, 1, 19, 30))
    page = _open_gate(new_page, live, attendant)
    _keep_page_for_offline(page)
    material = page.evaluate(f"JSON.parse(localStorage.getItem('gate:{setup.garage.id}:material'))")
    assert [e["subscription_id"] for e in material["revocations"]["subscription_nights"]] == [sub_b]
    banner = page.locator("#gate-banner")

    page.context.set_offline(True)
    expect(banner).to_have_attribute("data-network", "offline")
    result = page.locator("#gate-result")
    token_a, token_b = passes["a"][2], passes["b"][2]
    assert token_a.startswith("M1.") and token_b.startswith("M1.")
    _scan_and_wait(page, token_a, "ok")
    expect(result.locator(".result-offline")).to_be_visible()
    _scan_and_wait(page, token_b, "bad")
    expect(result.locator(".result-reason")).to_contain_text("预约已取消")
    _scan_and_wait(page, token_a, "bad")  # another pass in between: a second entry, not a re-read
    expect(result.locator(".result-reason")).to_contain_text("已经在场内")
    page.get_by_text("出场", exact=True).click()  # turning the switch ends the double-read window
    _scan_and_wait(page, token_a, "ok")
    queue = page.evaluate("window.gateStation.queue()")
    assert [(i["subscription"], i["booking"], i["reason"]) for i in queue] == [
        (str(passes["a"][1]), None, None),
        (str(sub_b), None, "revoked"),
        (str(passes["a"][1]), None, "already_inside"),
        (str(passes["a"][1]), None, None),
    ]
    assert _scans() == 0

    page.context.set_offline(False)
    expect(banner).to_have_attribute("data-queue", "0", timeout=15_000)
    rows = db_scalar_all(db.select(Scan).order_by(Scan.device_time))
    outcomes = [(r.direction.value, r.result.value, r.reason, r.offline) for r in rows]
    FIGURES.append(f"gate page offline monthly passes: {len(queue)} queued, server recorded {outcomes}")
    assert outcomes == [
        ("in", "accepted", None, True),
        ("in", "rejected", "revoked", True),
        ("in", "rejected", "already_inside", True),
        ("out", "accepted", None, True),
    ]
    tonight = db_scalar(db.select(Booking.subscription_id).where(Booking.id == rows[0].booking_id))
    assert tonight == passes["a"][1]
    assert db_scalar(db.select(Booking.inside).where(Booking.id == rows[0].booking_id)) is False
