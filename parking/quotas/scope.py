"""Manager scope: a manager acts on the garages they belong to; admins on all."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from parking.auth.models import Role, User
from parking.errors import Forbidden
from parking.garages.models import Garage
from parking.garages.services import get_garage


class NotYourGarage(Forbidden):
    reason, message = "not_your_garage", _l("You do not manage this garage.")


def managed_garage(actor: User, garage_id: int) -> Garage:
    """The garage, if the actor manages it: 404 for an unknown garage, 403 for someone else's."""
    garage = get_garage(garage_id)
    if not actor.is_staff_of(garage.id, Role.MANAGER):
        raise NotYourGarage()
    return garage
