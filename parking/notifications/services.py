"""The notification outbox. `notify()` queues a message per user in the transaction under way; the text is
rendered in the reader's language when read, dates in words. The in-app channel is the outbox
itself; the webhook to a garage's SMS or WeChat gateway is driven by the scheduler
(`parking.notifications.delivery`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa

from parking import catalogue, clock
from parking.audit.services import record
from parking.auth import signals
from parking.auth.models import User
from parking.dbtypes import id_among, insert_skipping
from parking.extensions import db
from parking.i18n import get_locale
from parking.i18n import gettext as _
from parking.notifications.models import Notification
from parking.notifications.sms import in_words

#: The notices' table, and the SQL type of each of its columns (for the values a statement binds).
NOTICES = cast(sa.Table, Notification.__table__)
NOTICE_TYPES = {column.key: column.type for column in NOTICES.c}
_USERS = cast(sa.Table, User.__table__)


#: The columns of a notice, in the order the rows given to `notices_from` select them.
NOTICE_COLUMNS = ("user_id", "kind", "params", "booking_id", "dedupe_key", "created_at")


def notices_from(rows: sa.Select[Any]) -> sa.Insert:
    """The one statement that queues notices, whoever queues them (`notify`, a new booking's trail,
    the tide's passes): INSERT … SELECT of `rows`, which select the NOTICE_COLUMNS in order, one row
    a user. A row whose user already holds its dedupe key is skipped by the database (ON CONFLICT DO
    NOTHING on `uq_notifications_dedupe`, `dbtypes.insert_skipping`): when two tide passes race, the
    user hears once."""
    return insert_skipping(NOTICES, NOTICE_COLUMNS, rows, "uq_notifications_dedupe")


def notify(
    user_ids: Iterable[int],
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    booking_id: int | None = None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> int:
    """Queue `kind` for each user, in the transaction under way; returns how many were queued. With
    a `dedupe_key`, a user gets that notice at most once (`notices_from`)."""
    ids = sorted(set(user_ids))
    if not ids:
        return 0
    values: dict[str, Any] = {
        "kind": kind,
        "params": params or {},
        "booking_id": booking_id,
        "dedupe_key": dedupe_key,
        "created_at": now or clock.now(),
    }
    rows = (
        sa.select(_USERS.c.id, *(sa.literal(values[name], NOTICE_TYPES[name]) for name in NOTICE_COLUMNS[1:]))
        .where(id_among(_USERS.c.id, ids))
        .order_by(_USERS.c.id)
    )
    return queue(rows)


def queue(rows: sa.Select[Any]) -> int:
    """Run `notices_from(rows)` in the transaction under way, after what the session holds is
    written (the users and bookings the rows name); returns how many notices were queued."""
    db.session.flush()
    statement = notices_from(rows)
    result = db.session.execute(statement.execution_options(preserve_rowcount=True))  # an INSERT's count
    return cast(sa.CursorResult[Any], result).rowcount


def inbox(user_id: int, *, before_id: int | None = None, limit: int = 50) -> list[Notification]:
    """A user's own notifications, newest first (the API's list and the inbox page)."""
    stmt = db.select(Notification).where(Notification.user_id == user_id)
    if before_id:
        stmt = stmt.where(Notification.id < before_id)
    return list(db.session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)))


def _language() -> str:
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def _status_notice(params: dict[str, Any], status: str) -> str:
    """A notice that says a booking's new status, in the status's words of the pages."""
    return _("%(status)s: %(plate)s, night of %(date)s.", **{**params, "status": catalogue.words(status)})


def render(note: Notification) -> str:
    """The message in the current request's language, dates in words."""
    p = in_words(note.params or {}, _language())
    texts = {
        "booking_confirmed": lambda: _status_notice(p, "confirmed"),
        "booking_waitlisted": lambda: _status_notice(p, "waitlisted"),
        "booking_promoted": lambda: _("A space opened up: %(plate)s is confirmed for the night of %(date)s.", **p),
        "booking_cancelled": lambda: _status_notice(p, "cancelled"),
        "booking_bumped": lambda: _(
            "Sorry: the station needs the garage on the night of %(date)s; your booking for %(plate)s "
            "was withdrawn. Your next request goes to the head of the waitlist.",
            **p,
        ),
        "window_closed": lambda: _(
            "The station closed the night of %(date)s to residents; your waitlist entry for %(plate)s was withdrawn.",
            **p,
        ),
        "ballot_requested": lambda: _(
            "Request received: %(plate)s, night of %(date)s. The draw is at %(time)s on %(draw_date)s.", **p
        ),
        "ballot_won": lambda: _("You won the draw: %(plate)s is confirmed for the night of %(date)s.", **p),
        "ballot_waitlisted": lambda: _(
            "Not drawn this time: %(plate)s is number %(position)s on the waitlist for the night of %(date)s.", **p
        ),
        "ballot_withdrawn": lambda: _(
            "The station closed the night of %(date)s to residents; your draw request for %(plate)s was withdrawn.",
            **p,
        ),
        "no_show": lambda: _("No-show recorded: %(plate)s did not arrive on the night of %(date)s.", **p),
        "reclaim_reminder": lambda: _("Reminder: please move %(plate)s out by %(time)s.", **p),
        "overstayed": lambda: _("%(plate)s is still in the garage after %(time)s; an overstay was recorded.", **p),
        "suspended": lambda: _("Booking is suspended for your household until %(until)s.", **p),
        "household_verified": lambda: _("Your household has been verified.", **p),
        "household_rejected": lambda: _("Your household could not be verified: %(reason)s", **p),
        "vehicle_verified": lambda: _("Your vehicle %(plate)s has been verified.", **p),
        "household_reopened": lambda: _("The manager is checking your household again.", **p),
        "plate_released": lambda: _(
            "%(plate)s is no longer registered for your household (%(reason)s); its coming bookings were cancelled.",
            **p,
        ),
        "gate_conflict": lambda: _(
            "Gate conflict at %(time)s, %(plate)s (device %(device)s): %(what)s",
            **{**p, "what": str(catalogue.conflict_words(p.get("conflict", "")))},
        ),
        "monthly_subscribed": lambda: _(
            "Monthly pass for %(month)s: %(plate)s has %(nights)s nights booked. Please pay at the garage office.",
            **p,
        ),
        "monthly_statement": lambda: _("Your monthly statement for %(month)s is ready.", **p),
        "locked_out": lambda: _(
            "Password sign-in to your account is paused until %(until)s after several wrong passwords. "
            "The manager can lift it.",
            **p,
        ),
        "reset_code_issued": lambda: _(
            "A password reset code was issued for your account. If you did not ask for it, tell the manager.", **p
        ),
    }
    try:
        return texts[note.kind]() if note.kind in texts else note.kind
    except (KeyError, ValueError, TypeError):
        return note.kind


def set_sms(actor: User, enabled: bool, now: datetime) -> User:
    """The person's SMS switch: off, their notifications stay in-app only (no SMS or WeChat
    message through the garage's gateway), from the next delivery pass on."""
    if actor.sms_enabled != enabled:
        before = {"sms_enabled": actor.sms_enabled}
        actor.sms_enabled = enabled
        db.session.flush()
        record(actor, "user.sms", actor, before=before, after={"sms_enabled": enabled}, at=now)
    return actor


# -- account notices: the sign-in code says what happened; the person hears it here ---------------


@signals.locked_out.connect
def _tell_locked_out(user: User, *, until: datetime, timezone: str, now: datetime) -> None:
    local_until = clock.local(until, timezone).strftime("%Y-%m-%dT%H:%M")
    notify([user.id], "locked_out", {"until": local_until}, now=now)


@signals.reset_code_issued.connect
def _tell_reset_code_issued(user: User, *, now: datetime) -> None:
    notify([user.id], "reset_code_issued", {}, now=now)  # never the code
