"""The serving settings of gunicorn.conf.py, measured: the morning exit (or another bench) under
each setting of workers, threads and keep-alive, `--runs` times each; the median and the spread of
its req/s, p99 and ratio to the bare endpoint (which runs under the same setting).
`python -m bench.tune [--runs 3] [--bench morning_exit]`."""

from __future__ import annotations

import argparse
import importlib

from bench import common
from bench.common import emit, log, print_table
from bench.figures import summarise

#: (workers, threads, keep-alive seconds); keep-alive 0 closes the connection after each answer.
SETTINGS = [(2, 2, 30), (2, 1, 30), (2, 4, 30), (3, 2, 30), (4, 2, 30), (2, 2, 0)]
PREFIX = {"morning_exit": "exit", "rush": "rush", "cameras": "cameras", "pages": "nights_page"}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bench", default="morning_exit", choices=sorted(PREFIX))
    args = parser.parse_args()
    module = importlib.import_module(f"bench.{args.bench}")
    prefix = PREFIX[args.bench]
    rows, figures = [], {}
    for workers, threads, keepalive in SETTINGS:
        common.GUNICORN_WORKERS, common.GUNICORN_THREADS, common.KEEPALIVE = workers, threads, keepalive
        name = f"{workers}w×{threads}t keep-alive {keepalive or 'off'}"
        log(f"== tune: {args.bench}, {name} ==")
        summary = summarise([module.main() for _ in range(args.runs)])
        rps = summary.get(f"{prefix}_rps") or summary.get(f"{prefix}_events_per_s")
        row = {"setting": name}
        for label, value in (
            ("req/s", rps),
            ("p99 ms", summary[f"{prefix}_p99_ms"]),
            ("ratio", summary[f"{prefix}_ratio"]),
        ):
            row[label] = f"{value['median']} ({value['min']}–{value['max']})"
        rows.append(row)
        figures[name] = {k: summary[k]["median"] for k in (f"{prefix}_p99_ms", f"{prefix}_ratio")}
    print_table(f"gunicorn settings, {args.bench}, median of {args.runs} runs (spread)", rows)
    return figures


if __name__ == "__main__":
    emit(main())
