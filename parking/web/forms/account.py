"""The account forms: sign in, register, reset a password with a manager's code, change it, sign
out everywhere, erase the account."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    Length,
    Regexp,
    ValidationError,
)

from parking.i18n import lazy_gettext as _l
from parking.web.forms.fields import (
    REQUIRED,
    no_control_characters,
    phone_field,
    strip,
)


class LoginForm(FlaskForm):
    phone = phone_field()
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=128)])
    remember = BooleanField(_l("Keep me signed in on this phone"), default=True)


class ResetForm(FlaskForm):
    phone = phone_field()
    code = StringField(
        _l("Reset code (8 digits)"),
        filters=[strip],
        validators=[DataRequired(REQUIRED), Regexp(r"^\d{8}$", message=_l("Enter the 8 digits of the code."))],
    )
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(REQUIRED), Length(min=8, max=128, message=_l("Use 8 to 128 characters."))],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(REQUIRED), EqualTo("password", message=_l("The two passwords are not the same."))],
    )


class RegisterForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=60, message=_l("At most 60 characters.")),
            no_control_characters,
        ],
    )
    phone = phone_field()
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(REQUIRED),
            Length(min=8, max=128, message=_l("Use 8 to 128 characters.")),
        ],
    )


def same_password(form: FlaskForm, field: Any) -> None:
    if field.data != form.password.data:
        raise ValidationError(_l("The two new passwords are not the same."))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED), Length(max=128)])
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(REQUIRED), Length(min=8, max=128, message=_l("Use 8 to 128 characters."))],
    )
    password_again = PasswordField(_l("New password again"), validators=[DataRequired(REQUIRED), same_password])


class SignOutEverywhereForm(FlaskForm):
    """A button and its CSRF token."""


class EraseAccountForm(FlaskForm):
    """The confirm step of erasing one's own account: the password, and a box that says it is meant."""

    current_password = PasswordField(_l("Your password"), validators=[DataRequired(REQUIRED), Length(max=128)])
    understood = BooleanField(
        _l("I understand: my account and my bookings to come are gone, and this cannot be undone."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
