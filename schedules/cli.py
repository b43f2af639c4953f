from __future__ import annotations

from flask.cli import AppGroup

scheduler_cli = AppGroup("scheduler", help="The tide scheduler.")
tide_cli = AppGroup("tide", help="The tide job.")
