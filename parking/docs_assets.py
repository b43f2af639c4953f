"""Swagger UI's browser files for the API docs page (/api/v1/docs), served from the installed
flask-swagger-ui package (pinned in requirements.txt). Garages run on closed networks: the docs
page loads nothing from a CDN, and nothing of the package is committed here."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

#: Where the docs page finds the files; config.OPENAPI_SWAGGER_UI_URL points here by default.
URL_PREFIX = "/api/v1/docs/static"
ASSET_SUFFIXES = {".js", ".css", ".png"}
# Swagger UI's own build changes only with the pinned package, so browsers may keep it a day.
MAX_AGE_SECONDS = 24 * 3600

bp = Blueprint("docs_assets", __name__, url_prefix=URL_PREFIX)


def asset_folder() -> Path:
    return Path(str(files("flask_swagger_ui") / "dist"))


@bp.get("/<path:filename>")
def asset(filename: str) -> Response:
    """One of Swagger UI's scripts, style sheets or icons; 404 for anything else."""
    if Path(filename).suffix not in ASSET_SUFFIXES:
        abort(404)
    return send_from_directory(asset_folder(), filename, max_age=MAX_AGE_SECONDS)
