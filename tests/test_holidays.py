"""The holiday preset: official Chinese holidays and the Spring Festival rush, from the calendars."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar
import sqlalchemy as sa

from parking import clock
from parking.bookings.models import BookingStatus
from parking.garages.models import Window
from parking.garages.services import ensure_windows, horizon_end
from parking.quotas.models import QuotaOverride
from tests.conftest import SHANGHAI
from tests.manager_helpers import assert_counter_consistent, assert_error, book_many, statuses


def preset(client, factory, manager, garage, **body):
    return client.post(
        f"/api/v1/garages/{garage.id}/overrides/holidays",
        json={"year": 2026, "quota": 5, **body},
        headers=factory.headers(manager),
    )


def covered(overrides):
    days = {}
    for o in overrides:
        day = date.fromisoformat(o["start_date"])
        while day <= date.fromisoformat(o["end_date"]):
            days[day] = o["reason"]
            day += timedelta(days=1)
    return days


def spring_garage(factory, db, quota=60):
    """A garage on 10 Feb 2026 with its windows up to the horizon (24 Feb)."""
    clock.set_now(datetime(2026, 2, 10, 10, 0, tzinfo=SHANGHAI))
    garage = factory.garage(horizon_days=14)
    template = factory.template(garage, default_quota=quota)
    ensure_windows(garage, date(2026, 2, 10), horizon_end(garage, clock.now()), clock.now(), [template])
    db.session.commit()
    return garage, template


def quota_on(db, template, day):
    db.session.expire_all()
    return db.session.scalar(sa.select(Window).where(Window.template_id == template.id, Window.service_date == day))


def test_preset_covers_official_holidays_and_the_rush_but_not_make_up_working_days(client, factory, db):
    garage, template = spring_garage(factory, db)
    manager = factory.manager(garage)
    response = preset(client, factory, manager, garage)
    assert response.status_code == 201, response.json
    days = covered(response.json["overrides"])

    assert days[date(2026, 2, 16)] == "Spring Festival 春节"  # 除夕 2026, an official holiday
    assert days[date(2026, 10, 1)] == "National Day 国庆节"
    assert days[date(2026, 1, 1)] == "New Year's Day 元旦"
    assert days[date(2026, 2, 2)] == days[date(2026, 3, 13)] == "Spring Festival travel rush 春运"
    assert date(2026, 2, 1) not in days and date(2026, 3, 14) not in days  # 40 days from CNY - 15
    for make_up in (date(2026, 2, 14), date(2026, 2, 28), date(2026, 10, 10)):  # 调休: working days
        assert chinese_calendar.is_workday(make_up)
        assert make_up not in days
    holidays = chinese_calendar.get_holidays(date(2026, 1, 1), date(2026, 12, 31), include_weekends=False)
    assert set(holidays) <= set(days)
    assert response.json["days"] == len(days)

    # Existing windows follow at once; make-up days keep the default quota.
    assert quota_on(db, template, date(2026, 2, 16)).quota == 5
    assert quota_on(db, template, date(2026, 2, 13)).quota == 5
    assert quota_on(db, template, date(2026, 2, 14)).quota == 60
    # Windows materialised later follow the preset too.
    clock.set_now(datetime(2026, 2, 25, 10, 0, tzinfo=SHANGHAI))
    ensure_windows(garage, date(2026, 2, 27), date(2026, 3, 2), clock.now(), [template])
    db.session.commit()
    assert quota_on(db, template, date(2026, 2, 28)).quota == 60
    assert quota_on(db, template, date(2026, 3, 1)).quota == 5


def test_preset_for_another_year_skips_that_years_make_up_days(client, factory, db):
    garage = factory.garage()
    factory.template(garage)
    manager = factory.manager(garage)
    response = preset(client, factory, manager, garage, year=2025)
    assert response.status_code == 201, response.json
    days = covered(response.json["overrides"])
    assert days[date(2025, 1, 29)] == "Spring Festival 春节"  # Chinese New Year's Day 2025
    assert date(2025, 1, 26) not in days and date(2025, 2, 8) not in days  # 调休 Sunday and Saturday
    assert days[date(2025, 1, 14)] == "Spring Festival travel rush 春运"


def test_preset_refuses_to_drop_bookings_unless_bump(client, factory, db):
    garage, template = spring_garage(factory, db)
    night = quota_on(db, template, date(2026, 2, 17))
    bookings = book_many(factory, night, 3)
    manager = factory.manager(garage)

    body = assert_error(preset(client, factory, manager, garage, quota=1), 409, "quota_below_booked")
    assert body["details"]["affected"] == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(QuotaOverride)) == 0
    assert quota_on(db, template, date(2026, 2, 17)).quota == 60

    response = preset(client, factory, manager, garage, quota=1, policy="bump")
    assert response.status_code == 201, response.json
    assert response.json["bumped"] == 2
    now = statuses(night.id)
    assert [now[b.id] for b in bookings] == [BookingStatus.CONFIRMED, BookingStatus.BUMPED, BookingStatus.BUMPED]
    assert assert_counter_consistent(night.id).quota == 1


def test_rerunning_the_preset_replaces_its_own_overrides_only(client, factory, db):
    garage, template = spring_garage(factory, db)
    manager = factory.manager(garage)
    manual = client.post(
        f"/api/v1/garages/{garage.id}/overrides",
        json={
            "template_id": template.id,
            "start_date": "2026-02-18",
            "end_date": "2026-02-18",
            "quota": 2,
            "reason": "station drill",
        },
        headers=factory.headers(manager),
    )
    assert manual.status_code == 201
    first = preset(client, factory, manager, garage, quota=5).json
    second = preset(client, factory, manager, garage, quota=8).json
    assert second["replaced"] == len(first["overrides"])
    sources = db.session.scalars(sa.select(QuotaOverride.source)).all()
    assert sources.count("holiday") == len(second["overrides"]) and sources.count("manual") == 1
    assert quota_on(db, template, date(2026, 2, 16)).quota == 8
    assert quota_on(db, template, date(2026, 2, 18)).quota == 2  # a single date beats the preset's range


def test_years_the_calendar_does_not_cover_and_bad_input_are_refused(client, factory, db):
    garage = factory.garage()
    factory.template(garage)
    manager = factory.manager(garage)
    body = assert_error(preset(client, factory, manager, garage, year=2099), 422, "holiday_year_unsupported")
    assert body["details"]["supported_to"] >= 2026
    assert_error(preset(client, factory, manager, garage, year=1990), 422, "holiday_year_unsupported")
    assert_error(preset(client, factory, manager, garage, year=10**6), 422, "validation_error")
    assert_error(preset(client, factory, manager, garage, year="2026"), 422, "validation_error")
    assert_error(preset(client, factory, manager, garage, quota=-3), 422, "validation_error")
    assert_error(preset(client, factory, manager, garage, quota=301), 422, "quota_above_capacity")
    assert_error(preset(client, factory, manager, garage, policy="maybe"), 422, "validation_error")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(QuotaOverride)) == 0
