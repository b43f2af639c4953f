"""The caller's language, zh first. The API: `?lang=`, the bearer user's choice, Accept-Language.
The pages: `?lang=`, the signed-in user's choice, the remembered switch, then Simplified Chinese."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from babel import Locale
from babel.dates import format_date
from flask import current_app, g, has_request_context, request
from flask_babel import LazyString, get_translations
from flask_babel import get_locale as babel_locale

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


# -- the strings -----------------------------------------------------------------------------------
# Flask-Babel's own `gettext` and `get_locale` find its state through several context lookups on
# every call, and a page of nights asks them about a hundred times (docs/benchmarks.md). These
# read the locale and the catalog that Flask-Babel chose for the request.


def gettext(string: str, **variables: Any) -> str:
    """Flask-Babel's `gettext`: the translation of `string`, %-formatted with `variables`. The
    templates' `_()` too (Jinja's i18n extension formats their variables itself)."""
    text = _catalog().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Flask-Babel's `lazy_gettext`: translated when it is used as a string."""
    return LazyString(gettext, string, **variables)


def get_locale() -> Locale | None:
    """Flask-Babel's `get_locale`: the locale in force (a `force_locale` block's, else the one it
    chose for the request), None outside an application context."""
    state = g.get("_flask_babel") if has_request_context() else None
    chosen = getattr(state, "babel_locale", None)
    return chosen if chosen is not None else babel_locale()


def ngettext(singular: str, plural: str, n: int) -> str:
    """The templates' `ngettext` (Jinja's i18n extension formats it with `num` itself)."""
    return _catalog().ungettext(singular, plural, n)


def _catalog() -> Any:
    """Flask-Babel's catalog for the locale in force: the one it chose for the request, or the one a
    `force_locale` block sets (kept beside the locale it belongs to, so that a change of locale
    finds the other catalog)."""
    state = g.get("_flask_babel") if has_request_context() else None
    locale = getattr(state, "babel_locale", None)
    if locale is None:  # the request's locale is not chosen yet (or no request): Flask-Babel's way
        return get_translations()
    kept = getattr(state, "page_catalog", None)
    if kept is None or kept[0] is not locale:
        kept = state.page_catalog = (locale, get_translations())  # type: ignore[union-attr]  # a chosen locale lives on Flask-Babel's state
    return kept[1]
