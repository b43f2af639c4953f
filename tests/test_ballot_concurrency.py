"""The draw runs exactly once when three scheduler processes (each its own app, engine and
connections) run the tide at the same instant, on the SQLite file database and on PostgreSQL; and a
booking racing the tide at the close never confirms ahead of the draw."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from parking.audit.models import AuditEvent
from parking.bookings import draw
from parking.bookings.models import Booking, BookingStatus
from parking.notifications.models import Notification
from parking.tide.windows import materialise
from parking.windows.models import Window
from tests.ballot_helpers import CLOSE, NIGHT, at, ballot_night, requesters
from tests.concurrency_helpers import race
from tests.conftest import FIGURES
from tests.tide_helpers import counters_match_holders, race_tide_processes


@pytest.mark.parametrize("serialise", [True, False], ids=["with-advisory-lock", "row-guards-only"])
def test_three_tide_processes_at_the_close_draw_each_night_once(app, client, factory, db, serialise):
    nights = [ballot_night(factory, quota=3), ballot_night(factory, quota=2)]
    nights.append(ballot_night(factory, quota=1, garage=nights[0].garage, day=NIGHT))  # a second template
    for window, n in zip(nights, (6, 4, 3), strict=True):
        requesters(client, factory, window, n)
    materialise(CLOSE)  # the race is about the draws, not about creating the next windows
    db.session.commit()

    summaries = race_tide_processes(app, CLOSE + timedelta(seconds=5), serialise)
    assert sum(s["draws"] for s in summaries) == 3
    assert sum(s["drawn_confirmed"] for s in summaries) == 3 + 2 + 1
    assert sum(s["drawn_waitlisted"] for s in summaries) == 3 + 2 + 2
    db.session.expire_all()
    actions = Counter(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("%.drawn"))))
    assert actions == Counter({"window.drawn": 3, "booking.drawn": 13})
    notes = Counter(
        db.session.scalars(
            sa.select(Notification.kind).where(Notification.kind.in_(("ballot_won", "ballot_waitlisted")))
        )
    )
    assert notes == Counter({"ballot_won": 6, "ballot_waitlisted": 7})
    assert counters_match_holders()
    for window in nights:
        published = client.get(f"/api/v1/windows/{window.id}/draw").json
        assert draw.verify(published).ok
        statuses = Counter(db.session.scalars(sa.select(Booking.status).where(Booking.window_id == window.id)))
        assert statuses[BookingStatus.CONFIRMED] == published["quota"] == db.session.get(Window, window.id).booked
    FIGURES.append(
        f"[{app.config['BACKEND']}] ballot: {len(summaries)} tide processes at the close "
        f"({'advisory lock' if serialise else 'row guards only'}): draws per process "
        f"{[s['draws'] for s in summaries]}"
    )


def test_bookings_racing_at_the_close_never_confirm_ahead_of_the_draw(app, client, factory, db):
    window = ballot_night(factory, quota=3)
    early = requesters(client, factory, window, 3)
    late = [factory.resident(window.garage) for _ in range(8)]
    db.session.commit()
    at(CLOSE + timedelta(seconds=1))  # the tide has not run: the first booking draws

    bodies = [
        ({"window_id": window.id, "plate": plate, "waitlist": True}, factory.headers(user)) for user, plate in late
    ]

    def book(body, headers):
        return lambda c: c.post("/api/v1/bookings", json=body, headers=headers)

    responses = race(app, [book(body, headers) for body, headers in bodies])
    assert [r.status_code for r in responses] == [201] * 8
    assert {r.json["status"] for r in responses} == {"waitlisted"}
    db.session.expire_all()
    drawn = db.session.get(Window, window.id)
    assert drawn.booked == 3 and drawn.drawn_at is not None
    confirmed = set(
        db.session.scalars(
            sa.select(Booking.household_id).where(
                Booking.window_id == window.id, Booking.status == BookingStatus.CONFIRMED
            )
        )
    )
    assert confirmed == {user.household_id for user, _p, _b in early}
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "window.drawn"))
        == 1
    )
