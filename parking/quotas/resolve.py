"""Which quota applies to a template on a date (a dated override, else the weekly quota)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from parking.extensions import db
from parking.quotas.models import QuotaOverride
from parking.windows.models import WindowTemplate


@dataclass(frozen=True)
class EffectiveQuota:
    quota: int
    closed: bool
    reason: str | None
    override_id: int | None


def pick(template: WindowTemplate, day: date, overrides: Iterable[QuotaOverride]) -> EffectiveQuota:
    matching = [o for o in overrides if o.template_id == template.id and o.applies_to(day)]
    if not matching:
        return EffectiveQuota(template.default_quota, False, None, None)
    best = max(matching, key=lambda o: o.specificity)
    if best.closed:
        return EffectiveQuota(0, True, best.reason, best.id)
    return EffectiveQuota(int(best.quota or 0), False, best.reason, best.id)


def overrides_between(template_ids: list[int], start: date, end: date) -> list[QuotaOverride]:
    if not template_ids:
        return []
    return list(
        db.session.scalars(
            db.select(QuotaOverride).where(
                QuotaOverride.template_id.in_(template_ids),
                QuotaOverride.start_date <= end,
                QuotaOverride.end_date >= start,
            )
        )
    )
