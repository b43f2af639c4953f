"""`/manage/draw/<window>`: the published draw of a ballot night, with each entry's household."""

from __future__ import annotations

from typing import Any

from flask import g, render_template
from flask.typing import ResponseReturnValue

from parking.auth.models import Role, User
from parking.bookings import ballot
from parking.catalogue import DRAW_ENTRY
from parking.errors import NotFound
from parking.extensions import db
from parking.garages.models import Window
from parking.households.models import Household
from parking.i18n import gettext as _
from parking.quotas.scope import managed_garage
from parking.web.manage.garage import (
    bp,
    day_label,
    garages_of,
    local_datetime,
)
from parking.web.pages import actor, roles_required
from parking.web.resident_display import address_words

# -- the draw of a ballot night -------------------------------------------------------------------

#: The badge of an entry of the draw, by its result (the words are the catalogue's).
DRAW_BADGES = {"confirmed": ("✔", "badge-ok"), "waitlisted": ("◷", "badge-warn")}


def draw_view(user: User, window_id: int) -> dict[str, Any]:
    """The published draw of a ballot night (the service behind GET /api/v1/windows/{id}/draw),
    with each entry's household address, for a manager of the night's garage."""
    window = db.session.get(Window, window_id)
    if window is None:
        raise NotFound()
    garage = managed_garage(user, window.garage_id)
    drawn = ballot.published(window.id)
    entries = drawn.entries or []
    ids = [entry.household_id for entry in entries]
    households = {h.id: h for h in db.session.scalars(db.select(Household).where(Household.id.in_(ids)))} if ids else {}
    rows = []
    for place, entry in enumerate(entries, start=1):
        icon, badge = DRAW_BADGES.get(entry.result, ("", "badge-plain"))
        words = DRAW_ENTRY.get(entry.result, entry.result)
        household = households.get(entry.household_id)
        rows.append(
            {
                "place": place,
                "address": address_words(household) if household is not None else str(entry.household_id),
                "household_id": entry.household_id,
                "wins": entry.wins,
                "bumped": _("Yes") if entry.bumped else _("No"),
                "u": f"{entry.u:.6f}",
                "icon": icon,
                "result": words,
                "badge": badge,
            }
        )
    closes = drawn.ballot_closes_at
    return {
        "garage": garage,
        "window": window,
        "day": day_label(window.service_date),
        "commitment": drawn.commitment,
        "closes": local_datetime(closes, garage) if closes is not None else "",
        "drawn": drawn.drawn,
        "drawn_at": local_datetime(drawn.drawn_at, garage) if drawn.drawn_at is not None else "",
        "requested": drawn.requested,
        "seed": drawn.seed,
        "quota": drawn.quota,
        "entries": rows,
    }


@bp.get("/manage/draw/<id:window_id>")
@roles_required(Role.MANAGER)
def draw(window_id: int) -> ResponseReturnValue:
    user = actor()
    context = draw_view(user, window_id)
    g.manage_garage = context["garage"]
    g.manage_garages = garages_of(user)
    return render_template("manage/draw.html", **context)
