"""`/manage/reports`: the nights report with its charts and table, and its CSV."""

from __future__ import annotations

from dataclasses import asdict

from babel.dates import format_skeleton
from flask import Response, render_template, request
from flask.typing import ResponseReturnValue

from parking import clock
from parking.errors import DomainError
from parking.garages.models import Garage
from parking.i18n import get_locale
from parking.i18n import gettext as _
from parking.reports import services as report_services
from parking.reports.services import NightRow, NightsReport
from parking.web.charts import Row, Series, bar_chart
from parking.web.forms.manage import ReportForm
from parking.web.manage.garage import (
    bp,
    garage_page,
    murl,
    state_words,
)
from parking.web.pages import form_failed, read_form

# -- reports --------------------------------------------------------------------------------------


def _report(garage: Garage, form: ReportForm) -> NightsReport | None:
    """The nights report for the form's range, or None with the message beside the field."""
    if not read_form(form):
        return None
    try:
        return report_services.nights(garage, form.from_.data, form.to.data, clock.now())
    except DomainError as exc:
        form_failed(form, exc)
        return None


def _percent(value: float | None) -> str:
    return _("closed") if value is None else f"{round(value * 100)}%"


def _count(value: float | None) -> str:
    return "—" if value is None else str(int(value))


@bp.get("/manage/reports")
@garage_page
def reports(garage: Garage) -> ResponseReturnValue:
    form = ReportForm(formdata=request.args)
    report = _report(garage, form)
    if report is None:
        return render_template("manage/reports.html", garage=garage, form=form, report=None), 422
    form.from_.data, form.to.data = report.start, report.end
    several = len({row.template for row in report.rows}) > 1

    def label(row: NightRow) -> str:
        text = format_skeleton("MMMd", row.service_date, locale=str(get_locale() or "zh"))
        return f"{text} {row.template}" if several else text

    rows = [asdict(row) | {"label": label(row), "state_words": state_words(row.state)} for row in report.rows]
    span = {"start": report.start.isoformat(), "end": report.end.isoformat()}
    utilisation = bar_chart(
        "chart-utilisation",
        _("Spaces used per night, %(start)s to %(end)s", **span),
        _("Cars that came as a share of the spaces; before a night starts, the spaces booked."),
        [Row(r["label"], [r["utilisation"]]) for r in rows],
        [Series("utilisation", _("Used"), "solid")],
        _percent,
        maximum=1.0,
    )
    problems = bar_chart(
        "chart-problems",
        _("No-shows and overstays per night, %(start)s to %(end)s", **span),
        _("Bookings whose car did not come, and cars that stayed past the end."),
        [Row(r["label"], [r["no_shows"], r["overstays"]]) for r in rows],
        [Series("no_shows", _("No-shows"), "hatch"), Series("overstays", _("Overstays"), "dots")],
        _count,
    )
    csv_url = murl("manage.reports_csv", **{"from": span["start"], "to": span["end"]})
    return render_template(
        "manage/reports.html",
        garage=garage,
        form=form,
        report=report,
        rows=rows,
        charts=[(_("Spaces used per night"), utilisation), (_("No-shows and overstays per night"), problems)]
        if rows
        else [],
        csv_url=csv_url,
        percent=_percent,
    )


@bp.get("/manage/reports/nights.csv")
@garage_page
def reports_csv(garage: Garage) -> ResponseReturnValue:
    """The same CSV as `GET /api/v1/garages/<id>/reports/nights?format=csv`, from the same service."""
    form = ReportForm(formdata=request.args)
    report = _report(garage, form)
    if report is None:
        return render_template("manage/reports.html", garage=garage, form=form, report=None), 422
    filename = f"nights-{garage.id}-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    return Response(
        report_services.to_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
