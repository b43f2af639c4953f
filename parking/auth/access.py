"""Who is calling. The API authenticates by bearer token only (so it needs no CSRF token); the web
UI uses Flask-Login's session cookie with CSRF protection."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, request

from parking.auth import tokens
from parking.auth.models import GarageStaff, RevokedToken, Role, User, UserSession
from parking.database import AsLoaded, fill
from parking.errors import Forbidden, NotYourGarage, Unauthorized
from parking.extensions import db, login_manager
from parking.windows.models import Garage
from parking.windows.services import get_garage

F = TypeVar("F", bound=Callable[..., Any])


class _Caller:
    """One statement that finds the signed-in caller, and the instances each of its rows holds:
    the user, the household and its garage, a garage the user works for (with its `GarageStaff`
    link) and, with `with_cars` (the pages), one of the household's cars; a row per staff garage
    and car. `ended` is the statement's check that the token or sign-in was not ended. Built once,
    on first use (`_callers`).

    The household's classes are reached through `User.household` (the mappers are configured by
    the first request), so that knowing who calls stays below the households."""

    def __init__(self, with_cars: bool, ended: sa.ColumnElement[bool]) -> None:
        household = sa.inspect(User).relationships["household"].mapper.class_
        vehicle = sa.inspect(household).relationships["vehicles"].mapper.class_
        users, households, staff = User.__table__, household.__table__, GarageStaff.__table__
        garages, staff_garages = Garage.__table__.alias("household_garage"), Garage.__table__.alias("staff_garage")
        self.user, self.household, self.garage = AsLoaded(User), AsLoaded(household), AsLoaded(Garage, garages)
        self.staff, self.staff_garage = AsLoaded(GarageStaff), AsLoaded(Garage, staff_garages)
        self.vehicle = AsLoaded(vehicle) if with_cars else None
        parts = [self.user, self.household, self.garage, self.staff, self.staff_garage]
        parts += [self.vehicle] if self.vehicle is not None else []
        # Where each instance's columns start in a row.
        self.starts = tuple(itertools.accumulate((len(part.keys) for part in parts), initial=0))
        joined = (
            users.outerjoin(households, households.c.id == users.c.household_id)
            .outerjoin(garages, garages.c.id == households.c.garage_id)
            .outerjoin(staff, staff.c.user_id == users.c.id)
            .outerjoin(staff_garages, staff_garages.c.id == staff.c.garage_id)
        )
        if with_cars:
            joined = joined.outerjoin(vehicle.__table__, vehicle.__table__.c.household_id == households.c.id)
        # The token's or cookie's version and the account's state are checked in the same
        # statement: a password change, "sign out everywhere" or a disabled account finds no user.
        # Its columns are read by position (`starts`), so they carry no labels: with a label each
        # ("users.id AS users_id") the text passed the length up to which psycopg keeps a
        # statement's conversion to the server's placeholders, and it was converted again on every
        # request (docs/benchmarks.md, "The caller's statement under psycopg's cache length").
        self.statement = (
            sa.select(*(column for part in parts for column in part.selected))
            .select_from(joined)
            .where(
                users.c.id == sa.bindparam("user_id"),
                users.c.token_version == sa.bindparam("version"),
                users.c.active.is_(True),
                ended,
            )
            .set_label_style(sa.LABEL_STYLE_NONE)
        )

    def load(self, params: dict[str, Any]) -> User | None:
        """The caller, or None: unknown, another token version, disabled, or the token or sign-in
        ended. Each instance as a query with its relationships loaded eagerly would give it. The
        read is kept for `read_caller_again`."""
        g.caller_read = (self, params)
        rows = db.session.execute(self.statement, params).all()
        if not rows:
            return None
        session, starts = db.session(), self.starts
        user = self.user.adopt(session, rows[0], starts[0])
        household = self.household.adopt(session, rows[0], starts[1])
        staff: dict[int, GarageStaff] = {}
        vehicles: dict[int, Any] = {}
        for row in rows:
            link = self.staff.adopt(session, row, starts[3])
            if link is not None and link.garage_id not in staff:
                staff[link.garage_id] = link
                fill(link, [("garage", self.staff_garage.adopt(session, row, starts[4]))])
            if self.vehicle is not None and (vehicle := self.vehicle.adopt(session, row, starts[5])) is not None:
                vehicles.setdefault(vehicle.id, vehicle)
        # Each relationship the statement loads, where its instance had not loaded it (as a query
        # with these relationships loaded eagerly leaves an instance it had before).
        fill(user, [("household", household), ("staff_of", [staff[key] for key in sorted(staff)])])
        if household is not None:
            relationships: list[tuple[str, Any]] = [("garage", self.garage.adopt(session, rows[0], starts[2]))]
            if self.vehicle is not None:
                relationships.append(("vehicles", [vehicles[key] for key in sorted(vehicles)]))
            fill(household, relationships)
        return user


@functools.cache
def _callers() -> tuple[_Caller, _Caller]:
    """The bearer token's caller and the pages' session user, each in one statement with the
    household and its garage and the garages a member of staff works for: every booking and every
    gate scan needs them. In Core, the instances made from its rows (`AsLoaded`): the ORM's eager
    loaders cost twice the statement (docs/benchmarks.md, "The caller from one row")."""
    # The bearer caller, in the same statement as the check that this one token was not ended by
    # `POST /auth/logout`.
    bearer = _Caller(False, ~sa.exists().where(RevokedToken.jti == sa.bindparam("jti")))
    # The page's user also brings the household's cars (the resident's home, night list and
    # household page all show them), and checks that the browser's sign-in was not ended.
    page = _Caller(
        True, sa.exists().where(UserSession.id == sa.bindparam("sid"), UserSession.user_id == User.__table__.c.id)
    )
    return bearer, page


def read_caller_again() -> None:
    """After a rollback (a refused form drawn again): the signed-in user and what its statement
    brings, read again by that one statement. The rollback expired them, and each would otherwise
    be loaded on its own, a statement each, when the page reads it."""
    read = g.get("caller_read")
    if read is not None:
        caller, params = read
        caller.load(params)


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
            user = _callers()[0].load(params)
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
    user = _callers()[1].load(params)
    if user is None:
        return None  # logged out here, or a password change or "sign out everywhere" ended every sign-in
    user.sign_in_id = sid
    return user
