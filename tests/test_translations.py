"""Chinese first: every user-facing message in the code has a Simplified Chinese translation, and
the compiled catalog the app loads matches its source."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "parking/translations/zh/LC_MESSAGES/messages.po"
MO = ROOT / "parking/translations/zh/LC_MESSAGES/messages.mo"
METHOD_MAP = [("parking/**.py", "python"), ("schedules/**.py", "python"), ("parking/**/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}


def _source_messages() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), METHOD_MAP, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_in_the_code_has_a_chinese_translation():
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="zh")
    translated = {m.id: m.string for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(_source_messages() - set(translated))
    assert missing == [], "run `make translations` and translate: " + "; ".join(missing)


def _plain(value):
    """A plural message's id and forms are a tuple from the .po and a list from the .mo."""
    return tuple(value) if isinstance(value, list | tuple) else value


def test_compiled_catalog_matches_its_source():
    with PO.open("rb") as handle:
        source = {_plain(m.id): _plain(m.string) for m in read_po(handle, locale="zh") if m.id}
    with MO.open("rb") as handle:
        compiled = {_plain(m.id): _plain(m.string) for m in read_mo(handle) if m.id}
    assert compiled == source, "run `make translations` to recompile messages.mo"


def test_a_page_template_follows_the_locale_in_force_within_one_request(app):
    """The templates' `_()` finds its catalog once per request and locale: a `force_locale` block
    inside a request (a gate's Chinese spoken line, a message in the reader's language) gets that
    language, and the request's own language comes back after it. So do the Python code's
    `gettext`, `lazy_gettext` and `get_locale` (parking.i18n)."""
    from flask import render_template_string
    from flask_babel import force_locale

    from parking.i18n import get_locale, gettext, lazy_gettext

    said = "{{ _('This night can no longer be handed back.') }}|{{ ngettext('%(num)d night', '%(num)d nights', 2) }}"
    sentence = "This night can no longer be handed back."
    lazy = lazy_gettext("Tonight, %(date)s", date="X")
    with app.test_request_context("/nights?lang=zh"):
        assert str(get_locale()) == "zh"
        zh = render_template_string(said)
        zh_said, zh_lazy = gettext(sentence), str(lazy)
        with force_locale("en"):
            en = render_template_string(said)
            assert str(get_locale()) == "en"
            assert gettext(sentence) == sentence
            assert str(lazy) == "Tonight, X"
        again = render_template_string(said)
        assert str(get_locale()) == "zh"
        assert gettext(sentence) == zh_said != sentence
        assert str(lazy) == zh_lazy != "Tonight, X" and zh_lazy.endswith("X")
    assert en.startswith("This night can no longer be handed back.|"), en
    assert zh != en and not zh.startswith("This night") and zh == again, (zh, again)
