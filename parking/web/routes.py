from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("web", __name__, template_folder="templates")


@bp.get("/")
def index():
    return render_template("index.html")


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}
