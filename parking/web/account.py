"""/login, /register, /reset, /logout, and `/`, which sends each role to its home."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm

from parking import clock
from parking.auth import reset_codes, services, sign_ins
from parking.auth.models import Role, User
from parking.auth.routes import register_limit, token_limit
from parking.i18n import LANG_COOKIE
from parking.i18n import lazy_gettext as _l
from parking.web.forms.account import LoginForm, RegisterForm, ResetForm
from parking.web.pages import Outcome, actor, done, home_for, post_button, post_form, safe_next

bp = Blueprint("account", __name__, template_folder="templates")

# A lock-out is said above the form (it is about the phone, not what was typed); a wrong code beside it.


@bp.get("/")
def index() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return render_template("account/welcome.html")


def _opened(user: User) -> User:
    """A sign-in of this browser's own (see parking.auth.sign_ins), written in the unit of work
    `post_form` commits; a language chosen in this browser just before signing in becomes the
    account's choice with it."""
    sign_ins.start(user, clock.now())
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen is not None and chosen in current_app.config["LANGUAGES"] and chosen != user.locale:
        services.set_language(user, chosen)
    return user


def _sign_in(user: User, remember: bool) -> None:
    """Signs this browser in, once its sign-in is committed (`_opened`)."""
    session.permanent = True
    login_user(user, remember=remember)


def _page(template: str, form: FlaskForm) -> Callable[[int], ResponseReturnValue]:
    return lambda status: (render_template(template, form=form), status)


@bp.route("/login", methods=["GET", "POST"])
@token_limit
def login() -> ResponseReturnValue:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_for(current_user))
    form = LoginForm()
    if request.method == "GET":
        return render_template("account/login.html", form=form)

    def signed_in(user: User) -> Outcome:
        _sign_in(user, remember=form.remember.data)
        return done(safe_next(request.args.get("next"), home_for(user)), None)

    return post_form(
        form,
        lambda: _opened(services.check_credentials(form.phone.data, form.password.data, clock.now())),
        signed_in,
        _page("account/login.html", form),
        invalid=None,
        refused="commit",  # the failure's count, audit and any lock-out stand
    )


@bp.route("/register", methods=["GET", "POST"])
@register_limit
def register() -> ResponseReturnValue:
    form = RegisterForm()
    if request.method == "GET":
        return render_template("account/register.html", form=form)

    def registered(user: User) -> Outcome:
        _sign_in(user, remember=True)
        return done(url_for("resident.household"), _l("Welcome! Next, register your household."))

    def page(status: int) -> ResponseReturnValue:
        # The one conflict a registration meets is a phone already registered: offer to sign in.
        return render_template("account/register.html", form=form, phone_taken=status == 409), status

    return post_form(
        form,
        lambda: _opened(services.register(form.phone.data, form.password.data, form.name.data, clock.now())),
        registered,
        page,
        invalid="flash",
    )


@bp.route("/reset", methods=["GET", "POST"])
@token_limit
def reset() -> ResponseReturnValue:
    """A new password with the reset code the garage manager gave; then sign in with it."""
    form = ResetForm()
    if request.method == "GET":
        return render_template("account/reset.html", form=form)
    return post_form(
        form,
        lambda: reset_codes.reset_password(form.phone.data, form.code.data, form.password.data, clock.now()),
        lambda _user: done(url_for("account.login"), _l("Your password is changed. Sign in with the new password.")),
        _page("account/reset.html", form),
        invalid="flash",
        refused="commit",  # a wrong code counts as a failed sign-in
    )


@bp.get("/logout")
def logout_page() -> ResponseReturnValue:
    """A link to /logout asks first: signing out by a stray GET would be a cross-site trick."""
    if not current_user.is_authenticated:
        return redirect(url_for("account.login"))
    return render_template("account/logout.html")


#: Logging out also clears what this browser kept for use without signal (the pass pages the
#: service worker stores). Staff keep their storage: the gate station's queue of scans made offline
#: lives there until it is uploaded.
CLEAR_ON_LOGOUT = {True: '"cache", "storage"', False: '"cache"'}


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Ends this browser's sign-in on the server (its session and remember cookies stop working,
    copies included); the user's other browsers stay signed in."""
    resident = current_user.is_authenticated and current_user.role == Role.RESIDENT
    return post_button(
        lambda: sign_ins.end(actor()) if current_user.is_authenticated else None,
        lambda _ended: signed_out(resident, _l("You have signed out.")),
        url_for("account.login"),
    )


def signed_out(resident: bool, message: object) -> Outcome:
    """This browser signs out and forgets what it kept (see CLEAR_ON_LOGOUT); then the login page."""
    logout_user()
    outcome = done(url_for("account.login"), message)
    outcome.headers["Clear-Site-Data"] = CLEAR_ON_LOGOUT[resident]
    return outcome
