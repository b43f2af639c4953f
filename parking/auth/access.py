"""Who is calling. The API authenticates by bearer token only (so it needs no CSRF token); the web
UI uses Flask-Login's session cookie with CSRF protection."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, request
from sqlalchemy.orm import joinedload

from parking.auth import tokens
from parking.auth.models import GarageStaff, RevokedToken, Role, User, UserSession
from parking.errors import Forbidden, NotYourGarage, Unauthorized
from parking.extensions import db, login_manager
from parking.windows.models import Garage
from parking.windows.services import get_garage

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def _caller_statements() -> tuple[sa.Select[tuple[User]], sa.Select[tuple[User]]]:
    """The bearer token's caller and the pages' session user, each in one statement with the
    household and its garage and the garages a member of staff works for: every booking and every
    gate scan needs them. Built once, on first use: `session.get` with loader options builds and
    hashes a new statement on every call, which cost more than the query itself (docs/benchmarks.md).

    The household's own relationships are reached through `User.household` (the mappers are
    configured by the first request), so that knowing who calls stays below the households."""
    household = sa.inspect(User).relationships["household"].mapper.class_
    # The token's or cookie's version and the account's state are checked in the same statement:
    # a password change, "sign out everywhere" or a disabled account finds no user.
    user = (
        sa.select(User)
        .options(
            joinedload(User.household).joinedload(household.garage),
            joinedload(User.staff_of).joinedload(GarageStaff.garage),
        )
        .where(
            User.id == sa.bindparam("user_id"),
            User.token_version == sa.bindparam("version"),
            User.active.is_(True),
        )
    )
    # The bearer caller, in the same statement as the check that this one token was not ended by
    # `POST /auth/logout`.
    bearer = user.where(~sa.exists().where(RevokedToken.jti == sa.bindparam("jti")))
    # The page's user also brings the household's cars (the resident's home, night list and
    # household page all show them), and checks that the browser's sign-in was not ended.
    page = user.options(joinedload(User.household).joinedload(household.vehicles)).where(
        sa.exists().where(UserSession.id == sa.bindparam("sid"), UserSession.user_id == User.id)
    )
    return bearer, page


def bearer_user() -> User | None:
    if "api_user" in g:
        return g.api_user
    user = None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        claims = tokens.read(token.strip())
        if claims:
            params = {"user_id": claims.user_id, "version": claims.version, "jti": claims.jti}
            user = db.session.execute(_caller_statements()[0], params).unique().scalar_one_or_none()
            if user is not None:
                g.api_token = claims
    g.api_user = user
    # Kept apart from the ORM object: an error page must not touch a session that failed.
    g.api_locale = user.locale if user is not None else None
    return user


def current_actor() -> User:
    user = bearer_user()
    if user is None:
        raise Unauthorized()
    return user


def require(*roles: Role) -> Callable[[F], F]:
    """A view decorator: a signed-in user, and with `roles`, one of them (admins always pass)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_actor()
            if roles and user.role not in roles and user.role != Role.ADMIN:
                raise Forbidden()
            return view(*args, **kwargs)

        wrapper.required_roles = roles  # type: ignore[attr-defined]  # the API document reads it (bearer security, 403)
        return wrapper  # type: ignore[return-value]  # functools.wraps keeps the view signature; the checker sees the wrapper

    return decorator


def require_staff(user: User, garage_id: int, *roles: Role) -> None:
    """403 unless `user` is an admin or staff (in `roles`) of the garage."""
    if not user.is_staff_of(garage_id, *(roles or (Role.MANAGER, Role.ATTENDANT))):
        raise Forbidden()


def require_gate_staff(actor: User, garage_id: int) -> Garage:
    """The garage, for its attendants and managers (and admins); 403 for anyone else."""
    require_staff(actor, garage_id, Role.ATTENDANT, Role.MANAGER)
    return get_garage(garage_id)


def managed_garage(actor: User, garage_id: int) -> Garage:
    """The garage, if the actor manages it: 404 for an unknown garage, 403 for someone else's."""
    garage = get_garage(garage_id)
    if not actor.is_staff_of(garage.id, Role.MANAGER):
        raise NotYourGarage()
    return garage


def current_token() -> tokens.Claims:
    """The claims of the bearer token the signed-in caller sent."""
    current_actor()
    return g.api_token


def session_id(user_id: str) -> tuple[int, int, str] | None:
    """(user id, token version, sign-in id) from Flask-Login's "id:version:sign-in" (session and
    remember cookie), or None. A cookie from before sign-ins had ids ("id:version") is refused."""
    parts = user_id.split(":")
    if len(parts) != 3:
        return None
    ident, version, sid = parts
    if not ident.isdigit() or len(ident) > 10 or not version.isdigit() or len(version) > 10 or len(sid) != 32:
        return None
    return int(ident), int(version), sid


@login_manager.user_loader
def load_session_user(user_id: str) -> User | None:
    """The web UI's session or remember cookie (Flask-Login); the API never reads either."""
    parsed = session_id(user_id)
    if parsed is None:
        return None
    ident, version, sid = parsed
    params = {"user_id": ident, "version": version, "sid": sid}
    user = db.session.execute(_caller_statements()[1], params).unique().scalar_one_or_none()
    if user is None:
        return None  # logged out here, or a password change or "sign out everywhere" ended every sign-in
    user.sign_in_id = sid
    return user
