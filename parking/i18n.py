"""The caller's language: `?lang=`, then the signed-in user's choice, then Accept-Language; zh first."""

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
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
