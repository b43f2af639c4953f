"""The resident's booking forms: a night, several nights, a cancel; a monthly pass bought, renewed,
or a night of it handed back."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Regexp,
)

from parking.i18n import lazy_gettext as _l
from parking.web.forms.fields import (
    strip,
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
    plate = StringField(filters=[strip], validators=[DataRequired(_l("Please choose the car.")), Length(max=32)])
    waitlist = BooleanField()
    # One per rendered form (the `form_key()` of the template): a double tap books once.
    idempotency_key = HiddenField()


class NightsForm(FlaskForm):
    """Several nights at once: the ticked nights, one car, and whether the nights that can be
    booked are kept when others cannot."""

    window_ids = SelectMultipleField(
        coerce=str, validate_choice=False, validators=[DataRequired(_l("Please tick at least one night."))]
    )
    plate = StringField(filters=[strip], validators=[DataRequired(_l("Please choose the car.")), Length(max=32)])
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
    accept_partial = BooleanField(_l("If some nights cannot be booked, take the other nights"))
    idempotency_key = HiddenField()


class RenewForm(FlaskForm):
    accept_partial = BooleanField(_l("If some nights cannot be booked, take the other nights"))


class HandBackForm(FlaskForm):
    """Only the CSRF token: the confirmation page is the question, the button the answer."""
