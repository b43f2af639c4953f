"""What every page view shares: who is acting, role checks, safe redirects, and turning a domain
exception into a message on the form (the one helper STYLE.md asks for)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from marshmallow import Schema, ValidationError

from parking.auth.access import read_caller_again
from parking.auth.models import Role, User
from parking.catalogue import FIELD_MESSAGES
from parking.errors import BadRequest, DomainError, Unprocessable
from parking.extensions import db
from parking.i18n import gettext
from parking.i18n import lazy_gettext as _l
from parking.idempotency.services import fingerprint, run_once

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: Form fields that are not part of what is asked (the idempotency fingerprint leaves them out).
_NOT_ASKED = {"csrf_token", "idempotency_key"}


def actor() -> User:
    """The signed-in user as the model object the services take."""
    return current_user._get_current_object()


def home_for(user: User) -> str:
    """Where each role lands after signing in."""
    if user.role == Role.ADMIN:
        return url_for("admin_pages.home")
    if user.role == Role.MANAGER:
        return url_for("manage.home")
    if user.role == Role.ATTENDANT:
        return url_for("gate_station.home")
    return url_for("resident.home")


def roles_required(*roles: Role) -> Callable[[F], F]:
    """A page decorator: signed in (else the login page, coming back here), and with `roles`,
    one of them (admins always pass)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
            if roles and current_user.role not in roles and current_user.role != Role.ADMIN:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # functools.wraps keeps the view's name, not its type

    return decorator


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only a path on this site: a link in a chat group must not bounce people elsewhere."""
    fallback = default or url_for("account.index")
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


def load_with_schema(form: FlaskForm, schema: Schema, names: Iterable[str]) -> dict:
    """Validate a form's values with the API's own schema (one copy of each rule's bounds): the
    loaded data, or the API's `validation_error` refusal, which `post_form` places beside each
    field. Empty fields are not sent."""
    raw = {name: getattr(form, name).data for name in names if getattr(form, name).data not in (None, "")}
    try:
        return schema.load(raw)
    except ValidationError as exc:
        raise Unprocessable(reason="validation_error", errors=_as_lists(exc.messages)) from None


def _as_lists(messages: Any) -> dict[str, list[str]]:
    if not isinstance(messages, dict):
        return {"_schema": [str(messages)]}
    return {name: [str(m) for m in (value if isinstance(value, list) else [value])] for name, value in messages.items()}


_RANGE = re.compile(r"Must be greater than or equal to (-?[\d.]+) and less than or equal to (-?[\d.]+)\.")
_LONGER = re.compile(r"(?:Longer than maximum length|Length must be between \d+ and) (\d+)\.?")


def person_message(message: str) -> str:
    if message in FIELD_MESSAGES:
        return str(FIELD_MESSAGES[message])
    if found := _RANGE.fullmatch(message):
        return gettext("Enter a number from %(low)s to %(high)s.", low=found[1], high=found[2])
    if found := _LONGER.fullmatch(message):
        return gettext("At most %(count)s characters.", count=found[1])
    return message


def in_view(form: FlaskForm) -> FlaskForm:
    """A refused form opens at its message, without JavaScript: the first field in error gets
    `autofocus` (the browser scrolls to it and a screen reader reads its label, value and, through
    aria-describedby, its message); when no field is in error, the summary above the form has it
    (macros.html `form_errors`, tabindex -1). The re-rendered form's action carries
    `#<form id>-errors` (macros.html `post`), the summary's id only when no field is in error:
    a fragment that finds its element cancels `autofocus` (the browser focuses that element
    instead)."""
    for item in form:
        if item.errors and item.type not in ("HiddenField", "CSRFTokenField"):
            item.render_kw = {**(item.render_kw or {}), "autofocus": True}
            break
    return form


def read_form(form: FlaskForm) -> bool:
    """A form that only reads (a filter sent by GET): valid, or its messages placed and in view."""
    if form.validate():
        return True
    in_view(form)
    return False


def undo() -> None:
    """Undo the unit of work (a refused form, a preview) before its page is drawn again, with the
    signed-in user read again in its one statement (the rollback expired it)."""
    db.session.rollback()
    read_caller_again()


def form_failed(form: FlaskForm, exc: DomainError) -> None:
    """Undo the unit of work and put the rule's message next to the field it is about."""
    undo()
    place_refusal(form, exc)
    in_view(form)


def place_refusal(form: FlaskForm, exc: DomainError) -> None:
    """Put a refusal's message next to the field it names (or above the form)."""
    message = str(exc.message)
    if exc.errors:
        placed = False
        for name, messages in exc.errors.items():
            field = getattr(form, name, None)
            if field is not None and hasattr(field, "errors"):
                # A rule's `errors` name the field in English for API clients; the person reads
                # the rule's translated message there (a bare validation error keeps its detail,
                # in a person's words).
                said = [person_message(str(m)) for m in messages] if exc.reason == "validation_error" else []
                field.errors = [*list(field.errors or []), *(said or [message])]
                placed = True
        if placed:
            return
    field = getattr(form, exc.field or "", None)  # the refusal names its field itself
    if field is not None and hasattr(field, "errors"):
        field.errors = [*list(field.errors or []), message]
    else:
        form.form_errors.append(message)


FORM_INVALID = _l("Please check the fields marked below.")


@dataclass
class Outcome:
    """Where a successful submit leads, and what it says there; or, with `shown`, the page itself
    (a secret shown once is rendered, never kept in a flash or the session); `headers` go on the
    response (a sign-out's Clear-Site-Data)."""

    location: str
    flashes: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    #: Rendered instead of the redirect: what is shown this once and kept nowhere (a new secret,
    #: a reset code), so it lands in no cookie, flash or URL.
    shown: Any = None

    def say(self, message: Any, category: str = "info") -> None:
        self.flashes.append((category, str(message)))


def done(location: str, message: Any = None, category: str = "success") -> Outcome:
    """The usual outcome: one message, then `location`."""
    outcome = Outcome(location)
    if message is not None:
        outcome.say(message, category)
    return outcome


def post_form(
    form: FlaskForm,
    call: Callable[[], T],
    then: Callable[[T], Outcome],
    page: Callable[[int], Any],
    *,
    invalid: str | None = "form",
    asks: Mapping[type[DomainError], Callable[[Any], Any]] | None = None,
    refused: str = "rollback",
    place: Callable[[FlaskForm, DomainError], None] = place_refusal,
    once: tuple[User, datetime] | None = None,
) -> Any:
    """The one way a page handles a POST: validate the form, call one service function, commit,
    flash and redirect (`then` says where and what); or re-render `page(status)` with the message
    beside its field: 422 for a form that is not valid (with FORM_INVALID above the form, in a
    flash, or not at all: `invalid`), the refusal's status for a refusal (`place` puts its words on
    the form; by default beside the field it names). `asks` turns a refusal that is a question (a
    bump policy to name) into its own page. With `refused="commit"` a refusal keeps what the
    service wrote while refusing (a wrong password's count, audit and lock-out).

    With `once=(user, now)` a form submitted twice (a double tap, a reload after a lost answer)
    does its work once: the form's own `idempotency_key` runs `call` and `then` through the API's
    idempotency helper, and the second submit lands on the first one's outcome: the same redirect
    and flashes, or the same refusal beside the same field."""
    if not form.validate_on_submit():
        if invalid == "form":
            form.form_errors.append(str(FORM_INVALID))
        elif invalid == "flash":
            flash(str(FORM_INVALID), "error")
        in_view(form)
        return page(422)
    try:
        if once is None:
            result = call()
            db.session.commit()
        else:
            stored = _run_once(form, *once, lambda: then(call()))
    except DomainError as exc:
        for kind, ask in (asks or {}).items():
            if isinstance(exc, kind):
                return ask(exc)
        if refused == "commit":
            db.session.commit()
        else:
            undo()
        place(form, exc)
        in_view(form)
        return page(exc.code)
    return _follow(then(result) if once is None else stored)


def _run_once(form: FlaskForm, user: User, now: datetime, work: Callable[[], Outcome]) -> Outcome:
    """`work` once per the form's key, committed (by `run_once`); a refusal, fresh or stored, is
    raised as the domain error it was."""
    asked = {name: f.data for name, f in form._fields.items() if name not in _NOT_ASKED}
    answer = run_once(
        user.id,
        form.idempotency_key.data or None,
        fingerprint(request.method, request.path, asked),
        now,
        lambda: (302, json.dumps(asdict(work()), ensure_ascii=False)),
    )
    refusal = answer.refusal()
    if refusal is not None:
        raise refusal
    stored = json.loads(answer.body)
    return Outcome(stored["location"], [(category, message) for category, message in stored["flashes"]])


def post_button(call: Callable[[], T], then: Callable[[T], Outcome], back: str) -> Any:
    """A button's POST (a form with no field but its CSRF token, which CSRFProtect has checked):
    call one service function, commit, flash and redirect; a refusal is said at the top of the
    page it came from (`back`), with nothing changed."""
    try:
        result = call()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(f"{back.split('#')[0]}#messages")  # the message at the top takes the focus
    return _follow(then(result))


def _follow(outcome: Outcome) -> Any:
    if outcome.shown is not None:
        return outcome.shown
    for category, message in outcome.flashes:
        flash(message, category)
    response = redirect(outcome.location)
    response.headers.update(outcome.headers)
    return response


# -- a page script's POST: JSON in, JSON out ---------------------------------------------------------

V = TypeVar("V")


def wants_json() -> bool:
    """A page's script asks for JSON (it sends JSON, or puts JSON first in Accept)."""
    return request.is_json or request.accept_mimetypes.best_match(["text/html", "application/json"]) == (
        "application/json"
    )


def json_body() -> dict:
    """The request's JSON object, or the `malformed_request` refusal."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(_l("The request body is not valid JSON."), reason="malformed_request")
    return body


def valid_json(schema: Schema) -> Callable[[], Any]:
    """A `load` for `post_json`: the JSON body through `schema`, or `validation_error` with each
    field's messages."""

    def load() -> Any:
        try:
            return schema.load(json_body())
        except ValidationError as exc:
            raise Unprocessable(
                _l("Some fields are not valid."), reason="validation_error", errors=dict(exc.normalized_messages())
            ) from None

    return load


class valid_form:  # noqa: N801  # read as a function: post_json(valid_form(TheForm), ...)
    """A `load` for `post_json`: the form (made on first use, from a form class, once a script's
    JSON is known to be an object) once valid, or `refusal()` (by default `validation_error` with
    each field's messages); a plain form's page re-renders it instead (`post_json`'s `page`)."""

    def __init__(self, make: type[FlaskForm], refusal: Callable[[], DomainError] | None = None) -> None:
        self._make, self._refusal = make, refusal

    @functools.cached_property
    def form(self) -> Any:
        if request.is_json:
            json_body()  # a script's JSON must be an object before it is read as the form
        return self._make()

    def __call__(self) -> Any:
        if self.form.validate_on_submit():
            return self.form
        if self._refusal is not None:
            raise self._refusal()
        errors = {name: [str(m) for m in item.errors] for name, item in self.form._fields.items() if item.errors}
        raise Unprocessable(_l("Some fields are not valid."), reason="validation_error", errors=errors)


def post_json(
    load: Callable[[], V],
    call: Callable[[V], T],
    answer: Callable[[T], Any],
    *,
    then: Callable[[T], Outcome] | None = None,
    page: Callable[[int], Any] | None = None,
) -> ResponseReturnValue:
    """The one way a page script's POST is handled: `load` validates what was sent (`valid_form`,
    `valid_json`, or a function that returns it or raises), `call` hands it to one service
    function, the unit of work is committed, and the script gets `answer(result)` as JSON. A plain
    form (without JavaScript, not asking for JSON) gets POST-redirect-GET instead (`then`), and when
    not valid its page again (`page(422)`, the messages beside their fields). Invalid input and a
    refusal are raised: the app's error handler rolls back and answers them in the error shape
    (JSON for a script, the error page for a browser)."""
    plain = then is not None and not wants_json()
    if plain and page is not None and isinstance(load, valid_form) and not load.form.validate_on_submit():
        return page(422)  # the page puts its messages in view itself
    result = call(load())
    db.session.commit()
    if plain and then is not None:
        return _follow(then(result))
    return jsonify(answer(result))
