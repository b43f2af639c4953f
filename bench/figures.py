"""Figures over repeated runs: each the median of its runs with the spread (min–max), and the
table that sets them beside the figures the round started from (bench/baseline.json)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

BASELINE = Path(__file__).with_name("baseline.json")


def summarise(runs: list[dict]) -> dict:
    """{name: {"median", "min", "max", "runs"}} for each number the runs report; other values (a
    count that must be exact, a list) as the last run gave them."""
    summary: dict = {}
    for name in runs[-1]:
        values = [run[name] for run in runs if name in run]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            summary[name] = {
                "median": round(statistics.median(values), 3),
                "min": min(values),
                "max": max(values),
                "runs": len(values),
            }
        else:
            summary[name] = values[-1]
    return summary


def medians(summary: dict) -> dict:
    """The summary's figures as plain values (the median where there were several runs)."""
    return {k: v["median"] if isinstance(v, dict) and "median" in v else v for k, v in summary.items()}


def verdict(value: float, target: float | None, better: str) -> str:
    if target is None:
        return ""
    met = value >= target if better == "higher" else value <= target
    if met:
        return "met"
    by = (target - value) / target if better == "higher" else (value - target) / target
    return f"missed by {abs(by):.0%}"


def beside_baseline(summary: dict, baseline: dict | None = None) -> list[dict]:
    """One row per figure of the baseline that this run measured: before, now (median and
    spread), the target, met or missed."""
    baseline = baseline if baseline is not None else json.loads(BASELINE.read_text())
    rows = []
    for name, ref in baseline.items():
        if name.startswith("_") or name not in summary:
            continue
        now = summary[name]
        value = now["median"] if isinstance(now, dict) else now
        spread = f"{now['min']}–{now['max']} ({now['runs']} runs)" if isinstance(now, dict) else "1 run"
        target = ref.get("target")
        rows.append(
            {
                "figure": ref["label"],
                "before": ref["before"],
                "now (median)": value,
                "spread": spread,
                "target": ""
                if target is None
                else f"{'≥' if ref['better'] == 'higher' else '≤'} {target}"
                + ("" if ref.get("binding", True) else " (stretch)"),
                "": verdict(value, target, ref["better"]),
            }
        )
    return rows
