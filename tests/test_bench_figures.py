"""`make bench`'s figures: the median of the runs with its spread, and the verdict beside the
figures the round started from (bench/baseline.json). No database: these are the sums."""

from __future__ import annotations

import json

from bench import figures, run_all, sellout


def test_each_figure_is_the_median_of_its_runs_with_its_spread():
    runs = [{"rush_p99_ms": v, "rush_confirmed": 200, "note": "x"} for v in (90.0, 140.0, 101.0, 99.0, 250.0)]
    summary = figures.summarise(runs)
    assert summary["rush_p99_ms"] == {"median": 101.0, "min": 90.0, "max": 250.0, "runs": 5}
    assert summary["note"] == "x"  # not a number: as the last run gave it
    assert figures.medians(summary)["rush_p99_ms"] == 101.0


def test_a_figure_is_met_or_missed_by_how_much_whichever_way_is_better():
    assert figures.verdict(0.5, 0.5, "higher") == "met"
    assert figures.verdict(0.25, 0.5, "higher") == "missed by 50%"
    assert figures.verdict(60, 60, "lower") == "met"
    assert figures.verdict(75, 60, "lower") == "missed by 25%"
    assert figures.verdict(3, None, "lower") == ""


def test_the_table_sets_each_measured_figure_beside_its_baseline():
    baseline = {
        "_about": "ignored",
        "exit_p99_ms": {"before": 77, "target": 60, "better": "lower", "label": "exit p99"},
        "cameras_ratio": {"before": 0.31, "target": 0.8, "better": "higher", "label": "cameras", "binding": False},
        "not_measured": {"before": 1, "target": 1, "better": "lower", "label": "absent"},
    }
    summary = figures.summarise([{"exit_p99_ms": 50.0, "cameras_ratio": 0.4}] * 3)
    rows = {row["figure"]: row for row in figures.beside_baseline(summary, baseline)}
    assert set(rows) == {"exit p99", "cameras"}
    assert (rows["exit p99"]["before"], rows["exit p99"]["now (median)"], rows["exit p99"][""]) == (77, 50.0, "met")
    assert rows["cameras"]["target"] == "≥ 0.8 (stretch)" and rows["cameras"][""] == "missed by 50%"
    assert rows["exit p99"]["spread"] == "50.0–50.0 (3 runs)"


def test_the_baseline_names_figures_the_benches_report():
    baseline = json.loads(figures.BASELINE.read_text())
    for name, ref in baseline.items():
        if name.startswith("_"):
            continue
        assert {"before", "target", "better", "label"} <= set(ref), name
        assert ref["better"] in ("higher", "lower"), name
    # the sell-out's bound figure is the key its repeated run reports
    kind, scenario = sellout.HEADLINE
    assert f"sellout_{kind}_{scenario.name}_ratio" in baseline
    assert run_all.REPEATED["sellout"] is sellout.headline
