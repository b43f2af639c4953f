"""The tide: one idempotent pass that performs every time-based transition that is due at `now`.

The pass reads only the clock and the windows' instants, so it catches up after any downtime: one
pass settles the missed transitions in their natural order

    materialise → draw (ballot) → open → no-show → remind → close (waitlist expires) → overstay / complete → suspend
      → anonymise (plates and phones kept past the garage's retention_days)

and audits each with the instant it was due. Booking and gate decisions never wait for it: they
compute from the same instants (`Window.state_at`, `booking_open`), so the pass only records what
the clock already decided.

Exactly once. Every transition is a conditional UPDATE (`… WHERE status = 'confirmed'`) whose
RETURNING rows are the only rows the pass goes on to audit, strike and notify; a pass that loses a
race to another one finds nothing left to update. Counters change only under the window row locks,
taken in id order. Unique keys back it up: one strike per booking and kind, one notice per user and
`dedupe_key`. On PostgreSQL a transaction-scoped advisory lock serialises whole passes first, which
spares concurrent passes from waiting on each other's row locks; it is an optimisation, the
conditional updates alone are correct without it.

Set-based: each transition kind is a few statements over all due rows of all garages (in chunks of
`CHUNK` ids), so the cost grows with the rows that change, not with one query per booking. The
per-garage rule minutes become one `instant <= now - minutes` clause per distinct setting.

`run_tide` here is the one entry point; each transition lives in its own module (windows,
noshows, reminders, closing, suspensions, retention) over the shared statements of `bulk`."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from parking.bookings.ballot import run_due_draws
from parking.bookings.strikes import load_rules
from parking.extensions import db
from parking.tide import retention
from parking.tide.closing import close_windows, settle_after_grace
from parking.tide.noshows import mark_no_shows
from parking.tide.reminders import remind
from parking.tide.suspensions import suspend
from parking.tide.windows import materialise, open_windows

log = logging.getLogger(__name__)


#: Any constant: the key of the PostgreSQL advisory lock that serialises tide passes.
ADVISORY_KEY = 0x71DE_0001


def _serialise_passes() -> None:
    """Optimisation only: on PostgreSQL, a second pass waits for the first to commit and then finds
    nothing left to do, instead of both contending for the same row locks. SQLite's BEGIN IMMEDIATE
    already serialises every writer."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})


SUMMARY_KEYS = (
    "windows_created",
    "draws",
    "drawn_confirmed",
    "drawn_waitlisted",
    "opened",
    "no_shows",
    "promoted",
    "reminded",
    "closed",
    "waitlist_expired",
    "overstayed",
    "completed",
    "strikes",
    "suspended",
    "notifications",
    # Retention: rows whose plates and phones this pass masked, per table.
    "anonymised_audit_events",
    "anonymised_bookings",
    "anonymised_notifications",
    "anonymised_plate_events",
    "anonymised_scans",
)
RETENTION_KEYS = tuple(key for key in SUMMARY_KEYS if key.startswith("anonymised_"))


#: Further retention batches a tide job runs after its pass at most, each its own transaction:
#: 1,000 times `BATCH` rows of each table a minute (a day of 100 garages' history in a few jobs,
#: years of it within days, the first time), while a pass stays short.
RETENTION_BATCHES = 1000


def run_tide(now: datetime, *, serialise: bool = True, commit: Callable[[], None] | None = None) -> dict[str, int]:
    """One tide pass as of `now`: every transition due by then, each once. Returns how many of each
    transition this pass performed. Without `commit` it flushes and the caller commits; with it
    (the scheduler's job, `flask tide tick`) the pass commits, then runs further retention
    batches while one came back full, each committed, their counts added to the summary."""
    summary = _one_pass(now, serialise)
    if commit is None:
        return summary
    commit()
    if _full(summary):
        more = drain_retention(now, commit)
        summary = {key: summary[key] + more.get(key, 0) for key in summary}
    return summary


def _full(batch: dict[str, int]) -> bool:
    """Did a table's retention batch come back full (more may be due)?"""
    return any(batch.get(key) == retention.BATCH for key in RETENTION_KEYS)


def drain_retention(now: datetime, commit: Callable[[], None]) -> Counter[str]:
    """Retention batches as of `now`, each committed, until one comes back short of `BATCH` in
    every table (nothing more due), at most `RETENTION_BATCHES`: the rows masked, per table.
    Concurrent drains share the backlog: each locks what it masks and skips what another holds."""
    total: Counter[str] = Counter()
    for _ in range(RETENTION_BATCHES):
        batch = retention.anonymise(now)
        commit()
        total.update(batch)
        if not _full(batch):
            break
    return total


def _one_pass(now: datetime, serialise: bool) -> dict[str, int]:
    """Every transition due by `now`, in their order, in the caller's transaction; flushed."""
    if serialise:
        _serialise_passes()
    summary: Counter[str] = Counter()
    summary["windows_created"] = materialise(now)
    summary.update(run_due_draws(now))
    rules = load_rules()
    summary["opened"] = open_windows(now)
    charged = mark_no_shows(now, rules, summary)
    remind(now, rules, summary)
    close_windows(now, summary)
    charged |= settle_after_grace(now, rules, summary)
    suspend(charged, now, rules, summary)
    summary.update(retention.anonymise(now))
    db.session.flush()
    db.session.expire_all()  # the bulk statements bypassed the identity map
    return {key: summary[key] for key in SUMMARY_KEYS}


def describe(summary: dict[str, int]) -> str:
    """A one-line summary for logs and the CLI."""
    changed = [f"{key}={value}" for key, value in summary.items() if value]
    return "tide: " + (", ".join(changed) if changed else "nothing due")
