"""The ballot: requests until the close, one seeded reproducible draw by the
tide, first come afterwards; and nothing confirms a night before its draw."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections import Counter
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from parking import clock
from parking.audit.models import AuditEvent
from parking.bookings import draw
from parking.bookings.models import Booking, BookingStatus
from parking.bookings.services import promote_waitlist
from parking.extensions import db
from parking.households.models import Household
from parking.notifications.models import Notification
from parking.tide.services import run_tide
from parking.windows.locking import lock_window
from parking.windows.models import TemplateMode, Window
from tests.ballot_helpers import CLOSE, NIGHT, SH, at, ballot_night, by_household, request, requesters
from tests.conftest import FIGURES
from tests.manager_helpers import api, assert_counter_consistent, assert_error, fresh


def tide(_db, instant: datetime) -> dict:
    summary = run_tide(at(instant))
    db.session.commit()
    return summary


def notes_of(user, kind: str | None = None) -> list[Notification]:
    stmt = sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt))


def kinds_of(user) -> list[str]:
    return [n.kind for n in notes_of(user)]


def test_a_ballot_template_publishes_each_nights_commitment_and_close(client, factory, db):
    garage = factory.garage(horizon_days=3)
    manager = factory.manager(garage)
    body = {"name": "Overnight", "weekdays": [1, 2, 3, 4, 5, 6, 7], "start_time": "19:00", "end_time": "07:00"}
    created = api(
        client,
        factory,
        manager,
        "POST",
        f"/garages/{garage.id}/templates",
        json={**body, "default_quota": 5, "mode": "ballot"},
    )
    assert created.status_code == 201, created.json
    assert created.json["mode"] == "ballot"
    listed = {w["service_date"]: w for w in client.get(f"/api/v1/garages/{garage.id}/windows").json}
    tonight, third = listed["2026-12-01"], listed["2026-12-03"]
    # Tonight's ballot would have closed yesterday at noon: it runs first come.
    assert (tonight["mode"], tonight["commitment"], tonight["ballot_closes_at"]) == ("first_come", None, None)
    assert third["mode"] == "ballot" and third["drawn"] is False
    assert datetime.fromisoformat(third["ballot_closes_at"]) == CLOSE
    window = db.session.get(Window, third["id"])
    assert third["commitment"] == hashlib.sha256(bytes.fromhex(window.ballot_seed)).hexdigest()
    assert len(bytes.fromhex(window.ballot_seed)) == 32
    commitments = {w["commitment"] for w in listed.values() if w["mode"] == "ballot"}
    assert len(commitments) == 3  # 2, 3 and 4 Dec: a seed of their own each
    draw_before = client.get(f"/api/v1/windows/{third['id']}/draw").json
    assert draw_before["commitment"] == third["commitment"]
    assert (draw_before["drawn"], draw_before["seed"], draw_before["entries"]) == (False, None, None)
    assert_error(client.get(f"/api/v1/windows/{tonight['id']}/draw"), 404, "not_a_ballot")
    assert "/api/v1/windows/{window_id}/draw" in client.get("/api/v1/openapi.json").json["paths"]


def test_requests_before_the_close_hold_no_space_one_per_household_and_can_be_cancelled(client, factory, db):
    window = ballot_night(factory, quota=1)
    household = factory.household(window.garage, members=2, plates=2)
    first, second = household.members
    plate_a, plate_b = (v.plate for v in household.vehicles)
    made = request(client, factory, first, window, plate_a)
    assert made.status_code == 201, made.json
    assert (made.json["status"], made.json["holds_space"]) == ("requested", False)
    assert_error(request(client, factory, second, window, plate_b), 409, "duplicate_booking")
    others = requesters(client, factory, window, 2)  # more requests than the quota: nobody is refused
    listed = {w["id"]: w for w in client.get(f"/api/v1/garages/{window.garage_id}/windows").json}[window.id]
    assert (listed["requested"], listed["booked"], listed["available"], listed["waitlisted"]) == (3, 0, 1, 0)
    assert kinds_of(first) == ["ballot_requested"]
    (note,) = notes_of(first)
    assert note.params["draw_date"] == "2026-12-02" and note.params["time"] == "12:00"

    cancelled = client.post(f"/api/v1/bookings/{made.json['id']}/cancel", json={}, headers=factory.headers(first))
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert cancelled.json["late_cancel"] is False
    # Nothing was promoted by the cancellation: the night has not been drawn.
    assert {b.status for b in by_household(window.id).values()} == {BookingStatus.CANCELLED, BookingStatus.REQUESTED}
    again = request(client, factory, second, window, plate_b)  # the household may request again
    assert again.status_code == 201 and again.json["status"] == "requested"
    assert fresh(Window, window.id).booked == 0
    assert len(others) == 2


def test_the_tide_draws_at_the_close_confirms_the_quota_and_waitlists_the_rest_in_draw_order(client, factory, db):
    window = ballot_night(factory, quota=2)
    made = requesters(client, factory, window, 5)
    before = tide(db, CLOSE - timedelta(minutes=1))
    assert before["draws"] == 0 and fresh(Window, window.id).drawn_at is None

    summary = tide(db, CLOSE + timedelta(minutes=1))
    assert (summary["draws"], summary["drawn_confirmed"], summary["drawn_waitlisted"]) == (1, 2, 3)
    published = client.get(f"/api/v1/windows/{window.id}/draw").json
    assert published["drawn"] is True and published["quota"] == 2
    seed = bytes.fromhex(published["seed"])
    assert hashlib.sha256(seed).hexdigest() == published["commitment"]
    households = sorted(b.household_id for b in by_household(window.id).values())
    expected = draw.draw(seed, [draw.Entry(h) for h in households], 2)
    assert published["entries"] == [d.as_dict() for d in expected]
    assert draw.verify(published).ok

    bookings = by_household(window.id)
    order = [e["household_id"] for e in published["entries"]]
    assert [bookings[h].status for h in order] == [BookingStatus.CONFIRMED] * 2 + [BookingStatus.WAITLISTED] * 3
    assert [bookings[h].draw_rank for h in order] == [1, 2, 3, 4, 5]
    assert all(bookings[h].won_draw_at == CLOSE for h in order[:2])
    assert assert_counter_consistent(window.id).booked == 2
    users = {user.household_id: user for user, _p, _b in made}
    assert [kinds_of(users[h])[-1] for h in order] == ["ballot_won"] * 2 + ["ballot_waitlisted"] * 3
    positions = [notes_of(users[h], "ballot_waitlisted")[0].params["position"] for h in order[2:]]
    assert positions == [1, 2, 3]
    audit = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("%drawn"))).all()
    assert sorted(audit) == ["booking.drawn"] * 5 + ["window.drawn"]
    assert tide(db, CLOSE + timedelta(minutes=2))["draws"] == 0  # once

    # After the draw the night runs first come; a cancelled winner's space goes to the first loser.
    winner = users[order[0]]
    client.post(f"/api/v1/bookings/{bookings[order[0]].id}/cancel", json={}, headers=factory.headers(winner))
    assert by_household(window.id)[order[2]].status == BookingStatus.CONFIRMED
    late_user, late_plate = factory.resident(window.garage)
    late = request(client, factory, late_user, window, late_plate, waitlist=True)
    assert late.status_code == 201 and late.json["status"] == "waitlisted"
    # The late waiter stands behind the draw's losers.
    client.post(f"/api/v1/bookings/{bookings[order[1]].id}/cancel", json={}, headers=factory.headers(users[order[1]]))
    assert by_household(window.id)[order[3]].status == BookingStatus.CONFIRMED
    assert fresh(Booking, late.json["id"]).status == BookingStatus.WAITLISTED
    assert client.get(f"/api/v1/windows/{window.id}/draw").json == published  # published once, never rewritten


def test_a_booking_after_the_close_runs_the_due_draw_first_then_books_first_come(client, factory, db):
    window = ballot_night(factory, quota=2)
    made = requesters(client, factory, window, 2)
    at(CLOSE + timedelta(hours=1))  # the tide has not run
    user, plate = factory.resident(window.garage)
    response = request(client, factory, user, window, plate)
    assert response.status_code == 409 and response.json["error"] == "window_full"
    # The refused booking rolled back, and its draw with it: the tide draws once, the same result.
    assert fresh(Window, window.id).drawn_at is None
    waiting = request(client, factory, user, window, plate, waitlist=True)
    assert waiting.status_code == 201 and waiting.json["status"] == "waitlisted"
    drawn = fresh(Window, window.id)
    assert drawn.drawn_at == CLOSE + timedelta(hours=1) and drawn.booked == 2
    assert {by_household(window.id)[u.household_id].status for u, _p, _b in made} == {BookingStatus.CONFIRMED}
    assert tide(db, CLOSE + timedelta(hours=2))["draws"] == 0


def test_nothing_confirms_a_ballot_night_before_its_draw(client, factory, db):
    window = ballot_night(factory, quota=3)
    requesters(client, factory, window, 2)
    locked = lock_window(window.id)
    assert promote_waitlist(locked, clock.now()) == []
    db.session.rollback()
    # A quota change before the draw confirms nobody either.
    manager = factory.manager(window.garage)
    raised = api(
        client,
        factory,
        manager,
        "POST",
        f"/garages/{window.garage_id}/overrides",
        json={
            "template_id": window.template_id,
            "start_date": "2026-12-03",
            "end_date": "2026-12-03",
            "quota": 5,
            "reason": "more",
        },
    )
    assert raised.status_code == 201, raised.json
    assert fresh(Window, window.id).booked == 0
    assert {b.status for b in by_household(window.id).values()} == {BookingStatus.REQUESTED}
    # And the database refuses it whatever the path.
    with pytest.raises(IntegrityError):
        db.session.execute(sa.update(Window).where(Window.id == window.id).values(booked=1))
        db.session.flush()
    db.session.rollback()


def test_recent_wins_lower_the_weight_and_bumped_households_go_first(client, factory, db):
    window = ballot_night(factory, quota=1)
    made = requesters(client, factory, window, 4)
    lucky, bumped = made[0][0].household_id, made[1][0].household_id
    # Two earlier draw wins of `lucky`: one 10 days before the close, one 40 days before (too old).
    old_window = factory.window(template=window.template, day=NIGHT - timedelta(days=1))
    for days in (10, 40):
        db.session.add(
            Booking(
                window_id=old_window.id,
                garage_id=window.garage_id,
                household_id=lucky,
                vehicle_id=fresh(Household, lucky).vehicles[0].id,
                plate=fresh(Household, lucky).vehicles[0].plate,
                status=BookingStatus.COMPLETED,
                created_at=CLOSE - timedelta(days=days),
                updated_at=CLOSE - timedelta(days=days),
                won_draw_at=CLOSE - timedelta(days=days),
            )
        )
    db.session.execute(sa.update(Booking).where(Booking.id == made[1][2]).values(priority=True))
    db.session.commit()
    tide(db, CLOSE)
    entries = client.get(f"/api/v1/windows/{window.id}/draw").json["entries"]
    assert entries[0] == {**entries[0], "household_id": bumped, "bumped": True, "result": "confirmed"}
    assert {e["household_id"]: e["wins"] for e in entries}[lucky] == 1
    assert draw.verify(client.get(f"/api/v1/windows/{window.id}/draw").json).ok


def test_a_suspended_households_request_is_withdrawn_before_the_draw(client, factory, db):
    window = ballot_night(factory, quota=2)
    made = requesters(client, factory, window, 2)
    suspended = fresh(Household, made[0][0].household_id)
    suspended.suspended_until = CLOSE + timedelta(days=3)
    db.session.commit()
    tide(db, CLOSE)
    entries = client.get(f"/api/v1/windows/{window.id}/draw").json["entries"]
    assert [e["household_id"] for e in entries] == [made[1][0].household_id]
    assert fresh(Booking, made[0][2]).status == BookingStatus.CANCELLED


def test_a_quota_cut_after_the_draw_is_refused_or_bumps_the_last_drawn(client, factory, db):
    window = ballot_night(factory, quota=3)
    requesters(client, factory, window, 4)
    tide(db, CLOSE)
    order = [e["household_id"] for e in client.get(f"/api/v1/windows/{window.id}/draw").json["entries"]]
    manager = factory.manager(window.garage)
    cut = {"template_id": window.template_id, "start_date": "2026-12-03", "end_date": "2026-12-03", "quota": 1}
    path = f"/garages/{window.garage_id}/overrides"
    refused = api(client, factory, manager, "POST", path, json={**cut, "reason": "station needs it"})
    assert assert_error(refused, 409, "quota_below_booked")["details"]["affected"] == 2
    bumped = api(client, factory, manager, "POST", path, json={**cut, "reason": "station needs it", "policy": "bump"})
    assert bumped.status_code == 201, bumped.json
    bookings = by_household(window.id)
    assert [bookings[h].status for h in order] == [
        BookingStatus.CONFIRMED,
        BookingStatus.BUMPED,
        BookingStatus.BUMPED,
        BookingStatus.WAITLISTED,
    ]
    assert all(fresh(Household, h).waitlist_priority for h in order[1:3])
    assert assert_counter_consistent(window.id).quota == 1
    assert draw.verify(client.get(f"/api/v1/windows/{window.id}/draw").json).ok  # the record of the draw stands


def test_switching_a_template_to_the_ballot_keeps_booked_nights_first_come(client, factory, db):
    template = factory.template(default_quota=5)
    garage = template.garage
    booked = factory.window(template=template, day=NIGHT)
    empty = factory.window(template=template, day=NIGHT + timedelta(days=1))
    factory.booking(booked)
    manager = factory.manager(garage)
    response = api(
        client, factory, manager, "PATCH", f"/garages/{garage.id}/templates/{template.id}", json={"mode": "ballot"}
    )
    assert response.status_code == 200, response.json
    assert response.json["mode_change"] == {"switched": 1, "kept": 1}
    assert fresh(Window, booked.id).mode == TemplateMode.FIRST_COME
    switched = fresh(Window, empty.id)
    assert switched.mode == TemplateMode.BALLOT and switched.ballot_commitment is not None
    assert switched.ballot_closes_at == datetime(2026, 12, 3, 12, 0, tzinfo=SH)
    back = api(
        client, factory, manager, "PATCH", f"/garages/{garage.id}/templates/{template.id}", json={"mode": "first_come"}
    )
    assert back.json["mode_change"] == {"switched": 1, "kept": 0}
    assert fresh(Window, empty.id).ballot_commitment is None


def test_ballot_verify_cli_recomputes_the_draw_and_fails_when_an_entry_is_altered(
    client, runner, factory, db, tmp_path
):
    window = ballot_night(factory, quota=2)
    requesters(client, factory, window, 4)
    not_yet = runner.invoke(args=["ballot", "verify", str(window.id)])
    assert not_yet.exit_code == 1 and "has not run yet" in not_yet.output
    tide(db, CLOSE)
    ok = runner.invoke(args=["ballot", "verify", str(window.id)])
    assert ok.exit_code == 0, ok.output
    assert "the draw matches" in ok.output
    published = client.get(f"/api/v1/windows/{window.id}/draw").json
    saved = tmp_path / "draw.json"
    saved.write_text(json.dumps(published))
    assert runner.invoke(args=["ballot", "verify", str(window.id), "--file", str(saved)]).exit_code == 0

    altered = json.loads(json.dumps(published))
    altered["entries"][-1]["bumped"] = True  # as if the last household had been bumped before
    saved.write_text(json.dumps(altered))
    failed = runner.invoke(args=["ballot", "verify", str(window.id), "--file", str(saved)])
    assert failed.exit_code == 1 and "does NOT match" in failed.output
    assert runner.invoke(args=["ballot", "verify", "99999"]).exit_code != 0


@pytest.mark.parametrize(
    "alter",
    [
        lambda p: p["entries"][0].update(u=p["entries"][0]["u"] / 2),
        lambda p: p["entries"][0].update(household_id=p["entries"][0]["household_id"] + 1000),
        lambda p: p["entries"][-1].update(bumped=True),
        lambda p: p["entries"][-1].update(result="confirmed"),
        lambda p: p["entries"].reverse(),
        lambda p: p.update(quota=p["quota"] + 1),
        lambda p: p.update(seed="00" * 32),
        lambda p: p.update(commitment="00" * 32),
        lambda p: p["entries"].append(dict(p["entries"][-1])),
    ],
    ids=["u", "household", "bumped", "result", "order", "quota", "seed", "commitment", "duplicate"],
)
def test_verification_fails_when_one_published_value_is_altered(alter):
    seed = bytes(range(32))
    entries = [draw.Entry(h, wins=h % 3) for h in range(1, 9)]
    published = {
        "seed": seed.hex(),
        "commitment": draw.commitment(seed),
        "quota": 3,
        "entries": [d.as_dict() for d in draw.draw(seed, entries, 3)],
    }
    assert draw.verify(json.loads(json.dumps(published))).ok  # the JSON round trip keeps u exact
    alter(published)
    verdict = draw.verify(published)
    assert not verdict.ok and verdict.problems


def test_the_draw_is_reproducible_and_follows_the_formula():
    seed = hashlib.sha256(b"fixed").digest()
    h = hmac.new(seed, b"42", hashlib.sha256).digest()
    assert draw.uniform(seed, 42) == (int.from_bytes(h[:8], "big") + 0.5) / 2**64
    entries = [draw.Entry(h, wins=h % 4, bumped=h == 7) for h in range(1, 30)]
    first, again = draw.draw(seed, entries, 5), draw.draw(seed, list(reversed(entries)), 5)
    assert first == again  # the order of the requests does not matter
    assert first[0].household_id == 7  # bumped first
    keys = [d.u ** (1 + d.wins) for d in first[1:]]
    assert keys == sorted(keys, reverse=True)
    assert [d.result for d in first] == ["confirmed"] * 5 + ["waitlisted"] * 24
    assert draw.draw(hashlib.sha256(b"other").digest(), entries, 5) != first


#: The 99.9 % quantile of the chi-square distribution with 3 degrees of freedom: a correct draw
#: exceeds it once in a thousand seeds of the simulation; the simulation's seed is fixed.
CHI2_3_999 = 16.266


def test_over_many_draws_win_rates_follow_the_weights():
    rng = random.Random(20261201)
    draws = 20_000
    entries = [draw.Entry(household_id=100 + wins, wins=wins) for wins in range(4)]  # weights 1, 1/2, 1/3, 1/4
    first = Counter(draw.draw(rng.randbytes(32), entries, 1)[0].household_id for _ in range(draws))
    total_weight = sum(draw.weight(e.wins) for e in entries)
    expected = {e.household_id: draws * draw.weight(e.wins) / total_weight for e in entries}
    chi2 = sum((first[h] - expected[h]) ** 2 / expected[h] for h in expected)
    rates = " ".join(f"wins={h - 100}:{first[h] / draws:.4f}(exp {expected[h] / draws:.4f})" for h in sorted(expected))
    FIGURES.append(f"ballot draw, quota 1 of 4, {draws} seeds: {rates} chi2={chi2:.2f} (df 3, limit {CHI2_3_999})")
    assert chi2 < CHI2_3_999

    # With several places, too, fewer recent wins win more often.
    entries = [draw.Entry(household_id=200 + i, wins=i // 2) for i in range(8)]  # two households per wins count
    won = Counter()
    for _ in range(5_000):
        for drawn in draw.draw(rng.randbytes(32), entries, 3):
            if drawn.result == draw.CONFIRMED:
                won[drawn.wins] += 1
    rates = [won[w] / (2 * 5_000) for w in range(4)]
    FIGURES.append(
        "ballot draw, quota 3 of 8, 5000 seeds: win rate by recent wins " + str([round(r, 3) for r in rates])
    )
    assert rates == sorted(rates, reverse=True) and rates[0] > 1.5 * rates[3]
