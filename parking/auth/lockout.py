"""Login protection. Failed sign-ins are counted per phone in the rate limiter's storage (Redis in
production); enough of them in the window lock that phone's password sign-in, and the lock-out is a
database row, so it outlives a Redis restart and remembers its rung: 15 minutes, doubling for each
further lock-out that starts within a day of the last one's end, up to 24 hours (all configurable).

A lock-out pauses password sign-in (and reset codes) only: sessions and bearer tokens already
issued keep working. The page form and the API call the same functions here, so they share the
counters. Failures and lock-outs are audited on `user:<id>`, never with the phone or password."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime
from flask import current_app
from flask_babel import LazyString
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter

from parking.audit.services import record
from parking.auth import signals
from parking.auth.models import LoginLockout, Role, User
from parking.errors import Forbidden, NotFound
from parking.extensions import db, limiter
from parking.i18n import get_locale
from parking.i18n import gettext as _

log = logging.getLogger(__name__)

NAMESPACE = "login-failures"
_LOCAL = "login_failure_counters"
_MOMENT = {"zh": "M月d日 HH:mm", "en": "d MMMM HH:mm"}


def until_words(instant: datetime, timezone: str) -> str:
    """ "12月3日 18:45" / "3 December 18:45", in the reader's language and the garage's timezone."""
    locale = get_locale()
    lang = "en" if locale is not None and locale.language == "en" else "zh"
    local = instant.astimezone(ZoneInfo(timezone))
    return format_datetime(local, _MOMENT[lang], tzinfo=local.tzinfo, locale=lang)


def _locked_message(until: datetime, timezone: str) -> str:
    return _(
        "Too many wrong passwords: signing in with a password is paused until %(when)s. "
        "The garage manager can lift this.",
        when=until_words(until, timezone),
    )


class LoginLocked(Forbidden):
    """403 `login_locked`: details.locked_until (ISO), and Retry-After in seconds."""

    reason = "login_locked"

    def __init__(self, lockout: LoginLockout, timezone: str, now: datetime) -> None:
        until = lockout.locked_until
        super().__init__(
            LazyString(_locked_message, until, timezone),
            details={"locked_until": until.isoformat(), "level": lockout.level},
            headers={"Retry-After": str(max(1, math.ceil((until - now).total_seconds())))},
        )
        self.locked_until = until


# -- the counters -----------------------------------------------------------------------------------


def _local_counter() -> RateLimiter:
    counter = current_app.extensions.get(_LOCAL)
    if counter is None:
        counter = current_app.extensions.setdefault(_LOCAL, MovingWindowRateLimiter(MemoryStorage()))
    return counter


def _counter() -> RateLimiter:
    """The limiter's own strategy (so its in-memory fallback applies while Redis is down); with rate
    limits switched off (tests, a single process) a per-process memory one: a lock-out never is."""
    if current_app.config.get("RATELIMIT_ENABLED") and limiter.enabled and limiter.initialized:
        return limiter.limiter
    return _local_counter()


def _item() -> RateLimitItem:
    return parse(current_app.config["LOGIN_FAILURES_PER_PHONE"])


def _key(phone: str) -> list[str]:
    """The storage key names the phone by a keyed hash: Redis never holds the number itself."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), phone.encode(), hashlib.sha256).hexdigest()[:24]
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    return [part for part in (prefix, NAMESPACE, digest) if part]


T = TypeVar("T")


def _with_storage(action: Callable[[Any], T]) -> T:
    try:
        return action(_counter())
    except Exception:  # the shared storage is down: count in this process rather than refuse sign-in
        # Logged at most once a minute by the filter init_limiter_logging puts on this logger.
        log.warning("login failure counters: limiter storage unreachable, counting in memory", exc_info=True)
        return action(_local_counter())


def _count(phone: str) -> bool:
    """Count one failure; True when the window is now full."""
    item, key = _item(), _key(phone)

    def hit(counter: RateLimiter) -> bool:
        counter.hit(item, *key)
        return not counter.test(item, *key)

    return _with_storage(hit)


def failures_left(phone: str) -> int:
    item, key = _item(), _key(phone)
    return _with_storage(lambda counter: counter.get_window_stats(item, *key).remaining)


def clear_failures(phone: str) -> None:
    item, key = _item(), _key(phone)
    _with_storage(lambda counter: counter.clear(item, *key))


def forget_all_failures() -> None:
    """Tests: a fresh start for the per-process counters."""
    _local_counter().storage.reset()


# -- lock-outs --------------------------------------------------------------------------------------


def lockout_minutes(level: int) -> int:
    """The length of the `level`th lock-out in a row: 15, 30, 60 … capped (at 24 h)."""
    config = current_app.config
    return min(config["LOGIN_LOCKOUT_MINUTES"] * 2 ** (level - 1), config["LOGIN_LOCKOUT_MAX_MINUTES"])


