"""Row locks that serialise the writers of one window.

PostgreSQL: `SELECT … FOR UPDATE` on the window row. SQLite has no row locks; every SQLite
transaction begins with `BEGIN IMMEDIATE` (see parking.database), which takes the database write
lock up front, so the same read-check-write sequence is serialised there too."""

from __future__ import annotations

from parking.extensions import db
from parking.garages.models import Window


def lock_window(window_id: int) -> Window | None:
    stmt = db.select(Window).where(Window.id == window_id).with_for_update().execution_options(populate_existing=True)
    return db.session.execute(stmt).scalar_one_or_none()
