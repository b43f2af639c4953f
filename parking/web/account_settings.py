"""/account: the signed-in person's own settings, for every role. Changing the password and
"sign out everywhere" end every sign-in of the user (see parking.auth.sign_ins); "download my
data" gives the export of `parking.privacy.export` as a file, the same as the API's; "delete my
account" asks for the password on a page of its own, then erases the account
(`parking.privacy.erasure`) and clears what this browser kept. The SMS switch: off, notifications
stay in-app."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user
from flask_wtf import FlaskForm

from parking import clock
from parking.auth import sign_ins
from parking.auth.models import Role
from parking.auth.sign_in_routes import password_limit
from parking.i18n import lazy_gettext as _l
from parking.notifications.services import set_sms
from parking.privacy import erasure, export
from parking.web.account import signed_out
from parking.web.forms.account import EraseAccountForm, PasswordChangeForm, SignOutEverywhereForm
from parking.web.pages import Outcome, actor, done, post_button, post_form, roles_required

bp = Blueprint("account_settings", __name__, template_folder="templates")


def _account_page(password_form: PasswordChangeForm | None = None, status: int = 200) -> ResponseReturnValue:
    form = password_form or PasswordChangeForm(formdata=None)
    return render_template("account/account.html", password_form=form, sms_form=FlaskForm()), status


@bp.get("/account")
@roles_required()
def home() -> ResponseReturnValue:
    return _account_page()


@bp.get("/account/export")
@roles_required()
def export_file() -> ResponseReturnValue:
    """Everything stored about the person, as a JSON file to keep (reads only)."""
    user, now = actor(), clock.now()
    body = json.dumps(export.everything(user, now), ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{export.file_name(user, now)}"',
            "Cache-Control": "no-store",
        },
    )


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


@bp.post("/account/sms")
@roles_required()
def sms() -> ResponseReturnValue:
    """Turn SMS (and WeChat) messages on or off; notifications always stay in the app."""
    enabled = request.form.get("sms") == "on"
    back = url_for(".home") + "#sms"
    return post_button(
        lambda: set_sms(actor(), enabled, clock.now()),
        lambda user: done(
            back,
            _l("Messages will come by SMS too.") if user.sms_enabled else _l("Messages will only be in the app."),
        ),
        back,
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


def _erase_page(form: EraseAccountForm, status: int = 200) -> ResponseReturnValue:
    return render_template("account/erase.html", form=form), status


@bp.get("/account/delete")
@roles_required()
def erase_confirm() -> ResponseReturnValue:
    """The confirm step: what goes, what stays, and the password."""
    return _erase_page(EraseAccountForm(formdata=None))


@bp.post("/account/delete")
@roles_required()
@password_limit
def erase() -> ResponseReturnValue:
    """Erases the account; this browser is signed out and its kept pages cleared."""
    user, now = actor(), clock.now()
    form = EraseAccountForm()
    return post_form(
        form,
        lambda: erasure.erase_own(user, form.current_password.data, now),
        lambda _erased: signed_out(
            user.role == Role.RESIDENT, _l("Your account is deleted. Thank you for using the garage.")
        ),
        lambda status: _erase_page(form, status),
    )
