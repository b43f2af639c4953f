"""Flask-WTF forms, one per form. Field names are the API field names (DESIGN section 8), and every
message is in the catalog. Each role's forms stay in their own section."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from parking import plates
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


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ChoiceField(SelectField):
    """A <select> that refuses a value outside its choices in our own plain words."""

    def __init__(self, *args: Any, not_a_choice: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.not_a_choice = not_a_choice or _l("Please choose one from the list.")

    def pre_validate(self, form: Any) -> None:
        if self.data not in {value for value, _label in self.iter_choice_values()}:
            raise ValidationError(self.not_a_choice)

    def iter_choice_values(self) -> list[tuple[Any, Any]]:
        return [(value, label) for value, label, *_ in self.iter_choices()] if self.choices else []

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            self.data = self.coerce(valuelist[0])


#: The province abbreviations of the plate picker with the names people know them by.
PROVINCE_NAMES = {
    "沪": _l("Shanghai"),
    "京": _l("Beijing"),
    "津": _l("Tianjin"),
    "渝": _l("Chongqing"),
    "冀": _l("Hebei"),
    "豫": _l("Henan"),
    "云": _l("Yunnan"),
    "辽": _l("Liaoning"),
    "黑": _l("Heilongjiang"),
    "湘": _l("Hunan"),
    "皖": _l("Anhui"),
    "鲁": _l("Shandong"),
    "新": _l("Xinjiang"),
    "苏": _l("Jiangsu"),
    "浙": _l("Zhejiang"),
    "赣": _l("Jiangxi"),
    "鄂": _l("Hubei"),
    "桂": _l("Guangxi"),
    "甘": _l("Gansu"),
    "晋": _l("Shanxi"),
    "蒙": _l("Inner Mongolia"),
    "陕": _l("Shaanxi"),
    "吉": _l("Jilin"),
    "闽": _l("Fujian"),
    "贵": _l("Guizhou"),
    "粤": _l("Guangdong"),
    "青": _l("Qinghai"),
    "藏": _l("Tibet"),
    "川": _l("Sichuan"),
    "宁": _l("Ningxia"),
    "琼": _l("Hainan"),
}
assert set(PROVINCE_NAMES) == set(plates.PROVINCES)


def province_choices() -> list[tuple[str, str]]:
    return [(code, f"{code}  {name}") for code, name in PROVINCE_NAMES.items()]


def join_plate(province: str | None, rest: str | None, new_energy: bool) -> str:
    """The plate from the picker, the typed rest and the new-energy switch, checked by the API's
    plate rules (parking.plates). A whole plate typed or pasted into the text field is taken as it is."""
    text = plates.normalise(rest or "")
    joined = text if text[:1] in plates.PROVINCES else f"{province or ''}{text}"
    if new_energy and len(joined) != 8:
        raise ValidationError(_l("A green new-energy plate has 8 characters: the province and 7 more, e.g. 沪AD12345."))
    if not new_energy and len(joined) == 8:
        raise ValidationError(_l("This plate has 8 characters. If it is a green new-energy plate, tick the box below."))
    if not new_energy and len(joined) != 7:
        raise ValidationError(_l("A plate has 7 characters: the province and 6 more, e.g. 沪A12345."))
    parsed = plates.parse(joined)
    if parsed is None:
        raise ValidationError(_l("This is not a valid plate. Please check it against the car, e.g. 沪A12345."))
    return parsed


ADDRESS_PART = [DataRequired(REQUIRED), Length(max=20, message=_l("At most 20 characters.")), no_control_characters]


class HouseholdForm(FlaskForm):
    garage_id = ChoiceField(
        _l("Garage"), coerce=_int_or_none, not_a_choice=_l("Please choose the garage from the list.")
    )
    building = StringField(_l("Building"), filters=[_strip], validators=ADDRESS_PART)
    unit = StringField(_l("Unit (entrance)"), filters=[_strip], validators=ADDRESS_PART)
    room = StringField(_l("Room"), filters=[_strip], validators=ADDRESS_PART)


class VehicleForm(FlaskForm):
    province = ChoiceField(_l("Province"), default="沪", choices=province_choices)
    plate = StringField(
        _l("The rest of the plate"),
        filters=[_strip],
        validators=[DataRequired(_l("Please type the plate number.")), Length(max=32)],
    )
    new_energy = BooleanField(_l("New-energy car (green plate, 8 characters)"))
    joined: str | None = None

    def validate_plate(self, field: Any) -> None:
        self.joined = join_plate(self.province.data, field.data, bool(self.new_energy.data))


class MemberForm(FlaskForm):
    phone = StringField(
        _l("Their mobile number"), filters=[normalise_phone], validators=[DataRequired(REQUIRED), valid_phone]
    )


class BookForm(FlaskForm):
    window_id = IntegerField(validators=[InputRequired(_l("Please choose a night."))])
    plate = StringField(filters=[_strip], validators=[DataRequired(_l("Please choose the car.")), Length(max=32)])
    waitlist = BooleanField()


class CancelForm(FlaskForm):
    """Only the CSRF token: the confirmation page is the question, the button the answer."""


# -- manager --------------------------------------------------------------------------------------


# -- admin ----------------------------------------------------------------------------------------


# -- gate -----------------------------------------------------------------------------------------
