"""The manager's page of a ballot night's draw: the commitment before the draw (never the seed),
after it the seed, the quota and the entries in draw order with each household's address, from
the same service as GET /api/v1/windows/{id}/draw; only for a manager of the night's garage."""

from __future__ import annotations

import re
from datetime import timedelta

from parking.bookings import ballot
from parking.extensions import db
from parking.households.models import Household
from parking.web.resident_display import address_words
from tests.ballot_helpers import CLOSE, ballot_night, requesters
from tests.ballot_helpers import at as move_to
from tests.test_manage_pages import _sign_in


def test_the_draw_page_shows_the_commitment_then_the_draw_in_order_with_addresses(client, factory):
    window = ballot_night(factory, quota=2)
    garage = window.garage
    made = requesters(client, factory, window, 3)
    manager = factory.manager(garage)
    _sign_in(client, manager)
    calendar = client.get(f"/manage/calendar?garage_id={garage.id}&template_id={window.template_id}&month=2026-12")
    assert f'href="/manage/draw/{window.id}' in calendar.get_data(as_text=True)
    before = client.get(f"/manage/draw/{window.id}")
    assert before.status_code == 200
    page = before.get_data(as_text=True)
    assert window.ballot_commitment in page and "还没有抽签" in page
    assert window.ballot_seed not in page  # the seed stays secret until the draw

    now = move_to(CLOSE + timedelta(minutes=1))
    ballot.run_due_draws(now)
    db.session.commit()
    published = client.get(f"/api/v1/windows/{window.id}/draw").json
    page = client.get(f"/manage/draw/{window.id}").get_data(as_text=True)
    assert published["seed"] in page and published["commitment"] in page
    assert re.search(r"抽出的车位数</dt><dd>2</dd>", page)
    rows = re.findall(r"<tr>\s*<td>(\d+)</td><td>([^<]+)</td>.*?</tr>", page, re.S)
    addresses = [address_words(db.session.get(Household, e["household_id"])) for e in published["entries"]]
    assert [address for _place, address in rows] == addresses and len(rows) == len(made)
    assert page.count("抽中：已预约") == 2 and page.count("未抽中：排队候补") == 1
    for entry in published["entries"]:
        assert f"{entry['u']:.6f}" in page


def test_another_garages_manager_gets_403(client, factory):
    window = ballot_night(factory, quota=2)
    stranger = factory.manager(factory.garage(name="别人的车库"))
    _sign_in(client, stranger)
    response = client.get(f"/manage/draw/{window.id}")
    assert response.status_code == 403 and window.ballot_commitment not in response.get_data(as_text=True)


def test_a_first_come_night_has_no_draw_page(client, factory):
    plain = factory.window(quota=3)
    _sign_in(client, factory.manager(plain.garage))
    assert client.get(f"/manage/draw/{plain.id}").status_code == 404
    assert client.get("/manage/draw/999999").status_code == 404
