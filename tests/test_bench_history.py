"""bench.history's generator at a tiny scale (PostgreSQL only, as the bench): the rows it writes
pass every constraint of the schema, read as the models mean them, and each read the bench times
finds rows in them."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bench import history, history_data
from bench.history_data import NOW, PER_NIGHT, Scale
from config import TestConfig
from parking import create_app
from parking.extensions import db
from tests.test_migrations import fresh_database

#: 184 nights: the oldest few fall past the 180 days of retention, so some rows come masked.
SCALE = Scale(garages=2, nights=184, households=PER_NIGHT + 5)


def test_generated_history_satisfies_the_schema_and_every_timed_read_finds_rows(tmp_path, monkeypatch):
    url = fresh_database("postgresql", tmp_path, suffix="bench_history")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=tmp_path)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    engine = sa.create_engine(url)
    try:
        # Garage 1 with every constraint and foreign key checked row by row; garage 2 the fast way
        # the large scale takes (indexes dropped and rebuilt, foreign-key triggers off).
        history_data.generate(engine, Scale(garages=1, nights=SCALE.nights, households=SCALE.households))
        history.generate_bulk(engine, SCALE, 2)
        with engine.connect() as conn:
            counts = history_data.counts(conn)
            q = lambda sql: conn.execute(sa.text(sql), {"now": NOW, "cutoff": NOW - timedelta(days=180)}).scalar()  # noqa: E731
            # The foreign keys the fast path did not check, checked now.
            orphans = q(
                "SELECT count(*) FROM bookings b LEFT JOIN windows w ON w.id = b.window_id "
                "LEFT JOIN vehicles v ON v.id = b.vehicle_id LEFT JOIN households h ON h.id = b.household_id "
                "WHERE w.id IS NULL OR v.id IS NULL OR h.id IS NULL OR v.household_id <> b.household_id"
            )
            orphan_rows = q(
                "SELECT (SELECT count(*) FROM scans s LEFT JOIN bookings b ON b.id = s.booking_id WHERE b.id IS NULL)"
                " + (SELECT count(*) FROM notifications n LEFT JOIN users u ON u.id = n.user_id WHERE u.id IS NULL)"
                " + (SELECT count(*) FROM audit_events a LEFT JOIN bookings b ON b.id = a.object_id WHERE b.id IS NULL)"
            )
            over_quota = q("SELECT count(*) FROM windows WHERE booked > quota")
            unmasked_old = q(
                "SELECT count(*) FROM bookings WHERE anonymised_at IS NULL AND updated_at < :cutoff "
                "AND NOT (inside OR status IN ('confirmed', 'checked_in', 'overstayed', 'waitlisted', 'requested'))"
            )
            masked = q("SELECT count(*) FROM bookings WHERE anonymised_at IS NOT NULL AND plate LIKE '%*%'")
            anonymised = q("SELECT count(*) FROM bookings WHERE anonymised_at IS NOT NULL")
            inside = q("SELECT count(*) FROM bookings WHERE inside")
            statuses = dict(conn.execute(sa.text("SELECT status, count(*) FROM bookings GROUP BY status")).all())
        engine.dispose()
        # The rebuilt indexes are exactly the models' (and so the migrations').
        with app.app_context():
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            db.engine.dispose()
        assert diff == []
        assert counts["garages"] == 2
        assert counts["bookings"] == SCALE.bookings
        assert counts["scans"] > counts["bookings"]  # entry and exit of most bookings
        assert counts["notifications"] == counts["bookings"]
        assert counts["audit_events"] > 2 * counts["bookings"]
        assert (orphans, orphan_rows, over_quota, unmasked_old) == (0, 0, 0, 0)
        assert masked == anonymised > 0
        assert inside > 0
        assert statuses["completed"] > statuses["cancelled"] > 0 and statuses["no_show"] > 0

        figures = history.time_reads(url, history.World(SCALE, [1, 2]), repeat=5)
        assert set(figures) == set(history.READS)
        found = {name: f["rows_per_call"] for name, f in figures.items()}
        assert all(rows > 0 for rows in found.values()), found
        assert found["tide retention pass"] > 1, found  # the pass masked rows, not only ran
    finally:
        engine.dispose()
