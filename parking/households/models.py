from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parking.dbtypes import UTCDateTime, str_enum
from parking.extensions import Base


class HouseholdState(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class VehicleState(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    RELEASED = "released"  # the car left the household (sold to a neighbour): its plate is free again


#: One household per verified plate in a garage.
VERIFIED_PLATE_SQL = sa.text("state = 'verified'")


class StrikeKind(enum.StrEnum):
    NO_SHOW = "no_show"
    OVERSTAY = "overstay"


class Household(Base):
    """The unit of fairness: an address in the estate next to one garage."""

    __tablename__ = "households"
    __audit_type__ = "household"
    __table_args__ = (
        sa.UniqueConstraint("garage_id", "building", "unit", "room", name="uq_households_address"),
        sa.Index("ix_households_garage_state", "garage_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"))
    building: Mapped[str] = mapped_column(sa.String(20))
    unit: Mapped[str] = mapped_column(sa.String(20))
    room: Mapped[str] = mapped_column(sa.String(20))
    state: Mapped[HouseholdState] = mapped_column(
        str_enum(HouseholdState, "household_state"), default=HouseholdState.PENDING
    )
    state_reason: Mapped[str | None] = mapped_column(sa.String(255))
    # The manager's reason for the last rejection, kept when the household is sent again or reopened.
    previous_reason: Mapped[str | None] = mapped_column(sa.String(255))
    resubmitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the tide last suspended it: strikes up to this instant are used up by that suspension.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when one of its bookings is bumped; its next request goes to the head of the waitlist.
    waitlist_priority: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    garage = relationship("Garage")
    members = relationship("User", back_populates="household", foreign_keys="User.household_id", order_by="User.id")
    vehicles = relationship("Vehicle", back_populates="household", order_by="Vehicle.id")

    def is_suspended(self, now: datetime) -> bool:
        return self.suspended_until is not None and self.suspended_until > now


class Vehicle(Base):
    __tablename__ = "vehicles"
    __audit_type__ = "vehicle"
    __table_args__ = (
        sa.UniqueConstraint("household_id", "plate", name="uq_vehicles_household_plate"),
        sa.Index(
            "uq_vehicles_garage_plate_verified",
            "garage_id",
            "plate",
            unique=True,
            sqlite_where=VERIFIED_PLATE_SQL,
            postgresql_where=VERIFIED_PLATE_SQL,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="CASCADE"), index=True)
    # The household's garage, copied on insert (a household never changes garage): the unique index
    # above needs it on this row.
    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"), index=True)
    plate: Mapped[str] = mapped_column(sa.String(8), index=True)
    state: Mapped[VehicleState] = mapped_column(str_enum(VehicleState, "vehicle_state"), default=VehicleState.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    household = relationship("Household", back_populates="vehicles")


class Strike(Base):
    """A no-show or overstay charged to a household; one per booking and kind, whoever charges it."""

    __tablename__ = "strikes"
    __audit_type__ = "strike"
    __table_args__ = (
        sa.UniqueConstraint("booking_id", "kind", name="uq_strikes_booking_kind"),
        sa.Index("ix_strikes_household_at", "household_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="CASCADE"))
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"))
    kind: Mapped[StrikeKind] = mapped_column(str_enum(StrikeKind, "strike_kind"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


@sa.event.listens_for(Vehicle, "before_insert")
def _vehicle_garage(mapper: Any, connection: Any, vehicle: Vehicle) -> None:
    if vehicle.garage_id is None:
        vehicle.garage_id = connection.scalar(
            sa.select(Household.garage_id).where(Household.id == vehicle.household_id)
        )


class GarageAddressList(Base):
    """The estate's addresses as its manager wrote them (parking.households.addresses reads it)."""

    __tablename__ = "garage_address_lists"
    __audit_type__ = "address_list"

    garage_id: Mapped[int] = mapped_column(sa.ForeignKey("garages.id", ondelete="CASCADE"), primary_key=True)
    spec: Mapped[str] = mapped_column(sa.Text())
    addresses: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def id(self) -> int:
        return self.garage_id
