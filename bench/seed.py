"""Bulk seeding for the benches: plain INSERTs in batches, with progress on stderr."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from bench.common import log
from parking.auth.models import Role, User
from parking.extensions import db
from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.windows.models import Garage, TemplateMode, Window, WindowState, WindowTemplate
from parking.windows.services import window_instants

PROVINCES = "沪京苏浙粤川鄂湘皖鲁"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
BATCH = 5000


def plate(i: int) -> str:
    """A distinct valid plate for every i < 2.4 million."""
    return f"{PROVINCES[i % 10]}{LETTERS[(i // 10) % 24]}{(i // 240) % 100000:05d}"


def insert_batches(table: sa.Table, rows: list[dict], label: str) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(table.insert(), rows[start : start + BATCH])
        if len(rows) > BATCH:
            log(f"  {label}: {min(start + BATCH, len(rows))}/{len(rows)}")


def garage_with_window(
    now: datetime,
    quota: int,
    service_date,
    name: str = "Bench garage",
    start: time = time(19, 0),
    end: time = time(7, 30),
) -> tuple[int, int]:
    garage = Garage(name=name, timezone="Asia/Shanghai", capacity=max(quota, 300), created_at=now)
    db.session.add(garage)
    db.session.flush()
    template = WindowTemplate(
        garage_id=garage.id,
        name="Overnight",
        weekdays=127,
        start_time=start,
        end_time=end,
        default_quota=quota,
        mode=TemplateMode.FIRST_COME,
        created_at=now,
    )
    db.session.add(template)
    db.session.flush()
    opens, closes = window_instants(template, service_date, garage.timezone)
    window = Window(
        garage_id=garage.id,
        template_id=template.id,
        service_date=service_date,
        opens_at=opens,
        closes_at=closes,
        quota=quota,
        booked=0,
        state=WindowState.PLANNED,
        created_at=now,
    )
    db.session.add(window)
    db.session.flush()
    return garage.id, window.id


def households(garage_id: int, count: int, now: datetime, first_index: int = 0) -> list[tuple[int, int, str]]:
    """`count` verified households, each with one resident and one verified plate:
    [(user_id, household_id, plate)]."""
    password_hash = generate_password_hash("bench-password", method="pbkdf2:sha256:1000")
    hh_rows = [
        {
            "garage_id": garage_id,
            "building": str(1 + i // 1000),
            "unit": "1",
            "room": str(i),
            "state": HouseholdState.VERIFIED.value,
            "waitlist_priority": False,
            "created_at": now,
        }
        for i in range(first_index, first_index + count)
    ]
    insert_batches(Household.__table__, hh_rows, "households")
    ids = db.session.scalars(
        sa.select(Household.id).where(Household.garage_id == garage_id).order_by(Household.id)
    ).all()[-count:]
    user_rows = [
        {
            "phone": f"1{(3 + (i // 10**9) % 7)}{i % 10**9:09d}",
            "name": f"Resident {i}",
            "password_hash": password_hash,
            "role": Role.RESIDENT.value,
            "locale": "zh",
            "household_id": hid,
            "token_version": 1,
            "active": True,
            "created_at": now,
        }
        for i, hid in zip(range(first_index, first_index + count), ids, strict=True)
    ]
    insert_batches(User.__table__, user_rows, "users")
    vehicle_rows = [
        {
            "household_id": hid,
            "garage_id": garage_id,
            "plate": plate(i),
            "state": VehicleState.VERIFIED.value,
            "created_at": now,
        }
        for i, hid in zip(range(first_index, first_index + count), ids, strict=True)
    ]
    insert_batches(Vehicle.__table__, vehicle_rows, "vehicles")
    users = dict(db.session.execute(sa.select(User.household_id, User.id).where(User.household_id.in_(ids))).all())
    return [(users[hid], hid, plate(i)) for i, hid in zip(range(first_index, first_index + count), ids, strict=True)]


def tomorrow(now: datetime):
    """A service date whose window is still open for booking whatever the bench's wall-clock time."""
    from zoneinfo import ZoneInfo

    return (now.astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date()
