"""`/manage/overrides`: dated quota overrides (create, delete) and the holiday preset; a change that
would take spaces away asks refuse or bump first."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from parking import clock
from parking.errors import QuotaBelowBooked
from parking.garages import template_services
from parking.garages.models import Garage
from parking.garages.services import today
from parking.i18n import gettext as _
from parking.quotas import holidays
from parking.quotas import services as quota_services
from parking.quotas.holidays import HolidayResult
from parking.web.forms.manage import DeleteOverrideForm, HolidayForm, OverrideForm, RangeForm
from parking.web.manage.garage import (
    bp,
    garage_page,
    murl,
    unique_ids,
    weekday_words,
)
from parking.web.manage.quota_changes import ask_policy, summary_outcome
from parking.web.pages import FORM_INVALID, Outcome, actor, post_form
from parking.web.pages import done as said

# -- overrides ------------------------------------------------------------------------------------


def _override_rows(garage: Garage, now: datetime) -> list[dict]:
    names = {t.id: t.name for t in template_services.list_templates(garage)}
    overrides = quota_services.list_overrides(garage, today(garage, now) - timedelta(days=1), None)
    return [
        {
            "override": o,
            "template": names.get(o.template_id, ""),
            "days": weekday_words(quota_services.days_of(o.weekdays)),
            "form": unique_ids(DeleteOverrideForm(formdata=None), o.id),
        }
        for o in overrides
    ]


def _overrides_page(
    garage: Garage,
    form: OverrideForm | None = None,
    holiday_form: HolidayForm | None = None,
    delete_errors: dict[int, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    now = clock.now()
    templates = template_services.list_templates(garage)
    if form is None:
        prefill = RangeForm(formdata=request.args)
        prefill.validate()
        start = prefill.start_date.data if not prefill.start_date.errors else None
        end = prefill.end_date.data if not prefill.end_date.errors else None
        template_id = request.args.get("template_id", type=int)
        form = OverrideForm(
            formdata=None, data={"start_date": start, "end_date": end or start, "template_id": template_id}
        )
    form.template_id.choices = [SelectChoice(t.id, t.name) for t in templates]
    first, last = holidays.supported_years()
    if holiday_form is None:
        holiday_form = HolidayForm(formdata=None, data={"year": min(today(garage, now).year + 1, last)})
    unique_ids(holiday_form, "holiday")  # the page's other form has a `quota` field too
    return (
        render_template(
            "manage/overrides.html",
            garage=garage,
            form=form,
            holiday_form=holiday_form,
            rows=_override_rows(garage, now),
            delete_errors=delete_errors or {},
            templates=templates,
            holiday_years=(first, last),
        ),
        status,
    )


@bp.get("/manage/overrides")
@garage_page
def overrides(garage: Garage) -> ResponseReturnValue:
    return _overrides_page(garage)


@bp.post("/manage/overrides")
@garage_page
def create_override(garage: Garage) -> ResponseReturnValue:
    form = OverrideForm()
    form.template_id.choices = [SelectChoice(t.id, t.name) for t in template_services.list_templates(garage)]
    back = murl("manage.overrides")
    return post_form(
        form,
        lambda: quota_services.create_override(garage, form.api_data(), actor(), clock.now()),
        lambda override: summary_outcome(back, override.result),  # type: ignore[attr-defined]  # the change summary the service attaches
        lambda status: _overrides_page(garage, form=form, status=status),
        invalid="flash",
        asks={QuotaBelowBooked: lambda exc: ask_policy(form, exc, garage, back, _("the new rule for these nights"))},
    )


@bp.post("/manage/overrides/<id:override_id>/delete")
@garage_page
def delete_override(garage: Garage, override_id: int) -> ResponseReturnValue:
    form = DeleteOverrideForm()
    back = murl("manage.overrides")

    def page(status: int) -> Any:
        refused = [*form.form_errors, *(m for field in form for m in field.errors)]
        said = [str(FORM_INVALID)] if status == 422 or not refused else [str(m) for m in refused]
        return _overrides_page(garage, delete_errors={override_id: " ".join(said)}, status=status)

    return post_form(
        form,
        lambda: quota_services.delete_override(garage, override_id, form.policy.data, actor(), clock.now()),
        lambda summary: summary_outcome(back, summary),
        page,
        invalid=None,
        asks={QuotaBelowBooked: lambda exc: ask_policy(form, exc, garage, back, _("removing this rule"))},
    )


@bp.post("/manage/overrides/holidays")
@garage_page
def holiday_preset(garage: Garage) -> ResponseReturnValue:
    form = HolidayForm()
    back = murl("manage.overrides")

    def set_days(result: HolidayResult) -> Outcome:
        outcome = said(back, _("Holiday nights of %(year)s: %(n)s days set.", year=result.year, n=result.days))
        return summary_outcome(back, result, outcome)

    return post_form(
        form,
        lambda: holidays.apply_preset(garage, form.year.data, form.quota.data, form.policy.data, actor(), clock.now()),
        set_days,
        lambda status: _overrides_page(garage, holiday_form=form, status=status),
        invalid="flash",
        asks={
            QuotaBelowBooked: lambda exc: ask_policy(
                form, exc, garage, back, _("the holiday nights of %(year)s", year=form.year.data)
            )
        },
    )
