"""The APScheduler wiring: when the scheduler starts, how its job is configured, and the CLI."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import click
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

import schedules
from parking import clock
from parking.windows.models import Window, WindowState
from schedules import MISFIRE_GRACE_SECONDS, build_scheduler, init_scheduler, should_start_in_process
from schedules.cli import parse_instant
from schedules.jobs import tide_pass
from tests.tide_helpers import sh


def bare_app(**config) -> Flask:
    app = Flask("scheduler-test")
    app.config.update({"TESTING": False, "SCHEDULER_ENABLED": True, "TIDE_INTERVAL_SECONDS": 60, **config})
    return app


def test_scheduler_never_starts_under_testing_or_when_not_enabled():
    assert not should_start_in_process(bare_app(TESTING=True))
    assert not should_start_in_process(bare_app(SCHEDULER_ENABLED=False))
    assert should_start_in_process(bare_app())  # e.g. gunicorn with SCHEDULER_ENABLED=1


def test_scheduler_starts_only_in_the_serving_process_of_flask_run(monkeypatch):
    app = bare_app()
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    with click.Context(click.Command("upgrade"), info_name="upgrade"):
        assert not should_start_in_process(app)  # `flask db upgrade`, `flask tide tick` …
    with click.Context(click.Command("run"), info_name="run") as ctx:
        ctx.params["reload"] = False
        assert should_start_in_process(app)  # make run: flask run --no-reload
        ctx.params["reload"] = True
        assert not should_start_in_process(app)  # the reloader's parent
        monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
        assert should_start_in_process(app)  # the reloader's child serves


def test_init_scheduler_starts_a_background_scheduler_when_enabled(monkeypatch):
    started = []
    monkeypatch.setattr(BackgroundScheduler, "start", lambda self, *a, **k: started.append(self))
    assert init_scheduler(bare_app(TESTING=True)) is None
    app = bare_app()
    scheduler = init_scheduler(app)
    assert started == [scheduler]
    assert app.extensions["tide_scheduler"] is scheduler


def test_tide_job_is_utc_coalescing_single_instance_every_interval_and_at_start_up():
    clock.set_now(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    try:
        assert isinstance(build_scheduler(bare_app(), blocking=True), BlockingScheduler)
        scheduler = build_scheduler(bare_app(TIDE_INTERVAL_SECONDS=90), blocking=False)
        scheduler.start(paused=True)
        try:
            job, delivery = sorted(scheduler.get_jobs(), key=lambda j: j.id != "tide")
            assert (job.id, job.coalesce, job.max_instances) == ("tide", True, 1)
            assert (delivery.id, delivery.coalesce, delivery.max_instances) == ("delivery", True, 1)
            assert delivery.next_run_time == clock.now()
            assert job.misfire_grace_time == MISFIRE_GRACE_SECONDS == 3600
            assert isinstance(job.trigger, IntervalTrigger) and job.trigger.interval.total_seconds() == 90
            assert str(scheduler.timezone) == "UTC"
            assert job.next_run_time == clock.now()  # one pass at start-up
        finally:
            scheduler.shutdown(wait=False)
    finally:
        clock.set_now(None)


def test_tide_job_runs_one_pass_commits_and_logs_a_summary(app, db, factory, caplog):
    window = factory.window(quota=3)
    clock.set_now(sh(1, 19, 0))
    with caplog.at_level(logging.INFO, logger="schedules.tide"):
        summary = tide_pass(app)
    assert summary["opened"] == 1
    assert "opened=1" in caplog.text
    db.session.expire_all()
    assert db.session.get(Window, window.id).state == WindowState.OPEN


def test_tide_tick_runs_a_pass_as_if_at_a_given_instant(app, db, factory, runner):
    window = factory.window(quota=3)
    factory.booking(window)
    db.session.commit()
    result = runner.invoke(args=["tide", "tick", "--at", "2026-12-01T22:00:00"])  # naive: Shanghai
    assert result.exit_code == 0, result.output
    assert "2026-12-01T14:00:00+00:00" in result.output
    assert "opened=1" in result.output and "no_shows=1" in result.output
    db.session.expire_all()
    assert db.session.get(Window, window.id).booked == 0
    again = runner.invoke(args=["tide", "tick", "--at", "2026-12-01T22:00:00+08:00"])
    assert "nothing due" in again.output


def test_tide_tick_refuses_a_malformed_instant(app, runner):
    result = runner.invoke(args=["tide", "tick", "--at", "tomorrow morning"])
    assert result.exit_code == 2
    assert "ISO 8601" in result.output


def test_naive_at_is_read_in_shanghai_and_an_offset_is_kept():
    assert parse_instant("2027-01-02T08:00:00") == datetime(2027, 1, 2, 0, 0, tzinfo=UTC)
    assert parse_instant("2027-01-02T08:00:00+00:00") == datetime(2027, 1, 2, 8, 0, tzinfo=UTC)
    with pytest.raises(click.BadParameter):
        parse_instant("2027-13-02")


def test_scheduler_module_exposes_the_cli_groups():
    from schedules.cli import scheduler_cli, tide_cli

    assert "run" in scheduler_cli.commands and "tick" in tide_cli.commands
    assert schedules.TIDE_JOB_ID == "tide"
