"""Monthly passes: offers, subscribing a month in one go under the quota and the
monthly share, handing nights back, the tide's no-show without a strike, statements and renewal."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.bookings.models import SPACE_HOLDING, Booking, BookingStatus
from parking.households.models import Strike
from parking.monthly.models import MonthlyStatement, Subscription
from parking.notifications.models import Notification
from parking.quotas.services import Target, apply_targets
from parking.tide.services import run_tide
from parking.windows.models import Window
from tests.monthly_helpers import offered, sh, subscribe, window_of


def _holding(db, window_id, *, monthly=None):
    stmt = (
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(Booking.window_id == window_id, Booking.status.in_(SPACE_HOLDING))
    )
    if monthly is not None:
        stmt = stmt.where(Booking.subscription_id.is_not(None) if monthly else Booking.subscription_id.is_(None))
    return db.session.scalar(stmt)


def _nights(db, subscription_id):
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Booking)
            .join(Window, Window.id == Booking.window_id)
            .where(Booking.subscription_id == subscription_id)
            .order_by(Window.service_date)
        )
    )


# -- the offer -------------------------------------------------------------------------------------


def test_a_manager_sets_the_offer_audited_and_others_may_not(client, factory, db):
    garage = factory.garage()
    template = factory.template(garage, default_quota=20)
    manager, stranger = factory.manager(garage), factory.manager(factory.garage())
    resident, _plate = factory.resident(garage)
    url = f"/api/v1/garages/{garage.id}/templates/{template.id}/monthly"
    body = {"fee": "300", "monthly_share": 0.6, "sale_starts_on": "2026-12-01"}

    assert client.put(url, json=body, headers=factory.headers(resident)).status_code == 403
    assert client.put(url, json=body, headers=factory.headers(stranger)).status_code == 403
    response = client.put(url, json=body, headers=factory.headers(manager))
    assert response.status_code == 200, response.json
    assert response.json["fee"] == "300.00" and response.json["monthly_share"] == 0.6
    assert [s["month"] for s in response.json["sales"]] == ["2026-12", "2027-01"]

    changed = client.put(url, json={"fee": 280.5}, headers=factory.headers(manager))
    assert changed.json["fee"] == "280.50" and changed.json["monthly_share"] == 0.6
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == "monthly_offer").order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["monthly_offer.created", "monthly_offer.changed"]
    assert events[1].before["fee"] == "300.00" and events[1].after["fee"] == "280.50"

    listed = client.get(f"/api/v1/garages/{garage.id}/monthly-offers", headers=factory.headers(resident))
    assert [o["template_id"] for o in listed.json] == [template.id]


def test_an_offer_is_refused_for_a_ballot_window_and_out_of_range_shares(client, factory):
    from parking.windows.models import TemplateMode

    garage = factory.garage()
    ballot = factory.template(garage, mode=TemplateMode.BALLOT)
    first_come = factory.template(garage)
    headers = factory.headers(factory.manager(garage))
    url = f"/api/v1/garages/{garage.id}/templates/{{}}/monthly"
    refused = client.put(url.format(ballot.id), json={"fee": 300}, headers=headers)
    assert refused.status_code == 422 and refused.json["error"] == "monthly_not_for_ballot"
    for share in (0, 1.5, -0.1):
        bad = client.put(url.format(first_come.id), json={"fee": 300, "monthly_share": share}, headers=headers)
        assert bad.status_code == 422 and "monthly_share" in bad.json["errors"]
    assert client.put(url.format(first_come.id), json={"fee": -1}, headers=headers).status_code == 422


# -- subscribing -----------------------------------------------------------------------------------


def test_subscribing_books_every_night_of_the_month_in_one_go(client, factory, db):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    response = subscribe(client, factory, user, setup, plate)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["month"] == "2026-12" and body["nights_planned"] == 31 and body["nights_booked"] == 31
    assert len(body["nights"]) == 31 and {n["status"] for n in body["nights"]} == {"confirmed"}
    assert body["nights"][0]["service_date"] == "2026-12-01" and body["nights"][-1]["service_date"] == "2026-12-31"
    db.session.expire_all()
    windows = db.session.scalars(sa.select(Window).where(Window.template_id == setup.template.id)).all()
    december = [w for w in windows if w.service_date.month == 12]
    assert len(december) == 31 and all(w.booked == 1 for w in december)  # beyond the 14-day horizon too
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MonthlyStatement)) == 1
    notes = db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)).all()
    assert [n.kind for n in notes] == ["monthly_subscribed"]  # one notice, not 31


def test_the_monthly_share_caps_holders_but_not_single_night_bookings(client, factory, db):
    setup = offered(factory, quota=10, share="0.7")  # 7 monthly places a night
    holders = [factory.resident(setup.garage) for _ in range(8)]
    for user, plate in holders[:7]:
        assert subscribe(client, factory, user, setup, plate).status_code == 201
    user, plate = holders[7]
    refused = subscribe(client, factory, user, setup, plate)
    assert refused.status_code == 409 and refused.json["error"] == "month_refused"
    nights = refused.json["details"]["nights"]
    assert len(nights) == 31 and {n["reason"] for n in nights} == {"monthly_share_full"}
    partial = subscribe(client, factory, user, setup, plate, accept_partial=True)
    assert partial.status_code == 409 and partial.json["error"] == "no_night_left"
    # Single nights fill the other 3 spaces: the share limits monthly holders only.
    tonight = window_of(setup, date(2026, 12, 1))
    for _ in range(3):
        factory.booking(tonight)
    db.session.expire_all()
    assert db.session.get(Window, tonight.id).booked == 10
    assert _holding(db, tonight.id, monthly=True) == 7
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 7


def test_a_full_night_refuses_the_month_listing_it_unless_partial_is_accepted(client, factory, db):
    setup = offered(factory, quota=2)
    user, plate = factory.resident(setup.garage)
    full = factory.window(template=setup.template, day=date(2026, 12, 5), quota=2)
    factory.booking(full)
    factory.booking(full)
    refused = subscribe(client, factory, user, setup, plate)
    assert refused.status_code == 409
    assert refused.json["details"]["nights"] == [
        {"window_id": full.id, "service_date": "2026-12-05", "booking_id": None, "result": "refused",
         "reason": "window_full", "message": "已满"}
    ]  # fmt: skip
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 0
    assert all(w.booked == 0 for w in db.session.scalars(sa.select(Window)) if w.id != full.id)  # nothing kept

    partial = subscribe(client, factory, user, setup, plate, accept_partial=True)
    assert partial.status_code == 201, partial.json
    assert partial.json["nights_booked"] == 30 and len(partial.json["nights"]) == 30
    outcome = {n["service_date"]: n["result"] for n in partial.json["outcome"]}
    assert outcome["2026-12-05"] == "refused" and outcome["2026-12-06"] == "confirmed"


def test_one_pass_per_household_and_plate_a_month_and_checks_of_the_household(client, factory, db):
    setup = offered(factory)
    household = factory.household(setup.garage, members=2, plates=2)
    first, second = household.members
    plate_a, plate_b = (v.plate for v in household.vehicles)
    assert subscribe(client, factory, first, setup, plate_a).status_code == 201
    again = subscribe(client, factory, second, setup, plate_b)
    assert again.status_code == 409 and again.json["error"] == "already_subscribed"
    from parking.households.models import HouseholdState

    pending = factory.household(setup.garage, state=HouseholdState.PENDING)
    answer = subscribe(client, factory, pending.members[0], setup, pending.vehicles[0].plate)
    assert answer.status_code == 403 and answer.json["error"] == "household_not_verified"
    other_user, _ = factory.resident(setup.garage)
    answer = subscribe(client, factory, other_user, setup, plate_a)  # not their plate
    assert answer.status_code == 422 and answer.json["error"] == "plate_not_verified"
    bad = subscribe(client, factory, other_user, setup, "x", month="2026-13")
    assert bad.status_code == 422 and "month" in bad.json["errors"]


def test_sale_times_before_the_sale_start_and_months_ahead_are_refused(client, factory, db):
    setup = offered(factory)
    user, plate = factory.resident(setup.garage)
    setup.offer.sale_starts_on = date(2026, 12, 3)
    db.session.commit()
    early = subscribe(client, factory, user, setup, plate)
    assert early.status_code == 422 and early.json["error"] == "sale_not_open"
    setup.offer.sale_starts_on = date(2026, 12, 1)
    db.session.commit()
    ahead = subscribe(client, factory, user, setup, plate, month="2027-02")
    assert ahead.status_code == 422 and ahead.json["error"] == "sale_not_open"
    over = subscribe(client, factory, user, setup, plate, month="2026-11")
    assert over.status_code == 422 and over.json["error"] == "month_over"


# -- handing back and the tide ---------------------------------------------------------------------


def test_handing_back_a_night_frees_its_space_moves_the_waitlist_and_costs_no_strike(client, factory, db):
    setup = offered(factory, quota=1, share="1")
    user, plate = factory.resident(setup.garage)
    subscription_id = subscribe(client, factory, user, setup, plate).json["id"]
    tonight = window_of(setup, date(2026, 12, 1))
    waiting_user, waiting_plate = factory.resident(setup.garage)
    waiting = factory.booking(tonight, user=waiting_user, plate=waiting_plate, waitlist=True)
    assert waiting.status == BookingStatus.WAITLISTED

    url = f"/api/v1/subscriptions/{subscription_id}/hand-back"
    response = client.post(url, json={"service_date": "2026-12-01"}, headers=factory.headers(user))
    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"
    db.session.expire_all()
    assert db.session.get(Booking, waiting.id).status == BookingStatus.CONFIRMED
    assert db.session.get(Window, tonight.id).booked == 1
    again = client.post(url, json={"service_date": "2026-12-01"}, headers=factory.headers(user))
    assert again.status_code == 422 and again.json["error"] == "not_handed_back"
    stranger, _ = factory.resident(setup.garage)
    other = client.post(url, json={"service_date": "2026-12-02"}, headers=factory.headers(stranger))
    assert other.status_code == 404
    missing = client.post(url, json={"service_date": "2027-01-02"}, headers=factory.headers(user))
    assert missing.status_code == 404 and missing.json["error"] == "no_such_night"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Strike)) == 0
    audit = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "booking", AuditEvent.action == "booking.handed_back"
        )
    ).all()
    assert audit == ["booking.handed_back"]


def test_an_unused_monthly_night_returns_its_space_at_the_no_show_time_without_a_strike(client, factory, db):
    setup = offered(factory, quota=5)
    user, plate = factory.resident(setup.garage)
    subscription_id = subscribe(client, factory, user, setup, plate).json["id"]
    tonight = window_of(setup, date(2026, 12, 1))
    single_user, single_plate = factory.resident(setup.garage)
    single = factory.booking(tonight, user=single_user, plate=single_plate)

    summary = run_tide(clock.as_utc(sh(12, 1, 22, 1)))  # no-show 3 h after 19:00
    db.session.commit()
    assert summary["no_shows"] == 2 and summary["strikes"] == 1
    db.session.expire_all()
    nights = _nights(db, subscription_id)
    assert nights[0].status == BookingStatus.NO_SHOW and nights[1].status == BookingStatus.CONFIRMED
    assert db.session.get(Booking, single.id).status == BookingStatus.NO_SHOW
    strikes = db.session.scalars(sa.select(Strike)).all()
    assert [s.booking_id for s in strikes] == [single.id]
    kinds = db.session.scalars(sa.select(Notification.kind).where(Notification.user_id == user.id)).all()
    assert "no_show" not in kinds
    assert db.session.get(Window, tonight.id).booked == 0
    reasons = db.session.scalars(
        sa.select(AuditEvent.reason).where(AuditEvent.object_id == nights[0].id, AuditEvent.action == "booking.no_show")
    ).all()
    assert reasons == ["monthly night not used"]


# -- statements ------------------------------------------------------------------------------------


def _statements(client, factory, setup, **query):
    response = client.get(
        f"/api/v1/garages/{setup.garage.id}/statements", query_string=query, headers=factory.headers(setup.manager)
    )
    assert response.status_code == 200, response.json
    return response


def test_a_statement_credits_bumped_nights_pro_rata_and_is_marked_paid_with_a_receipt(client, factory, db):
    setup = offered(factory, quota=1, share="1", fee="310.00")
    user, plate = factory.resident(setup.garage)
    subscribe(client, factory, user, setup, plate)
    night = window_of(setup, date(2026, 12, 10))
    apply_targets({night.id: Target(0, False, "station needs it")}, "bump", setup.manager, clock.now(), reason=None)
    db.session.commit()

    [statement] = _statements(client, factory, setup).json
    assert statement["fee"] == "310.00" and statement["bumped_nights"] == 1
    assert statement["credits"] == "10.00" and statement["total"] == "300.00" and statement["paid"] is False
    own = client.get("/api/v1/statements", headers=factory.headers(user)).json
    assert [s["total"] for s in own] == ["300.00"]

    url = f"/api/v1/garages/{setup.garage.id}/statements/{statement['id']}/paid"
    assert client.post(url, json={"receipt_number": "R1"}, headers=factory.headers(user)).status_code == 403
    paid = client.post(url, json={"receipt_number": "R-2026-001"}, headers=factory.headers(setup.manager))
    assert paid.status_code == 200, paid.json
    assert paid.json["paid"] is True and paid.json["paid_total"] == "300.00"
    twice = client.post(url, json={"receipt_number": "R-2026-002"}, headers=factory.headers(setup.manager))
    assert twice.status_code == 409 and twice.json["error"] == "already_paid"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "monthly_statement.paid"))
    assert event.actor_id == setup.manager.id and event.after["receipt_number"] == "R-2026-001"

    csv_text = _statements(client, factory, setup, format="csv").data.decode("utf-8-sig")
    header, row = csv_text.strip().splitlines()
    assert header.startswith("statement_id,month,building")
    assert f",{plate}," in row and ",310.00,10.00,300.00,1,yes,R-2026-001," in row


def test_a_receipt_number_is_used_once_per_garage(client, factory, db):
    setup = offered(factory)
    ids = []
    for _ in range(2):
        user, plate = factory.resident(setup.garage)
        subscribe(client, factory, user, setup, plate)
    ids = [s["id"] for s in _statements(client, factory, setup).json]
    url = f"/api/v1/garages/{setup.garage.id}/statements/{{}}/paid"
    headers = factory.headers(setup.manager)
    assert client.post(url.format(ids[0]), json={"receipt_number": "A1"}, headers=headers).status_code == 200
    reused = client.post(url.format(ids[1]), json={"receipt_number": "A1"}, headers=headers)
    assert reused.status_code == 409 and reused.json["error"] == "receipt_used"
    assert [s["paid"] for s in _statements(client, factory, setup).json] == [True, False]


# -- renewal ---------------------------------------------------------------------------------------


def test_holders_renew_first_in_the_last_7_days_and_an_unpaid_statement_blocks_it(client, factory, db):
    setup = offered(factory)
    holder, holder_plate = factory.resident(setup.garage)
    newcomer, newcomer_plate = factory.resident(setup.garage)
    subscription_id = subscribe(client, factory, holder, setup, holder_plate).json["id"]
    renew = f"/api/v1/subscriptions/{subscription_id}/renew"

    clock.set_now(sh(12, 24, 23, 0))  # before the last 7 days
    early = client.post(renew, json={}, headers=factory.headers(holder))
    assert early.status_code == 422 and early.json["error"] == "sale_not_open"

    clock.set_now(sh(12, 25, 9, 0))
    outsider = subscribe(client, factory, newcomer, setup, newcomer_plate, month="2027-01")
    assert outsider.status_code == 409 and outsider.json["error"] == "renewal_only"
    assert outsider.json["details"]["opens_at"] == "2026-12-31T16:00:00+00:00"
    unpaid = client.post(renew, json={}, headers=factory.headers(holder))
    assert unpaid.status_code == 409 and unpaid.json["error"] == "unpaid_statement"
    assert unpaid.json["details"]["months"] == ["2026-12"]

    [statement] = _statements(client, factory, setup, month="2026-12").json
    url = f"/api/v1/garages/{setup.garage.id}/statements/{statement['id']}/paid"
    client.post(url, json={"receipt_number": "D-1"}, headers=factory.headers(setup.manager))
    renewed = client.post(renew, json={}, headers=factory.headers(holder))
    assert renewed.status_code == 201, renewed.json
    assert renewed.json["month"] == "2027-01" and renewed.json["renewal_of_id"] == subscription_id
    assert renewed.json["nights_booked"] == 31

    clock.set_now(sh(1, 1, 8, 0, year=2027))  # the month begins: everyone may subscribe
    assert subscribe(client, factory, newcomer, setup, newcomer_plate, month="2027-01").status_code == 201
