"""The admin's forms: a garage with its rules (from the rules catalogue) and its staff."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Optional,
)

from parking.i18n import lazy_gettext as _l
from parking.web.forms.fields import (
    phone_field,
)
from parking.windows import rules as garage_rules


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


class EraseAccountByAdminForm(FlaskForm):
    """An admin erases someone's account, named by its phone number, after ticking the box."""

    phone = phone_field()
    understood = BooleanField(
        _l("I understand: this account and its bookings to come are gone, and this cannot be undone."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class WebhookForm(FlaskForm):
    """The garage's SMS or WeChat gateway: where its notifications are POSTed (the API's `url`)."""

    url = StringField(_l("Gateway address (http:// or https://)"))
