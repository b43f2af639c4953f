"""Nights made and opened by the tide: materialising windows up to each garage's horizon, and
opening them at `opens_at`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from parking.extensions import db
from parking.garages.services import insert_windows, window_rows
from parking.quotas.resolve import overrides_between
from parking.tide.bulk import CHUNK, W, id_among, insert_audit, window_audit
from parking.windows.models import Garage, WindowState, WindowTemplate
from parking.windows.services import horizon_end, today


def materialise(now: datetime) -> int:
    """Create the missing windows of every garage up to its booking horizon, as `ensure_windows`
    does for one garage, in a few statements for all garages. Garages whose active templates
    already reach the horizon are skipped, so a pass every minute costs a few statements."""
    reach: dict[int, Any] = dict(
        db.session.execute(
            sa.select(WindowTemplate.id, sa.func.max(W.c.service_date))
            .join(W, W.c.template_id == WindowTemplate.id)
            .where(WindowTemplate.active.is_(True), W.c.opens_at >= now - timedelta(days=2))
            .group_by(WindowTemplate.id)
        )
        .tuples()
        .all()
    )
    templates = list(
        db.session.scalars(sa.select(WindowTemplate).where(WindowTemplate.active.is_(True)).order_by(WindowTemplate.id))
    )
    garages = {g.id: g for g in db.session.scalars(sa.select(Garage).order_by(Garage.id))}
    stale = {
        t.garage_id
        for t in templates
        if reach.get(t.id) is None or reach[t.id] < horizon_end(garages[t.garage_id], now)
    }
    # Every active template of a stale garage, as ensure_windows(garage, today, horizon) would.
    todo = [t for t in templates if t.garage_id in stale]
    if not todo:
        return 0
    spans = {g: (today(garages[g], now), horizon_end(garages[g], now)) for g in stale}
    first, last = min(s for s, _e in spans.values()), max(e for _s, e in spans.values())
    ids = [t.id for t in todo]
    existing = set(
        db.session.execute(
            sa.select(W.c.template_id, W.c.service_date).where(
                id_among(W.c.template_id, ids), W.c.service_date.between(first, last)
            )
        ).tuples()
    )
    overrides = overrides_between(ids, first, last)
    rows = []
    for garage_id in sorted(stale):
        start, end = spans[garage_id]
        mine = [t for t in todo if t.garage_id == garage_id]
        rows += window_rows(garages[garage_id], mine, start, end, existing, overrides, now)
    insert_windows(rows)
    return len(rows)


def open_windows(now: datetime) -> int:
    """planned → open at `opens_at`."""
    opened = 0
    while True:
        ids = list(
            db.session.scalars(
                sa.select(W.c.id)
                .where(W.c.state == WindowState.PLANNED, W.c.opens_at <= now)
                .order_by(W.c.id)
                .limit(CHUNK)
                .with_for_update()
            )
        )
        if not ids:
            return opened
        rows = db.session.execute(
            sa.update(W)
            .where(W.c.id.in_(ids), W.c.state == WindowState.PLANNED)
            .values(state=WindowState.OPEN)
            .returning(W.c.id, W.c.garage_id, W.c.opens_at)
        ).all()
        insert_audit([window_audit("window.opened", r.id, r.garage_id, "planned", "open", r.opens_at) for r in rows])
        opened += len(rows)
