"""The server-rendered pages (docs/pages.md): blueprints per role, Flask-Login sessions, CSRF,
the language switch and the security headers of every page. The pages call the same service
functions as the API; they never re-implement a rule or call the HTTP API of their own server."""

from __future__ import annotations

import functools
import secrets

from babel import support
from flask import Flask, Request, Response, current_app, g, has_request_context, redirect, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse
from wtforms.i18n import messages_path

from parking.catalogue import reason_words
from parking.extensions import login_manager
from parking.i18n import LANG_COOKIE, get_locale
from parking.masking import mask_phone


class PagesOnlySessionInterface(SecureCookieSessionInterface):
    """The API authenticates by bearer token only: it never sets (or reads) the session cookie."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if _is_api(request.path):
            return self.null_session_class()
        return super().open_session(app, request)

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        from flask import request as current

        if _is_api(current.path) or keeping_for_no_signal():
            return False
        return super().should_set_cookie(app, session)


#: Sent by the residents' service worker when it fetches pages in the background to keep them for
#: no signal (static/js/sw.js). Such a fetch is not the person's: it must not take the message
#: meant for their next page, nor set the session cookie (a late answer would put back a cookie
#: older than the one a submit just set, and its message would be lost).
KEEPING_HEADER = "X-Kept-Fetch"


def keeping_for_no_signal() -> bool:
    return has_request_context() and request.headers.get(KEEPING_HEADER) is not None


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def page_locale() -> str | None:
    """The language of a page: this browser's remembered switch, then the signed-in user's choice
    (a browser that never switched shows the account's language)."""
    if _is_api(request.path):
        return None
    languages = current_app.config["LANGUAGES"]
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in languages:
        return remembered
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _security_headers(response: Response) -> Response:
    if current_app.config.get("HTTPS"):
        max_age = current_app.config["HSTS_MAX_AGE_SECONDS"]
        response.headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
    if _is_api(request.path):
        # JSON, images and the docs page: never sniffed into something else, never framed.
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if response.content_type.startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        return response
    if request.blueprint not in PAGE_BLUEPRINTS:
        return response
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; script-src 'self' 'nonce-{csp_nonce()}'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if "text/html" in response.content_type:
        response.headers.setdefault("Cache-Control", "no-store")  # pages show personal data
    return response


PAGE_BLUEPRINTS = {
    "account",
    "account_settings",
    "resident",
    "resident_monthly",
    "manage",
    "manage_people",
    "manage_monthly",
    "admin_pages",
    "gate_station",
}


@functools.lru_cache(maxsize=8)
def _wtforms_catalog(locale: str) -> support.NullTranslations:
    """wtforms' own messages in a language, read once per process: Flask-WTF reads and parses the
    catalog file again on every request that builds a form (it keeps it on the request)."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def _form_catalog(_request: Request) -> support.NullTranslations:
    return _wtforms_catalog(str(get_locale()))


def init_web(app: Flask) -> None:
    from parking.web import (
        account,
        account_settings,
        admin,
        gate,
        manage,
        resident,
        resident_monthly,
    )
    from parking.web.manage import monthly as manage_monthly
    from parking.web.manage import people as manage_people

    app.session_interface = PagesOnlySessionInterface()
    # Flask-WTF looks for the catalog it loaded on the request first: there, it finds the process's.
    app.request_class = type("PageRequest", (app.request_class,), {"wtforms_translations": property(_form_catalog)})
    # The cookies' lifetimes, SameSite and the CSRF time limit are in config.Config; the HTTPS
    # switch, also given to create_app() as an override, makes both cookies Secure.
    if app.config.get("HTTPS"):
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)

    login_manager.login_view = "account.login"
    login_manager.login_message = None  # the login page says why by itself
    login_manager.session_protection = "basic"

    # Each page module owns its blueprint; none attaches routes to another's.
    for module in (
        account,
        account_settings,
        resident,
        resident_monthly,
        manage,
        manage_people,
        manage_monthly,
        admin,
        gate,
    ):
        app.register_blueprint(module.bp)
    app.after_request(_security_headers)
    app.add_template_filter(reason_words, "reason_words")  # a night's reason in the reader's language
    # A phone shown masked (138****0003) is masked by the one helper, in a template too.
    app.add_template_filter(mask_phone, "mask_phone")

    @app.context_processor
    def page_globals() -> dict:
        from parking.i18n import get_locale

        return {
            "csp_nonce": csp_nonce,
            "page_lang": str(get_locale() or "zh"),
            "keeping_for_no_signal": keeping_for_no_signal,
        }

    @app.post("/lang")
    def switch_language() -> ResponseReturnValue:
        """The language switch, a tiny form in the header: remembered in this browser's cookie and,
        when signed in, on the user's row (the language of their notifications and other browsers)."""
        from parking.auth import services as accounts
        from parking.web.pages import actor, done, post_button, safe_next

        code, back = request.form.get("code", ""), safe_next(request.form.get("next"))
        if code not in app.config["LANGUAGES"]:
            return redirect(back)
        if not current_user.is_authenticated or current_user.locale == code:
            return _remember_language(redirect(back), code)
        answer = post_button(lambda: accounts.set_language(actor(), code), lambda _user: done(back), back)
        return _remember_language(answer, code)

    @app.get("/lang/<code>")
    def language_link(code: str) -> ResponseReturnValue:
        """A link that sets this browser's language and goes on: only the browser's cookie changes,
        nothing on the server (a GET never writes). The header's switch is the POST above."""
        from parking.web.pages import safe_next

        target = redirect(safe_next(request.args.get("next")))
        return _remember_language(target, code) if code in app.config["LANGUAGES"] else target


def _remember_language(response: BaseResponse, code: str) -> BaseResponse:
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
