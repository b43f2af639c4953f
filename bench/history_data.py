"""Years of history, generated inside PostgreSQL: set-based `INSERT … SELECT … FROM generate_series`,
one garage per transaction. Each garage has one overnight template (19:00–07:30, Asia/Shanghai),
a window per night for `nights` nights up to tonight plus `FUTURE_NIGHTS` to come, `households`
verified households (one resident, one verified plate each) and a few pending ones, a manager, and
`PER_NIGHT` bookings a night: mostly completed, some cancelled or no-shows; tonight's cars partly
inside; the nights to come confirmed. Each booking that came in has its entry and exit scans, each
booking a notification and its audit events. Rows older than the retention (180 days) are anonymised
as the tide, which runs every minute, would have left them at `NOW`."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

#: The instant the reads are made at: 22:00 in Shanghai, tonight's window open, cars inside.
NOW = datetime(2027, 3, 10, 14, 0, tzinfo=UTC)
TONIGHT = date(2027, 3, 10)
PER_NIGHT = 60
FUTURE_NIGHTS = 14
FUTURE_PER_NIGHT = 20
PENDING_HOUSEHOLDS = 5
RETENTION_DAYS = 180
MANAGER_BASE = 10_000_000  # manager user ids: MANAGER_BASE + garage id


@dataclass(frozen=True)
class Scale:
    garages: int
    nights: int = 3 * 365  # past nights, tonight included
    households: int = 300  # verified households per garage (each books about one night in five)

    @property
    def windows(self) -> int:
        return self.nights + FUTURE_NIGHTS

    @property
    def first_date(self) -> date:
        return TONIGHT - timedelta(days=self.nights - 1)

    @property
    def bookings_per_garage(self) -> int:
        return self.nights * PER_NIGHT + FUTURE_NIGHTS * FUTURE_PER_NIGHT

    @property
    def bookings(self) -> int:
        return self.garages * self.bookings_per_garage


class Bar:
    """A progress bar on stderr (tqdm is not in the environment)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.started = label, total, 0, time.perf_counter()
        self._draw()

    def step(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def _draw(self) -> None:
        width = 30
        filled = width * self.done // max(self.total, 1)
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        sys.stderr.write(
            f"\r  {self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
            f" {elapsed:5.0f}s eta {eta:4.0f}s"
        )
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _mask(column: str) -> str:
    """`parking.masking.mask_plate` in SQL: the first three characters and the last one."""
    return f"(left({column}, 3) || repeat('*', length({column}) - 4) || right({column}, 1))"


# One garage's rows. Ids are computed from (garage, night, k) so that every statement of a garage
# can find the rows of the one before by id range, without a look-up.
_GARAGE = """
INSERT INTO garages (id, name, timezone, capacity, horizon_days, booking_cutoff_minutes, free_cancel_minutes,
    early_entry_minutes, no_show_minutes, reminder_minutes, exit_grace_minutes, strike_limit, strike_window_days,
    suspension_days, bookings_per_household, ballot_close_hour, created_at, retention_days)
VALUES (:g, '历史车库 ' || :g, 'Asia/Shanghai', 100, 14, 120, 0, 15, 180, 30, 15, 3, 30, 14, 1, 12,
    :created, :retention);
INSERT INTO window_templates (id, garage_id, name, weekdays, start_time, end_time, default_quota, mode, active,
    created_at)
VALUES (:g, :g, '夜间', 127, '19:00', '07:30', 80, 'first_come', true, :created);
INSERT INTO windows (id, garage_id, template_id, service_date, opens_at, closes_at, quota, booked, state, mode,
    created_at)
SELECT (:g - 1) * :windows + w + 1, :g, :g, d, o, o + interval '12 hours 30 minutes', 80,
    CASE WHEN w < :tonight THEN 0 WHEN w = :tonight THEN :per_night ELSE :future_per_night END,
    CASE WHEN w < :tonight THEN 'closed' WHEN w = :tonight THEN 'open' ELSE 'planned' END, 'first_come',
    least(o - interval '14 days', :now)
FROM generate_series(0, :windows - 1) AS w,
    LATERAL (SELECT CAST(:first AS date) + w AS d) AS day,
    LATERAL (SELECT (d + time '19:00') AT TIME ZONE 'Asia/Shanghai' AS o) AS opening;
INSERT INTO households (id, garage_id, building, unit, room, state, waitlist_priority, created_at)
SELECT (:g - 1) * :hslots + h + 1, :g, (h / 50 + 1)::text, (h / 10 % 5 + 1)::text, (h + 101)::text,
    CASE WHEN h < :households THEN 'verified' ELSE 'pending' END, false,
    CASE WHEN h < :households THEN :created ELSE :now - (h - :households + 1) * interval '1 day' END
FROM generate_series(0, :hslots - 1) AS h;
INSERT INTO users (id, phone, name, password_hash, role, locale, household_id, token_version, active, created_at)
SELECT id, '15' || lpad(id::text, 9, '0'), '住户' || id, '!', 'resident', 'zh', id, 1, true, created_at
FROM households WHERE garage_id = :g;
INSERT INTO users (id, phone, name, password_hash, role, locale, token_version, active, created_at)
VALUES (:manager, '15' || lpad(CAST(:manager AS text), 9, '0'), '经理 ' || :g, '!', 'manager', 'zh', 1, true,
    :created);
INSERT INTO garage_staff (user_id, garage_id) VALUES (:manager, :g);
INSERT INTO vehicles (id, household_id, garage_id, plate, state, created_at)
SELECT id, id, :g, '沪A' || lpad(id::text, 5, '0'), CASE state WHEN 'verified' THEN 'verified' ELSE 'pending' END,
    created_at
FROM households WHERE garage_id = :g;
"""

# Bookings: k-th booking of night w goes to household (w * PER_NIGHT + k) mod households (distinct
# within a night). Past nights: 1 in 20 cancelled, 1 in 20 a no-show, the rest completed; tonight:
# a third confirmed and not yet in, two thirds inside; nights to come: confirmed.
_BOOKINGS = f"""
INSERT INTO bookings (id, window_id, garage_id, household_id, vehicle_id, plate, status, slot, priority,
    late_cancel, created_by_id, created_at, updated_at, confirmed_at, cancelled_at, inside, entered_at, exited_at,
    anonymised_at)
SELECT id, window_id, :g, hh, hh, CASE WHEN anon THEN {_mask("p")} ELSE p END, status, 1, false, false, hh,
    created, updated, created, cancelled, inside, entered, exited,
    CASE WHEN anon THEN least(updated + interval '{RETENTION_DAYS} days 1 minute', :now) END
FROM (
    SELECT id, window_id, hh, p, status, created, cancelled, inside, entered, exited, updated,
        NOT inside AND status IN ('completed', 'cancelled', 'no_show')
            AND updated < CAST(:now AS timestamptz) - interval '{RETENTION_DAYS} days' AS anon
    FROM (
        SELECT id, window_id, hh, p, status, created, inside,
            CASE WHEN status = 'cancelled' THEN created + interval '1 day' END AS cancelled,
            CASE WHEN status IN ('completed', 'checked_in') THEN o + (k % 120) * interval '1 minute' END AS entered,
            CASE WHEN status = 'completed' THEN o + interval '11 hours' + (k % 60) * interval '1 minute' END AS exited,
            CASE status
                WHEN 'completed' THEN o + interval '11 hours' + (k % 60) * interval '1 minute'
                WHEN 'no_show' THEN o + interval '3 hours'
                WHEN 'cancelled' THEN created + interval '1 day'
                WHEN 'checked_in' THEN o + (k % 120) * interval '1 minute'
                ELSE created
            END AS updated
        FROM (
            SELECT ((:g - 1) * :windows + w) * {PER_NIGHT} + k + 1 AS id,
                (:g - 1) * :windows + w + 1 AS window_id,
                (:g - 1) * :hslots + (w * {PER_NIGHT} + k) % :households + 1 AS hh,
                '沪A' || lpad(((:g - 1) * :hslots + (w * {PER_NIGHT} + k) % :households + 1)::text, 5, '0') AS p,
                CASE
                    WHEN w > :tonight THEN 'confirmed'
                    WHEN w = :tonight THEN CASE WHEN k % 3 = 0 THEN 'confirmed' ELSE 'checked_in' END
                    WHEN (w * 7 + k) % 20 = 0 THEN 'cancelled'
                    WHEN (w * 7 + k) % 20 = 1 THEN 'no_show'
                    ELSE 'completed'
                END AS status,
                w = :tonight AND k % 3 <> 0 AS inside,
                k, o,
                least(o - interval '3 days' + k * interval '1 minute', CAST(:now AS timestamptz) - interval '1 hour')
                    AS created
            FROM generate_series(0, :windows - 1) AS w
            CROSS JOIN generate_series(0, {PER_NIGHT} - 1) AS k
            CROSS JOIN LATERAL (
                SELECT (CAST(:first AS date) + w + time '19:00') AT TIME ZONE 'Asia/Shanghai' AS o
            ) AS opening
            WHERE w <= :tonight OR k < {FUTURE_PER_NIGHT}
        ) AS base
    ) AS timed
) AS dated;
"""

# Entry and exit scans of each booking that came in, as the gate stored them.
_SCANS = f"""
INSERT INTO scans (garage_id, idempotency_key, fingerprint, device, direction, by_plate, booking_id, plate,
    plate_seen, result, at, offline, anonymised_at)
SELECT :g, 'h' || id || direction, md5(id || direction), 'gate-1', direction, true, id,
    CASE WHEN anon THEN {_mask("plate")} ELSE plate END, CASE WHEN anon THEN {_mask("plate")} ELSE plate END,
    'accepted', at, false, CASE WHEN anon THEN least(at + interval '{RETENTION_DAYS} days 1 minute', :now) END
FROM (
    SELECT b.id, b.plate, d.direction, s.at, s.at < CAST(:now AS timestamptz) - interval '{RETENTION_DAYS} days' AS anon
    FROM bookings AS b
    CROSS JOIN (VALUES ('in'), ('out')) AS d (direction)
    CROSS JOIN LATERAL (SELECT CASE d.direction WHEN 'in' THEN b.entered_at ELSE b.exited_at END AS at) AS s
    WHERE b.id BETWEEN :lo AND :hi AND s.at IS NOT NULL
) AS gate;
"""

# One notice a booking (its confirmation, or its no-show), to the household's resident.
_NOTIFICATIONS = f"""
INSERT INTO notifications (user_id, kind, params, booking_id, dedupe_key, created_at, delivered_at, read_at,
    anonymised_at)
SELECT b.household_id, kind,
    json_build_object('plate', CASE WHEN at < CAST(:now AS timestamptz) - interval '{RETENTION_DAYS} days'
        THEN {_mask("b.plate")} ELSE b.plate END, 'booking_id', b.id), b.id, kind || ':' || b.id,
    at, at + interval '1 minute', CASE WHEN b.id % 3 = 0 THEN at + interval '2 hours' END,
    CASE WHEN at < CAST(:now AS timestamptz) - interval '{RETENTION_DAYS} days'
        THEN least(at + interval '{RETENTION_DAYS} days 1 minute', :now) END
FROM (
    SELECT b.*, CASE b.status WHEN 'no_show' THEN 'no_show' ELSE 'booking_confirmed' END AS kind,
        CASE b.status WHEN 'no_show' THEN b.updated_at ELSE b.created_at END AS at
    FROM bookings AS b WHERE b.id BETWEEN :lo AND :hi
) AS b;
"""

# The audit trail of each booking: confirmed; then entered and exited or its end (cancelled, no-show).
_AUDIT = f"""
INSERT INTO audit_events (at, actor_id, action, object_type, object_id, garage_id, before, after, anonymised_at)
SELECT e.at, e.actor, e.action, 'booking', b.id, :g, e.before, e.after,
    CASE WHEN e.at < CAST(:now AS timestamptz) - interval '{RETENTION_DAYS} days'
        THEN least(e.at + interval '{RETENTION_DAYS} days 1 minute', :now) END
FROM bookings AS b
CROSS JOIN LATERAL (
    VALUES
        (1, b.created_at, b.household_id, 'booking.confirmed', NULL::json, json_build_object('status', 'confirmed')),
        (2, b.entered_at, NULL, 'booking.entered', json_build_object('status', 'confirmed'),
            json_build_object('status', 'checked_in')),
        (3, b.exited_at, NULL, 'booking.exited', json_build_object('status', 'checked_in'),
            json_build_object('status', 'completed')),
        (4, b.cancelled_at, b.household_id, 'booking.cancelled', json_build_object('status', 'confirmed'),
            json_build_object('status', 'cancelled')),
        (5, CASE WHEN b.status = 'no_show' THEN b.updated_at END, NULL, 'booking.no_show',
            json_build_object('status', 'confirmed'), json_build_object('status', 'no_show'))
) AS e (n, at, actor, action, before, after)
WHERE b.id BETWEEN :lo AND :hi AND e.at IS NOT NULL
ORDER BY b.id, e.n;
"""

TABLES = (
    "garages",
    "window_templates",
    "windows",
    "households",
    "users",
    "vehicles",
    "bookings",
    "scans",
    "notifications",
    "audit_events",
)


def garage_params(scale: Scale, g: int) -> dict:
    hslots = scale.households + PENDING_HOUSEHOLDS
    lo = (g - 1) * scale.windows * PER_NIGHT + 1
    return {
        "g": g,
        "windows": scale.windows,
        "tonight": scale.nights - 1,
        "first": scale.first_date,
        "households": scale.households,
        "hslots": hslots,
        "per_night": PER_NIGHT,
        "future_per_night": FUTURE_PER_NIGHT,
        "now": NOW,
        "created": datetime.combine(scale.first_date, datetime.min.time(), tzinfo=UTC) - timedelta(days=30),
        "retention": RETENTION_DAYS,
        "manager": MANAGER_BASE + g,
        "lo": lo,
        "hi": lo + scale.windows * PER_NIGHT - 1,
    }


def _run(conn: sa.Connection, script: str, params: dict) -> None:
    for statement in script.split(";\n"):
        if statement.strip():
            conn.execute(sa.text(statement), {k: v for k, v in params.items() if f":{k}" in statement})


def generate_garage(conn: sa.Connection, scale: Scale, g: int) -> None:
    params = garage_params(scale, g)
    for script in (_GARAGE, _BOOKINGS, _SCANS, _NOTIFICATIONS, _AUDIT):
        _run(conn, script, params)


def generate(engine: sa.Engine, scale: Scale, first_garage: int = 1, label: str = "garages") -> None:
    """Garages `first_garage` … `scale.garages`, one transaction each, with a progress bar."""
    bar = Bar(label, scale.garages - first_garage + 1)
    for g in range(first_garage, scale.garages + 1):
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
            generate_garage(conn, scale, g)
        bar.step()
    finish(engine)


def finish(engine: sa.Engine) -> None:
    """The sequences past the generated ids, then what autovacuum would have done over three
    years: statistics and the visibility map."""
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in TABLES:
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))


def counts(conn: sa.Connection) -> dict[str, int]:
    return {table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() for table in TABLES}


def database_bytes(conn: sa.Connection) -> int:
    return conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
