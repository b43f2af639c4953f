"""The manager's forms: overrides and the bump question, holidays, verification, the address list,
templates, reports, the audit trail's filters, the calendar, monthly offers and statements."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
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
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from parking.fields import FIRST_DAY, LAST_DAY, month_start
from parking.i18n import lazy_gettext as _l
from parking.web.forms.fields import (
    REQUIRED,
    no_control_characters,
    strip,
)
from parking.windows.rules import MAX_QUOTA

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
        filters=[strip],
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
        filters=[strip],
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
        filters=[strip],
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
        filters=[strip],
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
        filters=[strip],
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
        filters=[strip],
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
        filters=[strip],
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
        filters=[strip],
        validators=[
            Optional(),
            Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message=_l("Enter a month like 2026-12.")),
            IN_CALENDAR,
        ],
        render_kw={"placeholder": "2026-12"},
    )
