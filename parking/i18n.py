"""The caller's language, zh first. The API: `?lang=`, the bearer user's choice, Accept-Language.
The pages: `?lang=`, the signed-in user's choice, the remembered switch, then Simplified Chinese."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from babel.dates import format_date
from flask import current_app, g, has_request_context, request

#: A language choice is remembered for a year in this cookie (and on the user's row when signed in).
LANG_COOKIE = "lang"


def select_locale(page_locale: Callable[[], str | None]) -> str:
    """Babel's locale selector; `page_locale` is the pages' own choice (None under /api), passed in
    by the factory so that this module stays on the ground floor below the pages."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    asked = request.args.get("lang")
    if asked is not None and asked in languages:
        return asked
    chosen = g.get("api_locale")
    if chosen in languages:
        return chosen
    on_page = page_locale()
    if on_page is not None:
        return on_page
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


#: A date as people say it: "12月6日 星期日", "Sunday 6 December" (the pages and the messages alike).
DATE_WORDS = {"zh": "M月d日 EEEE", "en": "EEEE d MMMM"}
MONTH_WORDS = {"zh": "y年M月", "en": "MMMM y"}


def date_words(day: date, lang: str) -> str:
    return format_date(day, DATE_WORDS["en" if lang == "en" else "zh"], locale="en" if lang == "en" else "zh")


def month_words(month: date, lang: str) -> str:
    return format_date(month, MONTH_WORDS["en" if lang == "en" else "zh"], locale="en" if lang == "en" else "zh")
