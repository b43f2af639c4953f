"""`/manage/audit`: the audit trail with its filters."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import render_template, request
from flask.typing import ResponseReturnValue

from parking import clock
from parking.catalogue import AUDIT_ACTIONS, AUDIT_FIELDS, AUDIT_OBJECTS, audit_reason, audit_value
from parking.errors import DomainError
from parking.garages.models import Garage
from parking.reports import audit_search
from parking.web.forms.manage import AuditForm
from parking.web.manage.garage import (
    AUDIT_PAGE,
    bp,
    garage_page,
    local_datetime,
    murl,
    weekday_words,
)
from parking.web.pages import actor, form_failed, read_form
from parking.windows.rules import BY_NAME

# -- audit ----------------------------------------------------------------------------------------


def _local_midnight(day: date, garage: Garage) -> datetime:
    return clock.local_midnight(day, garage.timezone)


def field_words(name: str) -> str:
    """An audited field in the reader's words: the catalogue's, a garage rule's, else its name."""
    if name in AUDIT_FIELDS:
        return str(AUDIT_FIELDS[name])
    rule = BY_NAME.get(name)
    if rule is not None:
        return str(rule.summary or rule.label)
    return name


def value_words(value: object, garage: Garage, field: str = "") -> str:
    """An audited value in words; an instant on the garage's clock; weekdays by their names."""
    if field == "weekday_list" and isinstance(value, list):
        return weekday_words([int(day) for day in value])
    if field == "weekdays" and isinstance(value, int):  # a bit mask, like the template's
        return weekday_words([day for day in range(1, 8) if value & (1 << (day - 1))])
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and value[10:11] == "T":
        try:
            return local_datetime(datetime.fromisoformat(value), garage)
        except ValueError:
            pass
    return audit_value(value)


def _changes(before: dict | None, after: dict | None, garage: Garage) -> list[dict]:
    keys = list(dict.fromkeys([*(before or {}), *(after or {})]))
    return [
        {
            "field": key,
            "words": field_words(key),
            "before": value_words((before or {}).get(key), garage, key),
            "after": value_words((after or {}).get(key), garage, key),
        }
        for key in keys
        if (before or {}).get(key) != (after or {}).get(key)
    ]


@bp.get("/manage/audit")
@garage_page
def audit(garage: Garage) -> ResponseReturnValue:
    form = AuditForm(formdata=request.args)
    if not read_form(form):
        return render_template("manage/audit.html", garage=garage, form=form, events=None), 422
    page = form.page.data or 1
    start = _local_midnight(form.from_.data, garage) if form.from_.data else None
    end = _local_midnight(form.to.data + timedelta(days=1), garage) if form.to.data else None
    try:
        events, total = audit_search.search(
            actor(),
            object_ref=form.object.data or None,
            actor_id=form.actor.data,
            garage_id=garage.id,
            start=start,
            end=end,
            offset=(page - 1) * AUDIT_PAGE,
            limit=AUDIT_PAGE,
        )
    except DomainError as exc:
        if exc.code == 403:
            raise
        form_failed(form, exc)
        return render_template("manage/audit.html", garage=garage, form=form, events=None), exc.code
    filters = {
        key: value
        for key, value in {
            "object": form.object.data,
            "actor": form.actor.data,
            "from": form.from_.data.isoformat() if form.from_.data else None,
            "to": form.to.data.isoformat() if form.to.data else None,
        }.items()
        if value
    }
    rows = [
        {
            "event": e,
            "at": local_datetime(e.at, garage),
            "object": f"{e.object_type}:{e.object_id}",
            "object_words": f"{AUDIT_OBJECTS.get(e.object_type, e.object_type)} {e.object_id}",
            "action": str(AUDIT_ACTIONS.get(e.action, e.action)),
            "reason": audit_reason(e.reason),
            "actor": e.actor,  # type: ignore[attr-defined]  # a transient attribute the audit search sets
            "changes": _changes(e.before, e.after, garage),
        }
        for e in events
    ]
    pages = max(1, -(-total // AUDIT_PAGE))
    return render_template(
        "manage/audit.html",
        garage=garage,
        form=form,
        events=rows,
        total=total,
        page=page,
        pages=pages,
        filters=filters,
        previous_url=murl("manage.audit", page=page - 1, **filters) if page > 1 else None,
        next_url=murl("manage.audit", page=page + 1, **filters) if page < pages else None,
    )
