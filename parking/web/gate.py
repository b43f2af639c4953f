"""Pages under /gate."""

from __future__ import annotations

from flask import Blueprint, render_template

from parking.auth.models import Role
from parking.web.pages import roles_required

bp = Blueprint("gate_station", __name__, template_folder="templates")


@bp.get("/gate")
@roles_required(Role.ATTENDANT, Role.MANAGER)
def home():
    return render_template("gate/home.html")
