"""Every notification kind has a short text for an SMS or a WeChat message: in the reader's
language, dates in words, at most 70 characters with the garage's signature 【…】 of up to 10; never
a reset code. Each placeholder is filled at its longest."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from parking.i18n import month_words
from parking.notifications.services import render
from parking.notifications.sms import SIGNATURE_LIMIT, SMS_KINDS, SMS_LIMIT, in_words, sms_body, sms_text

#: Every kind the product sends, including those the issue names.
REQUIRED = {
    "booking_confirmed",
    "booking_promoted",
    "booking_bumped",
    "reclaim_reminder",
    "overstayed",
    "ballot_won",
    "ballot_waitlisted",
    "monthly_statement",
    "locked_out",
    "reset_code_issued",
}
DAYS = [date(2026, 1, 1) + timedelta(days=i) for i in range(366)]


def longest_params(lang: str) -> dict:
    """Each placeholder at its longest once said in words in `lang`."""
    day = max(DAYS, key=lambda d: len(in_words({"date": d.isoformat()}, lang, short=True)["date"]))
    month = max(DAYS, key=lambda d: len(month_words(d, lang)))
    return {
        "plate": "沪AD12345",  # a new-energy plate: 8 characters, the longest
        "date": day.isoformat(),
        "draw_date": day.isoformat(),
        "until": day.isoformat() + "T23:59",  # a lock-out's end; a suspension's is a date, shorter
        "time": "23:59",  # a reminder's, an overstay's
        "moment": day.isoformat() + "T23:59",  # a gate conflict's time is a local minute with its date
        "position": 999,
        "nights": 31,
        "month": month.strftime("%Y-%m"),
        "reason": "x" * 200,
        "device": "gate-station-12",
        "conflict": "double_entry",
    }


def test_every_kind_the_product_sends_has_an_sms_text():
    assert set(SMS_KINDS) >= REQUIRED


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_sms_at_its_longest_fits_seventy_characters_with_a_ten_character_signature(app, lang):
    garage = SimpleNamespace(name="浦东东站长途客运站地下车库二号库", name_en="Pudong East Coach Station Garage 2")
    params = longest_params(lang)
    with force_locale(lang):
        for kind in SMS_KINDS:
            if kind == "gate_conflict":
                params = {**params, "time": params["moment"]}
            body = sms_body(kind, params, lang)
            assert body is not None, kind
            assert "%(" not in body and "2026-" not in body, (kind, body)
            assert len(body) + SIGNATURE_LIMIT <= SMS_LIMIT, (kind, len(body), body)
            text = sms_text(SimpleNamespace(kind=kind, params=params), garage, lang)
            assert text is not None and len(text) <= SMS_LIMIT and not text.endswith("…"), (kind, text)
            assert text.startswith("【") and len(text[: text.index("】") + 1]) <= SIGNATURE_LIMIT


def test_sms_and_in_app_texts_say_dates_and_months_in_words(app):
    params = {"plate": "沪A12345", "date": "2026-12-06", "month": "2026-12", "nights": 20}
    with force_locale("zh"):
        assert "12月6日 星期日" in sms_body("booking_confirmed", params, "zh")
        note = SimpleNamespace(kind="booking_confirmed", params=params)
        assert "12月6日 星期日" in render(note) and "2026-12-06" not in render(note)
        monthly = render(SimpleNamespace(kind="monthly_subscribed", params=params))
        assert "2026年12月" in monthly and "2026-12" not in monthly
    with force_locale("en"):
        assert "Sun 6 Dec" in sms_body("booking_confirmed", params, "en")
        assert "Sunday 6 December" in render(SimpleNamespace(kind="booking_confirmed", params=params))


def test_a_reset_code_notice_carries_no_code(app):
    params = {"code": "12345678"}
    for lang in ("zh", "en"):
        with force_locale(lang):
            assert "12345678" not in sms_body("reset_code_issued", params, lang)
            assert "12345678" not in render(SimpleNamespace(kind="reset_code_issued", params=params))
