"""Row locks that serialise the writers of one window.

PostgreSQL: `SELECT … FOR NO KEY UPDATE` on the window row: it serialises the window's writers
like `FOR UPDATE`, but does not wait for the bookings that only reference the window (the key
share their INSERT takes): a first-come booking writes its row before it takes the window's lock
(parking.bookings.admission, the one lock order). SQLite has no row locks; every SQLite
transaction begins with `BEGIN IMMEDIATE` (see parking.database), which takes the database write
lock up front, so the same read-check-write sequence is serialised there too."""

from __future__ import annotations

import sqlalchemy as sa

from parking.extensions import db
from parking.windows.models import Window

# Built once with a bound parameter, like the other statements of the hot paths (docs/benchmarks.md).
_LOCK_WINDOW = (
    sa.select(Window)
    .where(Window.id == sa.bindparam("window_id"))
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)


def lock_window(window_id: int) -> Window | None:
    return db.session.execute(_LOCK_WINDOW, {"window_id": window_id}).scalar_one_or_none()
