from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("quotas", __name__, url_prefix="/api/v1", description="Quota overrides and holiday presets")
