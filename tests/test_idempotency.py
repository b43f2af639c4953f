"""The Idempotency-Key header on the API operations that book (POST /bookings, its batch form,
ballot entries, POST /subscriptions): the same key from the same user within 24 h returns the first
answer, status and body, also to a retry racing the first; another body is 409
`idempotency_key_reused`; a try that failed stores nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from parking import clock
from parking.auth.models import User
from parking.bookings import services as booking_services
from parking.bookings.models import Booking
from parking.errors import DomainError
from parking.households.models import HouseholdState
from parking.idempotency.models import IdempotencyKey
from parking.idempotency.services import fingerprint, forget_expired, run_once
from parking.monthly.models import Subscription
from parking.windows.services import today
from tests.ballot_helpers import ballot_night
from tests.concurrency_helpers import race
from tests.monthly_helpers import DECEMBER, offered

BOOKINGS = "/api/v1/bookings"


def _count(db, model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _post(client, path, body, headers, key=None):
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    return client.post(path, json=body, headers=headers)


def test_three_identical_requests_get_the_first_answer_and_book_once(client, factory, db):
    window = factory.window(quota=5)
    user, plate = factory.resident(window.garage)
    headers = factory.headers(user)
    body = {"window_id": window.id, "plate": plate}

    first, second, third = (_post(client, BOOKINGS, body, headers, key="order-7f3a") for _ in range(3))

    assert [r.status_code for r in (first, second, third)] == [201, 201, 201]
    assert first.json["status"] == "confirmed"
    assert second.json == first.json and third.json == first.json
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert _count(db, Booking, Booking.window_id == window.id) == 1
    assert _count(db, IdempotencyKey) == 1


def test_the_same_key_with_another_body_or_operation_is_409_idempotency_key_reused(client, factory, db):
    window = factory.window(quota=5)
    other = factory.window(template=factory.template(window.garage), quota=5)
    user, plate = factory.resident(window.garage)
    headers = factory.headers(user)
    assert _post(client, BOOKINGS, {"window_id": window.id, "plate": plate}, headers, key="k1").status_code == 201

    for path, body in (
        (BOOKINGS, {"window_id": other.id, "plate": plate}),
        (BOOKINGS, {"window_id": window.id, "plate": plate, "waitlist": True}),
        (f"{BOOKINGS}/batch", {"window_ids": [window.id], "plate": plate}),
    ):
        reused = _post(client, path, body, headers, key="k1")
        assert reused.status_code == 409, reused.json
        assert reused.json["error"] == "idempotency_key_reused"
        assert set(reused.json) >= {"code", "status", "message", "error"}
    assert _count(db, Booking) == 1


def test_the_same_body_sent_with_its_keys_in_another_order_is_the_same_request(client, factory, db):
    window = factory.window(quota=5)
    user, plate = factory.resident(window.garage)
    headers = {**factory.headers(user), "Idempotency-Key": "reordered", "Content-Type": "application/json"}
    first = client.post(BOOKINGS, data=f'{{"window_id": {window.id}, "plate": "{plate}"}}', headers=headers)
    again = client.post(BOOKINGS, data=f'{{"plate":"{plate}","window_id":{window.id}}}', headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json


def test_a_key_belongs_to_its_user(client, factory, db):
    window = factory.window(quota=5)
    (alice, alice_plate), (bob, bob_plate) = factory.resident(window.garage), factory.resident(window.garage)
    a = _post(client, BOOKINGS, {"window_id": window.id, "plate": alice_plate}, factory.headers(alice), key="same")
    b = _post(client, BOOKINGS, {"window_id": window.id, "plate": bob_plate}, factory.headers(bob), key="same")
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json["id"] != b.json["id"]
    assert "Idempotent-Replayed" not in b.headers


def test_two_retries_racing_with_one_key_book_once_and_both_get_the_first_answer(app, factory, db):
    window = factory.window(quota=5)
    user, plate = factory.resident(window.garage)
    headers = {**factory.headers(user), "Idempotency-Key": "double-tap"}
    body = {"window_id": window.id, "plate": plate}
    db.session.commit()

    responses = race(app, [lambda c: c.post(BOOKINGS, json=body, headers=headers)] * 2)

    assert [r.status_code for r in responses] == [201, 201], [r.json for r in responses]
    assert responses[0].json == responses[1].json
    assert sorted(r.headers.get("Idempotent-Replayed", "no") for r in responses) == ["no", "true"]
    assert _count(db, Booking, Booking.window_id == window.id) == 1
    assert db.session.get(type(window), window.id).booked == 1


def test_two_requests_racing_with_one_key_and_different_bodies_book_once(app, factory, db):
    window = factory.window(quota=5)
    user = factory.household(window.garage, plates=2).members[0]
    plates = [v.plate for v in user.household.vehicles]
    headers = {**factory.headers(user), "Idempotency-Key": "racing-bodies"}
    db.session.commit()

    responses = race(
        app,
        [lambda c, p=p: c.post(BOOKINGS, json={"window_id": window.id, "plate": p}, headers=headers) for p in plates],
    )

    outcomes = Counter((r.status_code, r.json.get("error") or r.json["status"]) for r in responses)
    assert outcomes == {(201, "confirmed"): 1, (409, "idempotency_key_reused"): 1}
    assert _count(db, Booking, Booking.window_id == window.id) == 1


def test_a_refusal_is_an_answer_and_is_replayed_while_a_new_key_is_judged_afresh(client, factory, db):
    window = factory.window(quota=5)
    household = factory.household(window.garage, state=HouseholdState.PENDING)
    user, plate = household.members[0], household.vehicles[0].plate
    headers = factory.headers(user)
    body = {"window_id": window.id, "plate": plate}

    refused = _post(client, BOOKINGS, body, headers, key="early")
    assert (refused.status_code, refused.json["error"]) == (403, "household_not_verified")
    stored = db.session.scalar(sa.select(IdempotencyKey))
    assert stored.status_code == 403

    household.state = HouseholdState.VERIFIED
    db.session.commit()
    replayed = _post(client, BOOKINGS, body, headers, key="early")
    assert replayed.status_code == 403 and replayed.json == refused.json
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert _post(client, BOOKINGS, body, headers, key="later").status_code == 201
    assert _count(db, Booking) == 1


def test_a_refused_request_stores_its_refusal_without_any_of_its_changes(client, factory, db):
    window = factory.window(quota=1)
    factory.booking(window)
    user, plate = factory.resident(window.garage)
    full = _post(client, BOOKINGS, {"window_id": window.id, "plate": plate}, factory.headers(user), key="full")
    assert (full.status_code, full.json["error"]) == (409, "window_full")
    assert _count(db, Booking, Booking.household_id == user.household_id) == 0
    assert db.session.scalar(sa.select(IdempotencyKey.status_code)) == 409


def test_a_first_try_that_fails_stores_nothing_and_its_retry_books(client, factory, db, monkeypatch):
    window = factory.window(quota=5)
    user, plate = factory.resident(window.garage)
    headers = factory.headers(user)
    body = {"window_id": window.id, "plate": plate}
    real = booking_services.request_booking
    calls = []

    def fails_once(*args, **kwargs):
        calls.append(1)
        booking = real(*args, **kwargs)  # the booking is made, then the connection is lost
        if len(calls) == 1:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
        return booking

    monkeypatch.setattr(booking_services, "request_booking", fails_once)

    failed = _post(client, BOOKINGS, body, headers, key="retry-me")
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == str(client.application.config["UNAVAILABLE_RETRY_AFTER_SECONDS"])
    assert failed.json["error"] == "service_unavailable"
    assert _count(db, IdempotencyKey) == 0
    assert _count(db, Booking) == 0

    retried = _post(client, BOOKINGS, body, headers, key="retry-me")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert _count(db, Booking) == 1


def test_after_24_hours_the_same_key_starts_a_new_request(client, factory, db):
    window = factory.window(quota=5)
    user, plate = factory.resident(window.garage)
    headers = factory.headers(user)
    assert _post(client, BOOKINGS, {"window_id": window.id, "plate": plate}, headers, key="daily").status_code == 201

    clock.set_now(clock.now() + timedelta(hours=23, minutes=59))
    tomorrow = factory.window(template=window.template, quota=5, day=today(window.garage, clock.now()))
    early = _post(client, BOOKINGS, {"window_id": tomorrow.id, "plate": plate}, headers, key="daily")
    assert (early.status_code, early.json["error"]) == (409, "idempotency_key_reused")

    clock.set_now(clock.now() + timedelta(minutes=2))
    fresh = _post(client, BOOKINGS, {"window_id": tomorrow.id, "plate": plate}, headers, key="daily")
    assert fresh.status_code == 201, fresh.json
    assert fresh.json["window_id"] == tomorrow.id
    assert _count(db, IdempotencyKey) == 1
    assert _post(client, BOOKINGS, {"window_id": tomorrow.id, "plate": plate}, headers, key="daily").json == fresh.json


@pytest.mark.parametrize("key", ["", "x" * 256, "键", "tab\there", "del\x7f"])
def test_a_malformed_key_is_400_in_the_error_shape_and_books_nothing(client, factory, db, key):
    window = factory.window(quota=5)
    user, plate = factory.resident(window.garage)
    headers = {**factory.headers(user), "Idempotency-Key": key.encode().decode("latin-1")}
    response = client.post(BOOKINGS, json={"window_id": window.id, "plate": plate}, headers=headers)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_idempotency_key"
    assert _count(db, Booking) == 0


def test_without_the_header_nothing_changes(client, factory, db):
    window = factory.window(quota=5)
    user, plate = factory.resident(window.garage)
    headers = factory.headers(user)
    body = {"window_id": window.id, "plate": plate}
    assert _post(client, BOOKINGS, body, headers).status_code == 201
    again = _post(client, BOOKINGS, body, headers)
    assert (again.status_code, again.json["error"]) == (409, "duplicate_booking")
    assert _count(db, IdempotencyKey) == 0


def test_the_batch_form_replays_its_answer(client, factory, db):
    template = factory.template(default_quota=5)
    nights = [
        factory.window(template=template, quota=5, day=today(template.garage, clock.now()) + timedelta(days=d))
        for d in range(3)
    ]
    user, plate = factory.resident(template.garage)
    body = {"window_ids": [w.id for w in nights], "plate": plate}
    first = _post(client, f"{BOOKINGS}/batch", body, factory.headers(user), key="batch-1")
    again = _post(client, f"{BOOKINGS}/batch", body, factory.headers(user), key="batch-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json["confirmed"] == 3
    assert again.json == first.json
    assert _count(db, Booking) == 3


def test_a_ballot_entry_replays_its_answer(client, factory, db):
    window = ballot_night(factory)
    user, plate = factory.resident(window.garage)
    body = {"window_id": window.id, "plate": plate}
    first = _post(client, BOOKINGS, body, factory.headers(user), key="ballot-1")
    again = _post(client, BOOKINGS, body, factory.headers(user), key="ballot-1")
    assert (first.status_code, first.json["status"]) == (201, "requested")
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert _count(db, Booking, Booking.window_id == window.id) == 1


def test_a_subscription_replays_its_answer_and_racing_retries_subscribe_once(app, client, factory, db):
    setup = offered(factory, quota=10)
    user, plate = factory.resident(setup.garage)
    headers = {**factory.headers(user), "Idempotency-Key": "month-12"}
    body = {"template_id": setup.template.id, "month": DECEMBER, "plate": plate}
    db.session.commit()

    responses = race(app, [lambda c: c.post("/api/v1/subscriptions", json=body, headers=headers)] * 2)

    assert [r.status_code for r in responses] == [201, 201], [r.json for r in responses]
    assert responses[0].json == responses[1].json
    assert _count(db, Subscription) == 1
    later = client.post("/api/v1/subscriptions", json=body, headers=headers)
    assert later.json == responses[0].json
    reused = client.post("/api/v1/subscriptions", json={**body, "accept_partial": True}, headers=headers)
    assert reused.json["error"] == "idempotency_key_reused"


def test_the_openapi_documents_the_header_and_the_reused_key_on_each_booking_operation(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/bookings", "/api/v1/bookings/batch", "/api/v1/subscriptions"):
        operation = spec["paths"][path]["post"]
        header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        assert header["in"] == "header" and header["required"] is False
        assert header["schema"]["maxLength"] == 255
        assert "24 h" in header["description"] and "idempotency_key_reused" in header["description"]
        assert "idempotency_key_reused" in operation["responses"]["409"]["description"]
        assert "requestBody" in operation and "201" in operation["responses"]
    assert "parameters" not in spec["paths"]["/api/v1/bookings"]["get"] or all(
        p["name"] != "Idempotency-Key" for p in spec["paths"]["/api/v1/bookings"]["get"]["parameters"]
    )


def test_expired_keys_are_forgotten_the_users_own_with_their_next_key_and_the_rest_for_the_tide(client, factory, db):
    window = factory.window(quota=5)
    (alice, alice_plate), (bob, bob_plate) = factory.resident(window.garage), factory.resident(window.garage)
    body = {"window_id": window.id, "plate": alice_plate}
    assert _post(client, BOOKINGS, body, factory.headers(alice), key="old-a").status_code == 201
    assert _post(client, BOOKINGS, {**body, "plate": bob_plate}, factory.headers(bob), key="old-b").status_code == 201

    clock.set_now(clock.now() + timedelta(hours=25))
    tomorrow = factory.window(template=window.template, quota=5, day=today(window.garage, clock.now()))
    fresh = _post(
        client, BOOKINGS, {"window_id": tomorrow.id, "plate": alice_plate}, factory.headers(alice), key="new-a"
    )
    assert fresh.status_code == 201
    db.session.expire_all()
    assert set(db.session.scalars(sa.select(IdempotencyKey.key))) == {"new-a", "old-b"}

    assert forget_expired(clock.now()) == 1
    db.session.commit()
    assert set(db.session.scalars(sa.select(IdempotencyKey.key))) == {"new-a"}


def test_a_constraint_that_fires_inside_the_work_is_stored_as_its_conflict_and_undone(app, factory, db):
    user, other = factory.user(), factory.user()

    def work():
        db.session.add(User(phone=other.phone, name="Copy", role=other.role, password_hash="x", created_at=clock.now()))
        db.session.flush()  # uq_users_phone fires inside the savepoint
        return 201, "{}"

    with app.test_request_context("/api/v1/bookings", method="POST"), pytest.raises(DomainError) as raised:
        run_once(user.id, "constraint", "print", clock.now(), work)

    assert (raised.value.code, raised.value.reason) == (409, "conflict")
    stored = db.session.scalar(sa.select(IdempotencyKey))
    assert stored.status_code == 409 and json.loads(stored.response_body)["error"] == "conflict"
    assert _count(db, User) == 2


def _wait_until_blocked(app, db, thread) -> None:
    """The request in `thread` is waiting for the holder's transaction: on PostgreSQL a backend of
    this database waits on a lock (observed, not slept on); on SQLite it waits at BEGIN IMMEDIATE."""
    if app.config["BACKEND"] != "postgresql":
        thread.join(0.3)
        assert thread.is_alive()
        return
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with db.engine.connect() as conn:
        for _ in range(500):
            if conn.execute(waiting).scalar():
                return
            conn.rollback()
            thread.join(0.01)
    pytest.fail("the second request never waited for the first")


@pytest.mark.parametrize("first_commits", [True, False], ids=["first-commits", "first-rolls-back"])
def test_a_retry_arriving_while_the_first_runs_waits_for_it(app, factory, db, first_commits):
    window = factory.window(quota=5)
    user, plate = factory.resident(window.garage)
    headers = {**factory.headers(user), "Idempotency-Key": "in-flight"}
    body = {"window_id": window.id, "plate": plate}
    print_ = fingerprint("POST", BOOKINGS, body)
    db.session.commit()
    answers = []
    retry = threading.Thread(
        target=lambda: answers.append(app.test_client().post(BOOKINGS, json=body, headers=headers))
    )

    with db.engine.connect() as first:  # the first request, holding its key's row uncommitted
        first.execute(
            sa.insert(IdempotencyKey).values(
                user_id=user.id,
                key="in-flight",
                fingerprint=print_,
                status_code=201,
                response_body='{"from": "the first request"}',
                created_at=clock.now(),
            )
        )
        retry.start()
        _wait_until_blocked(app, db, retry)
        first.commit() if first_commits else first.rollback()
    retry.join(30)

    (answer,) = answers
    assert answer.status_code == 201
    if first_commits:
        assert answer.json == {"from": "the first request"} and answer.headers["Idempotent-Replayed"] == "true"
        assert _count(db, Booking) == 0
    else:  # nothing was stored: the retry ran as a fresh request
        assert answer.json["status"] == "confirmed" and "Idempotent-Replayed" not in answer.headers
        assert _count(db, Booking) == 1
