"""The demo garage that `make run` seeds into an empty database. Demo accounts only: README lists
them; a production deployment creates its users with `flask users create`."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from parking.audit.services import record
from parking.auth.models import Role, User
from parking.auth.services import register
from parking.extensions import db
from parking.garages.services import ensure_windows
from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.households.services import set_address_list
from parking.monthly.offers import set_offer
from parking.passes.services import active_key
from parking.windows.models import Garage, TemplateMode, WindowTemplate
from parking.windows.services import today

DEMO_PASSWORD = "tide-demo-2026"  # noqa: S105 - public demo accounts, listed in the README
DEMO_USERS = {
    "manager": ("13800000001", "站务经理 王经理"),
    "attendant": ("13800000002", "车库值班员 李师傅"),
    "resident": ("13800000003", "居民 张阿姨"),
    "admin": ("13800000000", "系统管理员"),
}
DEMO_PLATE = "沪A12345"
DEMO_ADDRESSES = "1-24 号楼, 1-6 单元, 101-604 室"
DEMO_MONTHLY_FEE = Decimal("300.00")  # CNY a month: the demo template sells monthly passes (包月)


def is_empty() -> bool:
    return (
        db.session.scalar(db.select(Garage.id).limit(1)) is None
        and db.session.scalar(db.select(User.id).limit(1)) is None
    )


def seed_demo(now: datetime) -> Garage:
    garage = Garage(
        name="浦东东站长途客运站地下车库",
        name_en="Pudong East coach station garage",
        address="上海市浦东新区周家渡街道",
        timezone="Asia/Shanghai",
        capacity=300,
        created_at=now,
    )
    db.session.add(garage)
    db.session.flush()
    active_key(garage.id, now)  # opened with its first signing key
    record(None, "garage.created", garage, after={"name": garage.name, "capacity": 300}, at=now)
    template = WindowTemplate(
        garage_id=garage.id,
        name="Overnight 夜间",
        weekdays=0b1111111,
        start_time=time(19, 0),
        end_time=time(7, 30),
        default_quota=60,
        mode=TemplateMode.FIRST_COME,
        created_at=now,
    )
    db.session.add(template)
    db.session.flush()
    record(None, "template.created", template, after={"name": template.name, "default_quota": 60}, at=now)

    register(DEMO_USERS["admin"][0], DEMO_PASSWORD, DEMO_USERS["admin"][1], now, role=Role.ADMIN)
    manager = register(
        DEMO_USERS["manager"][0],
        DEMO_PASSWORD,
        DEMO_USERS["manager"][1],
        now,
        role=Role.MANAGER,
        garage_ids=[garage.id],
    )
    register(
        DEMO_USERS["attendant"][0],
        DEMO_PASSWORD,
        DEMO_USERS["attendant"][1],
        now,
        role=Role.ATTENDANT,
        garage_ids=[garage.id],
    )
    set_offer(manager, garage, template.id, {"fee": DEMO_MONTHLY_FEE}, now)
    # The estate's buildings, units and rooms: a new resident picks the address from lists.
    set_address_list(manager, garage.id, DEMO_ADDRESSES, now)
    resident = register(DEMO_USERS["resident"][0], DEMO_PASSWORD, DEMO_USERS["resident"][1], now)

    household = Household(
        garage_id=garage.id, building="12", unit="3", room="402", state=HouseholdState.VERIFIED, created_at=now
    )
    db.session.add(household)
    db.session.flush()
    resident.household_id = household.id
    record(None, "household.verified", household, after={"state": "verified"}, reason="demo seed", at=now)
    vehicle = Vehicle(household_id=household.id, plate=DEMO_PLATE, state=VehicleState.VERIFIED, created_at=now)
    db.session.add(vehicle)
    db.session.flush()
    record(
        None,
        "vehicle.verified",
        vehicle,
        after={"plate": DEMO_PLATE, "state": "verified"},
        garage_id=garage.id,
        reason="demo seed",
        at=now,
    )
    ensure_windows(
        garage, today(garage, now), today(garage, now) + timedelta(days=garage.horizon_days), now, [template]
    )
    return garage
