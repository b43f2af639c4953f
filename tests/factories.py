"""Factory helpers: `factory.resident()`, `factory.window()`, `factory.booking(**overrides)` …
They write through the session and commit, like a finished unit of work."""

from __future__ import annotations

import itertools
from datetime import date, time, timedelta
from typing import Any

from parking import clock
from parking.auth import tokens
from parking.auth.models import GarageStaff, Role, User
from parking.bookings import services as booking_services
from parking.bookings.models import Booking
from parking.extensions import db
from parking.garages.services import ensure_windows
from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.passes.services import new_key
from parking.windows.models import Garage, TemplateMode, Window, WindowTemplate
from parking.windows.services import today

PROVINCES = "沪京苏浙粤川鄂湘皖鲁"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


class Factory:
    def __init__(self, app: Any) -> None:
        self.app = app
        self._seq = itertools.count(1)

    def n(self) -> int:
        return next(self._seq)

    def plate(self, i: int | None = None) -> str:
        i = self.n() if i is None else i
        return f"{PROVINCES[i % len(PROVINCES)]}{LETTERS[(i // 10) % len(LETTERS)]}{i % 100000:05d}"

    def phone(self) -> str:
        return f"139{self.n():08d}"

    def garage(self, **overrides: Any) -> Garage:
        values = {"name": f"Garage {self.n()}", "timezone": "Asia/Shanghai", "capacity": 300, "created_at": clock.now()}
        values.update(overrides)
        garage = Garage(**values)
        db.session.add(garage)
        db.session.flush()
        db.session.add(new_key(garage.id, clock.now()))  # opened with its first signing key, as `open_garage` does
        db.session.commit()
        return garage

    def template(self, garage: Garage | None = None, **overrides: Any) -> WindowTemplate:
        garage = garage or self.garage()
        values = {
            "garage_id": garage.id,
            "name": "Overnight",
            "weekdays": 0b1111111,
            "start_time": time(19, 0),
            "end_time": time(7, 30),
            "default_quota": 60,
            "mode": TemplateMode.FIRST_COME,
            "created_at": clock.now(),
        }
        values.update(overrides)
        template = WindowTemplate(**values)
        db.session.add(template)
        db.session.commit()
        return template

    def window(
        self,
        garage: Garage | None = None,
        *,
        quota: int = 60,
        day: date | None = None,
        template: WindowTemplate | None = None,
    ) -> Window:
        """The window of `day` (default: today in the garage's timezone) with `quota`."""
        template = template or self.template(garage, default_quota=quota)
        garage = template.garage
        day = day or today(garage, clock.now())
        ensure_windows(garage, day, day, clock.now(), [template])
        window = db.session.scalar(
            db.select(Window).where(Window.template_id == template.id, Window.service_date == day)
        )
        assert window is not None, "day outside the horizon"
        window.quota = quota
        db.session.commit()
        return window

    def user(self, role: Role = Role.RESIDENT, garage: Garage | None = None, **overrides: Any) -> User:
        from werkzeug.security import generate_password_hash

        values = {
            "phone": self.phone(),
            "name": f"User {self.n()}",
            "role": role,
            "password_hash": generate_password_hash("password123", method="pbkdf2:sha256:1000"),
            "created_at": clock.now(),
        }
        values.update(overrides)
        user = User(**values)
        db.session.add(user)
        if garage is not None:
            user.staff_of.append(GarageStaff(garage_id=garage.id))
        db.session.commit()
        return user

    def manager(self, garage: Garage) -> User:
        return self.user(Role.MANAGER, garage)

    def attendant(self, garage: Garage) -> User:
        return self.user(Role.ATTENDANT, garage)

    def admin(self) -> User:
        return self.user(Role.ADMIN)

    def household(
        self, garage: Garage, *, state: HouseholdState = HouseholdState.VERIFIED, members: int = 1, plates: int = 1
    ) -> Household:
        n = self.n()
        household = Household(
            garage_id=garage.id, building=str(n // 100 + 1), unit="1", room=str(n), state=state, created_at=clock.now()
        )
        db.session.add(household)
        db.session.flush()
        for _ in range(members):
            self.user(household_id=household.id)
        for _ in range(plates):
            db.session.add(
                Vehicle(
                    household_id=household.id, plate=self.plate(), state=VehicleState.VERIFIED, created_at=clock.now()
                )
            )
        db.session.commit()
        return household

    def resident(self, garage: Garage, **kwargs: Any) -> tuple[User, str]:
        """A member of a verified household with one verified plate: (user, plate)."""
        household = self.household(garage, **kwargs)
        return household.members[0], household.vehicles[0].plate

    def browser(self, client: Any, user: User) -> Any:
        """`client` holds the session cookie of a browser signed in as `user` (its sign-in row
        written as the login page writes it)."""
        from parking.auth import sign_ins

        sign_ins.start(user, clock.now())
        db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return client

    def headers(self, user: User) -> dict[str, str]:
        token, _ = tokens.issue(user)
        return {"Authorization": f"Bearer {token}"}

    def booking(
        self,
        window: Window | None = None,
        *,
        user: User | None = None,
        plate: str | None = None,
        waitlist: bool = False,
    ) -> Booking:
        window = window or self.window()
        if user is None:
            user, own_plate = self.resident(window.garage)
            plate = plate or own_plate
        booking = booking_services.request_booking(
            user, window.id, plate or user.household.vehicles[0].plate, waitlist, clock.now()
        )
        db.session.commit()
        return booking


def days(n: int) -> timedelta:
    return timedelta(days=n)
