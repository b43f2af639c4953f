"""/admin: garages (create; name, timezone, capacity, rules) and their staff, for admins. The pages
call the same services as the admin API (parking/garages/admin_services.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from parking import clock
from parking.auth.models import Role
from parking.errors import DomainError
from parking.extensions import db
from parking.garages import admin_services
from parking.garages.admin_schemas import GarageCreateSchema, GarageUpdateSchema, StaffCreateSchema
from parking.garages.models import Garage
from parking.garages.services import get_garage
from parking.passes import services as pass_services
from parking.web.forms import GarageForm, StaffForm
from parking.web.pages import FORM_INVALID, actor, done, form_failed, load_with_schema, post_button, roles_required
from parking.windows.rules import RULE_NAMES

bp = Blueprint("admin_pages", __name__, template_folder="templates")

_GARAGE_FIELDS = ("name", "name_en", "address", "timezone", "capacity")
_create_schema = GarageCreateSchema()
_update_schema = GarageUpdateSchema()
_staff_schema = StaffCreateSchema()


def _rule_names() -> list[str]:
    """The rules an admin can set now: one the product does not act on yet is not offered."""
    return [name for name in RULE_NAMES if name not in admin_services.NOT_YET_SUPPORTED]


@bp.get("/admin")
@roles_required(Role.ADMIN)
def home():
    garages = db.session.scalars(db.select(Garage).order_by(Garage.id)).all()
    return render_template("admin/home.html", garages=garages)


@bp.route("/admin/garages/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_garage():
    form = GarageForm()
    rules = _rule_names()
    status = 200
    if form.validate_on_submit():
        data = load_with_schema(form, _create_schema, [*_GARAGE_FIELDS, *rules])
        if data is not None:
            try:
                garage = pass_services.open_garage(data, actor(), clock.now())
                db.session.commit()
            except DomainError as exc:
                form_failed(form, exc)
            else:
                flash(_l("Garage %(name)s created.", name=garage.name), "success")
                return redirect(url_for(".garage", garage_id=garage.id))
        status = 422
    elif form.is_submitted():
        status = 422
    if status != 200:
        flash(FORM_INVALID, "error")
    return render_template("admin/garage_form.html", form=form, rules=rules, garage=None), status


@bp.route("/admin/garages/<id:garage_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def garage(garage_id: int):
    current = get_garage(garage_id)
    form = GarageForm(obj=current)
    rules = _rule_names()
    status = 200
    if form.validate_on_submit():
        data = load_with_schema(form, _update_schema, [*_GARAGE_FIELDS, *rules])
        if data is not None:
            try:
                admin_services.update_garage(garage_id, data, actor(), clock.now())
                db.session.commit()
            except DomainError as exc:
                form_failed(form, exc)
            else:
                flash(_l("Changes saved."), "success")
                return redirect(url_for(".garage", garage_id=garage_id))
        status = 422
    elif form.is_submitted():
        status = 422
    if status != 200:
        flash(FORM_INVALID, "error")
    return _garage_page(current, form, StaffForm(formdata=None), status)


def _garage_page(current: Garage, form: GarageForm, staff_form: StaffForm, status: int):
    staff = admin_services.list_staff(current.id, actor())
    return (
        render_template(
            "admin/garage.html", garage=current, form=form, rules=_rule_names(), staff=staff, staff_form=staff_form
        ),
        status,
    )


@bp.post("/admin/garages/<id:garage_id>/staff")
@roles_required(Role.ADMIN)
def add_staff(garage_id: int):
    current = get_garage(garage_id)
    staff_form = StaffForm()
    if staff_form.validate_on_submit():
        data = load_with_schema(staff_form, _staff_schema, ["phone", "role"])
        if data is not None:
            try:
                user = admin_services.add_staff(garage_id, data["phone"], data["role"], actor(), clock.now())
                db.session.commit()
            except DomainError as exc:
                form_failed(staff_form, exc)
            else:
                flash(_l("%(name)s now works for this garage.", name=user.name), "success")
                return redirect(url_for(".garage", garage_id=garage_id) + "#staff")
    return _garage_page(current, GarageForm(obj=current, formdata=None), staff_form, 422)


@bp.post("/admin/garages/<id:garage_id>/staff/<id:user_id>/remove")
@roles_required(Role.ADMIN)
def remove_staff(garage_id: int, user_id: int):
    back = url_for(".garage", garage_id=garage_id) + "#staff"
    return post_button(
        lambda: admin_services.remove_staff(garage_id, user_id, actor(), clock.now()),
        lambda user: done(back, _l("%(name)s no longer works for this garage.", name=user.name)),
        back,
    )
