"""The gate station's forms: a scan, a plate look-up, a camera's doubtful read."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    Optional,
)
from wtforms.widgets import HiddenInput

from parking.catalogue import DIRECTIONS
from parking.i18n import lazy_gettext as _l
from parking.plates import PROVINCES
from parking.web.forms.fields import (
    REQUIRED,
    strip,
)


class GateScanForm(FlaskForm):
    """One scan at the barrier: a pass read by the scanner (or pasted), or a plate from the look-up.
    The same fields as `POST /api/v1/gate/scan`; the page script sends them as JSON."""

    garage_id = IntegerField(widget=HiddenInput(), validators=[DataRequired(REQUIRED)])
    direction = RadioField(
        _l("Which way is the car going?"),
        choices=[SelectChoice(code, words) for code, words in DIRECTIONS.items()],
        default="in",
        validators=[DataRequired(REQUIRED)],
    )
    token = StringField(_l("Scan the pass"), filters=[strip], validators=[Optional(), Length(max=500)])
    plate = StringField(_l("Plate"), filters=[strip], validators=[Optional(), Length(max=32)])
    idempotency_key = HiddenField(validators=[DataRequired(REQUIRED), Length(max=64)])

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if bool(self.token.data) == bool(self.plate.data):
            self.token.errors = [*self.token.errors, _l("Scan a pass first.")]
            return False
        return True


_PROVINCES_SH_FIRST = sorted(PROVINCES, key=lambda p: p != "沪")


class PlateLookupForm(FlaskForm):
    """Look a car up by its plate: the province picker (沪 first) and the rest of the plate. Sent by
    POST, so that a plate never stands in an address (nor in an access log)."""

    province = SelectField(
        _l("Province"), choices=[SelectChoice(p) for p in sorted(PROVINCES, key=lambda p: p != "沪")], default="沪"
    )
    plate = StringField(_l("Rest of the plate"), filters=[strip], validators=[DataRequired(REQUIRED), Length(max=32)])

    def full_plate(self) -> str:
        rest = self.plate.data or ""
        return rest if rest[:1] in PROVINCES else f"{self.province.data}{rest}"


class PlateEventForm(FlaskForm):
    """Confirm a camera's doubtful read, correcting the plate if the camera misread it."""

    plate = StringField(_l("Plate"), filters=[strip], validators=[Optional(), Length(max=32)])
