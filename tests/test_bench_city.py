"""bench/city.py's arithmetic: the city's peak need from its distributions and the garages it
samples. Pure functions, no database (the bench itself asserts its correctness checks)."""

from __future__ import annotations

import math

import pytest

from bench.city import LARGE_SPACES, SMALL_SPACES, city_need, layout, triangular_peak_minute


def test_triangular_spread_peaks_in_the_middle_at_twice_the_average():
    # 120 arrivals over 120 minutes: 1 a minute on average, about 2 in the busiest minute.
    assert triangular_peak_minute(120, 120) == pytest.approx(2 * 119 / 120, rel=0.02)


def test_a_city_of_90000_spaces_needs_its_busiest_minute_per_kind():
    need = city_need(90_000)
    requests = 90_000 * 1.1
    assert need["booking"] == pytest.approx(requests * (1 - math.exp(-1 / 10)) / 60)
    entries = 90_000 * 0.95
    assert need["entry"] == pytest.approx(entries / 60 / 60, rel=0.02)  # twice the 2-hour average
    assert need["exit"] == pytest.approx(entries * 0.98 / 30 / 60, rel=0.02)  # twice the 1-hour average
    assert need["booking"] > need["exit"] > need["entry"]


def test_the_city_is_1500_small_and_500_large_garages_and_the_sample_takes_both():
    garages, sample = layout(2000, 60)
    assert sum(garages.values()) == 90_000
    assert sorted(set(garages.values())) == [SMALL_SPACES, LARGE_SPACES]
    assert sum(1 for n in garages.values() if n == LARGE_SPACES) == 500
    assert len(sample) == len(set(sample)) == 60
    assert sum(1 for g in sample if garages[g] == LARGE_SPACES) == 30


def test_the_city_waits_for_deliveries_due_now_not_for_those_held_to_the_end_of_quiet_hours(app, factory):
    """The city bench stops its schedulers once nothing is in flight: run late in the evening in
    Shanghai, its confirmations wait for 07:00 and are the morning deliverers' (the bench failed
    between 22:00 and 07:00 there, waiting for them)."""
    import sqlalchemy as sa

    from bench.city import IN_FLIGHT
    from parking import clock
    from parking.extensions import db
    from parking.notifications.delivery import enqueue
    from parking.notifications.services import notify
    from tests.test_delivery import Gateway, hooked

    if db.engine.dialect.name != "postgresql":
        pytest.skip("the city bench runs on PostgreSQL")
    (query, params) = IN_FLIGHT["left"]

    def left() -> int:
        return db.session.execute(sa.text(query), params).scalar_one()

    def delivery(**values: str) -> None:
        sets = ", ".join(f"{column} = now() + interval '{value}'" for column, value in values.items())
        db.session.execute(sa.text(f"UPDATE notification_deliveries SET {sets}"))

    with Gateway() as gateway:
        _garage, user, _plate = hooked(factory, gateway)
        notify([user.id], "household_verified", {})
        db.session.commit()
        assert left() == 1  # a message without its delivery row yet
        enqueue(clock.now())
        delivery(next_attempt_at="-1 minute")
        assert left() == 1  # due now
        delivery(next_attempt_at="8 hours")
        assert left() == 0  # held to 07:00: the morning's deliverers send it
        delivery(lease_until="2 minutes")
        assert left() == 1  # a scheduler holds it
