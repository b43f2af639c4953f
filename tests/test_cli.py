from __future__ import annotations

from parking.auth.models import Role, User
from parking.households.models import HouseholdState
from parking.seed import DEMO_PASSWORD, DEMO_PLATE, DEMO_USERS
from parking.windows.models import Garage, Window, WindowTemplate


def test_users_create_makes_a_manager_of_a_garage(runner, factory, db):
    garage = factory.garage()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--phone",
            "13711112222",
            "--password",
            "long-enough-pw",
            "--role",
            "manager",
            "--garage",
            str(garage.id),
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.phone == "13711112222"))
    assert user.role == Role.MANAGER
    assert user.garage_ids == [garage.id]
    assert "long-enough-pw" not in result.output


def test_users_create_refuses_bad_input_without_a_traceback(runner, db):
    for args in (
        ["--phone", "123", "--password", "long-enough-pw"],
        ["--phone", "13711112222", "--password", "short"],
        ["--phone", "13711112222", "--password", "long-enough-pw", "--garage", "42"],
    ):
        result = runner.invoke(args=["users", "create", *args])
        assert result.exit_code != 0
        assert "Traceback" not in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_seed_demo_fills_an_empty_database_once(runner, client, db):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    garage = db.session.scalar(db.select(Garage))
    assert garage.capacity == 300
    template = db.session.scalar(db.select(WindowTemplate))
    assert (template.start_time.isoformat(), template.end_time.isoformat(), template.default_quota) == (
        "19:00:00",
        "07:30:00",
        60,
    )
    assert db.session.scalar(db.select(db.func.count()).select_from(Window)) == 15  # today + 14 days
    second = runner.invoke(args=["seed-demo"])
    assert "skipped" in second.output
    assert db.session.scalar(db.select(db.func.count()).select_from(Garage)) == 1

    # The README's demo resident can sign in and book tonight.
    phone = DEMO_USERS["resident"][0]
    token = client.post("/api/v1/auth/token", json={"phone": phone, "password": DEMO_PASSWORD}).json["access_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json
    assert me["household"]["state"] == HouseholdState.VERIFIED.value
    window = client.get(f"/api/v1/garages/{garage.id}/windows").json[0]
    booked = client.post(
        "/api/v1/bookings",
        json={"window_id": window["id"], "plate": DEMO_PLATE},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert booked.status_code == 201, booked.json

    # The demo template sells monthly passes: the resident can try one (tonight is booked already).
    offers = client.get(f"/api/v1/garages/{garage.id}/monthly-offers", headers={"Authorization": f"Bearer {token}"})
    assert [(o["template_id"], o["fee"]) for o in offers.json] == [(template.id, "300.00")]
    month = client.post(
        "/api/v1/subscriptions",
        json={"template_id": template.id, "month": "2026-12", "plate": DEMO_PLATE, "accept_partial": True},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert month.status_code == 201, month.json
    assert month.json["nights_booked"] == month.json["nights_planned"] - 1


def test_home_page_links_to_the_api_docs(client):
    page = client.get("/")
    assert page.status_code == 200
    assert b"/api/v1/docs" in page.data
    assert client.get("/api/v1/openapi.json").json["info"]["title"] == "Tidal parking"
