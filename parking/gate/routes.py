from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("gate", __name__, url_prefix="/api/v1", description="Gate scans and occupancy")
