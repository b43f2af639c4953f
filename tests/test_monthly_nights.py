"""A monthly night is a night of its month everywhere: its pass is the month's pass (a night's own
pass issued before stays valid for its night, none is issued after), its cancel is its hand-back,
and the pages offer the month's pass exactly when the pass rule gives one."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.bookings.models import Booking, BookingStatus
from parking.passes import offline
from parking.passes import services as pass_services
from parking.passes.models import Pass
from tests.gate_helpers import scan
from tests.monthly_helpers import offered, sh, subscribe, window_of
from tests.test_monthly_pages import _sign_in


def _month(client, factory, **offer):
    setup = offered(factory, **offer)
    user, plate = factory.resident(setup.garage)
    answer = subscribe(client, factory, user, setup, plate)
    assert answer.status_code == 201, answer.json
    return setup, user, plate, answer.json["id"]


def _night(db, setup, day: date) -> Booking:
    window = window_of(setup, day)
    booking = db.session.scalar(sa.select(Booking).where(Booking.window_id == window.id))
    assert booking is not None and booking.subscription_id is not None
    return booking


def test_a_monthly_nights_pass_is_its_months_pass_and_no_night_pass_is_issued(client, factory, db):
    setup, user, _plate, subscription_id = _month(client, factory)
    night = _night(db, setup, date(2026, 12, 2))
    headers = factory.headers(user)

    answer = client.get(f"/api/v1/bookings/{night.id}/pass", headers=headers)
    assert answer.status_code == 200, answer.json
    assert answer.json["token"].startswith("M1.")
    assert answer.json["subscription_id"] == subscription_id and answer.json["booking_id"] is None
    month = client.get(f"/api/v1/subscriptions/{subscription_id}/pass", headers=headers)
    assert month.json["token"] == answer.json["token"]
    for suffix in (".png", ".svg"):
        assert client.get(f"/api/v1/bookings/{night.id}/pass{suffix}", headers=headers).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Pass).where(Pass.booking_id.is_not(None))) == 0


def test_a_night_pass_issued_before_for_a_monthly_night_still_admits_on_its_night(client, factory, db):
    setup, _user, plate, _subscription_id = _month(client, factory)
    night = _night(db, setup, date(2026, 12, 1))
    # A night's own pass, as the earlier issuer signed it for a monthly night.
    key = pass_services.active_key(setup.garage.id, clock.now())
    not_before, not_after = pass_services.validity(night.window, setup.garage)
    claims = offline.PassClaims(
        offline.VERSION,
        key.kid,
        night.id,
        setup.garage.id,
        plate,
        pass_services.unix_seconds(not_before),
        pass_services.unix_seconds(not_after),
        offline.new_nonce(),
    )
    token = pass_services.sign_with(key, claims)
    db.session.commit()
    attendant = factory.attendant(setup.garage)
    clock.set_now(sh(12, 1, 19, 30))
    entry = scan(client, factory, attendant, setup.garage.id, token=token, plate_seen=plate)
    assert entry.json["result"] == "accepted" and entry.json["booking"] == night.id, entry.json
    clock.set_now(sh(12, 2, 19, 30))  # not the night after
    assert scan(client, factory, attendant, setup.garage.id, token=token).json["reason"] == "expired"


def test_cancelling_a_monthly_night_is_its_hand_back_in_the_api_the_audit_and_the_managers_page(client, factory, db):
    setup, user, _plate, subscription_id = _month(client, factory)
    night = _night(db, setup, date(2026, 12, 1))
    clock.set_now(sh(12, 1, 19, 30))  # after the night opened: a single night's cancel would be late
    answer = client.post(f"/api/v1/bookings/{night.id}/cancel", json={}, headers=factory.headers(user))
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "cancelled"
    db.session.expire_all()
    cancelled = db.session.get(Booking, night.id)
    assert cancelled.late_cancel is False
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "booking", AuditEvent.object_id == night.id)
    ).all()
    assert "booking.handed_back" in actions and "booking.cancelled" not in actions

    again = client.post(f"/api/v1/bookings/{night.id}/cancel", json={}, headers=factory.headers(user))
    assert again.status_code == 422 and again.json["error"] == "not_handed_back"
    clock.set_now(sh(12, 3, 8, 0))  # a night that has ended cannot be handed back
    ended = _night(db, setup, date(2026, 12, 2))
    late = client.post(f"/api/v1/bookings/{ended.id}/cancel", json={}, headers=factory.headers(user))
    assert late.status_code == 422 and late.json["error"] == "not_handed_back"

    _sign_in(client, setup.manager)
    page = client.get(f"/manage/monthly?garage_id={setup.garage.id}&month=2026-12").get_data(as_text=True)
    row = re.search(r'<td class="num">(\d+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>', page)
    assert row is not None and row.groups() == ("31", "1", "0"), subscription_id


def _page_offers_the_pass(client, subscription_id: int) -> bool:
    page = client.get("/monthly").get_data(as_text=True)
    return f"/monthly/{subscription_id}/pass" in page


def _set_nights(db, subscription_id: int, status: BookingStatus, *, last: BookingStatus) -> None:
    nights = db.session.scalars(
        sa.select(Booking).where(Booking.subscription_id == subscription_id).order_by(Booking.window_id)
    ).all()
    for booking in nights[:-1]:
        booking.status = status
        booking.slot = None
    nights[-1].status = last
    db.session.commit()


@pytest.mark.parametrize("shown_before", [False, True])
def test_the_pages_offer_the_months_pass_exactly_when_the_pass_rule_gives_one(client, factory, db, shown_before):
    """Expired confirmed nights (the tide has not run) and an overstayed night admit nobody: the
    page offers no pass and the pass is refused, whether it was shown before or not."""
    _setup, user, _plate, subscription_id = _month(client, factory)
    headers = factory.headers(user)
    if shown_before:
        assert client.get(f"/api/v1/subscriptions/{subscription_id}/pass", headers=headers).status_code == 200
    _sign_in(client, user)
    assert _page_offers_the_pass(client, subscription_id)

    for last in (BookingStatus.CONFIRMED, BookingStatus.OVERSTAYED):
        _set_nights(db, subscription_id, BookingStatus.COMPLETED, last=last)
        clock.set_now(sh(12, 31, 20, 0))  # the month's last night: the pass admits
        headers = factory.headers(user)  # a bearer token lives 7 days; the clock moved a month
        api = client.get(f"/api/v1/subscriptions/{subscription_id}/pass", headers=headers)
        assert api.status_code == 200 and _page_offers_the_pass(client, subscription_id), last
        clock.set_now(sh(1, 1, 8, 0, year=2027))  # after its exit grace: nothing admits
        api = client.get(f"/api/v1/subscriptions/{subscription_id}/pass", headers=headers)
        assert api.status_code == 409 and api.json["error"] == "no_space_held", last
        assert not _page_offers_the_pass(client, subscription_id), last
