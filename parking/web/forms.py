"""Flask-WTF forms, one per form. Field names are the API field names (DESIGN section 8), and every
message is in the catalog. Each role's forms stay in their own section."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from parking import plates
from parking.fields import FIRST_DAY, LAST_DAY, PHONE_RE, month_start
from parking.plates import PROVINCES
from parking.windows import rules as garage_rules
from parking.windows.rules import MAX_QUOTA

REQUIRED = _l("Please fill this in.")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


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


class ResetForm(FlaskForm):
    phone = phone_field()
    code = StringField(
        _l("Reset code (8 digits)"),
        filters=[_strip],
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
        filters=[_strip],
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


# -- resident -------------------------------------------------------------------------------------


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


# Only "filled in" here: the household service checks and normalises each part (and names the part
# it refuses), so that the page and the API say the same; no maxlength that would cut a value silently.
ADDRESS_PART = [DataRequired(REQUIRED), no_control_characters]


class HouseholdForm(FlaskForm):
    garage_id = ChoiceField(
        _l("Garage"), coerce=_int_or_none, not_a_choice=_l("Please choose the garage from the list.")
    )
    building = StringField(_l("Building"), filters=[_strip], validators=ADDRESS_PART)
    unit = StringField(_l("Unit (entrance)"), filters=[_strip], validators=ADDRESS_PART)
    room = StringField(_l("Room"), filters=[_strip], validators=ADDRESS_PART)


class ResubmitForm(FlaskForm):
    """A rejected household's corrected address, sent again."""

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


NIGHT_KEY = r"^(\d{1,18}|t\d{1,18}-\d{4}-\d{2}-\d{2})$"


class BookForm(FlaskForm):
    # The night's key: its window's id, or `t<template>-<date>` for a night not made yet.
    window_id = StringField(
        validators=[
            InputRequired(_l("Please choose a night.")),
            Regexp(NIGHT_KEY, message=_l("Please choose a night.")),
        ]
    )
    plate = StringField(filters=[_strip], validators=[DataRequired(_l("Please choose the car.")), Length(max=32)])
    waitlist = BooleanField()
    # One per rendered form (the `form_key()` of the template): a double tap books once.
    idempotency_key = HiddenField()


class NightsForm(FlaskForm):
    """Several nights at once: the ticked nights, one car, and whether the nights that can be
    booked are kept when others cannot."""

    window_ids = SelectMultipleField(
        coerce=str, validate_choice=False, validators=[DataRequired(_l("Please tick at least one night."))]
    )
    plate = StringField(filters=[_strip], validators=[DataRequired(_l("Please choose the car.")), Length(max=32)])
    accept_partial = BooleanField()
    idempotency_key = HiddenField()


class CancelForm(FlaskForm):
    """Only the CSRF token: the confirmation page is the question, the button the answer."""


class SubscribeForm(FlaskForm):
    """A monthly pass: the window, the month (this one or the next), the car, and whether to take
    the nights that have room when some are full. The month and car choices are set by the view."""

    template_id = IntegerField(validators=[InputRequired(_l("Please choose the window."))])
    month = RadioField(_l("Which month?"), validators=[InputRequired(_l("Please choose the month."))])
    plate = RadioField(_l("Which car?"), validators=[InputRequired(_l("Please choose the car."))])
    accept_partial = BooleanField(_l("If some nights are full, take the other nights"))
    idempotency_key = HiddenField()


class RenewForm(FlaskForm):
    accept_partial = BooleanField(_l("If some nights are full, take the other nights"))


class HandBackForm(FlaskForm):
    """Only the CSRF token: the confirmation page is the question, the button the answer."""


# -- manager --------------------------------------------------------------------------------------

DATE_INVALID = _l("Enter a date like 2026-12-31.")
NUMBER_INVALID = _l("Enter a whole number.")


class WithinCalendar:
    """A date, or a month as YYYY-MM, from FIRST_DAY to LAST_DAY: what the services can compute
    with (the API's fields hold the same bounds)."""

    def __call__(self, form: Any, field: Any) -> None:
        value = field.data
        if value in (None, ""):
            return
        inside = month_start(value) is not None if isinstance(value, str) else FIRST_DAY <= value <= LAST_DAY
        if not inside:
            raise ValidationError(
                _l("Choose a year from %(first)s to %(last)s.", first=FIRST_DAY.year, last=LAST_DAY.year)
            )


IN_CALENDAR = WithinCalendar()

WEEKDAY_NAMES = [
    (1, _l("Mon")),
    (2, _l("Tue")),
    (3, _l("Wed")),
    (4, _l("Thu")),
    (5, _l("Fri")),
    (6, _l("Sat")),
    (7, _l("Sun")),
]
POLICY_CHOICES = [
    SelectChoice("refuse", _l("Keep every booking: change nothing")),
    SelectChoice("bump", _l("Take the spaces back: the newest bookings lose them and their households are told")),
]