def user_timezone(user: User) -> str:
    """Where the person lives or works: the garage's timezone, else the service's default."""
    if user.household is not None:
        return user.household.garage.timezone
    for staff in user.staff_of:
        return staff.garage.timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def _garage_id(user: User) -> int | None:
    """The garage whose audit trail shows this person's failures and lock-outs."""
    if user.household is not None:
        return user.household.garage_id
    return user.garage_ids[0] if user.staff_of else None


def active_lockout(user_id: int, now: datetime) -> LoginLockout | None:
    return db.session.scalar(
        sa.select(LoginLockout)
        .where(LoginLockout.user_id == user_id, LoginLockout.lifted_at.is_(None), LoginLockout.locked_until > now)
        .order_by(LoginLockout.locked_until.desc())
        .limit(1)
    )


def active_lockouts(user_ids: list[int], now: datetime) -> dict[int, LoginLockout]:
    """The active lock-out of each of these people (one query, for a page that lists them)."""
    if not user_ids:
        return {}
    rows = db.session.scalars(
        sa.select(LoginLockout).where(
            LoginLockout.user_id.in_(user_ids), LoginLockout.lifted_at.is_(None), LoginLockout.locked_until > now
        )
    )
    return {row.user_id: row for row in rows}


def refuse_if_locked(user: User, now: datetime) -> None:
    lockout = active_lockout(user.id, now)
    if lockout is not None:
        raise LoginLocked(lockout, user_timezone(user), now)


def _next_level(user_id: int, now: datetime) -> int:
    """One rung up when the last lock-out ended less than the ladder's memory ago and nobody lifted
    it (a manager who lifts one vouches for the person); else back to the first rung."""
    last = db.session.scalar(
        sa.select(LoginLockout).where(LoginLockout.user_id == user_id).order_by(LoginLockout.id.desc()).limit(1)
    )
    memory = timedelta(hours=current_app.config["LOGIN_LOCKOUT_LADDER_HOURS"])
    if last is None or last.lifted_at is not None or now - last.locked_until >= memory:
        return 1
    return last.level + 1


def record_failure(phone: str, user: User | None, now: datetime, via: str = "password") -> None:
    """A wrong password or reset code for `phone`. Raises LoginLocked when it fills the window.
    Unknown phones are counted too (same work, same answer), but have no row to lock or audit."""
    full = _count(phone)
    if user is None:
        return
    garage_id = _garage_id(user)
    record(None, "user.login_failed", user, after={"via": via}, garage_id=garage_id, at=now)
    if not full:
        return
    # Two failures at once must not open two lock-outs: the user's row serialises them.
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
    lockout = active_lockout(user.id, now)
    if lockout is None:
        level = _next_level(user.id, now)
        lockout = LoginLockout(
            user_id=user.id, level=level, started_at=now, locked_until=now + timedelta(minutes=lockout_minutes(level))
        )
        db.session.add(lockout)
        db.session.flush()
        record(
            None,
            "user.locked_out",
            user,
            after={"level": level, "locked_until": lockout.locked_until, "minutes": lockout_minutes(level)},
            garage_id=garage_id,
            at=now,
        )
        signals.locked_out.send(user, until=lockout.locked_until, timezone=user_timezone(user), now=now)
    clear_failures(phone)  # the next lock-out needs a fresh window of failures after this one ends
    raise LoginLocked(lockout, user_timezone(user), now)


# -- who may lift a lock-out or issue a reset code ---------------------------------------------------


def manages_person(actor: User, person: User) -> bool:
    """An admin manages everybody; a manager the residents and attendants of their garages."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.MANAGER:
        return False
    if person.role == Role.RESIDENT and person.household is not None:
        return actor.is_staff_of(person.household.garage_id, Role.MANAGER)
    if person.role == Role.ATTENDANT:
        return any(actor.is_staff_of(garage_id, Role.MANAGER) for garage_id in person.garage_ids)
    return False


def person_for(actor: User, user_id: int) -> User:
    """The person `actor` acts on: 404 for an unknown id, 403 for somebody else's."""
    person = db.session.get(User, user_id)
    if person is None:
        raise NotFound()
    if not manages_person(actor, person):
        raise Forbidden()
    return person


def lift(actor: User, user_id: int, now: datetime, reason: str | None = None) -> LoginLockout:
    person = person_for(actor, user_id)
    lockout = active_lockout(person.id, now)
    if lockout is None:
        raise NotFound(reason="not_locked_out")
    _lift(actor, person, lockout, now, reason)
    return lockout


def lift_if_locked(actor: User, person: User, now: datetime, reason: str) -> LoginLockout | None:
    lockout = active_lockout(person.id, now)
    if lockout is not None:
        _lift(actor, person, lockout, now, reason)
    return lockout


def _lift(actor: User, person: User, lockout: LoginLockout, now: datetime, reason: str | None) -> None:
    lockout.lifted_at = now
    lockout.lifted_by_id = actor.id
    record(
        actor,
        "user.lockout_lifted",
        person,
        before={"locked_until": lockout.locked_until, "level": lockout.level},
        reason=reason,
        garage_id=_garage_id(person),
        at=now,
    )
    db.session.flush()
