"""Delivering the outbox through a garage's webhook (its operator's SMS or WeChat gateway).

Run by the scheduler beside the tide (`schedules.jobs.delivery_pass`) or by `flask notifications
deliver [--at]`, never inside a request or a booking's transaction. One pass:

1. **enqueue**: every notification of a garage with a webhook, created since the webhook was set,
   gets one `webhook` delivery row (a unique key; a user with SMS off gets it `expired`, reason
   `sms_off`);
2. **claim** a due row (`pending` or `failed`, `next_attempt_at` reached, no live lease) with a
   conditional UPDATE that sets a lease, committed before anything is sent: of several scheduler
   processes exactly one wins each row, on SQLite and PostgreSQL alike;
3. **decide** before sending: a message about a night that has ended is `expired`; in quiet hours
   (22:00 to 07:00 at the garage) a message waits for 07:00 unless it is about tonight's night (the
   reclaim reminder, a bump, a promotion); the eleventh SMS of a phone's day stays in-app (`expired`,
   reason `sms_daily_limit`);
4. **send** one signed POST with a short timeout and **record** the attempt: 2xx `sent`; 429, 5xx,
   a time-out or no connection `failed` and retried after 1, 2, 4, 8, 16 minutes, `dead` after the
   sixth attempt; any other answer (4xx, 3xx) `dead` at once.

A process that dies between the send and the record leaves a lease that runs out; the next pass
sends that message once more, with the same `X-Tidal-Delivery`, so the gateway can tell.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask_babel import force_locale

from parking import clock
from parking.audit.services import record
from parking.auth.access import require_staff
from parking.auth.models import GarageStaff, Role, User
from parking.dbtypes import id_among, insert_skipping
from parking.errors import Conflict, NotFound
from parking.extensions import db
from parking.notifications.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    GarageWebhook,
    Notification,
)
from parking.notifications.services import NOTICES, render
from parking.notifications.sms import sms_text
from parking.notifications.webhooks import signing_secret
from parking.windows.models import Garage, Window

log = logging.getLogger(__name__)

#: Minutes to wait after the 1st, 2nd … failed attempt; the attempt after the last is the last.
BACKOFF_MINUTES = (1, 2, 4, 8, 16)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1  # 6 attempts within about half an hour
TIMEOUT_SECONDS = 5.0
#: A claim outlives one send (time-out included) by far; a process that died frees its rows after it.
LEASE = timedelta(minutes=2)
QUIET_FROM, QUIET_UNTIL = time(22, 0), time(7, 0)
SMS_PER_PHONE_PER_DAY = 10
#: About tonight's night: these go out in quiet hours too.
TONIGHT_KINDS = frozenset({"reclaim_reminder", "booking_bumped", "booking_promoted"})
#: About a coming night: not sent once that night has ended.
NIGHT_KINDS = frozenset(
    {
        "booking_confirmed",
        "booking_waitlisted",
        "booking_promoted",
        "booking_cancelled",
        "booking_bumped",
        "window_closed",
        "ballot_requested",
        "ballot_won",
        "ballot_waitlisted",
        "ballot_withdrawn",
        "reclaim_reminder",
    }
)
#: A gateway that gave no answer (time-out, no connection) this often in one pass is not tried again
#: in that pass: a pass never spends minutes on time-outs while other garages' messages wait.
UNANSWERED_PER_PASS = 2
#: Only messages this recent are enqueued (a webhook set today does not send last month's backlog).
ENQUEUE_WITHIN = timedelta(days=1)

N = NOTICES
D = cast(sa.Table, Delivery.__table__)
U = cast(sa.Table, User.__table__)
WH = cast(sa.Table, GarageWebhook.__table__)
DUE_STATES = (DeliveryState.PENDING.value, DeliveryState.FAILED.value)
# The bookings and households lie above this layer: their few columns needed here, by name.
B = sa.table("bookings", sa.column("id"), sa.column("window_id"), sa.column("garage_id"))
HH = sa.table("households", sa.column("id"), sa.column("garage_id"))


@dataclass(frozen=True)
class Night:
    opens_at: datetime
    closes_at: datetime


def booking_night(booking_id: int | None) -> Night | None:
    """The night a booking is for, or None."""
    if booking_id is None:
        return None
    row = db.session.execute(
        sa.select(Window.opens_at, Window.closes_at).join(B, B.c.window_id == Window.id).where(B.c.id == booking_id)
    ).first()
    return Night(clock.as_utc(row[0]), clock.as_utc(row[1])) if row else None


# -- when --------------------------------------------------------------------------------------------


def in_quiet_hours(now: datetime, timezone: str) -> bool:
    at = clock.local(now, timezone).time()
    return at >= QUIET_FROM or at < QUIET_UNTIL


def quiet_hours_end(now: datetime, timezone: str) -> datetime:
    """07:00 at the garage after `now` (which is in quiet hours)."""
    local = clock.local(now, timezone)
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return clock.local_midnight(day, timezone) + timedelta(hours=QUIET_UNTIL.hour)


def was_in_quiet_hours(instant: datetime, timezone: str) -> bool:
    return in_quiet_hours(instant, timezone)


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1])


# -- enqueue -----------------------------------------------------------------------------------------


def _notification_garage() -> sa.ColumnElement[Any]:
    """A notification's garage: its booking's, else its user's household's, else (staff) the first
    garage the user works for."""
    by_booking = sa.select(B.c.garage_id).where(B.c.id == N.c.booking_id).scalar_subquery()
    by_household = sa.select(HH.c.garage_id).where(HH.c.id == U.c.household_id).scalar_subquery()
    by_staff = sa.select(sa.func.min(GarageStaff.garage_id)).where(GarageStaff.user_id == U.c.id).scalar_subquery()
    return sa.func.coalesce(by_booking, by_household, by_staff)


def enqueue(now: datetime) -> int:
    """One webhook delivery row for each recent notification of a garage with a webhook."""
    garage = _notification_garage().label("garage_id")
    source = (
        sa.select(N.c.id, garage, U.c.sms_enabled, N.c.created_at)
        .select_from(N.join(U, U.c.id == N.c.user_id))
        .where(N.c.created_at >= now - ENQUEUE_WITHIN, N.c.created_at <= now)
        .where(~sa.exists().where(D.c.notification_id == N.c.id, D.c.channel == Channel.WEBHOOK.value))
        .subquery()
    )
    rows = (
        sa.select(
            source.c.id,
            sa.literal(Channel.WEBHOOK.value),
            source.c.garage_id,
            sa.case(
                (source.c.sms_enabled, sa.literal(DeliveryState.PENDING.value)),
                else_=sa.literal(DeliveryState.EXPIRED.value),
            ),
            sa.literal(0),
            sa.literal(now, type_=D.c.next_attempt_at.type),
            sa.case((source.c.sms_enabled, sa.null()), else_=sa.literal("sms_off")),
            sa.literal(now, type_=D.c.created_at.type),
            sa.false(),
        )
        .select_from(source.join(WH, WH.c.garage_id == source.c.garage_id))
        .where(source.c.created_at >= WH.c.set_at)
        .order_by(source.c.id)
    )
    columns = (
        "notification_id",
        "channel",
        "garage_id",
        "state",
        "attempts",
        "next_attempt_at",
        "reason",
        "created_at",
        "sms_counted",
    )
    result = db.session.execute(insert_skipping(D, columns, rows, "uq_notification_deliveries_channel"))
    return max(getattr(result, "rowcount", 0) or 0, 0)


# -- claim -------------------------------------------------------------------------------------------


def due(now: datetime, limit: int) -> list[tuple[int, int]]:
    """(delivery id, garage id) of the rows due, oldest due first."""
    rows = db.session.execute(
        sa.select(D.c.id, D.c.garage_id)
        .where(D.c.state.in_(DUE_STATES), D.c.next_attempt_at <= now)
        .where(sa.or_(D.c.lease_until.is_(None), D.c.lease_until <= now))
        .order_by(D.c.next_attempt_at, D.c.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


def due_ids(now: datetime, limit: int) -> list[int]:
    return [delivery_id for delivery_id, _garage in due(now, limit)]


def claim(delivery_id: int, now: datetime) -> bool:
    """Take the row for this process until the lease ends: a conditional UPDATE that only one of
    several processes can win (PostgreSQL re-checks the condition after the winner's commit)."""
    result = db.session.execute(
        sa.update(D)
        .where(D.c.id == delivery_id, D.c.state.in_(DUE_STATES), D.c.next_attempt_at <= now)
        .where(sa.or_(D.c.lease_until.is_(None), D.c.lease_until <= now))
        .values(lease_until=now + LEASE)
    )
    return cast(sa.CursorResult, result).rowcount == 1


def fresh_delivery(delivery_id: int) -> Delivery | None:
    """The row as the database has it now. The session's objects outlive commits (no expiry on
    commit), and a copy loaded before the claim would hide the lease: a postponement setting
    `lease_until` back to None would then write nothing and leave the row leased."""
    return db.session.get(Delivery, delivery_id, populate_existing=True)


# -- decide and send ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What one claimed delivery sends: the body and where to."""

    delivery_id: int
    url: str
    body: bytes
    secret: bytes
    has_sms: bool


def _local_day_bounds(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    day = clock.local_date(now, timezone)
    return clock.local_midnight(day, timezone), clock.local_midnight(day + timedelta(days=1), timezone)


def sms_day(user_id: int, delivery_id: int, now: datetime, timezone: str) -> tuple[int, int]:
    """(sent, on their way): the person's SMS sent in the garage's local day of `now`, and their
    other messages claimed by a process whose answer is not yet recorded.

    One statement, hence one snapshot. A message moves from on its way to sent in one commit
    (`record_answer`), so a single snapshot sees it exactly once; two statements would not: under
    PostgreSQL's READ COMMITTED each takes its own snapshot, and a send recorded between them is
    counted by neither (an eleventh SMS). Called under the person's row lock (see `prepare`)."""
    start, end = _local_day_bounds(now, timezone)
    sent = sa.and_(D.c.sms_counted.is_(True), D.c.sent_at >= start, D.c.sent_at < end)
    on_their_way = sa.and_(D.c.id != delivery_id, D.c.state.in_(DUE_STATES), D.c.lease_until > now)
    row = db.session.execute(
        sa.select(
            sa.func.count().filter(sent),
            sa.func.count().filter(on_their_way),
        )
        .select_from(D.join(N, N.c.id == D.c.notification_id))
        .where(N.c.user_id == user_id, sa.or_(sent, on_their_way))
    ).one()
    return row[0] or 0, row[1] or 0


def prepare(delivery: Delivery, now: datetime) -> Message | None:
    """The message to send now, or None when the row was settled or postponed without sending."""
    note = db.session.get(Notification, delivery.notification_id)
    garage = db.session.get(Garage, delivery.garage_id)
    hook = db.session.get(GarageWebhook, delivery.garage_id)
    user = db.session.get(User, note.user_id) if note is not None else None
    if note is None or garage is None or user is None or hook is None:
        _settle(delivery, DeliveryState.EXPIRED, now, reason="no_gateway")
        return None
    night = booking_night(note.booking_id)
    if note.kind in NIGHT_KINDS and night is not None and night.closes_at <= now:
        _settle(delivery, DeliveryState.EXPIRED, now, reason="night_ended")
        return None
    if in_quiet_hours(now, garage.timezone):
        morning = quiet_hours_end(now, garage.timezone)
        tonight = note.kind in TONIGHT_KINDS and night is not None and night.opens_at < morning
        if not tonight:
            delivery.next_attempt_at, delivery.lease_until = morning, None
            return None
    text, sms = _texts(note, user, garage)
    if sms is not None:
        # The person's row serialises these decisions between scheduler processes (SQLite: the
        # write lock); each reads the phone's day in one snapshot (`sms_day`).
        db.session.execute(sa.select(U.c.id).where(U.c.id == user.id).with_for_update())
        sent, on_their_way = sms_day(user.id, delivery.id, now, garage.timezone)
        if sent >= SMS_PER_PHONE_PER_DAY:
            _settle(delivery, DeliveryState.EXPIRED, now, reason="sms_daily_limit")
            return None
        if sent + on_their_way >= SMS_PER_PHONE_PER_DAY:
            # Another process is sending this phone's last one of the day: ask again in a minute.
            delivery.next_attempt_at, delivery.lease_until = now + timedelta(minutes=1), None
            return None
    payload = {
        "id": note.id,
        "kind": note.kind,
        "user_id": user.id,
        "phone": user.phone,
        "garage_id": garage.id,
        "text": text,
        "sms": sms,
        "created_at": clock.as_utc(note.created_at).isoformat(),
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Message(note.id, hook.url, body, signing_secret(hook), sms is not None)


def _texts(note: Notification, user: User, garage: Garage) -> tuple[str, str | None]:
    lang = "en" if user.locale == "en" else "zh"
    with force_locale(lang):
        return render(note), sms_text(note, garage, lang)


def _settle(delivery: Delivery, state: DeliveryState, now: datetime, *, reason: str) -> None:
    delivery.state, delivery.reason, delivery.lease_until = state, reason, None
    return None


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer, not a delivery


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer (time-out, refused connection)
    error: str | None


def post(message: Message) -> Answer:
    """One POST to the gateway. Gateways live on the operator's network: no proxy, no redirects."""
    request = urllib.request.Request(  # noqa: S310  # the URL was checked: http or https only
        message.url,
        data=message.body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Tidal-Delivery": str(message.delivery_id),
            "X-Tidal-Signature": sign(message.secret, message.body),
            "User-Agent": "tidal-parking-webhook/1",
        },
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return Answer(response.status, None)
    except urllib.error.HTTPError as exc:
        exc.close()
        return Answer(exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Answer(None, f"{type(exc).__name__}: {reason}"[:200])


def retryable(answer: Answer) -> bool:
    return answer.status is None or answer.status == 429 or answer.status >= 500


def record_answer(delivery: Delivery, answer: Answer, has_sms: bool, now: datetime) -> DeliveryState:
    db.session.add(DeliveryAttempt(delivery_id=delivery.id, at=now, status_code=answer.status, error=answer.error))
    delivery.attempts += 1
    delivery.lease_until = None
    if delivery.state == DeliveryState.SENT:
        return delivery.state  # another process's answer came first (its lease had run out): it stands
    if answer.status is not None and 200 <= answer.status < 300:
        db.session.execute(
            sa.update(N).where(N.c.id == delivery.notification_id, N.c.delivered_at.is_(None)).values(delivered_at=now)
        )
        delivery.state, delivery.sent_at, delivery.sms_counted, delivery.last_error = (
            DeliveryState.SENT,
            now,
            has_sms,
            None,
        )
    elif retryable(answer) and delivery.attempts < MAX_ATTEMPTS:
        delivery.state, delivery.last_error = DeliveryState.FAILED, answer.error
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    else:
        delivery.state, delivery.last_error, delivery.dead_at = DeliveryState.DEAD, answer.error, now
    return delivery.state


# -- the pass ----------------------------------------------------------------------------------------


def deliver_due(now: datetime, commit: Callable[[], None], *, limit: int = 200) -> Counter:
    """One delivery pass as of `now`. `commit` is the caller's (the job's, the command's) unit of
    work: a claim is committed before its send, and each outcome right after it, so that a second
    scheduler process never sends a claimed message and a crash loses at most one record."""
    summary: Counter = Counter()
    summary["enqueued"] += enqueue(now)
    commit()
    silent: Counter = Counter()  # gateways that did not answer in this pass, by garage
    for delivery_id, garage_id in due(now, limit):
        if silent[garage_id] >= UNANSWERED_PER_PASS:
            summary["skipped"] += 1  # its gateway is not answering: the next pass tries again
            continue
        if not claim(delivery_id, now):
            summary["lost_claims"] += 1
            commit()
            continue
        commit()
        delivery = fresh_delivery(delivery_id)
        if delivery is None:
            continue
        message = prepare(delivery, now)
        if message is None:
            summary["expired" if delivery.state == DeliveryState.EXPIRED else "postponed"] += 1
            commit()
            continue
        commit()  # nothing is held open across the network
        answer = post(message)
        delivery = fresh_delivery(delivery_id)
        if delivery is None:
            continue
        summary["attempts"] += 1
        summary[record_answer(delivery, answer, message.has_sms, now).value] += 1
        commit()
        if answer.status is None:
            silent[garage_id] += 1
    commit()  # the last read's transaction too: on SQLite every transaction holds the write lock
    return summary


def describe(summary: Counter) -> str:
    keys = ("enqueued", "attempts", "sent", "failed", "dead", "expired", "postponed", "skipped", "lost_claims")
    return " ".join(f"{key}={summary.get(key, 0)}" for key in keys)


# -- what managers see and do ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    id: int
    notification_id: int
    kind: str
    text: str  # in the reader's language
    user_name: str
    attempts: int
    last_error: str | None
    dead_at: datetime | None


def dead_letters(garage_id: int, actor: User, *, limit: int = 50) -> list[DeadLetter]:
    """The garage's dead letters, newest first (managers of the garage and admins)."""
    require_staff(actor, garage_id, Role.MANAGER)
    rows = db.session.execute(
        sa.select(Delivery, Notification, U.c.name)
        .select_from(Delivery)
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(U, U.c.id == Notification.user_id)
        .where(Delivery.garage_id == garage_id, Delivery.state == DeliveryState.DEAD)
        .order_by(Delivery.dead_at.desc(), Delivery.id.desc())
        .limit(limit)
    ).all()
    return [DeadLetter(d.id, n.id, n.kind, render(n), name, d.attempts, d.last_error, d.dead_at) for d, n, name in rows]


def recent_dead_count(garage_ids: list[int] | None, now: datetime) -> int:
    """Dead letters in the last hour, of these garages (None: all)."""
    stmt = sa.select(sa.func.count()).where(
        D.c.state == DeliveryState.DEAD.value, D.c.dead_at >= now - timedelta(hours=1)
    )
    if garage_ids is not None:
        stmt = stmt.where(D.c.garage_id.in_(garage_ids or [-1]))
    return db.session.scalar(stmt) or 0


def recent_dead_by_garage(now: datetime) -> dict[int, int]:
    """Dead letters in the last hour per garage (the admin's banner)."""
    rows = db.session.execute(
        sa.select(D.c.garage_id, sa.func.count())
        .where(D.c.state == DeliveryState.DEAD.value, D.c.dead_at >= now - timedelta(hours=1))
        .group_by(D.c.garage_id)
    )
    return {garage_id: count for garage_id, count in rows}


def backlog(now: datetime, conn: sa.Connection | None = None) -> int:
    """Deliveries due and not yet sent (what /readyz reports), on `conn` or the session."""
    stmt = sa.select(sa.func.count()).where(D.c.state.in_(DUE_STATES), D.c.next_attempt_at <= now)
    return (conn.execute(stmt).scalar() if conn is not None else db.session.scalar(stmt)) or 0


class NotDead(Conflict):
    reason = "delivery_not_dead"


def send_again(garage_id: int, delivery_id: int, actor: User, now: datetime) -> Delivery:
    """A manager sends a dead letter again: pending now, a fresh round of attempts, same id."""
    require_staff(actor, garage_id, Role.MANAGER)
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.garage_id != garage_id:
        raise NotFound()
    if delivery.state != DeliveryState.DEAD:
        raise NotDead()
    delivery.state, delivery.attempts, delivery.next_attempt_at = DeliveryState.PENDING, 0, now
    delivery.dead_at, delivery.lease_until = None, None
    db.session.flush()
    record(
        actor,
        "notification.send_again",
        delivery,
        before={"state": "dead"},
        after={"state": "pending"},
        garage_id=garage_id,
        at=now,
    )
    return delivery


def untold_promotions(booking_ids: list[int]) -> set[int]:
    """Bookings among `booking_ids` promoted from the waitlist in quiet hours whose household was
    not told: no member read the notice and no gateway accepted it. A no-show of such a booking
    costs no strike."""
    if not booking_ids:
        return set()
    rows = db.session.execute(
        sa.select(N.c.booking_id, N.c.created_at, N.c.read_at, D.c.state, Garage.timezone)
        .select_from(
            N.outerjoin(D, D.c.notification_id == N.c.id)
            .join(B, B.c.id == N.c.booking_id)
            .join(Garage, Garage.id == B.c.garage_id)
        )
        .where(N.c.kind == "booking_promoted", id_among(N.c.booking_id, booking_ids))
    ).all()
    quiet: set[int] = set()
    told: set[int] = set()
    for booking_id, created_at, read_at, state, timezone in rows:
        if in_quiet_hours(created_at, timezone):
            quiet.add(booking_id)
        if read_at is not None or state == DeliveryState.SENT.value:
            told.add(booking_id)
    return quiet - told
