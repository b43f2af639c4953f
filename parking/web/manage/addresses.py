"""`/manage/addresses`: the estate's list of buildings, units and rooms, previewed then saved."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue

from parking import clock
from parking.errors import DomainError
from parking.garages.models import Garage
from parking.households import services as household_services
from parking.households.addresses import AddressList
from parking.i18n import gettext as _
from parking.web.forms.manage import AddressListForm
from parking.web.manage.garage import (
    bp,
    garage_page,
    murl,
)
from parking.web.pages import actor, form_failed, post_form, undo
from parking.web.pages import done as said

# -- the estate's addresses -----------------------------------------------------------------------


def _addresses_page(
    garage: Garage, form: AddressListForm | None = None, preview: AddressList | None = None, status: int = 200
) -> ResponseReturnValue:
    listed = household_services.address_list(garage.id)
    if form is None:
        form = AddressListForm(formdata=None, data={"spec": listed.spec if listed else ""})
    return (
        render_template("manage/addresses.html", garage=garage, form=form, listed=listed, preview=preview),
        status,
    )


@bp.get("/manage/addresses")
@garage_page
def addresses(garage: Garage) -> ResponseReturnValue:
    return _addresses_page(garage)


@bp.post("/manage/addresses")
@garage_page
def save_addresses(garage: Garage) -> ResponseReturnValue:
    form = AddressListForm()
    if form.preview.data and form.validate_on_submit():
        return _preview_addresses(garage, form)
    back = murl("manage.addresses")
    return post_form(
        form,
        lambda: household_services.set_address_list(actor(), garage.id, form.spec.data or "", clock.now()),
        lambda listed: said(
            back,
            _("Saved: %(n)s addresses. Residents now choose from this list.", n=listed.count)
            if listed.blocks
            else _("The list is removed. Residents type their address again."),
        ),
        lambda status: _addresses_page(garage, form, status=status),
        invalid=None,
    )


def _preview_addresses(garage: Garage, form: AddressListForm) -> Any:
    """The list as it would be saved, or its refusal beside the field: a dry run that writes nothing."""
    try:
        listed = household_services.set_address_list(
            actor(), garage.id, form.spec.data or "", clock.now(), dry_run=True
        )
    except DomainError as exc:
        form_failed(form, exc)
        return _addresses_page(garage, form, status=exc.code)
    undo()
    return _addresses_page(garage, form, preview=listed)
