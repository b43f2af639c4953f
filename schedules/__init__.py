"""The tide scheduler (APScheduler). Filled in by the tide issue; never starts under TESTING."""

from __future__ import annotations

from flask import Flask


def init_scheduler(app: Flask) -> None:
    return None
