"""`/manage/deliveries`: the garage's dead letters (messages its gateway never took) and "send
again"; the banner of every manager page when the garage had dead letters in the last hour."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from parking import clock
from parking.garages.models import Garage
from parking.i18n import lazy_gettext as _l
from parking.notifications import delivery
from parking.web.manage.garage import bp, garage_page, local_datetime, murl
from parking.web.pages import actor, done, post_button


@bp.get("/manage/deliveries")
@garage_page
def deliveries(garage: Garage) -> ResponseReturnValue:
    letters = delivery.dead_letters(garage.id, actor())
    return render_template(
        "manage/deliveries.html",
        garage=garage,
        letters=[{"letter": d, "when": local_datetime(d.dead_at, garage) if d.dead_at else ""} for d in letters],
        form=FlaskForm(),
    )


@bp.post("/manage/deliveries/<id:delivery_id>/send-again")
@garage_page
def send_again(garage: Garage, delivery_id: int) -> ResponseReturnValue:
    back = murl("manage.deliveries")
    return post_button(
        lambda: delivery.send_again(garage.id, delivery_id, actor(), clock.now()),
        lambda _sent: done(back, _l("The message will be sent again within a minute.")),
        back,
    )
