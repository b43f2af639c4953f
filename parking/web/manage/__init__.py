"""Pages under /manage, for the managers of a garage (and admins): one module per page, all on the
one blueprint `manage` (`garage.py`), so paths and endpoint names stay as the templates know them.
People (`people.py`) and monthly passes (`monthly.py`) have blueprints of their own."""

from __future__ import annotations

from parking.web.manage import (
    addresses,
    audit,
    calendar,
    deliveries,
    draw,
    home,
    overrides,
    reports,
    templates,
    verify,
)
from parking.web.manage.garage import bp

__all__ = [
    "addresses",
    "audit",
    "bp",
    "calendar",
    "deliveries",
    "draw",
    "home",
    "overrides",
    "reports",
    "templates",
    "verify",
]
