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
