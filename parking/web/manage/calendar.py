"""`/manage/calendar`: a month of nights per template, each with its quota, bookings, waitlist and
state; a night or a range of nights leads to an override."""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_skeleton
from flask import render_template, request
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from parking import clock
from parking.garages import template_services
from parking.garages.models import Garage
from parking.garages.services import today
from parking.i18n import get_locale
from parking.quotas.calendar import month_nights
from parking.web.forms.manage import WEEKDAY_NAMES, CalendarForm, RangeForm
from parking.web.manage.garage import (
    bp,
    garage_page,
)
from parking.web.pages import read_form

# -- calendar -------------------------------------------------------------------------------------


def _month_of(text: str | None, fallback: date) -> date:
    if text:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    return fallback.replace(day=1)


@bp.get("/manage/calendar")
@garage_page
def calendar(garage: Garage) -> ResponseReturnValue:
    now = clock.now()
    templates = template_services.list_templates(garage)
    form = CalendarForm(formdata=request.args)
    form.template_id.choices = [SelectChoice(t.id, t.name) for t in templates]
    status = 200
    if request.args.get("template_id") is None:
        form.template_id.data = templates[0].id if templates else None
    if not templates:
        return render_template("manage/calendar.html", garage=garage, form=form, template=None)
    if not read_form(form):
        status = 422
        valid_template = form.template_id.data in {t.id for t in templates}
        form.template_id.data = form.template_id.data if valid_template else templates[0].id
    template = next(t for t in templates if t.id == form.template_id.data)
    local_today = today(garage, now)
    first = _month_of(None if form.month.errors else form.month.data, local_today)
    weeks = month_nights(garage, template, first.year, first.month, now)
    if not form.month.errors:
        form.month.data = first.strftime("%Y-%m")
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    range_form = RangeForm(formdata=None)
    return (
        render_template(
            "manage/calendar.html",
            garage=garage,
            form=form,
            template=template,
            weeks=weeks,
            month_title=format_skeleton("yMMMM", first, locale=str(get_locale() or "zh")),
            previous=previous.strftime("%Y-%m"),
            following=following.strftime("%Y-%m"),
            weekday_names=[name for _, name in WEEKDAY_NAMES],
            range_form=range_form,
            today=local_today,
        ),
        status,
    )