class WeekdaysField(SelectMultipleField):
    """Checkboxes 1..7 (1 = Monday), named `weekdays` like the API's list."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [SelectChoice(day, name) for day, name in WEEKDAY_NAMES])
        kwargs.setdefault("coerce", int)
        super().__init__(label, validators, **kwargs)

    def pre_validate(self, form: Any) -> None:
        if any(day not in range(1, 8) for day in self.data or []):
            raise ValidationError(_l("Choose days from Monday to Sunday."))


def quota_field(label: Any, required: bool) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(REQUIRED) if required else Optional(),
            NumberRange(min=0, max=MAX_QUOTA, message=_l("Enter a number from 0 to %(max)s.", max=MAX_QUOTA)),
        ],
        invalid_value_message=NUMBER_INVALID,
    )


class PolicyForm(FlaskForm):
    """The second step of a change that would take spaces away: refuse or bump."""

    policy = RadioField(_l("What should happen to those bookings?"), choices=POLICY_CHOICES, default="refuse")
    confirm = StringField()

    @property
    def confirming(self) -> bool:
        return self.confirm.data == "1"


class OverrideForm(PolicyForm):
    template_id = SelectField(_l("Window"), coerce=int, validate_choice=True)
    start_date = DateField(
        _l("First night"), validators=[InputRequired(REQUIRED), IN_CALENDAR], invalid_value_message=DATE_INVALID
    )
    end_date = DateField(
        _l("Last night"), validators=[InputRequired(REQUIRED), IN_CALENDAR], invalid_value_message=DATE_INVALID
    )
    weekdays = WeekdaysField(_l("Only on these days (none ticked: every day)"))
    quota = quota_field(_l("Spaces for residents"), required=False)
    closed = BooleanField(_l("Closed to residents on these nights"))
    reason = StringField(
        _l("Reason (residents may see it)"),
        filters=[_strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=255, message=_l("At most 255 characters.")),
            no_control_characters,
        ],
    )

    def validate_end_date(self, field: Any) -> None:
        if self.start_date.data and field.data and field.data < self.start_date.data:
            raise ValidationError(_l("The last night cannot be before the first night."))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.quota.errors:
            return False
        # Here, not in a field validator: Optional() ends the quota's own chain when it is empty.
        if self.closed.data and self.quota.data is not None:
            self.quota.errors = [*self.quota.errors, _l("Give a number of spaces, or tick closed, not both.")]
            return False
        if not self.closed.data and self.quota.data is None:
            self.quota.errors = [*self.quota.errors, _l("Give a number of spaces, or tick closed.")]
            return False
        return valid

    def api_data(self) -> dict:
        return {
            "template_id": self.template_id.data,
            "start_date": self.start_date.data,
            "end_date": self.end_date.data,
            "weekdays": sorted(set(self.weekdays.data)) if self.weekdays.data else None,
            "quota": None if self.closed.data else self.quota.data,
            "closed": bool(self.closed.data),
            "reason": self.reason.data,
            "policy": self.policy.data,
        }


class DeleteOverrideForm(PolicyForm):
    pass


class HolidayForm(PolicyForm):
    year = IntegerField(
        _l("Year"),
        validators=[InputRequired(REQUIRED), NumberRange(min=1900, max=2200, message=_l("Enter a year like 2027."))],
        invalid_value_message=_l("Enter a year like 2027."),
    )
    quota = quota_field(_l("Spaces for residents on holiday nights"), required=True)


class VerifyForm(FlaskForm):
    decision = SelectField(
        _l("Decision"),
        choices=[SelectChoice("verified", _l("Approve")), SelectChoice("rejected", _l("Reject"))],
        validators=[InputRequired(REQUIRED)],
    )
    reason = StringField(
        _l("Reason"),
        filters=[_strip],
        validators=[Length(max=255, message=_l("At most 255 characters.")), no_control_characters],
    )

    def validate_reason(self, field: Any) -> None:
        if self.decision.data == "rejected" and not field.data:
            raise ValidationError(_l("Say why, so that the household knows what to fix."))


class ReopenForm(FlaskForm):
    """A manager takes a rejected household back into the queue."""


class ReleaseForm(FlaskForm):
    reason = StringField(
        _l("Why the plate leaves this household"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Say why, e.g. the car was sold to another household.")),
            Length(max=255, message=_l("At most 255 characters.")),
            no_control_characters,
        ],
    )


class AddressListForm(FlaskForm):
    spec = TextAreaField(
        _l("The estate's addresses"),
        filters=[lambda v: v.replace("\r\n", "\n").strip() if isinstance(v, str) else v],
        validators=[Length(max=4000, message=_l("At most 4000 characters."))],
    )
    preview = SubmitField(_l("Preview"))


class TemplateForm(PolicyForm):
    name = StringField(
        _l("Name"),
        filters=[_strip],
        validators=[
            DataRequired(REQUIRED),
            Length(max=60, message=_l("At most 60 characters.")),
            no_control_characters,
        ],
    )
    weekdays = WeekdaysField(_l("Days of the week"), validators=[DataRequired(_l("Tick at least one day."))])
    start_time = TimeField(
        _l("Opens at"), validators=[InputRequired(REQUIRED)], invalid_value_message=_l("Enter a time like 19:00.")
    )
    end_time = TimeField(
        _l("Closes at (the next morning if earlier)"),
        validators=[InputRequired(REQUIRED)],
        invalid_value_message=_l("Enter a time like 07:30."),
    )
    default_quota = quota_field(_l("Spaces for residents"), required=True)
    mode = SelectField(
        _l("How spaces are given"),
        choices=[
            SelectChoice("first_come", _l("First come, first served")),
            SelectChoice("ballot", _l("Ballot (draw)")),
        ],
    )

    def api_data(self) -> dict:
        from parking.garages.models import TemplateMode

        return {
            "name": self.name.data,
            "weekdays": sorted(set(self.weekdays.data)),
            "start_time": self.start_time.data,
            "end_time": self.end_time.data,
            "default_quota": self.default_quota.data,
            "mode": TemplateMode(self.mode.data),
        }


class ReportForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it changes nothing

    from_ = DateField(_l("From"), name="from", validators=[Optional(), IN_CALENDAR], invalid_value_message=DATE_INVALID)
    to = DateField(_l("To"), validators=[Optional(), IN_CALENDAR], invalid_value_message=DATE_INVALID)

    def validate_to(self, field: Any) -> None:
        if self.from_.data and field.data and field.data < self.from_.data:
            raise ValidationError(_l("The end cannot be before the start."))


class AuditForm(ReportForm):
    object = StringField(
        _l("Object"),
        filters=[_strip],
        validators=[
            Optional(),
            Regexp(r"^[a-z_]{1,30}:[0-9]{1,18}$", message=_l("Write it like booking:42 or household:7.")),
        ],
    )
    actor = IntegerField(
        _l("Done by (user number)"),
        validators=[Optional(), NumberRange(min=1, max=2**31 - 1, message=NUMBER_INVALID)],
        invalid_value_message=NUMBER_INVALID,
    )
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=1_000_000)], default=1)


class CalendarForm(FlaskForm):
    class Meta:
        csrf = False

    template_id = SelectField(_l("Window"), coerce=int, validate_choice=True)
    month = StringField(
        _l("Month"),
        filters=[_strip],
        validators=[
            Optional(),
            Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message=_l("Write the month like 2026-12.")),
            IN_CALENDAR,
        ],
    )


class RangeForm(FlaskForm):
    """Pick a range of nights on the calendar; it opens the override form with them filled in."""

    class Meta:
        csrf = False

    start_date = DateField(_l("First night"), validators=[Optional(), IN_CALENDAR], invalid_value_message=DATE_INVALID)
    end_date = DateField(_l("Last night"), validators=[Optional(), IN_CALENDAR], invalid_value_message=DATE_INVALID)


class OfferForm(FlaskForm):
    """A window's monthly pass: fee, the share of each night monthly holders may hold, sale start."""

    fee = DecimalField(
        _l("Fee per month (yuan)"),
        places=2,
        validators=[InputRequired(REQUIRED), NumberRange(min=0, max=100_000, message=_l("Enter 0 to 100000 yuan."))],
        render_kw={"inputmode": "decimal"},
    )
    monthly_share = IntegerField(
        _l("Monthly holders may take at most this percentage of each night's spaces"),
        default=70,
        validators=[InputRequired(REQUIRED), NumberRange(min=1, max=100, message=_l("Enter 1 to 100."))],
        render_kw={"inputmode": "numeric"},
    )
    sale_starts_on = DateField(
        _l("On sale from"), validators=[InputRequired(REQUIRED), IN_CALENDAR], render_kw={"placeholder": "2026-12-01"}
    )
    active = BooleanField(_l("On sale"), default=True)


class PaidForm(FlaskForm):
    receipt_number = StringField(
        _l("Receipt number"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Type the number on the receipt.")),
            Length(max=40, message=_l("At most 40 characters.")),
            no_control_characters,
        ],
    )


class MonthForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter

    month = StringField(
        _l("Month"),
        filters=[_strip],
        validators=[
            Optional(),
            Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message=_l("Enter a month like 2026-12.")),
            IN_CALENDAR,
        ],
        render_kw={"placeholder": "2026-12"},
    )


# -- admin ----------------------------------------------------------------------------------------


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


for _rule in garage_rules.RULES:
    _kind = FloatField if _rule.decimal else IntegerField
    setattr(GarageForm, _rule.name, _kind(_rule.label, validators=[Optional()]))


class StaffForm(FlaskForm):
    phone = phone_field()
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("manager", _l("Manager")), SelectChoice("attendant", _l("Attendant"))],
        default="attendant",
    )


# -- gate -----------------------------------------------------------------------------------------


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
