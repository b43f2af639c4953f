"""`make bench`: every benchmark; the HTTP benches and the passes run `--runs` times (5 by default)
and each of their figures is the median of the runs with its spread. The correctness benches (two
instances, the tide at scale, delivery) run once. The last lines: the figures beside those the
round started from (bench/baseline.json), then one JSON object with all the figures."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import traceback
from collections.abc import Callable

from bench import cameras, delivery, morning_exit, pages, passes, rush, sellout, tide_scale, two_instances
from bench.common import emit, log, print_table
from bench.figures import beside_baseline, medians, summarise

#: name: the function that runs the bench once and returns its figures.
REPEATED = {
    "passes": passes.main,
    "rush": rush.main,
    "morning_exit": morning_exit.main,
    "cameras": cameras.main,
    "pages": pages.main,
    "sellout": sellout.headline,  # PostgreSQL, 2,000 households on 200 spaces: the bound figure
}
ONCE = {
    "sellout_others": sellout.the_others,  # the other scenarios, and SQLite
    "two_instances": two_instances.main,
    "tide_scale": tide_scale.main,
    "delivery": delivery.main,
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs of each repeated bench (default 5)")
    parser.add_argument("--only", default="", help="comma-separated bench names (default: all)")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    started = time.perf_counter()
    figures: dict = {"machine": machine(), "runs": args.runs}
    summary: dict = {}
    failed: list[str] = []

    def run(name: str, bench: Callable[[], dict]) -> dict | None:
        """One run of a bench; a bench that fails (an assertion, a crash) is named at the end and
        the others still run and print: twenty minutes of figures are not lost to one of them."""
        try:
            result = bench()
        except Exception:  # reported with its traceback, and the exit status says so
            log(traceback.format_exc())
            failed.append(name)
            return None
        print(json.dumps(result, ensure_ascii=False, sort_keys=True), flush=True)
        return result

    for name, bench in REPEATED.items():
        if only and name not in only:
            continue
        runs = []
        for n in range(args.runs):
            log(f"== bench {name}, run {n + 1} of {args.runs} ==")
            if (result := run(name, bench)) is not None:
                runs.append(result)
        if runs:
            summary.update(summarise(runs))
    for name, bench in ONCE.items():
        if only and name not in only:
            continue
        log(f"== bench {name} ==")
        if (result := run(name, bench)) is not None:
            summary.update(result)
    print_table(
        "This round beside the figures it started from (median of the runs, spread min–max)", beside_baseline(summary)
    )
    figures.update(medians(summary))
    figures["spread"] = {k: [v["min"], v["max"]] for k, v in summary.items() if isinstance(v, dict) and "min" in v}
    figures["bench_seconds"] = round(time.perf_counter() - started, 1)
    figures["failed"] = failed
    emit(figures)
    if failed:
        raise SystemExit(f"bench: failed: {', '.join(failed)} (tracebacks above)")


if __name__ == "__main__":
    main()
