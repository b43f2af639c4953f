"""The household forms: the address (with the estate's lists), a plate with its province picker, a
member by phone."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    ValidationError,
)

from parking import plates
from parking.i18n import lazy_gettext as _l
from parking.web.forms.fields import (
    REQUIRED,
    ChoiceField,
    int_or_none,
    no_control_characters,
    normalise_phone,
    strip,
    valid_phone,
)

#: The province abbreviations of the plate picker with the names people know them by.
PROVINCE_NAMES = {
    "沪": _l("Shanghai"),
    "京": _l("Beijing"),
    "津": _l("Tianjin"),
    "渝": _l("Chongqing"),
    "冀": _l("Hebei"),
    "豫": _l("Henan"),
    "云": _l("Yunnan"),
    "辽": _l("Liaoning"),
    "黑": _l("Heilongjiang"),
    "湘": _l("Hunan"),
    "皖": _l("Anhui"),
    "鲁": _l("Shandong"),
    "新": _l("Xinjiang"),
    "苏": _l("Jiangsu"),
    "浙": _l("Zhejiang"),
    "赣": _l("Jiangxi"),
    "鄂": _l("Hubei"),
    "桂": _l("Guangxi"),
    "甘": _l("Gansu"),
    "晋": _l("Shanxi"),
    "蒙": _l("Inner Mongolia"),
    "陕": _l("Shaanxi"),
    "吉": _l("Jilin"),
    "闽": _l("Fujian"),
    "贵": _l("Guizhou"),
    "粤": _l("Guangdong"),
    "青": _l("Qinghai"),
    "藏": _l("Tibet"),
    "川": _l("Sichuan"),
    "宁": _l("Ningxia"),
    "琼": _l("Hainan"),
}
assert set(PROVINCE_NAMES) == set(plates.PROVINCES)


def province_choices() -> list[tuple[str, str]]:
    return [(code, f"{code}  {name}") for code, name in PROVINCE_NAMES.items()]


def join_plate(province: str | None, rest: str | None, new_energy: bool) -> str:
    """The plate from the picker, the typed rest and the new-energy switch, checked by the API's
    plate rules (parking.plates). A whole plate typed or pasted into the text field is taken as it is."""
    text = plates.normalise(rest or "")
    joined = text if text[:1] in plates.PROVINCES else f"{province or ''}{text}"
    if new_energy and len(joined) != 8:
        raise ValidationError(_l("A green new-energy plate has 8 characters: the province and 7 more, e.g. 沪AD12345."))
    if not new_energy and len(joined) == 8:
        raise ValidationError(
            _l(
                "This plate has 8 characters. If it is a green new-energy plate, tick “%(box)s”.",
                box=_l("New-energy car (green plate, 8 characters)"),
            )
        )
    if not new_energy and len(joined) != 7:
        raise ValidationError(_l("A plate has 7 characters: the province and 6 more, e.g. 沪A12345."))
    parsed = plates.parse(joined)
    if parsed is None:
        raise ValidationError(_l("This is not a valid plate. Please check it against the car, e.g. 沪A12345."))
    return parsed


# Only "filled in" here: the household service checks and normalises each part (and names the part
# it refuses), so that the page and the API say the same; no maxlength that would cut a value silently.
ADDRESS_PART = [DataRequired(REQUIRED), no_control_characters]


class HouseholdForm(FlaskForm):
    garage_id = ChoiceField(
        _l("Garage"), coerce=int_or_none, not_a_choice=_l("Please choose the garage from the list.")
    )
    building = StringField(_l("Building"), filters=[strip], validators=ADDRESS_PART)
    unit = StringField(_l("Unit (entrance)"), filters=[strip], validators=ADDRESS_PART)
    room = StringField(_l("Room"), filters=[strip], validators=ADDRESS_PART)


class ResubmitForm(FlaskForm):
    """A rejected household's corrected address, sent again."""

    building = StringField(_l("Building"), filters=[strip], validators=ADDRESS_PART)
    unit = StringField(_l("Unit (entrance)"), filters=[strip], validators=ADDRESS_PART)
    room = StringField(_l("Room"), filters=[strip], validators=ADDRESS_PART)


class VehicleForm(FlaskForm):
    province = ChoiceField(_l("Province"), default="沪", choices=province_choices)
    plate = StringField(
        _l("The rest of the plate"),
        filters=[strip],
        validators=[DataRequired(_l("Please type the plate number.")), Length(max=32)],
    )
    new_energy = BooleanField(_l("New-energy car (green plate, 8 characters)"))
    joined: str | None = None

    def validate_plate(self, field: Any) -> None:
        self.joined = join_plate(self.province.data, field.data, bool(self.new_energy.data))


class MemberForm(FlaskForm):
    phone = StringField(
        _l("Their mobile number"), filters=[normalise_phone], validators=[DataRequired(REQUIRED), valid_phone]
    )
