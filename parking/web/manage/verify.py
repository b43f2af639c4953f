"""`/manage/verify`: the queue of households and plates to check; approve, reject, reopen, release a
plate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template
from flask.typing import ResponseReturnValue

from parking import clock
from parking.bookings.plate_release import release_plate
from parking.extensions import db
from parking.garages.models import Garage
from parking.households import services as household_services
from parking.households.models import Household, HouseholdState, Vehicle, VehicleState
from parking.i18n import gettext as _
from parking.web.forms.manage import ReleaseForm, ReopenForm, VerifyForm
from parking.web.manage.garage import (
    bp,
    garage_page,
    local_datetime,
    murl,
    unique_ids,
)
from parking.web.pages import FORM_INVALID, actor, post_button, post_form
from parking.web.pages import done as said

# -- verification ---------------------------------------------------------------------------------


def _verify_page(
    garage: Garage,
    failed: tuple[str, int, VerifyForm] | None = None,
    status: int = 200,
    release_failed: tuple[int, ReleaseForm] | None = None,
) -> ResponseReturnValue:
    user = actor()
    households = household_services.queue(user, HouseholdState.PENDING, garage.id)
    rejected = household_services.queue(user, HouseholdState.REJECTED, garage.id)
    vehicles = household_services.vehicle_queue(user, garage.id)
    holders = household_services.plate_holders(vehicles)

    def form_for(kind: str, ident: int) -> VerifyForm:
        if failed is not None and failed[0] == kind and failed[1] == ident:
            return unique_ids(failed[2], f"{kind}{ident}")
        return unique_ids(VerifyForm(formdata=None), f"{kind}{ident}")

    def release_form(holder_id: int, vehicle_id: int) -> ReleaseForm:
        # One form per clashing row: two plates waiting may clash with the same holder.
        if release_failed is not None and release_failed[0] == holder_id:
            return unique_ids(release_failed[1], f"r{holder_id}-{vehicle_id}")
        return unique_ids(ReleaseForm(formdata=None), f"r{holder_id}-{vehicle_id}")

    return (
        render_template(
            "manage/verify.html",
            garage=garage,
            households=[
                {"household": h, "form": form_for("h", h.id), "created": local_datetime(h.created_at, garage)}
                for h in households
            ],
            rejected=[{"household": h, "form": unique_ids(ReopenForm(formdata=None), f"o{h.id}")} for h in rejected],
            vehicles=[
                {
                    "vehicle": v,
                    "form": form_for("v", v.id),
                    "created": local_datetime(v.created_at, garage),
                    "holder": holders.get(v.id),
                    "release": release_form(holders[v.id].id, v.id) if v.id in holders else None,
                }
                for v in vehicles
            ],
        ),
        status,
    )


@bp.get("/manage/verify")
@garage_page
def verify(garage: Garage) -> ResponseReturnValue:
    return _verify_page(garage)


def _decide(
    garage: Garage, kind: str, ident: int, decide: Callable[[VerifyForm], Any], done: Callable[[Any], str]
) -> ResponseReturnValue:
    form = VerifyForm()
    return post_form(
        form,
        lambda: decide(form),
        lambda thing: said(murl("manage.verify"), done(thing)),
        lambda status: _verify_page(garage, (kind, ident, form), status),
        invalid=None,
    )


@bp.post("/manage/verify/households/<id:household_id>")
@garage_page
def verify_household(garage: Garage, household_id: int) -> ResponseReturnValue:
    def decide(form: VerifyForm) -> Any:
        household = db.session.get(Household, household_id)
        if household is None or household.garage_id != garage.id:
            abort(404)  # another garage's household is not on this garage's page, even for an admin
        return household_services.verify(
            actor(), household_id, form.decision.data, form.reason.data or None, clock.now()
        )

    def done(household: Household) -> str:
        address = f"{household.building}-{household.unit}-{household.room}"
        if household.state == HouseholdState.VERIFIED:
            return _("Household %(address)s approved.", address=address)
        return _("Household %(address)s rejected.", address=address)

    return _decide(garage, "h", household_id, decide, done)


@bp.post("/manage/verify/vehicles/<id:vehicle_id>")
@garage_page
def verify_vehicle(garage: Garage, vehicle_id: int) -> ResponseReturnValue:
    def decide(form: VerifyForm) -> Any:
        vehicle = db.session.get(Vehicle, vehicle_id)
        if vehicle is None or vehicle.household.garage_id != garage.id:
            abort(404)
        return household_services.verify_vehicle(
            actor(), vehicle_id, form.decision.data, clock.now(), form.reason.data or None
        )

    def done(vehicle: Vehicle) -> str:
        if vehicle.state == VehicleState.VERIFIED:
            return _("Plate %(plate)s approved.", plate=vehicle.plate)
        return _("Plate %(plate)s rejected.", plate=vehicle.plate)

    return _decide(garage, "v", vehicle_id, decide, done)


@bp.post("/manage/verify/households/<id:household_id>/reopen")
@garage_page
def reopen_household(garage: Garage, household_id: int) -> ResponseReturnValue:
    form = ReopenForm()
    if not form.validate_on_submit():
        flash(str(FORM_INVALID), "error")
        return redirect(murl("manage.verify"))
    household = db.session.get(Household, household_id)
    if household is None or household.garage_id != garage.id:
        abort(404)
    back = murl("manage.verify")
    return post_button(
        lambda: household_services.reopen(actor(), household_id, None, clock.now()),
        lambda _reopened: said(
            back, _("Household %(address)s is back in the queue.", address=household_services.address_of(household))
        ),
        back,
    )


@bp.post("/manage/verify/vehicles/<id:vehicle_id>/release")
@garage_page
def release_vehicle(garage: Garage, vehicle_id: int) -> ResponseReturnValue:
    form = ReleaseForm()
    vehicle = db.session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.garage_id != garage.id:
        abort(404)
    return post_form(
        form,
        lambda: release_plate(actor(), vehicle_id, form.reason.data, clock.now()),
        lambda released: said(
            murl("manage.verify"),
            _(
                "Plate %(plate)s released from household %(address)s; %(n)s coming bookings cancelled.",
                plate=released.vehicle.plate,
                address=household_services.address_of(released.vehicle.household),
                n=len(released.cancelled),
            ),
        ),
        lambda status: _verify_page(garage, status=status, release_failed=(vehicle_id, form)),
        invalid=None,
    )
