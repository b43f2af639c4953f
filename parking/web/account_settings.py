"""/account: the signed-in person's own settings, for every role. Changing the password and
"sign out everywhere" end every sign-in of the user (see parking.auth.sign_ins); room is left on
the page for the later SMS switch, export and deletion."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import login_user

from parking import clock
from parking.auth import sign_ins
from parking.auth.models import Role
from parking.auth.sign_in_routes import password_limit
from parking.web.account import signed_out
from parking.web.forms.account import PasswordChangeForm, SignOutEverywhereForm
from parking.web.pages import Outcome, actor, done, post_form, roles_required

bp = Blueprint("account_settings", __name__, template_folder="templates")


def _account_page(password_form: PasswordChangeForm | None = None, status: int = 200) -> ResponseReturnValue:
    form = password_form or PasswordChangeForm(formdata=None)
    return render_template("account/account.html", password_form=form), status


@bp.get("/account")
@roles_required()
def home() -> ResponseReturnValue:
    return _account_page()


@bp.post("/account/password")
@roles_required()
@password_limit
def change_password() -> ResponseReturnValue:
    """A new password: every other browser and token of the user ends; this browser stays signed
    in with a new sign-in (kept on this phone if it was)."""
    user, now = actor(), clock.now()
    form = PasswordChangeForm()
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies

    def signed_in_again(_sign_in: object) -> Outcome:
        login_user(user, remember=remembered)
        return done(url_for(".home"), _l("Your password is changed. Every other phone and computer is now signed out."))

    return post_form(
        form,
        lambda: sign_ins.change_password_and_stay(user, form.current_password.data, form.password.data, now),
        signed_in_again,
        lambda status: _account_page(form, status),
    )


@bp.route("/account/sign-out-everywhere", methods=["GET", "POST"])
@roles_required()
def sign_out_everywhere() -> ResponseReturnValue:
    """Asks first; then every browser and token of the user ends, this one included."""
    form = SignOutEverywhereForm()
    if request.method == "GET":
        return render_template("account/sign_out_everywhere.html", form=form)
    user = actor()
    return post_form(
        form,
        lambda: sign_ins.sign_out_everywhere(user, clock.now()),
        lambda _ended: signed_out(user.role == Role.RESIDENT, _l("You are signed out on every phone and computer.")),
        lambda status: (render_template("account/sign_out_everywhere.html", form=form), status),
    )
