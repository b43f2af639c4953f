from __future__ import annotations

from datetime import timedelta

from parking import clock
from parking.bookings.models import Booking, BookingStatus
from parking.households.models import HouseholdState, VehicleState
from parking.notifications.models import Notification
from parking.windows.models import Window


def book(client, factory, user, window, plate, waitlist=False):
    return client.post(
        "/api/v1/bookings",
        json={"window_id": window.id, "plate": plate, "waitlist": waitlist},
        headers=factory.headers(user),
    )


def test_resident_books_a_space_and_the_counter_moves(client, factory, db):
    window = factory.window(quota=2)
    user, plate = factory.resident(window.garage)
    response = book(client, factory, user, window, plate)
    assert response.status_code == 201, response.json
    assert response.json["status"] == "confirmed"
    assert response.json["plate"] == plate
    assert db.session.get(Window, window.id).booked == 1
    kinds = [n.kind for n in db.session.scalars(db.select(Notification).where(Notification.user_id == user.id))]
    assert kinds == ["booking_confirmed"]


def test_full_window_answers_window_full_or_waitlists_when_asked(client, factory, db):
    window = factory.window(quota=1)
    factory.booking(window)
    user, plate = factory.resident(window.garage)
    full = book(client, factory, user, window, plate)
    assert full.status_code == 409
    assert full.json["error"] == "window_full"
    assert full.json["details"] == {"quota": 1, "booked": 1}
    waiting = book(client, factory, user, window, plate, waitlist=True)
    assert waiting.status_code == 201
    assert waiting.json["status"] == "waitlisted"
    assert db.session.get(Window, window.id).booked == 1


def test_household_cannot_book_the_same_window_twice(client, factory, db):
    window = factory.window(quota=5)
    household = factory.household(window.garage, plates=2)
    user = household.members[0]
    first, second = (v.plate for v in household.vehicles)
    assert book(client, factory, user, window, first).status_code == 201
    again = book(client, factory, user, window, second)
    assert again.status_code == 409
    assert again.json["error"] == "duplicate_booking"
    # The refused request had taken the counter with its lock; the rollback gave the space back.
    assert db.session.get(Window, window.id).booked == 1


def test_garage_rule_allows_two_bookings_per_household(client, factory, db):
    garage = factory.garage(bookings_per_household=2)
    window = factory.window(garage, quota=5)
    household = factory.household(garage, plates=3)
    user = household.members[0]
    plates = [v.plate for v in household.vehicles]
    assert book(client, factory, user, window, plates[0]).status_code == 201
    assert book(client, factory, user, window, plates[1]).status_code == 201
    third = book(client, factory, user, window, plates[2])
    assert third.json["error"] == "duplicate_booking"
    slots = sorted(b.slot for b in db.session.scalars(db.select(Booking)))
    assert slots == [1, 2]


def test_unverified_household_suspended_household_and_unverified_plate_are_refused(client, factory, db):
    window = factory.window()
    pending = factory.household(window.garage, state=HouseholdState.PENDING)
    response = book(client, factory, pending.members[0], window, pending.vehicles[0].plate)
    assert (response.status_code, response.json["error"]) == (403, "household_not_verified")

    suspended = factory.household(window.garage)
    suspended.suspended_until = clock.now() + timedelta(days=3)
    db.session.commit()
    response = book(client, factory, suspended.members[0], window, suspended.vehicles[0].plate)
    assert (response.status_code, response.json["error"]) == (403, "suspended")

    household = factory.household(window.garage)
    household.vehicles[0].state = VehicleState.PENDING
    db.session.commit()
    response = book(client, factory, household.members[0], window, household.vehicles[0].plate)
    assert (response.status_code, response.json["error"]) == (422, "plate_not_verified")
    response = book(client, factory, household.members[0], window, "not a plate")
    assert (response.status_code, response.json["error"]) == (422, "invalid_plate")


def test_the_nights_refusals_come_before_the_cars_though_one_statement_reads_both(client, factory, db):
    """The night and the car are read together (`admission.night_and_car`), and refused in the
    order the API promises: the night's refusals first, then the car's. A plate of another
    household is not this household's car."""
    window = factory.window(quota=1)
    household = factory.household(window.garage)
    user, car = household.members[0], household.vehicles[0]
    car.state = VehicleState.PENDING
    other_garage_window = factory.window(factory.garage(), quota=5)
    _, neighbours_plate = factory.resident(window.garage)
    db.session.commit()
    unknown = client.post(
        "/api/v1/bookings", json={"window_id": 999_999, "plate": car.plate}, headers=factory.headers(user)
    )
    assert (unknown.status_code, unknown.json["error"]) == (404, "not_found")
    elsewhere = book(client, factory, user, other_garage_window, car.plate)
    assert (elsewhere.status_code, elsewhere.json["error"]) == (403, "wrong_garage")
    factory.booking(window)  # the night is full
    full = book(client, factory, user, window, car.plate)
    assert (full.status_code, full.json["error"]) == (409, "window_full")
    window.quota = 2
    db.session.commit()
    assert book(client, factory, user, window, car.plate).json["error"] == "plate_not_verified"
    assert book(client, factory, user, window, neighbours_plate).json["error"] == "plate_not_verified"
    car.state = VehicleState.VERIFIED
    db.session.commit()
    booked = book(client, factory, user, window, car.plate)
    assert (booked.status_code, booked.json["status"], booked.json["vehicle_id"]) == (201, "confirmed", car.id)


