"""A template's monthly offer: its fee and monthly share, set by the garage's managers."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from parking.audit.services import record
from parking.auth.models import User
from parking.errors import (
    NotFound,
    Unprocessable,
)
from parking.extensions import db
from parking.i18n import lazy_gettext as _l
from parking.monthly.models import MonthlyOffer
from parking.monthly.months import month_of, month_text, next_month, sale_times
from parking.windows.models import Garage, TemplateMode, WindowTemplate
from parking.windows.services import today

DEFAULT_SHARE = Decimal("0.700")


OFFER_FIELDS = ("fee", "monthly_share", "sale_starts_on", "active")


class MonthlyNotOffered(Unprocessable):
    reason, message = "monthly_not_offered", _l("This window has no monthly pass.")


class MonthlyNotForBallot(Unprocessable):
    reason, message = (
        "monthly_not_for_ballot",
        _l("Nights drawn by lot cannot be sold monthly; make the window first come first."),
    )
    field = "fee"  # the form field a page puts the message beside


def offer_of(template_id: int) -> MonthlyOffer | None:
    return db.session.scalar(db.select(MonthlyOffer).where(MonthlyOffer.template_id == template_id))


def _offer_snapshot(offer: MonthlyOffer) -> dict[str, Any]:
    return {
        "fee": str(offer.fee),
        "monthly_share": str(offer.monthly_share),
        "sale_starts_on": offer.sale_starts_on.isoformat(),
        "active": offer.active,
    }


def set_offer(actor: User, garage: Garage, template_id: int, data: dict[str, Any], now: datetime) -> MonthlyOffer:
    """Create or change a template's monthly offer (managers; audited)."""
    template = db.session.get(WindowTemplate, template_id)
    if template is None or template.garage_id != garage.id:
        raise NotFound()
    if template.mode == TemplateMode.BALLOT:
        raise MonthlyNotForBallot()
    offer = db.session.scalar(db.select(MonthlyOffer).where(MonthlyOffer.template_id == template.id).with_for_update())
    before = _offer_snapshot(offer) if offer is not None else None
    if offer is None:
        offer = MonthlyOffer(
            garage_id=garage.id,
            template_id=template.id,
            fee=data["fee"],
            monthly_share=data.get("monthly_share", DEFAULT_SHARE),
            sale_starts_on=data.get("sale_starts_on") or today(garage, now),
            active=data.get("active", True),
            created_at=now,
            updated_at=now,
        )
        db.session.add(offer)
    else:
        for name in OFFER_FIELDS:
            if name in data and data[name] is not None:
                setattr(offer, name, data[name])
        offer.updated_at = now
    db.session.flush()
    db.session.refresh(offer)  # the database's rounding of the decimals
    action = "monthly_offer.created" if before is None else "monthly_offer.changed"
    record(actor, action, offer, before=before, after=_offer_snapshot(offer), at=now)
    return offer


def offers_of(garage: Garage, *, active_only: bool = False) -> list[MonthlyOffer]:
    stmt = db.select(MonthlyOffer).where(MonthlyOffer.garage_id == garage.id)
    if active_only:
        stmt = stmt.where(MonthlyOffer.active.is_(True))
    return list(db.session.scalars(stmt.order_by(MonthlyOffer.template_id)))


def share_cap(quota: int, share: Decimal) -> int:
    """The spaces of a night that monthly holders may hold at most: the share of its quota, down."""
    return int((Decimal(quota) * share).to_integral_value(rounding=ROUND_FLOOR))


def with_sales(offer: MonthlyOffer, garage: Garage, now: datetime) -> MonthlyOffer:
    """The offer with this month's and next month's sale times (for the schema)."""
    this_month = month_of(today(garage, now))
    offer.sales = [  # type: ignore[attr-defined]  # a transient attribute the response schema reads
        {**sale_times(offer, garage, m).__dict__, "month": month_text(m)} for m in (this_month, next_month(this_month))
    ]
    return offer
