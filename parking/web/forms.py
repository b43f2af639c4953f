"""Flask-WTF forms, one per form. Field names are the API field names (DESIGN section 8), and every
message is in the catalog. Each role's forms stay in their own section."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from parking.fields import PHONE_RE

REQUIRED = _l("Please fill this in.")


def normalise_phone(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip().replace(" ", "").replace("-", "")
    return text.removeprefix("+86")


def valid_phone(form: FlaskForm, field: Any) -> None:
    if not PHONE_RE.match(field.data or ""):
        raise ValidationError(_l("Enter an 11-digit mobile number, e.g. 13812345678."))


def no_control_characters(form: FlaskForm, field: Any) -> None:
    if field.data and any(ord(c) < 32 and c not in "\t" for c in field.data):
        raise ValidationError(_l("This contains characters that are not allowed."))


# -- account --------------------------------------------------------------------------------------


class LoginForm(FlaskForm):
    phone = StringField(
        _l("Mobile number"), filters=[normalise_phone], validators=[DataRequired(REQUIRED), valid_phone]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=128)])
    remember = BooleanField(_l("Keep me signed in on this phone"), default=True)


class RegisterForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[
            DataRequired(REQUIRED),
            Length(max=60, message=_l("At most 60 characters.")),
            no_control_characters,
        ],
    )
    phone = StringField(
        _l("Mobile number"), filters=[normalise_phone], validators=[DataRequired(REQUIRED), valid_phone]
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(REQUIRED),
            Length(min=8, max=128, message=_l("Use 8 to 128 characters.")),
        ],
    )


# -- resident -------------------------------------------------------------------------------------


# -- manager --------------------------------------------------------------------------------------


# -- admin ----------------------------------------------------------------------------------------


# -- gate -----------------------------------------------------------------------------------------
