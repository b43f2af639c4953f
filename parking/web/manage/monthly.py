"""/manage/monthly: the monthly pass (包月) of each window (fee, share, sale start), the month's
holders, the statements with "mark paid" and the CSV. Routes of the manager blueprint; each
action calls the one service function the API calls."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from parking import clock
from parking.bookings.models import BookingStatus
from parking.garages import template_services
from parking.garages.models import Garage, TemplateMode
from parking.garages.services import today
from parking.i18n import gettext as _
from parking.monthly import services as monthly
from parking.web import monthly_display as display
from parking.web.forms.manage import MonthForm, OfferForm, PaidForm
from parking.web.manage.garage import garage_page, local_datetime, manage_globals, murl, unique_ids
from parking.web.pages import actor, done, post_form, read_form

bp = Blueprint("manage_monthly", __name__, template_folder="../templates")
bp.context_processor(manage_globals)


def _month(garage: Garage, form: MonthForm) -> date:
    if form.month.data and read_form(form):
        return monthly.parse_month(form.month.data)
    return monthly.month_of(today(garage, clock.now()))


def _offer_form(template_id: int, offer: Any, failed: tuple[int, OfferForm] | None) -> OfferForm:
    if failed is not None and failed[0] == template_id:
        return unique_ids(failed[1], f"t{template_id}")
    form = OfferForm(formdata=None)
    if offer is not None:
        form.fee.data = offer.fee
        form.monthly_share.data = int(offer.monthly_share * 100)
        form.sale_starts_on.data = offer.sale_starts_on
        form.active.data = offer.active
    return unique_ids(form, f"t{template_id}")


def _page(
    garage: Garage,
    *,
    offer_failed: tuple[int, OfferForm] | None = None,
    paid_failed: tuple[int, PaidForm] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    month_form = MonthForm(request.args)
    month = _month(garage, month_form)
    month_form.month.data = monthly.month_text(month)
    offers = []
    for template in template_services.list_templates(garage):
        offer = monthly.offer_of(template.id)
        offers.append(
            {
                "template": template,
                "ballot": template.mode == TemplateMode.BALLOT,
                "offer": offer,
                "fee": display.money(offer.fee) if offer is not None else None,
                "form": _offer_form(template.id, offer, offer_failed),
            }
        )
    subs = monthly.holders(garage, month)
    counts = monthly.night_counts([s.id for s in subs])
    holders = [
        {
            "subscription": s,
            "address": _(
                "Building %(b)s, unit %(u)s, room %(r)s", b=s.household.building, u=s.household.unit, r=s.household.room
            ),
            "name": s.template.name,
            "booked": s.nights_booked,
            "handed_back": counts.get(s.id, {}).get(BookingStatus.CANCELLED.value, 0),
            "bumped": counts.get(s.id, {}).get(BookingStatus.BUMPED.value, 0),
            "unused": counts.get(s.id, {}).get(BookingStatus.NO_SHOW.value, 0),
        }
        for s in subs
    ]
    statements = []
    for row in monthly.statements(garage, month):
        failed_form = paid_failed[1] if paid_failed is not None and paid_failed[0] == row.id else None
        statements.append(
            {
                **vars(row),
                "address_words": _(
                    "Building %(b)s, unit %(u)s, room %(r)s",
                    b=row.address.building,
                    u=row.address.unit,
                    r=row.address.room,
                ),
                "plates": ", ".join(s.plate for s in row.subscriptions),
                "fee_words": display.money(row.fee),
                "credits_words": display.money(row.credits),
                "total_words": display.money(row.total),
                "paid_at_words": local_datetime(row.paid_at, garage) if row.paid_at else None,
                "refund_words": display.money(row.refund_due) if row.refund_due > Decimal("0") else None,
                "form": unique_ids(failed_form or PaidForm(formdata=None), f"s{row.id}"),
            }
        )
    context = {
        "garage": garage,
        "offers": offers,
        "month_form": month_form,
        "month": monthly.month_text(month),
        "month_words": display.month_words(month),
        "holders": holders,
        "statements": statements,
        "unpaid": sum(1 for s in statements if not s["paid"]),
    }
    return render_template("manage/monthly.html", **context), status


@bp.get("/manage/monthly")
@garage_page
def monthly_page(garage: Garage) -> ResponseReturnValue:
    return _page(garage)


@bp.post("/manage/monthly/offers/<id:template_id>")
@garage_page
def monthly_offer(garage: Garage, template_id: int) -> ResponseReturnValue:
    form = OfferForm()

    def offer() -> Any:
        data = {
            "fee": form.fee.data,
            "monthly_share": Decimal(form.monthly_share.data) / 100,
            "sale_starts_on": form.sale_starts_on.data,
            "active": bool(form.active.data),
        }
        return monthly.set_offer(actor(), garage, template_id, data, clock.now())

    return post_form(
        form,
        offer,
        lambda _offer: done(murl("manage_monthly.monthly_page"), _("Monthly pass saved.")),
        lambda status: _page(garage, offer_failed=(template_id, form), status=status),
    )


@bp.post("/manage/monthly/statements/<id:statement_id>/paid")
@garage_page
def monthly_paid(garage: Garage, statement_id: int) -> ResponseReturnValue:
    form = PaidForm()
    month = request.args.get("month")
    back = murl("manage_monthly.monthly_page", month=month) if month else murl("manage_monthly.monthly_page")
    return post_form(
        form,
        lambda: monthly.mark_paid(actor(), garage, statement_id, form.receipt_number.data, clock.now()),
        lambda row: done(
            back,
            _(
                "Marked paid: %(total)s, receipt %(number)s.",
                total=display.money(row.total),
                number=row.receipt_number,
            ),
        ),
        lambda status: _page(garage, paid_failed=(statement_id, form), status=status),
        invalid=None,
    )


@bp.get("/manage/monthly/statements.csv")
@garage_page
def monthly_csv(garage: Garage) -> ResponseReturnValue:
    month = _month(garage, MonthForm(request.args))
    filename = f"statements-{garage.id}-{monthly.month_text(month)}.csv"
    return Response(
        "\ufeff" + monthly.statements_csv(garage, month),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
