"""Notifications reach people: the webhook to a garage's gateway, against a real HTTP server on
127.0.0.1 that fails the first attempts, checks the signature and counts deliveries; two scheduler
processes; quiet hours; the daily SMS allowance; dead letters and "send again"."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from parking import clock
from parking.extensions import db
from parking.notifications import webhooks
from parking.notifications.delivery import (
    MAX_ATTEMPTS,
    Answer,
    backlog,
    claim,
    deliver_due,
    due_ids,
    enqueue,
    fresh_delivery,
    post,
    prepare,
    record_answer,
    untold_promotions,
)
from parking.notifications.models import Delivery, DeliveryAttempt, DeliveryState, Notification
from parking.notifications.services import notify
from tests.conftest import FIGURES
from tests.delivery_helpers import Gateway, race_delivery_processes

SH = ZoneInfo("Asia/Shanghai")


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SH)


def hooked(factory, gateway: Gateway):
    """A garage whose webhook points at `gateway` (set an hour before T0), and a resident of it."""
    garage = factory.garage()
    admin = factory.admin()
    answer = webhooks.set_webhook(garage.id, gateway.url, admin, clock.now() - timedelta(hours=1))
    db.session.commit()
    gateway.secret = answer.secret.encode()
    user, plate = factory.resident(garage)
    return garage, user, plate


def run(now: datetime) -> Counter:
    clock.set_now(now)
    return deliver_due(now, db.session.commit)


def states() -> Counter:
    db.session.expire_all()
    return Counter(d.state.value for d in db.session.scalars(db.select(Delivery)))


def test_failing_gateway_gets_the_message_after_back_off_signed_with_the_same_delivery_id(app, factory):
    with Gateway(fail_first=2) as gateway:
        garage, user, plate = hooked(factory, gateway)
        booking = factory.booking(factory.window(garage), user=user, plate=plate)
        start = clock.now()
        assert run(start)["failed"] == 1
        assert run(start + timedelta(seconds=59))["attempts"] == 0  # back-off: 1 minute
        assert run(start + timedelta(minutes=1))["failed"] == 1
        assert run(start + timedelta(minutes=2))["attempts"] == 0  # then 2 minutes
        assert run(start + timedelta(minutes=3))["sent"] == 1
        assert run(start + timedelta(minutes=30))["attempts"] == 0
    note = db.session.scalar(db.select(Notification).where(Notification.booking_id == booking.id))
    assert [p["id"] for p in gateway.posts] == [str(note.id)] * 3
    assert all(p["signed"] for p in gateway.posts)
    body = gateway.posts[-1]["body"]
    assert set(body) == {"id", "kind", "user_id", "phone", "garage_id", "text", "sms", "created_at"}
    assert (body["id"], body["kind"], body["user_id"], body["phone"], body["garage_id"]) == (
        note.id,
        "booking_confirmed",
        user.id,
        user.phone,
        garage.id,
    )
    assert "12月1日 星期二" in body["text"] and "2026-12-01" not in body["text"]
    assert body["sms"].startswith("【") and "12月1日 星期二" in body["sms"] and len(body["sms"]) <= 70
    delivery = db.session.scalar(db.select(Delivery))
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 3)
    assert db.session.scalar(db.select(db.func.count()).select_from(DeliveryAttempt)) == 3
    assert db.session.get(Notification, note.id).delivered_at is not None


def test_permanent_refusal_is_dead_at_once_and_429_is_retried_until_the_last_attempt(app, factory):
    with Gateway(fail_first=1, fail_status=400) as gateway:
        _garage, user, _plate = hooked(factory, gateway)
        notify([user.id], "household_verified", {})
        db.session.commit()
        assert run(clock.now())["dead"] == 1
    with Gateway(fail_first=99, fail_status=429) as gateway:
        _garage, user, _plate = hooked(factory, gateway)
        notify([user.id], "household_verified", {})
        db.session.commit()
        at = clock.now()
        for _ in range(40):  # an hour and more, a pass every 2 minutes
            run(at)
            at += timedelta(minutes=2)
        assert len(gateway.posts) == MAX_ATTEMPTS == 6
    assert states() == Counter({"dead": 2})


def test_a_secret_is_shown_once_never_returned_and_only_http_urls_are_taken(app, client, factory):
    garage = factory.garage()
    admin = factory.admin()
    headers = factory.headers(admin)
    url = f"/api/v1/garages/{garage.id}/webhook"
    answer = client.put(url, json={"url": "http://10.0.0.5:8080/sms"}, headers=headers)
    assert answer.status_code == 200 and len(answer.json["secret"]) >= 40
    shown = client.get(url, headers=headers).json
    assert shown["url"] == "http://10.0.0.5:8080/sms" and "secret" not in shown
    assert answer.json["secret"] not in client.get(url, headers=headers).get_data(as_text=True)
    for bad in ("ftp://10.0.0.5/x", "file:///etc/passwd", "javascript:alert(1)", "http://"):
        refused = client.put(url, json={"url": bad}, headers=headers)
        assert refused.status_code == 422 and refused.json["error"] == "invalid_webhook_url", bad
    manager = factory.manager(garage)
    assert client.put(url, json={"url": "http://127.0.0.1/x"}, headers=factory.headers(manager)).status_code == 403


def test_quiet_hours_hold_ordinary_messages_until_seven_but_tonight_goes_out_and_an_ended_night_expires(app, factory):
    with Gateway() as gateway:
        garage, user, plate = hooked(factory, gateway)
        other, other_plate = factory.resident(garage)
        tonight = factory.window(garage, day=sh(1, 10).date())
        tomorrow = factory.window(garage, day=sh(2, 10).date())
        later = factory.booking(tomorrow, user=user, plate=plate)
        promoted = factory.booking(tonight, user=other, plate=other_plate)
        db.session.query(Notification).delete()
        db.session.commit()
        clock.set_now(sh(1, 23))
        notify([user.id], "booking_confirmed", {"plate": plate, "date": "2026-12-02"}, booking_id=later.id)
        notify([user.id], "reclaim_reminder", {"plate": plate, "time": "07:30"}, booking_id=later.id)
        notify([other.id], "booking_promoted", {"plate": other_plate, "date": "2026-12-01"}, booking_id=promoted.id)
        db.session.commit()
        first = run(sh(1, 23, 1))
        assert [p["body"]["kind"] for p in gateway.posts] == ["booking_promoted"]  # about tonight: goes out
        assert first["postponed"] == 2
        assert run(sh(2, 6, 59))["attempts"] == 0  # still quiet
        run(sh(2, 7, 0))
        assert sorted(p["body"]["kind"] for p in gateway.posts) == [
            "booking_confirmed",
            "booking_promoted",
            "reclaim_reminder",
        ]
        # The night of 1 Dec closed at 07:30 on 2 Dec: a message about it is not sent any more.
        notify([other.id], "booking_cancelled", {"plate": other_plate, "date": "2026-12-01"}, booking_id=promoted.id)
        db.session.commit()
        assert run(sh(2, 8, 0))["expired"] == 1
    expired = db.session.scalar(db.select(Delivery).where(Delivery.reason == "night_ended"))
    assert expired is not None and expired.state == DeliveryState.EXPIRED
    assert "booking_cancelled" not in [p["body"]["kind"] for p in gateway.posts]


def test_at_most_ten_sms_a_phone_a_day_the_rest_stay_in_app_and_sms_off_sends_nothing(app, factory):
    with Gateway() as gateway:
        garage, user, _plate = hooked(factory, gateway)
        for _ in range(12):
            notify([user.id], "household_verified", {})
        quiet_user, _ = factory.resident(garage)
        quiet_user.sms_enabled = False
        notify([quiet_user.id], "household_verified", {})
        db.session.commit()
        run(clock.now())
        assert len(gateway.posts) == 10
    reasons = Counter(d.reason for d in db.session.scalars(db.select(Delivery)) if d.state == DeliveryState.EXPIRED)
    assert reasons == Counter({"sms_daily_limit": 2, "sms_off": 1})
    assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 13  # all stay in-app


def test_a_row_claimed_by_one_scheduler_is_not_sent_by_another_and_a_crash_sends_once_more(app, factory):
    with Gateway() as gateway:
        _garage, user, _plate = hooked(factory, gateway)
        notify([user.id], "household_verified", {})
        db.session.commit()
        now = clock.now()
        enqueue(now)
        db.session.commit()
        (delivery_id,) = due_ids(now, 10)
        assert claim(delivery_id, now) and not claim(delivery_id, now)
        db.session.commit()  # the process "crashes" here, after its claim (and perhaps its send)
        assert run(now + timedelta(minutes=1))["attempts"] == 0  # the lease still holds
        assert backlog(now + timedelta(minutes=1)) == 1
        assert run(now + timedelta(minutes=3))["sent"] == 1  # the lease ran out: sent once (more)
        assert len(gateway.posts) == 1 and backlog(now + timedelta(minutes=3)) == 0


def test_a_household_promoted_in_quiet_hours_and_not_told_gets_no_strike(app, factory):
    garage = factory.garage()
    window = factory.window(garage, day=sh(1, 10).date())
    user, plate = factory.resident(garage)
    told_user, told_plate = factory.resident(garage)
    untold = factory.booking(window, user=user, plate=plate)
    told = factory.booking(window, user=told_user, plate=told_plate)
    clock.set_now(sh(1, 22, 30))
    notify([user.id], "booking_promoted", {"plate": plate, "date": "2026-12-01"}, booking_id=untold.id)
    notify([told_user.id], "booking_promoted", {"plate": told_plate, "date": "2026-12-01"}, booking_id=told.id)
    db.session.commit()
    db.session.scalar(
        db.select(Notification).where(Notification.user_id == told_user.id, Notification.kind == "booking_promoted")
    ).read_at = clock.now()
    db.session.commit()
    assert untold_promotions([untold.id, told.id]) == {untold.id}


@pytest.mark.parametrize("processes", [2])
def test_two_scheduler_processes_deliver_each_message_exactly_once(app, factory, processes):
    messages = 30
    with Gateway(fail_first=1) as gateway:
        garage, user, _plate = hooked(factory, gateway)
        users = [user] + [factory.resident(garage)[0] for _ in range(messages - 1)]
        for member in users:
            notify([member.id], "household_verified", {})
        db.session.commit()
        start = clock.now()
        instants = [start + timedelta(minutes=m) for m in (0, 1, 2, 3)]
        summaries = race_delivery_processes(app, instants, processes)
        delivered = gateway.delivered()
    attempts = sum(s.get("attempts", 0) for s in summaries)
    duplicates = sum(n - 1 for n in delivered.values() if n > 1)
    dead = states().get("dead", 0)
    assert len(delivered) == messages and duplicates == 0 and dead == 0
    assert attempts == len(gateway.posts) == 2 * messages  # one refused, one taken, each once
    assert all(p["signed"] for p in gateway.posts)
    FIGURES.append(
        f"delivery [{app.config['BACKEND']}], {processes} scheduler processes: {messages} messages, "
        f"{attempts} attempts (first of each refused with 503), {dead} dead letters, {duplicates} duplicates; "
        f"per process attempts {[s.get('attempts', 0) for s in summaries]}"
    )


def test_readyz_reports_the_backlog_and_managers_see_dead_letters_send_again_and_the_banner(app, client, factory):
    with Gateway(fail_first=1, fail_status=410) as gateway:
        garage, user, _plate = hooked(factory, gateway)
        notify([user.id], "household_verified", {})
        db.session.commit()
        enqueue(clock.now())
        db.session.commit()
        assert client.get("/readyz").json["delivery_backlog"] == 1
        run(clock.now())
        assert client.get("/readyz").json["delivery_backlog"] == 0
        manager = factory.manager(garage)
        factory.browser(client, manager)
        home = client.get(f"/manage?garage_id={garage.id}").get_data(as_text=True)
        assert "在过去一小时内" in home or "last hour" in home
        page = client.get(f"/manage/deliveries?garage_id={garage.id}")
        assert page.status_code == 200 and "HTTP 410" in page.get_data(as_text=True)
        admin_client = app.test_client()
        factory.browser(admin_client, factory.admin())
        assert "in the last hour" in admin_client.get("/admin?lang=en").get_data(as_text=True)
        (dead,) = db.session.scalars(db.select(Delivery)).all()
        token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
        sent = client.post(f"/manage/deliveries/{dead.id}/send-again?garage_id={garage.id}", data={"csrf_token": token})
        assert sent.status_code == 302
        assert states() == Counter({"pending": 1})
        assert run(clock.now())["sent"] == 1
        assert [p["id"] for p in gateway.posts] == [str(dead.notification_id)] * 2  # same id, sent again
    clock.set_now(clock.now() + timedelta(hours=2))
    assert "last hour" not in client.get(f"/manage?garage_id={garage.id}&lang=en").get_data(as_text=True)


def test_a_resident_turns_sms_off_on_the_account_page(app, client, factory):
    garage = factory.garage()
    user, _plate = factory.resident(garage)
    factory.browser(client, user)
    page = client.get("/account").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/account/sms", data={"csrf_token": token, "sms": "off"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(user), user.id).sms_enabled is False


def test_the_admin_sets_the_gateway_on_the_garage_page_and_sees_the_secret_once(app, client, factory):
    garage = factory.garage()
    admin = factory.admin()
    factory.browser(client, admin)
    page = client.get(f"/admin/garages/{garage.id}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    shown = client.post(
        f"/admin/garages/{garage.id}/webhook", data={"csrf_token": token, "url": "http://192.168.1.9/sms"}
    )
    assert shown.status_code == 200
    secret = shown.get_data(as_text=True).split('<code class="secret">')[1].split("<")[0]
    assert len(secret) >= 40
    again = client.get(f"/admin/garages/{garage.id}").get_data(as_text=True)
    assert "http://192.168.1.9/sms" in again and secret not in again
    refused = client.post(f"/admin/garages/{garage.id}/webhook", data={"csrf_token": token, "url": "ftp://x"})
    assert refused.status_code == 422


def test_a_lock_out_and_a_reset_code_are_told_to_the_person_without_the_code(app, client, factory):
    from parking.auth import reset_codes

    garage = factory.garage()
    user, _plate = factory.resident(garage)
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"phone": user.phone, "password": "wrong-wrong"})
    db.session.expire_all()
    (locked,) = db.session.scalars(db.select(Notification).where(Notification.kind == "locked_out")).all()
    assert locked.user_id == user.id and locked.params == {"until": "2026-12-01T10:15"}
    from flask_babel import force_locale

    with force_locale("zh"):
        from parking.notifications.services import render

        assert "12月1日 10:15" in render(locked)
    issued = reset_codes.issue(factory.manager(garage), user.id, clock.now())
    db.session.commit()
    (notice,) = db.session.scalars(db.select(Notification).where(Notification.kind == "reset_code_issued")).all()
    assert notice.user_id == user.id and issued.code not in str(notice.params)


@pytest.mark.parametrize("told", [False, True])
def test_the_tide_gives_no_strike_to_a_household_promoted_in_quiet_hours_that_was_not_told(app, factory, told):
    from datetime import time

    from parking.bookings import services as booking_services
    from parking.households.models import Strike
    from parking.tide.services import run_tide

    garage = factory.garage()
    # A night that opens at 21:30: booking stays open until 23:30, a no-show is due at 00:30.
    template = factory.template(garage, start_time=time(21, 30), end_time=time(7, 30), default_quota=1)
    window = factory.window(garage, quota=1, template=template)
    first, first_plate = factory.resident(garage)
    second, second_plate = factory.resident(garage)
    held = factory.booking(window, user=first, plate=first_plate)
    waiting = factory.booking(window, user=second, plate=second_plate, waitlist=True)
    clock.set_now(sh(1, 21, 40))
    db.session.commit()
    run_tide(clock.now())
    db.session.commit()
    clock.set_now(sh(1, 22, 15))  # quiet hours: the first household gives its space back
    booking_services.cancel(first, held.id, clock.now())
    db.session.commit()
    promotion = db.session.scalar(
        db.select(Notification).where(Notification.kind == "booking_promoted", Notification.booking_id == waiting.id)
    )
    assert promotion is not None
    if told:
        promotion.read_at = sh(1, 22, 20)
        db.session.commit()
    clock.set_now(sh(2, 0, 31))
    summary = run_tide(clock.now())
    db.session.commit()
    assert summary["no_shows"] == 1
    strikes = db.session.scalars(db.select(Strike).where(Strike.booking_id == waiting.id)).all()
    assert len(strikes) == (1 if told else 0)


def test_two_scheduler_processes_keep_a_phone_to_ten_sms_a_day(app, factory):
    with Gateway() as gateway:
        _garage, user, _plate = hooked(factory, gateway)
        for _ in range(15):
            notify([user.id], "household_verified", {})
        db.session.commit()
        start = clock.now()
        race_delivery_processes(app, [start + timedelta(minutes=m) for m in range(4)], 2)
        assert len(gateway.delivered()) == 10
    reasons = Counter((d.state.value, d.reason) for d in db.session.scalars(db.select(Delivery)))
    assert reasons == Counter({("sent", None): 10, ("expired", "sms_daily_limit"): 5})


def in_another_process(app, work):
    """Run `work()` as another scheduler process would: its own thread, app context, session and
    connection. Returns the thread (already started)."""
    errors: list[BaseException] = []

    def run_it() -> None:
        try:
            with app.app_context():
                work()
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported by `joined`, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run_it)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def joined(thread: threading.Thread) -> None:
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert not thread.errors, thread.errors  # type: ignore[attr-defined]


def test_an_answer_recorded_while_another_process_counts_the_phone_leaves_it_at_ten_sms(app, factory):
    """The race behind an eleventh SMS, replayed step by step. Nine SMS of the phone's day are
    sent; process A has claimed and sent the tenth; process B, holding the person's lock, decides on
    an eleventh. A records its answer (on its way -> sent) at the worst moment: right after B's first
    statement that counts the phone's day. A's message must then be seen once, on its way or sent,
    never by neither, so B does not send. On SQLite A's record waits for B's write lock instead."""
    with Gateway() as gateway:
        _garage, user, _plate = hooked(factory, gateway)
        for _ in range(11):
            notify([user.id], "household_verified", {})
        db.session.commit()
        now = clock.now()
        enqueue(now)
        deliveries = db.session.scalars(db.select(Delivery).order_by(Delivery.id)).all()
        for earlier in deliveries[:9]:
            earlier.state, earlier.sent_at, earlier.sms_counted = DeliveryState.SENT, now - timedelta(hours=1), True
        tenth, eleventh = deliveries[9].id, deliveries[10].id
        db.session.commit()
        sent_by_a: list[bool] = []

        def a_claims_and_sends() -> None:
            assert claim(tenth, now)
            db.session.commit()
            message = prepare(fresh_delivery(tenth), now)
            assert message is not None and message.has_sms
            db.session.commit()
            sent_by_a.append(post(message).status == 200)

        def a_records() -> None:
            record_answer(fresh_delivery(tenth), Answer(200, None), True, now)

        joined(in_another_process(app, a_claims_and_sends))
        assert sent_by_a == [True]
        assert claim(eleventh, now)
        db.session.commit()
        b_thread = threading.get_ident()
        recorder: list[threading.Thread] = []

        def after_execute(conn, cursor, statement, parameters, context, executemany) -> None:
            counting = "count(" in statement.lower() and "notification_deliveries" in statement
            if recorder or threading.get_ident() != b_thread or not counting:
                return
            recorder.append(in_another_process(app, a_records))
            if app.config["BACKEND"] == "postgresql":
                joined(recorder[0])  # A's answer is committed before B's next statement

        sa.event.listen(db.engine, "after_cursor_execute", after_execute)
        try:
            message = prepare(fresh_delivery(eleventh), now)
            db.session.commit()
        finally:
            sa.event.remove(db.engine, "after_cursor_execute", after_execute)
        assert len(recorder) == 1, "B never counted the phone's day"
        joined(recorder[0])
        assert message is None, "an eleventh SMS would go out"
        assert run(now + timedelta(minutes=1))["expired"] == 1  # B asks again: the day is full
        assert len(gateway.delivered()) == 1
    db.session.expire_all()
    reasons = Counter((d.state.value, d.reason) for d in db.session.scalars(db.select(Delivery)))
    assert reasons == Counter({("sent", None): 10, ("expired", "sms_daily_limit"): 1})


def test_scheduler_threads_racing_round_after_round_on_one_phone_never_send_an_eleventh_sms(app, factory):
    """Round after round, several passes at the same instant fight over a phone's last two SMS of
    the day (eight already sent, five waiting): each pass its own session and connection, as a
    scheduler process would have. Exactly ten go out each round, whatever the interleaving."""
    rounds, racers, waiting = 6, 3, 5
    with Gateway() as gateway:
        garage, _user, _plate = hooked(factory, gateway)
        start, phones = clock.now(), []
        for round_ in range(rounds):
            user = factory.resident(garage)[0]
            phones.append(user.id)
            for _ in range(8 + waiting):
                notify([user.id], "household_verified", {})
            at = start + timedelta(minutes=5 * round_)
            enqueue(at)
            mine = db.select(Delivery).join(Notification).where(Notification.user_id == user.id).order_by(Delivery.id)
            for earlier in db.session.scalars(mine).all()[:8]:
                earlier.state, earlier.sent_at, earlier.sms_counted = (
                    DeliveryState.SENT,
                    start - timedelta(hours=1),
                    True,
                )
            db.session.commit()
            for minute in range(5):  # a postponed message asks again a minute later
                left = due_ids(at + timedelta(minutes=minute), 1)
                db.session.commit()  # on SQLite an open transaction holds the write lock
                if not left:
                    break
                barrier = threading.Barrier(racers)

                def one_pass(now: datetime = at + timedelta(minutes=minute), barrier=barrier) -> None:
                    barrier.wait(timeout=60)
                    deliver_due(now, db.session.commit)

                for thread in [in_another_process(app, one_pass) for _ in range(racers)]:
                    joined(thread)
        delivered = gateway.delivered()
    db.session.expire_all()
    sent = Counter(
        user_id
        for user_id, state in db.session.execute(
            db.select(Notification.user_id, Delivery.state).join(Delivery, Delivery.notification_id == Notification.id)
        )
        if state == DeliveryState.SENT
    )
    assert sum(delivered.values()) == len(delivered) == 2 * rounds  # no message twice
    assert sent == Counter({phone: 10 for phone in phones})
    assert states() == Counter({"sent": 10 * rounds, "expired": (8 + waiting - 10) * rounds})


def test_flask_notifications_deliver_runs_one_pass_as_if_at_an_instant(app, runner, factory):
    with Gateway(fail_first=1) as gateway:
        _garage, user, _plate = hooked(factory, gateway)
        notify([user.id], "household_verified", {})
        db.session.commit()
        first = runner.invoke(args=["notifications", "deliver", "--at", "2026-12-01T10:00:30"])
        assert first.exit_code == 0 and "attempts=1" in first.output and "failed=1" in first.output
        early = runner.invoke(args=["notifications", "deliver", "--at", "2026-12-01T10:01:00"])
        assert "attempts=0" in early.output  # due at 10:01:30
        later = runner.invoke(args=["notifications", "deliver", "--at", "2026-12-01T10:01:30+08:00"])
        assert "sent=1" in later.output, later.output
    assert len(gateway.posts) == 2


def test_a_gateway_that_does_not_answer_is_left_for_the_next_pass_after_two_tries(app, factory):
    import socket

    with socket.socket() as closed:  # a port nobody listens on: the connection is refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    garage = factory.garage()
    webhooks.set_webhook(garage.id, f"http://127.0.0.1:{port}/x", factory.admin(), clock.now() - timedelta(hours=1))
    db.session.commit()
    users = [factory.resident(garage)[0] for _ in range(5)]
    for user in users:
        notify([user.id], "household_verified", {})
    db.session.commit()
    summary = run(clock.now())
    assert (summary["attempts"], summary["failed"], summary["skipped"]) == (2, 2, 3)
    assert states() == Counter({"pending": 3, "failed": 2})
    last = db.session.scalars(db.select(DeliveryAttempt)).all()[-1]
    assert (last.status_code is None and "Connection" in (last.error or "")) or "refused" in (last.error or "")