def test_booking_closes_two_hours_after_the_window_opens(client, factory):
    window = factory.window()
    user, plate = factory.resident(window.garage)
    clock.set_now(window.opens_at + timedelta(hours=2))
    response = book(client, factory, user, window, plate)
    assert (response.status_code, response.json["error"]) == (422, "booking_closed")
    clock.set_now(window.opens_at + timedelta(hours=2) - timedelta(seconds=1))
    assert book(client, factory, user, window, plate).status_code == 201


def test_booking_beyond_the_horizon_is_refused(client, factory, db):
    garage = factory.garage(horizon_days=14)
    window = factory.window(garage, day=clock.local_date(clock.now(), garage.timezone) + timedelta(days=14))
    user, plate = factory.resident(garage)
    garage.horizon_days = 7
    db.session.commit()
    response = book(client, factory, user, window, plate)
    assert (response.status_code, response.json["error"]) == (422, "beyond_horizon")


def test_cancel_promotes_the_earliest_waitlisted_household_and_notifies_it(client, factory, db):
    window = factory.window(quota=1)
    holder = factory.booking(window)
    first_user, first_plate = factory.resident(window.garage)
    second_user, second_plate = factory.resident(window.garage)
    book(client, factory, first_user, window, first_plate, waitlist=True)
    clock.advance(timedelta(minutes=1))
    book(client, factory, second_user, window, second_plate, waitlist=True)

    holder_user = holder.household.members[0]
    response = client.post(f"/api/v1/bookings/{holder.id}/cancel", json={}, headers=factory.headers(holder_user))
    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"
    assert response.json["late_cancel"] is False

    statuses = {b.plate: b.status for b in db.session.scalars(db.select(Booking))}
    assert statuses[first_plate] == BookingStatus.CONFIRMED
    assert statuses[second_plate] == BookingStatus.WAITLISTED
    assert db.session.get(Window, window.id).booked == 1
    promoted = db.session.scalars(db.select(Notification.kind).where(Notification.user_id == first_user.id)).all()
    assert "booking_promoted" in promoted


def test_cancel_after_opening_is_recorded_as_late(client, factory):
    window = factory.window()
    booking = factory.booking(window)
    clock.set_now(window.opens_at + timedelta(minutes=5))
    response = client.post(
        f"/api/v1/bookings/{booking.id}/cancel", json={}, headers=factory.headers(booking.household.members[0])
    )
    assert response.json["late_cancel"] is True


def test_booking_detail_shows_status_history_and_is_private(client, factory):
    window = factory.window(quota=1)
    booking = factory.booking(window)
    owner = booking.household.members[0]
    client.post(
        f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "plans changed"}, headers=factory.headers(owner)
    )
    detail = client.get(f"/api/v1/bookings/{booking.id}", headers=factory.headers(owner))
    assert [h["status"] for h in detail.json["history"]] == ["confirmed", "cancelled"]
    assert detail.json["history"][1]["reason"] == "plans changed"
    stranger, _ = factory.resident(window.garage)
    assert client.get(f"/api/v1/bookings/{booking.id}", headers=factory.headers(stranger)).status_code == 404
    manager = factory.manager(window.garage)
    assert client.get(f"/api/v1/bookings/{booking.id}", headers=factory.headers(manager)).status_code == 200


def test_a_booking_is_written_with_its_audit_event_and_a_notice_to_each_member(client, factory, db):
    """The booking, its event and its notices are written together (one statement on PostgreSQL):
    each member of the household is told once, the event holds the audited values, and the answer
    is the row as stored."""
    from parking.audit.models import AuditEvent

    window = factory.window(quota=1)
    user, plate = factory.resident(window.garage, members=3)
    confirmed = book(client, factory, user, window, plate)
    assert confirmed.status_code == 201, confirmed.json
    other, other_plate = factory.resident(window.garage, members=2)
    waiting = book(client, factory, other, window, other_plate, waitlist=True)
    assert waiting.status_code == 201 and waiting.json["status"] == "waitlisted", waiting.json
    db.session.expire_all()
    for answer, kind, action, status, slot in (
        (confirmed, "booking_confirmed", "booking.confirmed", "confirmed", 1),
        (waiting, "booking_waitlisted", "booking.waitlisted", "waitlisted", None),
    ):
        row = db.session.get(Booking, answer.json["id"])
        assert (row.status.value, row.slot, row.plate, row.inside, row.late_cancel) == (
            status,
            slot,
            answer.json["plate"],
            False,
            False,
        )
        assert row.created_by_id in {user.id, other.id} and row.created_at is not None
        notices = db.session.scalars(db.select(Notification).where(Notification.booking_id == row.id)).all()
        members = sorted(m.id for m in row.household.members)
        assert sorted(n.user_id for n in notices) == members
        assert {(n.kind, n.params["plate"], n.params["date"]) for n in notices} == {
            (kind, row.plate, window.service_date.isoformat())
        }
        (event,) = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.object_type == "booking", AuditEvent.object_id == row.id)
        ).all()
        assert (event.action, event.actor_id, event.garage_id) == (action, row.created_by_id, window.garage_id)
        assert event.after == {"status": status, "slot": slot, "priority": False, "late_cancel": False}
