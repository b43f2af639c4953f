"""Flask-WTF forms, one per form. Field names are the API field names (DESIGN section 8), and every
message is in the catalog. Each role's forms stay in their own section."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

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


def phone_field(label: Any = None) -> StringField:
    return StringField(
        label or _l("Mobile number"), filters=[normalise_phone], validators=[DataRequired(REQUIRED), valid_phone]
    )


# -- account --------------------------------------------------------------------------------------


class LoginForm(FlaskForm):
    phone = phone_field()
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
    phone = phone_field()
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

#: The garage rules of DESIGN section 4 in plain words, in the order of the section.
RULE_LABELS: dict[str, Any] = {
    "horizon_days": _l("Residents can book this many days ahead"),
    "booking_cutoff_minutes": _l("Booking closes this many minutes after the night opens"),
    "free_cancel_minutes": _l("Free cancellation until this many minutes before the night opens"),
    "early_entry_minutes": _l("Cars may enter this many minutes before the night opens"),
    "no_show_minutes": _l("A car not arrived this many minutes after opening is a no-show"),
    "reminder_minutes": _l("Remind cars still inside this many minutes before the space is taken back"),
    "exit_grace_minutes": _l("Cars may leave this many minutes late before it counts as an overstay"),
    "strike_limit": _l("Strikes (no-shows or overstays) that suspend a household"),
    "strike_window_days": _l("Strikes count over this many days"),
    "suspension_days": _l("A suspension lasts this many days"),
    "bookings_per_household": _l("Bookings per household per night"),
    "ballot_close_hour": _l("Ballot closes at this hour on the day before (0-23)"),
}


def _zones() -> list[SelectChoice]:
    import zoneinfo

    names = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
    return [SelectChoice("Asia/Shanghai")] + [SelectChoice(n) for n in names if n != "Asia/Shanghai"]


class GarageForm(FlaskForm):
    """Create or change a garage: its name, place, capacity and rules (validated by the API's schema)."""

    name = StringField(_l("Name"))
    name_en = StringField(_l("Name in English (optional)"))
    address = StringField(_l("Address (optional)"))
    timezone = SelectField(_l("Time zone"), choices=_zones, default="Asia/Shanghai")
    capacity = IntegerField(_l("Physical spaces"), validators=[Optional()])


for _name, _label in RULE_LABELS.items():
    setattr(GarageForm, _name, IntegerField(_label, validators=[Optional()]))


class StaffForm(FlaskForm):
    phone = phone_field()
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("manager", _l("Manager")), SelectChoice("attendant", _l("Attendant"))],
        default="attendant",
    )


# -- gate -----------------------------------------------------------------------------------------
