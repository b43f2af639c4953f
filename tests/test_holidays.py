"""The holiday preset: official Chinese holidays and the Spring Festival rush, from the calendars."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar
import sqlalchemy as sa

from parking import clock
from parking.bookings.models import BookingStatus
from parking.garages.services import ensure_windows
from parking.quotas import holidays
from parking.quotas.holidays import ChineseCalendar, supported_years
from parking.quotas.models import QuotaOverride
from parking.windows.models import Window
from parking.windows.services import horizon_end
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


class CoveredUpTo:
    """The installed calendar as if its last covered year were `last` (and, optionally, a made-up
    official arrangement of a later year, as a future chinese_calendar release would bring)."""

    def __init__(self, last: int, extra: dict[int, tuple[dict[date, str], set[date]]] | None = None):
        self.installed = ChineseCalendar()
        self.last = last
        self.extra = extra or {}

    def years(self):
        return self.installed.years()[0], self.last

    def holidays(self, year):
        if year in self.extra:
            return self.extra[year][0]
        return self.installed.holidays(year)

    def is_workday(self, day):
        if day.year in self.extra:
            days_off, make_up = self.extra[day.year]
            return day in make_up or (day.weekday() < 5 and day not in days_off)
        return self.installed.is_workday(day)


def new_year_garage(factory, db):
    """A garage on 28 Dec 2026 with its windows up to the horizon (11 Jan 2027)."""
    clock.set_now(datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI))
    garage = factory.garage(horizon_days=14)
    template = factory.template(garage, default_quota=60)
    ensure_windows(garage, date(2026, 12, 28), horizon_end(garage, clock.now()), clock.now(), [template])
    db.session.commit()
    return garage, template


def test_a_year_the_calendar_does_not_cover_yet_gets_provisional_holidays(client, factory, db, monkeypatch):
    monkeypatch.setattr(holidays, "OFFICIAL", CoveredUpTo(2026))
    garage, template = new_year_garage(factory, db)
    manager = factory.manager(garage)
    response = preset(client, factory, manager, garage, year=2027)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["provisional"] is True and "调休" in body["note"]  # make-up working days, in the default zh
    assert all(o["provisional"] for o in body["overrides"])
    days = covered(body["overrides"])
    assert all("make-up working days unknown" in reason for reason in days.values())
    assert days[date(2027, 1, 1)].startswith("New Year's Day 元旦")
    assert date(2027, 1, 2) in days and date(2027, 1, 3) in days  # the weekend after a Friday holiday
    assert date(2027, 1, 4) not in days
    assert days[date(2027, 2, 6)].startswith("Spring Festival 春节")  # Chinese New Year's Day 2027
    assert days[date(2027, 1, 22)].startswith(holidays.RUSH_LABEL)  # 15 days before it
    assert date(2027, 3, 3) not in days and days[date(2027, 3, 2)].startswith(holidays.RUSH_LABEL)
    assert date(2027, 2, 20) in days  # a Saturday of the rush: its make-up status is not known yet
    assert days[date(2027, 10, 1)].startswith("National Day 国庆节")
    assert days[date(2027, 4, 3)].startswith("Tomb-sweeping Day")  # the Saturday before Monday 5 April
    assert quota_on(db, template, date(2027, 1, 2)).quota == 5
    assert quota_on(db, template, date(2027, 1, 4)).quota == 60
    listed = client.get(f"/api/v1/garages/{garage.id}/overrides", headers=factory.headers(manager)).json
    assert {o["provisional"] for o in listed} == {True}
    body = assert_error(preset(client, factory, manager, garage, year=2030), 422, "holiday_year_unsupported")
    assert body["details"]["provisional_to"] == 2028


def test_the_official_arrangement_replaces_the_provisional_one_under_the_bump_rule(client, factory, db, monkeypatch):
    monkeypatch.setattr(holidays, "OFFICIAL", CoveredUpTo(2026))
    garage, template = new_year_garage(factory, db)
    manager = factory.manager(garage)
    provisional = preset(client, factory, manager, garage, year=2027, quota=1).json
    monday = quota_on(db, template, date(2027, 1, 4))
    bookings = book_many(factory, monday, 3)

    # The official 2027 arrangement arrives (made up here): 1 to 4 January off, Saturday 9 January
    # and Saturday 20 February are make-up working days.
    off = {date(2027, 1, d): "New Year's Day" for d in (1, 2, 3, 4)}
    off.update({date(2027, 2, d): "Spring Festival" for d in range(5, 12)})
    official = CoveredUpTo(2027, {2027: (off, {date(2027, 1, 9), date(2027, 2, 20)})})
    monkeypatch.setattr(holidays, "OFFICIAL", official)
    body = assert_error(preset(client, factory, manager, garage, year=2027, quota=1), 409, "quota_below_booked")
    assert body["details"]["affected"] == 2
    overrides = db.session.scalars(sa.select(QuotaOverride)).all()
    assert len(overrides) == len(provisional["overrides"]) and all(o.provisional for o in overrides)
    assert quota_on(db, template, date(2027, 1, 4)).quota == 60

    response = preset(client, factory, manager, garage, year=2027, quota=1, policy="bump")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["provisional"] is False and body["note"] is None
    assert body["replaced"] == body["replaced_provisional"] == len(provisional["overrides"])
    assert body["bumped"] == 2
    assert not any(o.provisional for o in db.session.scalars(sa.select(QuotaOverride)))
    days = covered(body["overrides"])
    assert days[date(2027, 1, 4)] == "New Year's Day 元旦"
    assert date(2027, 2, 20) not in days  # a make-up working day now
    assert date(2027, 2, 19) in days  # a rush day
    now = statuses(monday.id)
    assert [now[b.id] for b in bookings] == [BookingStatus.CONFIRMED, BookingStatus.BUMPED, BookingStatus.BUMPED]
    assert assert_counter_consistent(monday.id).quota == 1


def test_the_installed_calendar_decides_which_years_are_provisional(client, factory, db):
    garage, _template = new_year_garage(factory, db)
    manager = factory.manager(garage)
    last = supported_years()[1]
    response = preset(client, factory, manager, garage, year=last)
    assert response.status_code == 201 and response.json["provisional"] is False
    if last + 1 <= 2026 + holidays.PROVISIONAL_YEARS_AHEAD:
        following = preset(client, factory, manager, garage, year=last + 1)
        assert following.status_code == 201 and following.json["provisional"] is True
