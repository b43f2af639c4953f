"""Pages under /manage."""

from __future__ import annotations

from flask import Blueprint, render_template

from parking.auth.models import Role
from parking.web.pages import roles_required

bp = Blueprint("manage", __name__, template_folder="templates")


@bp.get("/manage")
@roles_required(Role.MANAGER)
def home():
    return render_template("manage/home.html")
