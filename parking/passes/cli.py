from __future__ import annotations

from flask.cli import AppGroup

passes_cli = AppGroup("passes", help="Pass signing keys and offline verification.")
