"""The caller's language, zh first. The API: `?lang=`, the bearer user's choice, Accept-Language.
The pages: `?lang=`, the signed-in user's choice, the remembered switch, then Simplified Chinese."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    asked = request.args.get("lang")
    if asked is not None and asked in languages:
        return asked
    chosen = g.get("api_locale")
    if chosen in languages:
        return chosen
    from parking.web import page_locale

    on_page = page_locale()
    if on_page is not None:
        return on_page
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
