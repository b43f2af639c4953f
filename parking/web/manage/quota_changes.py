"""A change of quotas on a manager page: what it did, in words, and the question asked first when it
would take spaces away (refuse or bump; nothing changes before the manager confirms)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request
from flask.typing import ResponseReturnValue

from parking.errors import QuotaBelowBooked
from parking.extensions import db
from parking.garages.models import Garage
from parking.i18n import gettext as _
from parking.quotas import services as quota_services
from parking.quotas.services import ChangeSummary
from parking.web.forms.manage import PolicyForm
from parking.web.pages import Outcome, undo


def summary_outcome(location: str, summary: ChangeSummary, outcome: Outcome | None = None) -> Outcome:
    """What a change of quotas did, in words, then `location`."""
    outcome = outcome or Outcome(location)
    outcome.say(_("Saved. Nights changed: %(n)s.", n=summary.windows_changed), "success")
    if summary.bumped:
        outcome.say(_("%(n)s bookings lost their space; those households have been told.", n=summary.bumped), "warning")
    if summary.promoted:
        outcome.say(_("%(n)s households moved up from the waitlist.", n=summary.promoted), "info")
    if summary.waitlist_cancelled:
        outcome.say(_("%(n)s waitlist entries were withdrawn.", n=summary.waitlist_cancelled), "info")
    return outcome


def ask_policy(form: PolicyForm, exc: QuotaBelowBooked, garage: Garage, back: str, what: Any) -> ResponseReturnValue:
    """Spaces would be taken away: ask refuse or bump, or (refused at the second step) say that
    nothing changed."""
    if form.confirming and form.policy.data == quota_services.REFUSE:
        db.session.rollback()  # a redirect follows: nothing of this request is drawn again
        flash(_("Nothing was changed: every booking keeps its space."), "info")
        return redirect(back)
    undo()
    details = exc.details or {}
    nights = [
        {"day": date.fromisoformat(w["service_date"]), "affected": w["affected"], "quota": w["quota"]}
        for w in details.get("windows", [])
    ]
    hidden = [
        (name, value)
        for name, values in request.form.lists()
        if name not in {"csrf_token", "policy", "confirm"}
        for value in values
    ]
    confirm = PolicyForm(formdata=None)
    return (
        render_template(
            "manage/confirm_cut.html",
            garage=garage,
            what=what,
            affected=details.get("affected", 0),
            nights=nights,
            hidden=hidden,
            form=confirm,
            action=request.full_path.rstrip("?"),
            back=back,
        ),
        409,
    )
