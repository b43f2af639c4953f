"""Run a request that books at most once per key: the same key from the same user within 24 h
returns the first answer (status and body); the same key with another request is 409
`idempotency_key_reused`.

The key's row is inserted first, in the transaction of the booking it answers. Of two requests with
one key at the same moment, the second waits on the unique index until the first ends: when the
first commits, the second reads its answer; when it rolls back (the database failed, a server
error), nothing was stored and the second runs as a fresh request. SQLite serialises writers at
BEGIN already. A refusal (a rule said no) is an answer too: the work runs in a savepoint, so the
refusal is stored, without the work's changes, in the same commit as the key."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from parking.dbtypes import UTCDateTime
from parking.errors import BadRequest, Conflict, DomainError, error_body, integrity_conflict
from parking.extensions import db
from parking.i18n import lazy_gettext as _l
from parking.idempotency.models import KEY_MAX_LENGTH, IdempotencyKey

HEADER = "Idempotency-Key"
#: A key is remembered this long; after it, the same key starts a new request.
LIFETIME = timedelta(hours=24)
_PRINTABLE_ASCII = re.compile(rf"[\x20-\x7e]{{1,{KEY_MAX_LENGTH}}}")


class IdempotencyKeyReused(Conflict):
    reason, message = (
        "idempotency_key_reused",
        _l("This Idempotency-Key was already used for a different request."),
    )


class InvalidIdempotencyKey(BadRequest):
    reason, message = (
        "invalid_idempotency_key",
        _l("The Idempotency-Key header must be 1 to 255 printable ASCII characters."),
    )


@dataclass(frozen=True)
class Answer:
    """What a request answered: its status and its JSON body as sent; `replayed` when it is the
    stored answer of an earlier request with the same key."""

    status: int
    body: str
    replayed: bool

    def refusal(self) -> DomainError | None:
        """A stored refusal as the domain error it was, for a page to show beside its field."""
        if self.status < 400:
            return None
        data = json.loads(self.body)
        return DomainError(
            data.get("message"),
            reason=data.get("error"),
            code=self.status,
            errors=data.get("errors"),
            details=data.get("details"),
        )


def new_key() -> str:
    """A fresh key for a rendered form: a double tap sends it twice, a new form gets another."""
    return secrets.token_urlsafe(16)


def checked_key(key: str) -> str:
    if not _PRINTABLE_ASCII.fullmatch(key):
        raise InvalidIdempotencyKey()
    return key


def fingerprint(method: str, path: str, body: Any) -> str:
    """sha256 of the method, the path and the body as canonical JSON (keys sorted, no spaces)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


# Plain SQL: both databases speak INSERT … ON CONFLICT DO NOTHING, and it is what makes a second
# request with the key wait for the first instead of failing.
_CLAIM = sa.text(
    'INSERT INTO idempotency_keys (user_id, "key", fingerprint, created_at)'
    " VALUES (:user_id, :key, :fingerprint, :created_at)"
    ' ON CONFLICT (user_id, "key") DO NOTHING RETURNING id'
).bindparams(sa.bindparam("created_at", type_=UTCDateTime()))
_STORED = (
    sa.select(IdempotencyKey)
    .where(IdempotencyKey.user_id == sa.bindparam("user_id"), IdempotencyKey.key == sa.bindparam("key"))
    .execution_options(populate_existing=True)
)
# Takes an expired key over; a concurrent request that took it first makes this match no row.
_RENEW = (
    sa.update(IdempotencyKey)
    .where(IdempotencyKey.id == sa.bindparam("key_id"), IdempotencyKey.created_at < sa.bindparam("cutoff"))
    .values(
        fingerprint=sa.bindparam("fingerprint"),
        status_code=None,
        response_body=None,
        created_at=sa.bindparam("now"),
    )
    .execution_options(synchronize_session=False)
)


# The answers hold plates: a key is kept no longer than it is useful.
_FORGET = sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < sa.bindparam("cutoff"))
_FORGET_OWN = _FORGET.where(IdempotencyKey.user_id == sa.bindparam("user_id"))


def forget_expired(now: datetime) -> int:
    """Delete every key older than its lifetime (for the tide); the number deleted. Flushes only."""
    result = db.session.execute(_FORGET, {"cutoff": now - LIFETIME}, execution_options={"synchronize_session": False})
    return int(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE returns a CursorResult, which has rowcount


def _claim(user_id: int, key: str, print_: str, now: datetime) -> tuple[IdempotencyKey, bool]:
    """The key's row and whether it is ours to answer (fresh), or an earlier request's answer."""
    params, cutoff = {"user_id": user_id, "key": key}, now - LIFETIME
    # Looked at again only when an expired row changed under us (taken over or forgotten meanwhile).
    for _ in range(3):
        inserted = db.session.execute(_CLAIM, {**params, "fingerprint": print_, "created_at": now}).scalar()
        stored = db.session.scalar(_STORED, params)
        if stored is None:  # an expired row, forgotten between the two statements
            continue
        if inserted is not None:
            # A user's own expired keys go with their next one; `forget_expired` takes the rest.
            db.session.execute(
                _FORGET_OWN, {"cutoff": cutoff, "user_id": user_id}, execution_options={"synchronize_session": False}
            )
            return stored, True
        if stored.created_at < cutoff:
            renewed = db.session.execute(
                _RENEW, {"key_id": stored.id, "cutoff": cutoff, "fingerprint": print_, "now": now}
            )
            if renewed.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE returns a CursorResult, which has rowcount
                return db.session.scalar(_STORED, params), True  # type: ignore[return-value]  # the renewed row exists: the UPDATE just changed it
            continue
        if stored.fingerprint != print_:
            raise IdempotencyKeyReused()
        if stored.status_code is None or stored.response_body is None:  # never committed so; defensive
            break
        return stored, False
    raise Conflict(reason="idempotency_key_in_use")


def run_once(user_id: int, key: str | None, print_: str, now: datetime, work: Callable[[], tuple[int, str]]) -> Answer:
    """Run `work` (the request's unit of work, returning its status and JSON body) once per key,
    and commit: this is the unit's boundary. Without a key it runs and commits as before.

    A refusal raised by `work` is stored and raised again, so the caller answers it as usual;
    any other exception (the database failed, a bug) propagates with nothing stored."""
    if key is None:
        status, body = work()
        db.session.commit()
        return Answer(status, body, replayed=False)
    row, fresh = _claim(user_id, checked_key(key), print_, now)
    if not fresh:
        db.session.commit()  # ends the reading transaction; nothing changed
        return Answer(row.status_code or 0, row.response_body or "", replayed=True)
    refusal: DomainError | None = None
    try:
        with db.session.begin_nested():
            status, body = work()
    except DomainError as exc:
        refusal = exc
    except IntegrityError as exc:  # a constraint fired: another request got there first
        refusal = integrity_conflict(exc)
    if refusal is not None:
        status = refusal.code
        body = json.dumps(
            error_body(refusal.code, refusal.reason, refusal.message, refusal.errors, refusal.details),
            ensure_ascii=False,
            default=str,
        )
    row.status_code, row.response_body = status, body
    db.session.commit()
    if refusal is not None:
        raise refusal
    return Answer(status, body, replayed=False)
