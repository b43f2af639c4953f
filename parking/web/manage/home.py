"""`/manage`: tonight at a glance for the managers of a garage (quota, booked, inside, expected,
overstays, what waits for verification)."""

from __future__ import annotations

from dataclasses import asdict

from flask import render_template
from flask.typing import ResponseReturnValue

from parking import clock
from parking.garages.models import Garage, WindowState
from parking.reports.tonight import tonight
from parking.web.manage.garage import (
    bp,
    day_label,
    garage_page,
    local_time,
    state_words,
)
from parking.web.pages import actor
from parking.web.words import moment_words, span_words

# -- tonight --------------------------------------------------------------------------------------


@bp.get("/manage")
@garage_page
def home(garage: Garage) -> ResponseReturnValue:
    now = clock.now()
    glance = tonight(actor(), garage, now)
    nights = [
        asdict(night)
        | {
            "opens": local_time(night.opens_at, garage),
            "closes": local_time(night.closes_at, garage),
            # Past midnight last night's window is still on: each card says which night it is.
            "date": day_label(night.service_date),
            "times": span_words(
                clock.local(night.opens_at, garage.timezone), clock.local(night.closes_at, garage.timezone)
            ),
            "state_words": state_words(night.state.value),
            "full": night.available == 0 and night.state in (WindowState.PLANNED, WindowState.OPEN),
        }
        for night in glance.nights
    ]
    overstays = [
        asdict(car) | {"leave_by": moment_words(clock.local(car.leave_by, garage.timezone))} for car in glance.overstays
    ]
    return render_template(
        "manage/home.html", garage=garage, glance=glance, nights=nights, overstays=overstays, today=glance.day
    )
