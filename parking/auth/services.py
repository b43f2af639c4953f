from __future__ import annotations

from datetime import datetime

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from parking.audit.services import record
from parking.auth import lockout, tokens
from parking.auth.models import GarageStaff, Role, User
from parking.errors import Conflict, Unauthorized
from parking.extensions import db

# Verifying against this keeps a login for an unknown phone as slow as one for a known phone.
_DUMMY_HASH: dict[str, str] = {}


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def register(
    phone: str,
    password: str,
    name: str,
    now: datetime,
    role: Role = Role.RESIDENT,
    garage_ids: list[int] | None = None,
    actor: User | None = None,
) -> User:
    if db.session.scalar(db.select(User.id).where(User.phone == phone)):
        raise Conflict(reason="phone_taken")
    user = User(phone=phone, name=name, password_hash=hash_password(password), role=role, created_at=now)
    db.session.add(user)
    for garage_id in garage_ids or []:
        user.staff_of.append(GarageStaff(garage_id=garage_id))
    db.session.flush()
    record(
        actor or user,
        "user.created",
        user,
        after={"phone": phone, "role": role.value, "garages": garage_ids or []},
        at=now,
    )
    return user


def user_by_phone(phone: str) -> User | None:
    """The active user with this phone (an inactive one signs in as nobody)."""
    user = db.session.scalar(db.select(User).where(User.phone == phone))
    return user if user is not None and user.active else None


def check_credentials(phone: str, password: str, now: datetime) -> User:
    """The active user with this phone and password, or 401 `bad_credentials`, or 403
    `login_locked` while that phone's password sign-in is paused (API and pages alike).

    A refusal has written the failure (and any lock-out): the caller commits before answering."""
    user = user_by_phone(phone)
    if user is None:
        method = current_app.config["PASSWORD_HASH_METHOD"]
        if method not in _DUMMY_HASH:
            _DUMMY_HASH[method] = generate_password_hash("not-a-password", method=method)
        check_password_hash(_DUMMY_HASH[method], password)
        lockout.record_failure(phone, None, now)
        raise Unauthorized(reason="bad_credentials")
    lockout.refuse_if_locked(user, now)
    if not check_password_hash(user.password_hash, password):
        lockout.record_failure(phone, user, now)
        raise Unauthorized(reason="bad_credentials")
    return user


def authenticate(phone: str, password: str, now: datetime) -> tuple[str, int]:
    return tokens.issue(check_credentials(phone, password, now))


def set_language(user: User, code: str) -> User:
    """The person's language: of their notifications, and of a browser that never chose one (the
    codes are the app's LANGUAGES, checked by the page that asks)."""
    user.locale = code
    return user
