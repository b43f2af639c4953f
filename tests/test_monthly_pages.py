"""The monthly-pass pages without a browser: a resident buys a month, sees its nights, hands one
back, shows the pass; a refused month names its full nights beside the box to tick; a manager sets
the offer, marks a statement paid (a reused receipt is refused beside the field) and downloads CSV."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa

from parking.bookings.models import Booking, BookingStatus
from parking.monthly.models import MonthlyOffer, MonthlyStatement, Subscription
from tests.monthly_helpers import offered, subscribe


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _sign_in(client, user) -> None:
    token = _csrf(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "phone": user.phone, "password": "password123"})
    assert response.status_code == 302


def test_a_resident_buys_a_month_sees_its_nights_hands_one_back_and_shows_the_pass(client, factory, db):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    _sign_in(client, user)
    page = client.get("/monthly").get_data(as_text=True)
    assert "包月" in page and "310.00 元" in page and plate in page
    token = _csrf(client, "/monthly")
    bought = client.post(
        "/monthly", data={"csrf_token": token, "template_id": setup.template.id, "month": "2026-12", "plate": plate}
    )
    assert bought.status_code == 302, bought.get_data(as_text=True)
    subscription = db.session.scalar(sa.select(Subscription))
    assert bought.headers["Location"].endswith(f"/monthly/{subscription.id}")
    detail = client.get(f"/monthly/{subscription.id}").get_data(as_text=True)
    assert "已订 31 晚" in detail and "未付" in detail and "退回这一晚" in detail

    question = f"/monthly/{subscription.id}/nights/2026-12-03/hand-back"
    assert "不算违约" in client.get(question).get_data(as_text=True)
    back = client.post(question, data={"csrf_token": _csrf(client, question)})
    assert back.status_code == 302
    db.session.expire_all()
    night = db.session.scalar(
        sa.select(Booking).where(Booking.subscription_id == subscription.id, Booking.status == BookingStatus.CANCELLED)
    )
    assert night is not None and night.window.service_date == date(2026, 12, 3)

    shown = client.get(f"/monthly/{subscription.id}/pass")
    assert shown.status_code == 200 and "<svg" in shown.get_data(as_text=True)
    assert plate in shown.get_data(as_text=True)


def test_my_bookings_shows_a_month_as_one_line_and_its_next_night(client, factory, db):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    assert subscribe(client, factory, user, setup, plate).status_code == 201
    _sign_in(client, user)
    page = client.get("/bookings").get_data(as_text=True)
    subscription = db.session.scalar(sa.select(Subscription))
    assert "包月通行证：" in page and f'href="/monthly/{subscription.id}"' in page
    assert "还有 31 晚" in page
    assert page.count(f">{plate}<") == 2  # the month's line and its next night, not 31 cards
    assert "今晚" in page


def test_a_refused_month_names_its_full_nights_and_nothing_is_bought(client, factory, db):
    setup = offered(factory, quota=1, share="1")
    full = factory.window(template=setup.template, day=date(2026, 12, 4), quota=1)
    factory.booking(full)
    user, plate = factory.resident(setup.garage)
    _sign_in(client, user)
    token = _csrf(client, "/monthly")
    data = {"csrf_token": token, "template_id": setup.template.id, "month": "2026-12", "plate": plate}
    refused = client.post("/monthly", data=data)
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "12月4日 星期五（已满）" in text and "12月5日" not in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 0
    partial = client.post("/monthly", data={**data, "accept_partial": "y"})
    assert partial.status_code == 302
    assert db.session.scalar(sa.select(Subscription.nights_booked)) == 30


def test_a_manager_sets_the_offer_marks_paid_and_downloads_the_csv(client, factory, db):
    garage = factory.garage()
    template = factory.template(garage, default_quota=10)
    manager = factory.manager(garage)
    _sign_in(client, manager)
    page = client.get("/manage/monthly")
    assert page.status_code == 200 and "包月" in page.get_data(as_text=True)
    token = _csrf(client, "/manage/monthly")
    bad = client.post(
        f"/manage/monthly/offers/{template.id}",
        data={"csrf_token": token, "fee": "-5", "monthly_share": "70", "sale_starts_on": "2026-12-01", "active": "y"},
    )
    assert bad.status_code == 422 and db.session.scalar(sa.select(MonthlyOffer)) is None
    saved = client.post(
        f"/manage/monthly/offers/{template.id}",
        data={"csrf_token": token, "fee": "300", "monthly_share": "60", "sale_starts_on": "2026-12-01", "active": "y"},
    )
    assert saved.status_code == 302
    offer = db.session.scalar(sa.select(MonthlyOffer))
    assert str(offer.fee) == "300.00" and str(offer.monthly_share) == "0.600"

    holders = [factory.resident(garage) for _ in range(2)]
    from tests.monthly_helpers import Offer

    setup = Offer(garage, template, manager, offer)
    for user, plate in holders:
        assert subscribe(client, factory, user, setup, plate).status_code == 201
    statements = db.session.scalars(sa.select(MonthlyStatement).order_by(MonthlyStatement.id)).all()
    listing = client.get("/manage/monthly?month=2026-12").get_data(as_text=True)
    assert holders[0][1] in listing and "未付" in listing
    token = _csrf(client, "/manage/monthly")
    url = "/manage/monthly/statements/{}/paid?month=2026-12"
    assert (
        client.post(url.format(statements[0].id), data={"csrf_token": token, "receipt_number": "No.8"}).status_code
        == 302
    )
    reused = client.post(url.format(statements[1].id), data={"csrf_token": token, "receipt_number": "No.8"})
    assert reused.status_code == 409 and "收据号已经用过" in reused.get_data(as_text=True)
    db.session.expire_all()
    assert [
        s.receipt_number for s in db.session.scalars(sa.select(MonthlyStatement).order_by(MonthlyStatement.id))
    ] == [
        "No.8",
        None,
    ]
    csv_text = client.get("/manage/monthly/statements.csv?month=2026-12").get_data(as_text=True)
    assert csv_text.count("\n") == 3 and "No.8" in csv_text


def test_a_refused_month_blames_the_night_the_household_booked_itself_not_the_monthly_places(client, factory, db):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    own = factory.window(template=setup.template, day=date(2026, 12, 6), quota=10)
    factory.booking(own, user=user, plate=plate)
    _sign_in(client, user)
    token = _csrf(client, "/monthly")
    data = {"csrf_token": token, "template_id": setup.template.id, "month": "2026-12", "plate": plate}
    text = client.post("/monthly", data=data).get_data(as_text=True)
    assert "12月6日 星期日（您家已经订了这一晚）" in text
    assert "没有包月车位" not in text and "下面的方框" not in text
    assert "勾选“有的晚上订不到，就订其余的晚上”" in text


def test_home_shows_a_month_as_one_line(client, factory, db):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    assert subscribe(client, factory, user, setup, plate).status_code == 201
    _sign_in(client, user)
    page = client.get("/home").get_data(as_text=True)
    assert "2026年12月包月 · " + plate + " · 31晚" in page
    assert page.count('class="card booking"') == 0  # no card per night of the month
