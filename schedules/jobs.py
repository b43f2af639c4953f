"""The tide jobs: plain functions that open an app context, call one service, commit once, log."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.exc import OperationalError

from parking import clock
from parking.extensions import db
from parking.notifications.delivery import deliver_due
from parking.notifications.delivery import describe as describe_delivery
from parking.tide.services import describe, run_tide

log = logging.getLogger("schedules.tide")


def tide_pass(app: Flask) -> dict[str, int] | None:
    """One tide pass as of now (committed, then its retention's further batches, each committed).
    A pass that loses a lock race (deadlock, lock timeout) rolls back whole; the next pass, a
    minute later, performs what it would have done."""
    with app.app_context():
        try:
            summary = run_tide(clock.now(), commit=db.session.commit)
        except OperationalError:
            db.session.rollback()
            log.warning("tide pass rolled back; the next pass retries", exc_info=True)
            return None
        log.info(describe(summary))
        return summary


def delivery_pass(app: Flask) -> dict[str, int] | None:
    """One delivery pass as of now: the webhook messages that are due, each claimed and recorded in
    its own short transaction (see parking.notifications.delivery)."""
    with app.app_context():
        try:
            summary = deliver_due(clock.now(), db.session.commit)
        except OperationalError:
            db.session.rollback()
            log.warning("delivery pass stopped; the next pass carries on", exc_info=True)
            return None
        if summary.get("attempts") or summary.get("expired"):
            log.info("delivery %s", describe_delivery(summary))
        return dict(summary)
