from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import get_locale

bp = Blueprint("web", __name__, template_folder="templates")


@bp.get("/")
def index():
    return render_template("index.html", locale=str(get_locale()))


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}
