from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parking.dbtypes import UTCDateTime, str_enum
from parking.extensions import Base


class Role(enum.StrEnum):
    RESIDENT = "resident"
    ATTENDANT = "attendant"
    MANAGER = "manager"
    ADMIN = "admin"


class User(UserMixin, Base):
    __tablename__ = "users"
    __audit_type__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(sa.String(11), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), default=Role.RESIDENT)
    locale: Mapped[str] = mapped_column(sa.String(5), default="zh")
    # Off: notifications stay in-app (no SMS or WeChat through the garage's gateway).
    sms_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id", ondelete="SET NULL"), index=True)
    # Bumped on password change or logout-everywhere: tokens carry it and die with the old value.
    token_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # An erased account: its personal fields are gone; the row stays for the audit trail's user:<id>.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    household = relationship("Household", back_populates="members", foreign_keys=[household_id])
    staff_of = relationship("GarageStaff", back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    def get_id(self) -> str:  # flask-login: the session dies with the token version or its sign-in
        return f"{self.id}:{self.token_version}:{self.sign_in_id or ''}"

    @property
    def sign_in_id(self) -> str | None:
        """The browser sign-in (a `UserSession` id) this user object was loaded for; not a column."""
        return self.__dict__.get("_sign_in_id")

    @sign_in_id.setter
    def sign_in_id(self, value: str | None) -> None:
        self.__dict__["_sign_in_id"] = value

    @property
    def garage_ids(self) -> list[int]:
        return sorted(s.garage_id for s in self.staff_of)

    def is_staff_of(self, garage_id: int, *roles: Role) -> bool:
        """Admins act on every garage; managers and attendants on the garages they belong to."""
        if self.role == Role.ADMIN:
            return True
        if roles and self.role not in roles:
            return False
        return any(s.garage_id == garage_id for s in self.staff_of)


class GarageStaff(Base):
    """Which garages an attendant or manager works for."""

    __tablename__ = "garage_staff"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    garage_id: Mapped[int] = mapped_column(
        sa.ForeignKey("garages.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    user = relationship("User", back_populates="staff_of")
    garage = relationship("Garage")


class UserSession(Base):
    """One browser's sign-in. Its id rides in the session and remember cookies; logging out deletes
    the row, so a copied cookie of that browser no longer opens a page."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RevokedToken(Base):
    """A bearer token ended before its time by `POST /auth/logout`, kept until it would have expired."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class LoginLockout(Base):
    """A phone's password sign-in paused after too many failures. The row keeps the rung of the
    ladder (15 min doubling up to 24 h), so the next lock-out knows how long it lasts."""

    __tablename__ = "login_lockouts"
    __table_args__ = (
        sa.CheckConstraint("level >= 1", name="level_positive"),
        sa.CheckConstraint("locked_until > started_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    level: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    user = relationship("User", foreign_keys=[user_id])


class ResetCode(Base):
    """A one-time password reset code, stored as an HMAC of the code (never the code itself)."""

    __tablename__ = "reset_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User", foreign_keys=[user_id])
