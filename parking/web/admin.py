"""Pages under /admin."""

from __future__ import annotations

from flask import Blueprint, render_template

from parking.auth.models import Role
from parking.web.pages import roles_required

bp = Blueprint("admin_pages", __name__, template_folder="templates")


@bp.get("/admin")
@roles_required(Role.ADMIN)
def home():
    return render_template("admin/home.html")
