"""Addresses chosen, not typed: a manager enters the estate's buildings, units and rooms; residents
choose from them and the API refuses an address outside the list. Without a list typed parts are
checked and normalised ("1号楼" and "1" are one building), never silently cut."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from parking.audit.models import AuditEvent
from parking.households import addresses
from parking.households.models import GarageAddressList, Household

SPEC = "1–24 号楼, 1–6 单元, 101–604 室\n25、26栋, 1单元, 1701~1702室"


def _register(client, factory, garage, building, unit, room, user=None):
    return client.post(
        "/api/v1/households",
        json={"garage_id": garage.id, "building": building, "unit": unit, "room": room},
        headers=factory.headers(user or factory.user()),
    )


@pytest.mark.parametrize(
    ("part", "typed", "stored"),
    [
        ("building", "1号楼", "1"),
        ("building", "1栋", "1"),
        ("building", "1幢", "1"),
        ("building", "a座", "A"),
        ("building", "０１", "1"),
        ("unit", "2单元", "2"),
        ("unit", " 2 ", "2"),
        ("room", "301室", "301"),
        ("room", "12b", "12B"),
    ],
)
def test_typed_parts_are_normalised(part, typed, stored):
    assert addresses.normalise(part, typed) == stored


@pytest.mark.parametrize(
    ("part", "typed"),
    [("building", "🏠🏠🏠"), ("unit", "x" * 300), ("room", "<script>alert(1)</script>"), ("unit", "2室"), ("room", "")],
)
def test_typed_parts_outside_the_rules_are_refused_naming_the_part(part, typed):
    with pytest.raises(addresses.AddressError) as refused:
        addresses.normalise(part, typed)
    assert list(refused.value.errors) == [part]


def test_a_list_expands_ranges_and_room_floors_predictably():
    listed = addresses.parse_spec(SPEC)
    assert [block.count for block in listed.blocks] == [24 * 6 * 24, 2 * 1 * 2]
    assert listed.count == 3456 + 4
    assert listed.choices("room")[:5] == ["101", "102", "103", "104", "201"]
    assert listed.choices("room")[-3:] == ["604", "1701", "1702"]
    assert listed.choices("building")[-3:] == ["24", "25", "26"]
    assert listed.allows("25", "1", "1702") and not listed.allows("25", "2", "1702")
    assert addresses.parse_spec("A-C 座, 1 单元, 1-3 室").choices("building") == ["A", "B", "C"]


@pytest.mark.parametrize(
    "spec",
    ["1-3, 1单元, 101室", "1号楼, 1单元", "5-1号楼, 1单元, 1室", "1号楼, 1单元, 104-201室", "🏠号楼, 1单元, 1室"],
)
def test_a_list_that_cannot_be_read_is_refused_with_what_is_wrong(spec):
    with pytest.raises(addresses.AddressError) as refused:
        addresses.parse_spec(spec)
    assert list(refused.value.errors) == ["spec"]


def test_without_a_list_1_hao_lou_and_1_are_one_building(client, factory, db):
    garage = factory.garage()
    first = _register(client, factory, garage, "1号楼", "2单元", "301室")
    assert first.status_code == 201, first.json
    assert (first.json["building"], first.json["unit"], first.json["room"]) == ("1", "2", "301")
    second = _register(client, factory, garage, "1", "2", "301")
    assert (second.status_code, second.json["error"]) == (409, "household_exists")


def test_emoji_markup_and_over_long_parts_get_422_with_the_field_named_and_store_nothing(client, factory, db):
    garage = factory.garage()
    refused = _register(client, factory, garage, "🏠🏠🏠", "x" * 20, "<script>")
    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"building", "unit", "room"}
    too_long = _register(client, factory, garage, "1", "x" * 300, "1")
    assert too_long.status_code == 422 and set(too_long.json["errors"]) == {"unit"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == 0


def test_a_manager_enters_the_list_residents_must_choose_from_it_and_existing_households_keep_their_address(
    client, factory, db
):
    garage = factory.garage()
    manager = factory.manager(garage)
    earlier = _register(client, factory, garage, "99号楼", "9", "9")  # before the list: stays as it is
    h = factory.headers(manager)

    preview = client.put(f"/api/v1/garages/{garage.id}/addresses", json={"spec": SPEC, "dry_run": True}, headers=h)
    assert preview.status_code == 200 and preview.json["count"] == 3460
    assert db.session.get(GarageAddressList, garage.id) is None
    saved = client.put(f"/api/v1/garages/{garage.id}/addresses", json={"spec": SPEC}, headers=h)
    assert saved.status_code == 200 and saved.json["count"] == 3460
    listed = client.get(f"/api/v1/garages/{garage.id}/addresses")
    assert listed.json["buildings"][:3] == ["1", "2", "3"] and listed.json["units"] == ["1", "2", "3", "4", "5", "6"]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "address_list.saved"))
    assert (event.actor_id, event.after["addresses"]) == (manager.id, 3460)

    outside = _register(client, factory, garage, "25", "2", "1701")
    assert (outside.status_code, outside.json["error"]) == (422, "address_not_in_list")
    assert list(outside.json["errors"]) == ["unit"]
    inside = _register(client, factory, garage, "25栋", "1单元", "1701室")
    assert inside.status_code == 201 and inside.json["building"] == "25"
    kept = db.session.get(Household, earlier.json["id"])
    assert (kept.building, kept.unit, kept.room) == ("99", "9", "9")

    bad = client.put(f"/api/v1/garages/{garage.id}/addresses", json={"spec": "1-3, 1单元"}, headers=h)
    assert bad.status_code == 422 and "spec" in bad.json["errors"]
    resident = client.put(
        f"/api/v1/garages/{garage.id}/addresses", json={"spec": SPEC}, headers=factory.headers(factory.user())
    )
    assert resident.status_code == 403
    removed = client.put(f"/api/v1/garages/{garage.id}/addresses", json={"spec": ""}, headers=h)
    assert removed.status_code == 200 and removed.json["count"] == 0
    assert _register(client, factory, garage, "30", "1", "1").status_code == 201


# -- pages ----------------------------------------------------------------------------------------


def _sign_in(client, user):
    from tests.test_manage_pages import _sign_in as sign_in

    sign_in(client, user)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_the_household_form_offers_pickers_where_there_is_a_list_and_a_number_pad_where_there_is_none(
    client, factory, db
):
    garage = factory.garage()
    resident = factory.user()
    _sign_in(client, resident)
    typed = client.get("/household").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="room"[^>]*inputmode="numeric"', typed)
    assert "maxlength" not in typed

    db.session.add(
        GarageAddressList(
            garage_id=garage.id, spec="1-2 号楼, 1 单元, 101-102 室", addresses=4, updated_at=garage.created_at
        )
    )
    db.session.commit()
    picked = client.get("/household").get_data(as_text=True)
    assert re.search(r'<select id="building" name="building"', picked)
    assert '<option value="102">102</option>' in picked

    outside = client.post(
        "/household",
        data={"csrf_token": _csrf(picked), "garage_id": garage.id, "building": "3", "unit": "1", "room": "101"},
    )
    assert outside.status_code == 422
    assert re.search(r'id="building-error">.*请从列表中选择', outside.get_data(as_text=True), re.S)
    chosen = client.post(
        "/household",
        data={"csrf_token": _csrf(picked), "garage_id": garage.id, "building": "2", "unit": "1", "room": "102"},
    )
    assert chosen.status_code == 302
    db.session.expire_all()
    household = db.session.scalar(sa.select(Household))
    assert (household.building, household.unit, household.room) == ("2", "1", "102")


def test_the_manager_previews_and_saves_the_list_on_the_addresses_page(client, factory, db):
    garage = factory.garage()
    manager = factory.manager(garage)
    _sign_in(client, manager)
    page = client.get("/manage/addresses").get_data(as_text=True)

    preview = client.post("/manage/addresses", data={"csrf_token": _csrf(page), "spec": SPEC, "preview": "1"})
    assert preview.status_code == 200
    assert "3460" in preview.get_data(as_text=True)
    assert db.session.get(GarageAddressList, garage.id) is None
    bad = client.post("/manage/addresses", data={"csrf_token": _csrf(page), "spec": "1-3, 1单元"})
    assert bad.status_code == 422 and 'id="spec-error"' in bad.get_data(as_text=True)
    saved = client.post("/manage/addresses", data={"csrf_token": _csrf(page), "spec": SPEC})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(GarageAddressList, garage.id).addresses == 3460


def test_an_address_stored_as_typed_before_still_counts_as_taken(client, factory, db):
    garage = factory.garage()
    db.session.add(
        Household(garage_id=garage.id, building="12号楼", unit="3单元", room="0402室", created_at=garage.created_at)
    )
    db.session.commit()

    again = _register(client, factory, garage, "12", "3", "402")

    assert (again.status_code, again.json["error"]) == (409, "household_exists")
    assert _register(client, factory, garage, "12", "3", "403").status_code == 201
