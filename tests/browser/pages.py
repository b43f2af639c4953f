"""What the browser tests share: signing in as a person does, axe-core accessibility checks with the
target sizes the pages promise, and measuring text and tap targets."""

from __future__ import annotations

import io
from pathlib import Path

import axe_playwright_python
from PIL import Image

from tests.browser.conftest import DESKTOP, PHONE
from tests.gate_helpers import qr_codes

AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
RESIDENT_TARGET = 60  # CSS px, resident and gate pages
STAFF_TARGET = 44  # CSS px, manager and admin pages


def read_qr(page, selector: str = ".qr svg") -> str:
    """The text of the one QR code drawn in `selector`, read from a screenshot of it. zxing-cpp may
    report one symbol twice (found at two scales), so it is the distinct texts that must be one."""
    found = qr_codes(Image.open(io.BytesIO(page.locator(selector).screenshot())))
    texts = {barcode.text for barcode in found}
    assert len(texts) == 1, f"exactly one QR code in {selector}, read {sorted(texts)}"
    return texts.pop()


def pass_shows_with_no_signal(page, url: str, plate: str) -> None:
    """Open the pass at `url` once, wait until the service worker stored it and controls the page,
    then with the browser offline open it again: the same plate and code, still large."""
    page.goto(url)
    page.wait_for_selector("html[data-pass-saved]")  # the page stored itself once the worker was ready
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # the worker claimed the page
    assert page.evaluate("navigator.serviceWorker.controller.state") == "activated"
    token = read_qr(page)
    page.context.set_offline(True)
    try:
        page.goto(url)
        assert page.locator(".pass-plate").inner_text() == plate
        assert read_qr(page) == token
        assert page.locator(".qr svg").bounding_box()["width"] >= 280
    finally:
        page.context.set_offline(False)


def sign_in(page, live: str, phone: str, password: str = "tide-demo-2026") -> None:
    page.goto(f"{live}/login")
    page.locator("input[name=phone]").fill(phone)
    page.locator("input[name=password]").fill(password)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state()


def axe_violations(page, min_target: int = RESIDENT_TARGET) -> list[dict]:
    """Serious or critical axe-core violations on the page, with the target-size rule on at
    `min_target` CSS px."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS)  # evaluated, not a <script>: the pages' CSP allows no foreign script
    result = page.evaluate(
        """async (minSize) => {
            axe.configure({checks: [{id: 'target-size', options: {minSize}}]});
            return await axe.run(document, {rules: {'target-size': {enabled: true}},
                                            resultTypes: ['violations']});
        }""",
        min_target,
    )
    _record_page(page, result["violations"], min_target)
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _record_page(page, violations: list[dict], min_target: int) -> None:
    """One line of figures per page checked: what axe found by impact, the body text, the smallest
    text and the smallest tap target (links inside a sentence aside), at this size and language."""
    from urllib.parse import urlsplit

    from tests.conftest import FIGURES

    impacts = {impact: sum(1 for v in violations if v["impact"] == impact) for impact in ("critical", "serious")}
    others = len(violations) - sum(impacts.values())
    measured = sizes(page)
    smallest = min(measured["targets"], key=lambda t: min(t["width"], t["height"]), default=None)
    target = (
        f"{smallest['width']}x{smallest['height']} px ({smallest['tag']} {smallest['text']!r})" if smallest else "none"
    )
    lang = page.evaluate("document.documentElement.lang")
    FIGURES.append(
        f"page {urlsplit(page.url).path} [{lang}, {page.viewport_size['width']} px]: axe critical "
        f"{impacts['critical']}, serious {impacts['serious']}, minor/moderate {others}; body "
        f"{measured['body_font']:g} px x {measured['line_height']:.2f}, smallest text "
        f"{measured['smallest_text']:g} px, smallest target {target} (rule {min_target} px)"
    )


def sizes(page) -> dict:
    """The body's computed font size and line height, the smallest text on the page, and every
    interactive element on the page with its size: links (inside a sentence too), buttons, fields,
    choices (a box or button in a label measures as its label), summaries. Measured once the page
    has loaded: right after a navigation the DOM can be there before its stylesheet applies."""
    page.wait_for_load_state("load")
    return page.evaluate(
        """() => {
            const px = (v) => parseFloat(v);
            const body = getComputedStyle(document.body);
            let smallest = 1000;
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
                const node = walker.currentNode;
                if (!node.textContent.trim()) continue;
                const el = node.parentElement;
                if (!el || !(el.offsetWidth || el.offsetHeight || el.getClientRects().length)) continue;
                const style = getComputedStyle(el);
                if (style.visibility === 'hidden' || style.display === 'none') continue;
                if (el.closest('.skip-link')) continue;
                smallest = Math.min(smallest, px(style.fontSize));
            }
            const targets = [];
            for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, [role=button], summary, label:has(> input[type=checkbox], > input[type=radio])')) {
                if (el.tagName === 'INPUT' && el.closest('label')) continue;  // measured as its label
                const box = el;
                const r = box.getBoundingClientRect();
                if (!r.width || !r.height) continue;
                if (el.closest('.skip-link')) continue;
                // A link inside a sentence is a target too (the pages promise more than WCAG 2.5.8).
                const inline = el.tagName === 'A' && getComputedStyle(el).display === 'inline' && !!el.closest('p, li, td, dd');
                targets.push({tag: el.tagName, text: (el.innerText || el.name || el.type || '').trim().slice(0, 30),
                              width: Math.round(r.width), height: Math.round(r.height), inline: !!inline});
            }
            return {body_font: px(body.fontSize), line_height: px(body.lineHeight) / px(body.fontSize),
                    smallest_text: smallest, targets};
        }"""
    )


def meets_the_page_rules(page, min_target: int = RESIDENT_TARGET, axe_at: str = "phone", text: bool = True) -> None:
    """The page as shown now, at phone and at desktop size: no tap target under `min_target`, and
    (with `text`) body text of 20 px at 1.5 lines with nothing under 18 px, at both sizes; axe-core
    once, at `axe_at` size. The markup is the same at every width and no media query changes a
    colour, so what axe checks besides target sizes (names, roles, contrast, landmarks) does not
    change with the width, while the sizes do and are measured at both: every interactive element,
    not only those axe looks at (links in a sentence too). Ends at the size it began."""
    began = page.viewport_size
    where = page.url
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        if name == axe_at:
            assert axe_violations(page, min_target) == [], (where, name)
        measured = sizes(page)
        if text:
            assert measured["body_font"] >= 20 and measured["line_height"] >= 1.5, (where, name)
            assert measured["smallest_text"] >= 18, (where, name, measured["smallest_text"])
        small = [t for t in measured["targets"] if min(t["width"], t["height"]) < min_target]
        assert small == [], (where, name, small)
    page.set_viewport_size(began)


def small_targets(page, minimum: int = RESIDENT_TARGET) -> list[dict]:
    found = sizes(page)["targets"]
    return [t for t in found if t["width"] < minimum or t["height"] < minimum]


def db_scalar(statement):
    """Read the database as the server left it, then end the transaction at once: on SQLite an open
    transaction of the test would hold the lock the server's requests wait for."""
    from parking.extensions import db

    db.session.rollback()
    try:
        return db.session.scalar(statement)
    finally:
        db.session.commit()
