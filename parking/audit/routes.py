from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit trail")
