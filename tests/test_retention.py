"""Retention (personal information): the tide masks plates and phones kept past a garage's
`retention_days` in scans, plate events, notifications, bookings and audit values, exactly once,
and counts them in its log. The audit trail never stores a phone in clear."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.bookings.models import Booking
from parking.gate.models import PlateEvent, Scan
from parking.masking import mask_phone, mask_plate, mask_text
from parking.notifications.models import Notification
from parking.tide.services import run_tide
from tests.camera_helpers import register, send
from tests.conftest import FIGURES
from tests.privacy_helpers import drive_in_and_out, full_flow

ANONYMISED = re.compile(r"anonymised_(\w+)=(\d+)")


def tick(runner, at) -> dict[str, int]:
    """`flask tide tick --at`: the counts of masked rows it printed, per table."""
    result = runner.invoke(args=["tide", "tick", "--at", at.isoformat()])
    assert result.exit_code == 0, result.output
    return {table: int(n) for table, n in ANONYMISED.findall(result.output)}


def everything(db):
    db.session.expire_all()
    return {
        "scans": db.session.scalars(sa.select(Scan)).all(),
        "plate_events": db.session.scalars(sa.select(PlateEvent)).all(),
        "notifications": db.session.scalars(sa.select(Notification)).all(),
        "bookings": db.session.scalars(sa.select(Booking)).all(),
        "audit_events": db.session.scalars(sa.select(AuditEvent)).all(),
    }


def stored_text(rows) -> str:
    return repr(
        [
            [getattr(row, c.key) for c in row.__table__.columns if c.key not in ("fingerprint", "pass_nonce")]
            for group in rows.values()
            for row in group
        ]
    )


def test_the_audit_trail_masks_the_phone_of_a_new_account(client, factory, db):
    flow = full_flow(client, factory)
    (created,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.created")).all()
    assert created.actor_id == flow.user.id and (created.object_type, created.object_id) == ("user", flow.user.id)
    assert created.after["phone"] == mask_phone(flow.phone) == flow.phone[:3] + "****" + flow.phone[-4:]
    assert flow.phone not in stored_text(everything(db))


def test_the_tide_masks_plates_and_phones_past_each_garages_retention_exactly_once(client, factory, db, runner):
    start = clock.now()
    kept = factory.window(quota=10)  # a garage with the default 180 days
    short = factory.window(factory.garage(retention_days=30), quota=10)
    flow = full_flow(client, factory, kept, plate="沪A12345")
    other = full_flow(client, factory, short, plate="粤B67890")
    for each in (flow, other):
        drive_in_and_out(client, factory, each)
    camera = register(client, factory, flow.manager, flow.garage.id)
    assert send(client, camera, "沪A12345", confidence=0.5).status_code in (200, 201, 202)
    tick(runner, start + timedelta(days=1))  # the night settles: nothing is old yet
    plates = {"沪A12345", "粤B67890"}
    assert all(plate in stored_text(everything(db)) for plate in plates)

    after_100 = tick(runner, start + timedelta(days=100))
    rows = everything(db)
    short_bookings = [b for b in rows["bookings"] if b.garage_id == other.garage.id]
    assert [b.plate for b in short_bookings] == ["粤B6***0"]
    assert all(s.plate == "粤B6***0" for s in rows["scans"] if s.garage_id == other.garage.id)
    assert "沪A12345" in stored_text(rows)  # 100 days is within the 180 of the first garage
    assert after_100["bookings"] == 1 and after_100["scans"] == 2

    after_200 = tick(runner, start + timedelta(days=200))
    rows = everything(db)
    text = stored_text(rows)
    assert not any(plate in text for plate in plates), text
    assert mask_plate("沪A12345") == "沪A1***5" and "沪A1***5" in text
    assert not re.search(r"1\d{10}", mask_text(text, plates=False).replace("****", "")), "a phone in clear"
    assert after_200["plate_events"] == 1 and after_200["bookings"] == 1 and after_200["scans"] == 2
    assert after_200["notifications"] >= 1 and after_200["audit_events"] >= 1
    stamped = {name: {row.id: row.anonymised_at for row in group} for name, group in rows.items()}

    later = tick(runner, start + timedelta(days=400))  # only rows the tide wrote since (its own audit)
    again = tick(runner, start + timedelta(days=400))
    assert set(later) <= {"audit_events"} and again == {}, (later, again)  # the counts print only when not 0
    assert all(n == 0 for key, n in run_tide(start + timedelta(days=400)).items() if key.startswith("anonymised_"))
    db.session.rollback()
    now_stamped = {name: {row.id: row.anonymised_at for row in group} for name, group in everything(db).items()}
    assert all(now_stamped[name][i] == at for name, rows_ in stamped.items() for i, at in rows_.items() if at)
    FIGURES.append(
        f"retention ({db.engine.dialect.name}): after 100 days {dict(sorted(after_100.items()))}; "
        f"after 200 days {dict(sorted(after_200.items()))}; after 400 days {later} (the tide's own audit of the nights since), again at once {again or 'nothing'}"
    )


def test_a_live_booking_keeps_its_plate_however_old(factory, db):
    booking = factory.booking()
    booking = db.session.get(Booking, booking.id)
    booking.inside = True
    db.session.commit()
    run_tide(clock.now() + timedelta(days=365))
    db.session.commit()
    db.session.expire_all()
    assert "*" not in db.session.get(Booking, booking.id).plate


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_masks_the_phones_the_audit_trail_held(backend, tmp_path):
    from flask_migrate import upgrade

    from config import TestConfig
    from parking import create_app
    from tests.test_migrations import fresh_database

    app = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=fresh_database(backend, tmp_path, "i23"), INSTANCE_PATH=tmp_path
    )
    with app.app_context():
        upgrade(revision="0010")
        events = sa.table(
            "audit_events",
            *(sa.column(n) for n in ("id", "at", "actor_id", "action", "object_type", "object_id")),
            sa.column("after", sa.JSON),
        )
        with db_engine(app).begin() as conn:
            conn.execute(
                events.insert().values(
                    at=clock.now(),
                    action="user.created",
                    object_type="user",
                    object_id=7,
                    after={"phone": "13800000003", "role": "resident", "plate": "沪A12345"},
                )
            )
        upgrade()
        with db_engine(app).connect() as conn:
            (after,) = conn.execute(sa.select(events.c.after)).scalars().all()
        db_engine(app).dispose()
    assert after == {"phone": "138****0003", "role": "resident", "plate": "沪A12345"}  # plates wait for the tide


def db_engine(app):
    from parking.extensions import db

    return db.engine
