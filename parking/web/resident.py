"""Resident pages: /household /nights /bookings /bookings/<id> /bookings/<id>/pass /notifications."""

from __future__ import annotations

from flask import Blueprint, render_template

from parking.auth.models import Role
from parking.web.pages import roles_required

bp = Blueprint("resident", __name__, template_folder="templates")


@bp.get("/home")
@roles_required(Role.RESIDENT)
def home():
    return render_template("resident/home.html")


@bp.get("/household")
@roles_required(Role.RESIDENT)
def household():
    return render_template("resident/home.html")


@bp.get("/nights")
@roles_required(Role.RESIDENT)
def nights():
    return render_template("resident/home.html")


@bp.get("/bookings")
@roles_required(Role.RESIDENT)
def bookings():
    return render_template("resident/home.html")


@bp.get("/notifications")
@roles_required()
def notifications():
    return render_template("resident/home.html")
