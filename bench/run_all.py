"""`make bench`: every benchmark in turn; the last line is one JSON object with all the figures."""

from __future__ import annotations

import json
import platform
import time

from bench import cameras, delivery, morning_exit, pages, passes, rush, tide_scale, two_instances
from bench.common import emit, log


def machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> None:
    started = time.perf_counter()
    figures: dict = {"machine": machine()}
    for name, module in (
        ("passes", passes),
        ("rush", rush),
        ("morning_exit", morning_exit),
        ("cameras", cameras),
        ("pages", pages),
        ("two_instances", two_instances),
        ("tide_scale", tide_scale),
        ("delivery", delivery),
    ):
        log(f"== bench {name} ==")
        result = module.main()
        print(json.dumps(result, ensure_ascii=False, sort_keys=True), flush=True)
        figures.update(result)
    figures["bench_seconds"] = round(time.perf_counter() - started, 1)
    emit(figures)


if __name__ == "__main__":
    main()
