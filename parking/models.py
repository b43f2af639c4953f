"""Every model, imported in dependency order (Alembic and the mappers need them all)."""

from parking.audit.models import AuditEvent
from parking.auth.models import GarageStaff, Role, User
from parking.bookings.models import Booking, BookingStatus
from parking.gate.models import Camera, PlateEvent, Scan  # noqa: F401
from parking.households.models import GarageAddressList, Household, Strike, Vehicle
from parking.idempotency.models import IdempotencyKey
from parking.monthly.models import MonthlyOffer, MonthlyStatement, Subscription
from parking.notifications.models import Delivery, DeliveryAttempt, GarageWebhook, Notification  # noqa: F401
from parking.passes.models import Pass, PassKey  # noqa: F401
from parking.quotas.models import QuotaOverride
from parking.windows.models import Garage, Window, WindowState, WindowTemplate

__all__ = [
    "AuditEvent",
    "Booking",
    "BookingStatus",
    "Garage",
    "GarageAddressList",
    "GarageStaff",
    "Household",
    "IdempotencyKey",
    "MonthlyOffer",
    "MonthlyStatement",
    "Notification",
    "QuotaOverride",
    "Role",
    "Strike",
    "Subscription",
    "User",
    "Vehicle",
    "Window",
    "WindowState",
    "WindowTemplate",
]
