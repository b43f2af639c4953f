"""/admin: garages (create; name, timezone, capacity, rules) and their staff, and erasing an
account, for admins. The pages call the same services as the admin API
(parking/garages/admin_services.py, parking/privacy/erasure.py)."""

from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue

from parking import clock
from parking.auth.models import Role, User
from parking.extensions import db
from parking.garages import admin_services
from parking.garages.admin_schemas import GarageCreateSchema, GarageUpdateSchema, StaffCreateSchema
from parking.garages.models import Garage
from parking.garages.services import get_garage
from parking.i18n import lazy_gettext as _l
from parking.notifications import webhooks
from parking.notifications.delivery import recent_dead_by_garage, recent_dead_count
from parking.passes import services as pass_services
from parking.privacy import erasure
from parking.web.forms.admin import EraseAccountByAdminForm, GarageForm, StaffForm, WebhookForm
from parking.web.pages import (
    FORM_INVALID,
    Outcome,
    actor,
    done,
    load_with_schema,
    post_button,
    post_form,
    roles_required,
)
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
def home() -> ResponseReturnValue:
    garages = db.session.scalars(db.select(Garage).order_by(Garage.id)).all()
    return render_template("admin/home.html", garages=garages, dead=recent_dead_by_garage(clock.now()))


@bp.route("/admin/garages/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_garage() -> ResponseReturnValue:
    form = GarageForm()
    rules = _rule_names()

    if request.method == "GET":
        return render_template("admin/garage_form.html", form=form, rules=rules, garage=None)

    def page(status: int) -> ResponseReturnValue:
        flash(FORM_INVALID, "error")  # any refusal: the message beside its field, the same 422 as a bad value
        return render_template("admin/garage_form.html", form=form, rules=rules, garage=None), 422

    return post_form(
        form,
        lambda: pass_services.open_garage(
            load_with_schema(form, _create_schema, [*_GARAGE_FIELDS, *rules]), actor(), clock.now()
        ),
        lambda garage: done(url_for(".garage", garage_id=garage.id), _l("Garage %(name)s created.", name=garage.name)),
        page,
        invalid=None,
    )


@bp.route("/admin/garages/<id:garage_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def garage(garage_id: int) -> ResponseReturnValue:
    current = get_garage(garage_id)
    form = GarageForm(obj=current)
    if request.method == "GET":
        return _garage_page(current, form, StaffForm(formdata=None), 200)

    def page(status: int) -> ResponseReturnValue:
        flash(FORM_INVALID, "error")  # any refusal: the message beside its field, the same 422 as a bad value
        return _garage_page(current, form, StaffForm(formdata=None), 422)

    return post_form(
        form,
        lambda: admin_services.update_garage(
            garage_id, load_with_schema(form, _update_schema, [*_GARAGE_FIELDS, *_rule_names()]), actor(), clock.now()
        ),
        lambda _garage: done(url_for(".garage", garage_id=garage_id), _l("Changes saved.")),
        page,
        invalid=None,
    )


def _garage_page(
    current: Garage,
    form: GarageForm,
    staff_form: StaffForm,
    status: int,
    webhook_form: WebhookForm | None = None,
    secret: str | None = None,
) -> ResponseReturnValue:
    staff = admin_services.list_staff(current.id, actor())
    hook = webhooks.webhook_settings(current.id, actor())
    return (
        render_template(
            "admin/garage.html",
            garage=current,
            form=form,
            rules=_rule_names(),
            staff=staff,
            staff_form=staff_form,
            webhook=hook,
            webhook_form=webhook_form or WebhookForm(formdata=None, data={"url": hook.url or ""}),
            secret=secret,
            dead_last_hour=recent_dead_count([current.id], clock.now()),
        ),
        status,
    )


@bp.post("/admin/garages/<id:garage_id>/webhook")
@roles_required(Role.ADMIN)
def set_webhook(garage_id: int) -> ResponseReturnValue:
    current = get_garage(garage_id)
    webhook_form = WebhookForm()

    def shown(answer: webhooks.WebhookSet) -> Outcome:
        # Rendered, not redirected: the secret is shown this once and kept in no cookie or flash.
        page = _garage_page(
            current, GarageForm(obj=current, formdata=None), StaffForm(formdata=None), 200, secret=answer.secret
        )
        return Outcome(url_for(".garage", garage_id=garage_id), shown=page)

    return post_form(
        webhook_form,
        lambda: webhooks.set_webhook(garage_id, webhook_form.url.data or "", actor(), clock.now()),
        shown,
        lambda status: _garage_page(
            current, GarageForm(obj=current, formdata=None), StaffForm(formdata=None), status, webhook_form
        ),
    )


@bp.post("/admin/garages/<id:garage_id>/webhook/remove")
@roles_required(Role.ADMIN)
def remove_webhook(garage_id: int) -> ResponseReturnValue:
    back = url_for(".garage", garage_id=garage_id) + "#gateway"
    return post_button(
        lambda: webhooks.remove_webhook(garage_id, actor(), clock.now()),
        lambda _hook: done(back, _l("The gateway was removed; messages stay in the app.")),
        back,
    )


@bp.post("/admin/garages/<id:garage_id>/staff")
@roles_required(Role.ADMIN)
def add_staff(garage_id: int) -> ResponseReturnValue:
    current = get_garage(garage_id)
    staff_form = StaffForm()

    def added(user: User) -> Outcome:
        return done(
            url_for(".garage", garage_id=garage_id) + "#staff",
            _l("%(name)s now works for this garage.", name=user.name),
        )

    def staff_call() -> User:
        data = load_with_schema(staff_form, _staff_schema, ["phone", "role"])
        return admin_services.add_staff(garage_id, data["phone"], data["role"], actor(), clock.now())

    return post_form(
        staff_form,
        staff_call,
        added,
        lambda status: _garage_page(current, GarageForm(obj=current, formdata=None), staff_form, 422),
        invalid=None,
    )


@bp.post("/admin/garages/<id:garage_id>/staff/<id:user_id>/remove")
@roles_required(Role.ADMIN)
def remove_staff(garage_id: int, user_id: int) -> ResponseReturnValue:
    back = url_for(".garage", garage_id=garage_id) + "#staff"
    return post_button(
        lambda: admin_services.remove_staff(garage_id, user_id, actor(), clock.now()),
        lambda user: done(back, _l("%(name)s no longer works for this garage.", name=user.name)),
        back,
    )


def _erase_page(form: EraseAccountByAdminForm, status: int = 200) -> ResponseReturnValue:
    return render_template("admin/erase.html", form=form), status


@bp.get("/admin/accounts/erase")
@roles_required(Role.ADMIN)
def erase_account_form() -> ResponseReturnValue:
    return _erase_page(EraseAccountByAdminForm(formdata=None))


@bp.post("/admin/accounts/erase")
@roles_required(Role.ADMIN)
def erase_account() -> ResponseReturnValue:
    """Erase the account with this phone number (the box ticked: the confirm step)."""
    form = EraseAccountByAdminForm()

    def erase() -> erasure.Erased:
        return erasure.erase_by_admin(actor(), erasure.find_by_phone(form.phone.data).id, clock.now())

    return post_form(
        form,
        erase,
        lambda erased: done(
            url_for(".erase_account_form"),
            _l(
                "Account %(id)s is deleted: %(n)s bookings cancelled, %(m)s monthly nights handed back.",
                id=erased.user_id,
                n=len(erased.cancelled),
                m=len(erased.handed_back),
            ),
        ),
        lambda status: _erase_page(form, status),
    )
