"""Password reset codes: a manager (for the members of their garage's households) or an admin
issues a one-time 8-digit code, shown once and kept only as a keyed hash, valid for 24 hours. The
resident gives phone, code and a new password; a wrong code counts as a failed sign-in for that
phone. A reset ends every session and bearer token of the person (the token version moves on).
A code never travels in a message: the manager hands it over in person or by telephone."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from parking.audit.services import record
from parking.auth import lockout, sign_ins, signals
from parking.auth.models import ResetCode, Role, User
from parking.auth.services import hash_password, user_by_phone
from parking.errors import Forbidden, NotFound, Unauthorized
from parking.extensions import db

CODE_DIGITS = 8


@dataclass(frozen=True)
class IssuedCode:
    user: User
    code: str
    expires_at: datetime


def _digest(user_id: int, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


def may_issue(actor: User, person: User) -> bool:
    """An admin for anybody; a manager for the members of a household of a garage they manage."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.MANAGER or person.household is None:
        return False
    return actor.is_staff_of(person.household.garage_id, Role.MANAGER)


def issue(actor: User, user_id: int, now: datetime) -> IssuedCode:
    """A new code for the person; older unused codes stop working, and a lock-out is lifted (the
    manager has just vouched for the person, who could not use the code otherwise)."""
    person = db.session.get(User, user_id)
    if person is None or not person.active:
        raise NotFound()
    if not may_issue(actor, person):
        raise Forbidden()
    db.session.execute(sa.delete(ResetCode).where(ResetCode.user_id == person.id, ResetCode.used_at.is_(None)))
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    expires_at = now + timedelta(hours=current_app.config["RESET_CODE_TTL_HOURS"])
    db.session.add(
        ResetCode(
            user_id=person.id,
            code_hash=_digest(person.id, code),
            issued_by_id=actor.id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    lockout.lift_if_locked(actor, person, now, reason="reset code issued")
    record(
        actor,
        "user.reset_code_issued",
        person,
        after={"expires_at": expires_at},
        garage_id=person.household.garage_id if person.household else None,
        at=now,
    )
    db.session.flush()
    signals.reset_code_issued.send(person, now=now)
    return IssuedCode(person, code, expires_at)


def reset_password(phone: str, code: str, password: str, now: datetime) -> User:
    """Set a new password with a valid code: 401 `bad_reset_code` otherwise (counted as a failed
    sign-in), 403 `login_locked` while the phone is locked out. The caller commits either way."""
    person = user_by_phone(phone)
    if person is None:
        lockout.record_failure(phone, None, now, via="reset_code")
        raise Unauthorized(reason="bad_reset_code")
    lockout.refuse_if_locked(person, now)
    candidate = db.session.scalar(
        sa.select(ResetCode)
        .where(ResetCode.user_id == person.id, ResetCode.used_at.is_(None), ResetCode.expires_at > now)
        .order_by(ResetCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    if candidate is None or not hmac.compare_digest(candidate.code_hash, _digest(person.id, code)):
        lockout.record_failure(phone, person, now, via="reset_code")
        raise Unauthorized(reason="bad_reset_code")
    candidate.used_at = now
    person.password_hash = hash_password(password)
    sign_ins.end_all(person)  # every session and token of the person ends here
    lockout.clear_failures(phone)
    record(
        person,
        "user.password_reset",
        person,
        after={"via": "reset_code"},
        garage_id=person.household.garage_id if person.household else None,
        at=now,
    )
    db.session.flush()
    return person
