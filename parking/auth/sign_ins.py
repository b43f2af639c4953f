"""Where sign-ins end: one browser's logout, one bearer token's logout, and the user's password
change or "sign out everywhere", which end every token and every browser of the user at once."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from parking.audit.services import record
from parking.auth.models import RevokedToken, User, UserSession
from parking.auth.services import hash_password
from parking.auth.tokens import Claims
from parking.errors import WrongPassword
from parking.extensions import db


def start(user: User, now: datetime) -> str:
    """A new browser sign-in for `user`; its id goes into the cookies through `user.get_id()`."""
    sign_in = UserSession(id=secrets.token_hex(16), user_id=user.id, created_at=now)
    db.session.add(sign_in)
    db.session.flush()
    user.sign_in_id = sign_in.id
    return sign_in.id


def end(user: User) -> None:
    """Logout: this browser's sign-in ends on the server; the user's other browsers stay signed in."""
    if user.sign_in_id:
        db.session.execute(
            sa.delete(UserSession).where(UserSession.id == user.sign_in_id, UserSession.user_id == user.id)
        )
    user.sign_in_id = None


def end_token(claims: Claims, now: datetime) -> None:
    """`POST /auth/logout`: this one bearer token stops working; it is remembered until it would
    have expired (expired ones are forgotten here)."""
    db.session.execute(sa.delete(RevokedToken).where(RevokedToken.expires_at <= now))
    if db.session.get(RevokedToken, claims.jti) is None:
        db.session.add(RevokedToken(jti=claims.jti, user_id=claims.user_id, expires_at=claims.expires_at))
    db.session.flush()


def end_all(user: User) -> None:
    """Every bearer token and browser sign-in of `user` ends (a password change or reset, "sign out
    everywhere"): the version every token and cookie carries moves on, and the sign-ins go."""
    user.token_version += 1
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    user.sign_in_id = None
    db.session.flush()


def sign_out_everywhere(user: User, now: datetime) -> None:
    end_all(user)
    record(user, "user.signed_out_everywhere", user, at=now)


def change_password(user: User, current_password: str, new_password: str, now: datetime) -> None:
    """A new password, given the current one; every token and sign-in of the user ends."""
    if not check_password_hash(user.password_hash, current_password):
        raise WrongPassword()
    user.password_hash = hash_password(new_password)
    end_all(user)
    record(user, "user.password_changed", user, at=now)


def change_password_and_stay(user: User, current_password: str, new_password: str, now: datetime) -> str:
    """The password page's change: a new password ends every sign-in of the user, and this
    browser stays signed in with a new one (its id is returned)."""
    change_password(user, current_password, new_password, now)
    return start(user, now)
