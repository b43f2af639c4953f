"""The tide scheduler (APScheduler 3). Two ways to run it:

- `flask --app wsgi scheduler run`: a BlockingScheduler as its own process (production; run one or
  more beside gunicorn: every pass is idempotent and exactly-once, see parking.tide.services);
- in-process: `init_scheduler(app)` starts a BackgroundScheduler when `SCHEDULER_ENABLED` is set
  (`make run`). Never under TESTING, never in the Werkzeug reloader's parent process, never while
  the flask CLI runs a command other than `run`, and never in a gunicorn worker unless
  `SCHEDULER_ENABLED` is set in its environment.
"""

from __future__ import annotations

import atexit
import logging
from datetime import UTC

import click
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from flask.helpers import get_debug_flag
from werkzeug.serving import is_running_from_reloader

from parking import clock

log = logging.getLogger(__name__)

#: A pass that could not start on time (process paused, machine asleep) still runs within an hour;
#: coalescing turns any backlog into one pass, and one pass catches up on everything anyway.
MISFIRE_GRACE_SECONDS = 3600
TIDE_JOB_ID = "tide"
DELIVERY_JOB_ID = "delivery"


def build_scheduler(app: Flask, *, blocking: bool) -> BaseScheduler:
    """A UTC scheduler with the tide job and the delivery job: every TIDE_INTERVAL_SECONDS, and once
    at start-up."""
    from schedules.jobs import delivery_pass, tide_pass

    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
    )
    interval = int(app.config.get("TIDE_INTERVAL_SECONDS", 60))
    scheduler.add_job(
        tide_pass,
        IntervalTrigger(seconds=interval, timezone=UTC),
        args=[app],
        id=TIDE_JOB_ID,
        name="tide pass",
        next_run_time=clock.now(),  # one pass at start-up, then every interval
        replace_existing=True,
    )
    # Beside the tide, as its own job: a slow gateway never delays a tide pass.
    scheduler.add_job(
        delivery_pass,
        IntervalTrigger(seconds=interval, timezone=UTC),
        args=[app],
        id=DELIVERY_JOB_ID,
        name="notification delivery pass",
        next_run_time=clock.now(),
        replace_existing=True,
    )
    return scheduler


def should_start_in_process(app: Flask) -> bool:
    if not app.config.get("SCHEDULER_ENABLED") or app.config.get("TESTING"):
        return False
    ctx = click.get_current_context(silent=True)
    if ctx is not None:  # loaded by the flask CLI
        if ctx.info_name != "run":
            return False  # `db upgrade`, `tide tick`, `scheduler run` … never grow a second scheduler
        reload = ctx.params.get("reload")
        if reload is None:
            reload = get_debug_flag()
        if reload and not is_running_from_reloader():
            return False  # the reloader's parent only watches files; its child serves
    return True


def init_scheduler(app: Flask) -> BaseScheduler | None:
    """Start the in-process tide scheduler when the configuration asks for it."""
    if not should_start_in_process(app):
        return None
    scheduler = build_scheduler(app, blocking=False)
    scheduler.start()
    app.extensions["tide_scheduler"] = scheduler
    atexit.register(lambda: scheduler.shutdown(wait=False) if scheduler.running else None)
    log.info("tide scheduler started in-process, every %ss", app.config.get("TIDE_INTERVAL_SECONDS", 60))
    return scheduler
