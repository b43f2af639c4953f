"""Helpers for the monthly-pass tests: a garage whose nightly window sells a monthly pass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from parking import clock
from parking.auth.models import User
from parking.extensions import db
from parking.monthly.models import MonthlyOffer
from parking.windows.models import Garage, Window, WindowTemplate

SH = ZoneInfo("Asia/Shanghai")
DECEMBER = "2026-12"


def sh(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


@dataclass
class Offer:
    garage: Garage
    template: WindowTemplate
    manager: User
    offer: MonthlyOffer


def offered(factory, *, quota: int = 10, fee: str = "310.00", share: str = "0.7", **template: Any) -> Offer:
    """A garage with a nightly window (19:00 → 07:30, `quota`) selling a monthly pass from 1 Dec."""
    garage = factory.garage()
    tpl = factory.template(garage, default_quota=quota, **template)
    offer = MonthlyOffer(
        garage_id=garage.id,
        template_id=tpl.id,
        fee=Decimal(fee),
        monthly_share=Decimal(share),
        sale_starts_on=date(2026, 12, 1),
        active=True,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    db.session.add(offer)
    db.session.commit()
    return Offer(garage, tpl, factory.manager(garage), offer)


def subscribe(client, factory, user: User, setup: Offer, plate: str, month: str = DECEMBER, **extra: Any):
    body = {"template_id": setup.template.id, "month": month, "plate": plate, **extra}
    return client.post("/api/v1/subscriptions", json=body, headers=factory.headers(user))


def window_of(setup: Offer, day: date) -> Window:
    window = db.session.scalar(
        db.select(Window).where(Window.template_id == setup.template.id, Window.service_date == day)
    )
    assert window is not None
    return window
