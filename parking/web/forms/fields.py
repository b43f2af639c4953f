"""What every form shares: the required-field message, the phone field and its checks, a <select>
that refuses a value outside its choices in plain words."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    ValidationError,
)

from parking.fields import PHONE_RE
from parking.i18n import lazy_gettext as _l

REQUIRED = _l("Please fill this in.")


def strip(value: Any) -> Any:
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


def int_or_none(value: Any) -> int | None:
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
