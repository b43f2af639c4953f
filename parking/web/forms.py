"""Flask-WTF forms, one per form. Field names are the API field names (DESIGN section 8), and every
message is in the catalog. Each role's forms stay in their own section."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from parking.fields import PHONE_RE
from parking.plates import PROVINCES

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


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class GateScanForm(FlaskForm):
    """One scan at the barrier: a pass read by the scanner (or pasted), or a plate from the look-up.
    The same fields as `POST /api/v1/gate/scan`; the page script sends them as JSON."""

    garage_id = IntegerField(widget=HiddenInput(), validators=[DataRequired(REQUIRED)])
    direction = RadioField(
        _l("Which way is the car going?"),
        choices=[SelectChoice("in", _l("Entry")), SelectChoice("out", _l("Exit"))],
        default="in",
        validators=[DataRequired(REQUIRED)],
    )
    token = StringField(_l("Scan the pass"), filters=[_strip], validators=[Optional(), Length(max=500)])
    plate = StringField(_l("Plate"), filters=[_strip], validators=[Optional(), Length(max=32)])
    idempotency_key = HiddenField(validators=[DataRequired(REQUIRED), Length(max=64)])

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if bool(self.token.data) == bool(self.plate.data):
            self.token.errors = [*self.token.errors, _l("Scan a pass first.")]
            return False
        return True


_PROVINCES_SH_FIRST = sorted(PROVINCES, key=lambda p: p != "沪")


class PlateLookupForm(FlaskForm):
    """Look a car up by its plate: the province picker (沪 first) and the rest of the plate."""

    class Meta:
        csrf = False  # a GET look-up changes nothing

    province = SelectField(
        _l("Province"), choices=[SelectChoice(p) for p in sorted(PROVINCES, key=lambda p: p != "沪")], default="沪"
    )
    plate = StringField(_l("Rest of the plate"), filters=[_strip], validators=[DataRequired(REQUIRED), Length(max=32)])

    def full_plate(self) -> str:
        rest = self.plate.data or ""
        return rest if rest[:1] in PROVINCES else f"{self.province.data}{rest}"


class PlateEventForm(FlaskForm):
    """Confirm a camera's doubtful read, correcting the plate if the camera misread it."""

    plate = StringField(_l("Plate"), filters=[_strip], validators=[Optional(), Length(max=32)])
