"""`/manage/templates`: the garage's window templates and its rules."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from parking import clock
from parking.errors import QuotaBelowBooked
from parking.garages import template_services
from parking.garages.models import Garage
from parking.i18n import gettext as _
from parking.i18n import lazy_gettext as _l
from parking.web.forms.manage import TemplateForm
from parking.web.manage.garage import (
    bp,
    garage_page,
    murl,
    weekday_words,
)
from parking.web.manage.quota_changes import ask_policy, summary_outcome
from parking.web.pages import actor, post_form
from parking.web.pages import done as said
from parking.windows import rules as garage_rules

# -- templates ------------------------------------------------------------------------------------


def _templates_page(garage: Garage, form: TemplateForm | None = None, status: int = 200) -> ResponseReturnValue:
    templates = template_services.list_templates(garage)
    rules = [
        {"label": rule.summary, "value": rule.unit % {"n": getattr(garage, rule.name)}}
        for rule in garage_rules.RULES
        if rule.summary is not None and rule.unit is not None
    ]
    return (
        render_template(
            "manage/templates.html",
            garage=garage,
            rows=[
                {"template": t, "days": weekday_words(t.weekday_list), "mode": _mode_words(t.mode.value)}
                for t in templates
            ],
            form=form or TemplateForm(formdata=None, data={"weekdays": list(range(1, 8))}),
            rules=rules,
        ),
        status,
    )


def _mode_words(mode: str) -> str:
    return str(_l("Ballot (draw)") if mode == "ballot" else _l("First come, first served"))


@bp.get("/manage/templates")
@garage_page
def templates(garage: Garage) -> ResponseReturnValue:
    return _templates_page(garage)


@bp.post("/manage/templates")
@garage_page
def create_template(garage: Garage) -> ResponseReturnValue:
    form = TemplateForm()
    return post_form(
        form,
        lambda: template_services.create_template(garage, form.api_data(), actor(), clock.now()),
        lambda template: said(
            murl("manage.templates"),
            _("Window added; %(n)s nights opened for booking.", n=template.windows_created),  # type: ignore[attr-defined]  # the count the service attaches
        ),
        lambda status: _templates_page(garage, form, status),
        invalid="flash",
    )


@bp.route("/manage/templates/<id:template_id>", methods=["GET", "POST"])
@garage_page
def edit_template(garage: Garage, template_id: int) -> ResponseReturnValue:
    template = template_services.get_template(garage, template_id)
    status = 200
    if request.method == "GET":
        form = TemplateForm(
            formdata=None,
            data={
                "name": template.name,
                "weekdays": template.weekday_list,
                "start_time": template.start_time,
                "end_time": template.end_time,
                "default_quota": template.default_quota,
                "mode": template.mode.value,
            },
        )
        return render_template("manage/template_edit.html", garage=garage, template=template, form=form), status
    form = TemplateForm()
    back = murl("manage.edit_template", template_id=template_id)
    return post_form(
        form,
        lambda: template_services.update_template(
            garage, template_id, {**form.api_data(), "policy": form.policy.data}, actor(), clock.now()
        ),
        lambda updated: summary_outcome(murl("manage.templates"), updated.result),  # type: ignore[attr-defined]  # the change summary the service attaches
        lambda status: (
            render_template("manage/template_edit.html", garage=garage, template=template, form=form),
            status,
        ),
        invalid="flash",
        asks={QuotaBelowBooked: lambda exc: ask_policy(form, exc, garage, back, _("the new number of spaces"))},
    )
