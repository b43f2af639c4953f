"""The authorization matrix, built from the URL map: every API and page route, every method, asked
by eight callers — nobody, the residents of two households, the attendant and the manager of each
of two garages, and an administrator — each against the objects of the OTHER side (household A's
resident on household B's booking, garage 1's manager on garage 2's window, and so on; the
administrator and nobody against side 2). MATRIX says what each caller gets; a route of the URL
map without an entry fails the test, so a new route must be placed in it. The matrix is printed
in the session summary (from xdist workers too).

Outcomes: `ok` (2xx, or a redirect anywhere but the sign-in page), `login` (a page's redirect to
the sign-in page), `refused` (a page's redirect that flashes a refusal), or the status itself
(401, 403, 404, or a rule's 409/422 after the caller was let through). An answer that shows the
other side's plate or phones to anyone but the administrator is `LEAK`, which no cell expects.

How the other side's objects are named: the API gets them in the path and in bodies valid for
their schemas, so that the authorization answers and not the validation; lists that filter by
garage get `?garage_id=` of the other side. Where a path names a garage and an object of it, a
member of staff names their own garage and the other side's object, so that the object's own
check is what answers (a manager who manages garage 1 asking for garage 2's override under
garage 1). Pages that name no object get `?garage_id=` of the other side's garage; pages that name
one keep the caller's own garage as the page's garage, for the same reason.
"""

from __future__ import annotations

import io
import re
import time as wallclock
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.datastructures import FileStorage

from parking import clock
from parking.auth.lockout import forget_all_failures
from parking.extensions import db as _db
from parking.notifications.models import Delivery, DeliveryState, Notification
from tests.ballot_helpers import ballot_night
from tests.conftest import FIGURES
from tests.monthly_helpers import offered, subscribe

CALLERS = ("anonymous", "resident_a", "resident_b", "attendant_1", "attendant_2", "manager_1", "manager_2", "admin")
#: Whose objects each caller is shown: the other side's (nobody and the administrator: side 2).
TARGET_SIDE = {
    "anonymous": 2,
    "resident_a": 2,
    "resident_b": 1,
    "attendant_1": 2,
    "attendant_2": 1,
    "manager_1": 2,
    "manager_2": 1,
    "admin": 2,
}


@dataclass
class Side:
    """One side of the world: a garage selling a monthly pass, its staff, one household with two
    members and two plates, its booking tonight, its month, and one of each thing staff act on."""

    ids: dict[str, Any] = field(default_factory=dict)
    people: dict[str, Any] = field(default_factory=dict)


def _side(client, factory, n: int) -> Side:
    from parking.gate import cameras
    from parking.gate.models import CameraDirection, PlateEvent
    from parking.households.models import HouseholdState, Vehicle, VehicleState
    from parking.monthly.models import MonthlyStatement, Subscription
    from parking.quotas.models import QuotaOverride

    setup = offered(factory, quota=5)
    garage, template, manager = setup.garage, setup.template, setup.manager
    day_template = factory.template(garage, name="Day", start_time=time(12), end_time=time(18))
    window = factory.window(template=day_template)  # tonight's is the month's
    resident, plate = factory.resident(garage, plates=2, members=3)
    household = resident.household
    booking = factory.booking(window, user=resident, plate=plate)
    ballot = ballot_night(factory, garage=garage)  # a ballot night, for its published draw
    month = subscribe(client, factory, resident, setup, household.vehicles[1].plate)
    assert month.status_code == 201, month.get_json()
    subscription = _db.session.scalar(sa.select(Subscription).where(Subscription.household_id == household.id))
    statement = _db.session.scalar(sa.select(MonthlyStatement).where(MonthlyStatement.household_id == household.id))
    pending = factory.household(garage, state=HouseholdState.PENDING)
    vehicle = Vehicle(
        household_id=household.id, plate=factory.plate(), state=VehicleState.PENDING, created_at=clock.now()
    )
    _db.session.add(vehicle)
    override = QuotaOverride(
        garage_id=garage.id,
        template_id=template.id,
        start_date=window.service_date + timedelta(days=3),
        end_date=window.service_date + timedelta(days=3),
        quota=4,
        reason=f"side {n}",
        source="manual",
        created_at=clock.now(),
    )
    _db.session.add(override)
    camera, credential = cameras.register(manager, garage.id, "east lane", CameraDirection.BOTH, clock.now())
    _db.session.commit()
    event = client.post(
        "/api/v1/gate/plate-events",
        json={
            "garage_id": garage.id,
            "camera_id": camera.id,
            "event_id": f"side-{n}",
            "plate": plate,
            "direction": "in",
            "confidence": 0.1,  # below the threshold: left pending for an attendant
            "captured_at": clock.now().isoformat(),
        },
        headers={"Authorization": f"Camera {credential}"},
    )
    assert event.status_code in (200, 201), event.get_json()
    plate_event = _db.session.scalar(sa.select(PlateEvent).where(PlateEvent.garage_id == garage.id))
    attendant = factory.attendant(garage)
    # A message to the resident that the garage's gateway never took: a dead letter to send again.
    note = Notification(user_id=resident.id, kind="booking_confirmed", params={}, created_at=clock.now())
    _db.session.add(note)
    _db.session.flush()
    letter = Delivery(
        notification_id=note.id,
        garage_id=garage.id,
        state=DeliveryState.DEAD,
        attempts=6,
        created_at=clock.now(),
        dead_at=clock.now(),
    )
    _db.session.add(letter)
    _db.session.commit()
    ids = {
        "garage_id": garage.id,
        "template_id": template.id,
        "window_id": window.id,
        "ballot_window_id": ballot.id,
        "booking_id": booking.id,
        "subscription_id": subscription.id,
        "statement_id": statement.id,
        "household_id": household.id,
        "pending_household_id": pending.id,
        "vehicle_id": vehicle.id,
        "override_id": override.id,
        "camera_id": camera.id,
        "event_id": plate_event.id,
        "delivery_id": letter.id,
        "user_id": household.members[1].id,  # the other member: reset codes, lock-outs
        "erasable_id": household.members[2].id,  # the third: an administrator's erasure
        "spare_staff_ids": [factory.attendant(garage).id, factory.attendant(garage).id],  # removed from the staff
        "service_date": window.service_date.isoformat(),
        "plate": plate,
        "phone": household.members[1].phone,
        "pending_phone": pending.members[0].phone,  # a household waiting in the garage's queue
        "own_plate": plate,  # what this side's resident books with, on the other side's nights
    }
    return Side(ids, {"resident": resident, "attendant": attendant, "manager": manager})


def _world(app: Flask, factory) -> tuple[dict[int, Side], dict[str, Any]]:
    client = app.test_client()
    sides = {1: _side(client, factory, 1), 2: _side(client, factory, 2)}
    people = {
        "anonymous": None,
        "resident_a": sides[1].people["resident"],
        "resident_b": sides[2].people["resident"],
        "attendant_1": sides[1].people["attendant"],
        "attendant_2": sides[2].people["attendant"],
        "manager_1": sides[1].people["manager"],
        "manager_2": sides[2].people["manager"],
        "admin": factory.admin(),
    }
    return sides, people


# -- requests -------------------------------------------------------------------------------------


def _api_body(endpoint: str, ids: dict[str, Any], own: dict[str, Any], factory) -> Any:
    """A body valid for its schema, about the other side's objects (`ids`; `own`: the caller's
    side), so that what answers is the authorization, not the validation."""
    day = ids["service_date"]
    if endpoint in ("households.Members", "admin.Staff"):  # someone with an account and no household
        return {"phone": factory.user().phone, **({"role": "attendant"} if endpoint == "admin.Staff" else {})}
    bodies: dict[str, Any] = {
        "auth.Register": {"phone": factory.phone(), "password": "s3cret-pass", "name": "Matrix"},
        "auth.Token": {"phone": ids["phone"], "password": "wrong-password"},
        "auth.Reset": {"phone": ids["phone"], "code": "12345678", "password": "s3cret-pass"},
        "sign_ins.Password": {"current_password": "wrong-password", "password": "an0ther-pass"},
        "privacy.MeErasure": {"current_password": "wrong-password"},
        "admin.GarageCreate": {"name": f"Matrix {factory.n()}", "capacity": 10},
        "admin.GarageUpdate": {"capacity": 300},
        "admin.Webhook": {"url": "http://127.0.0.1:9/hook"},
        "templates.Templates": {
            "name": f"Evening {factory.n()}",
            "weekdays": [1, 2],
            "start_time": "18:00",
            "end_time": "23:00",
            "default_quota": 5,
        },
        "templates.TemplateOne": {"default_quota": 5},
        "households.Households": {"garage_id": ids["garage_id"], "building": "9", "unit": "1", "room": "901"},
        "households.Verify": {"decision": "verified"},
        "households.Vehicles": {"plate": factory.plate()},
        "households.VehicleVerify": {"decision": "verified"},
        "households.Resubmit": {"building": "9", "unit": "1", "room": "902"},
        "households.Reopen": {"reason": "matrix"},
        "households.Addresses": {"spec": "1-2 1 101-102", "dry_run": True},
        "plate_release.VehicleRelease": {"reason": "matrix"},
        "bookings.Bookings": {"window_id": ids["window_id"], "plate": own["own_plate"]},
        "bookings.BookingNights": {"window_ids": [ids["window_id"]], "plate": own["own_plate"]},
        "bookings.BookingCancel": {},
        "gate.GateScan": {
            "garage_id": ids["garage_id"],
            "plate": ids["plate"],
            "direction": "in",
            "idempotency_key": f"matrix-{factory.n()}",
        },
        "gate.GateOfflineQueue": {
            "garage_id": ids["garage_id"],
            "device": "matrix",
            "scans": [
                {
                    "idempotency_key": f"matrix-{factory.n()}",
                    "plate": ids["plate"],
                    "direction": "in",
                    "device_time": clock.now().isoformat(),
                    "offline_result": "accepted",
                }
            ],
        },
        "gate.GateScanImage": ("multipart", {"garage_id": ids["garage_id"], "direction": "in", "idempotency_key": "m"}),
        "cameras.PlateEvents": {
            "garage_id": ids["garage_id"],
            "camera_id": ids["camera_id"],
            "event_id": f"matrix-{factory.n()}",
            "plate": ids["plate"],
            "direction": "in",
            "confidence": 0.99,
            "captured_at": clock.now().isoformat(),
        },
        "cameras.GarageCameras": {"name": f"lane {factory.n()}", "direction": "in"},
        "cameras.CameraRevoke": {},
        "cameras.PlateEventConfirm": {},
        "cameras.PlateEventDismiss": {},
        "quotas.Overrides": {
            "template_id": ids["template_id"],
            "start_date": day,
            "end_date": day,
            "quota": 5,
            "reason": "matrix",
        },
        "quotas.HolidayPreset": {"year": 2027, "quota": 5},
        "monthly.MonthlyOfferOne": {"fee": "310.00"},
        "monthly.StatementPaid": {"receipt_number": f"R{factory.n()}"},
        "monthly.Subscriptions": {"template_id": ids["template_id"], "month": "2026-12", "plate": own["own_plate"]},
        "monthly.SubscriptionRenew": {},
        "monthly.SubscriptionHandBack": {"service_date": day},
    }
    return bodies.get(endpoint)


def _page_form(endpoint: str, ids: dict[str, Any], own: dict[str, Any], factory) -> Any:
    """A page's form, valid, about the other side's objects; its CSRF token is added when sent."""
    gate = {"garage_id": ids["garage_id"], "direction": "in", "idempotency_key": f"matrix-{factory.n()}"}
    forms: dict[str, Any] = {
        "manage.verify_household": {"decision": "verified"},
        "manage.verify_vehicle": {"decision": "verified"},
        "manage.release_vehicle": {"reason": "matrix"},
        "admin_pages.set_webhook": {"url": "http://127.0.0.1:9/hook"},
        "account_settings.sms": {"sms": "off"},
        "manage_monthly.monthly_offer": {
            "fee": "310.00",
            "monthly_share": "70",
            "sale_starts_on": "2026-12-01",
            "active": "y",
        },
        "manage_monthly.monthly_paid": {"receipt_number": f"R{factory.n()}"},
        "gate_station.scan": {**gate, "plate": ids["plate"]},
        "gate_station.plate_lookup": {**gate, "province": ids["plate"][0], "plate": ids["plate"][1:]},
        "gate_station.upload": _api_body("gate.GateOfflineQueue", ids, own, factory),
        "gate_station.scan_image": ("multipart", gate),
        "resident.book": {
            "window_id": str(ids["window_id"]),
            "plate": own["own_plate"],
            "idempotency_key": f"matrix-{factory.n()}",
        },
        "resident.book_nights": {
            "window_ids": [str(ids["window_id"])],
            "plate": own["own_plate"],
            "idempotency_key": f"matrix-{factory.n()}",
        },
    }
    return forms.get(endpoint, {})


def _path(rule, method: str, ids: dict[str, Any], own: dict[str, Any] | None, page: bool) -> str:
    """The rule's path about the other side's objects (`ids`). Given `own` (a member of staff's
    side), a path that names a garage and an object of it (or sends one in its body) names the
    caller's own garage and the other side's object: the object's own check must answer."""
    values = {name: ids[name] for name in rule.arguments if name in ids}
    if (
        own is not None
        and "garage_id" in rule.arguments
        and (len(rule.arguments) > 1 or f"{method} {rule.rule}" in OBJECT_IN_BODY)
    ):
        values["garage_id"] = own["garage_id"]
    if rule.endpoint in ("households.Verify", "households.Reopen", "households.Resubmit", "manage.verify_household"):
        values["household_id"] = ids["pending_household_id"]
    if rule.endpoint in ("ballot.Draw", "manage.draw"):
        values["window_id"] = ids["ballot_window_id"]
    if rule.endpoint == "privacy.UserErasure":
        values["user_id"] = ids["erasable_id"]
    if rule.endpoint == "admin.StaffOne":
        values["user_id"] = ids["spare_staff_ids"][0]
    if rule.endpoint == "admin_pages.remove_staff":
        values["user_id"] = ids["spare_staff_ids"][1]
    if "filename" in rule.arguments:
        values["filename"] = "swagger-ui.css" if rule.endpoint == "docs_assets.asset" else "css/app.css"
    if "code" in rule.arguments:
        values["code"] = "en"
    path = rule.build(values, append_unknown=False)[1]
    if (page and not rule.arguments) or rule.endpoint in FILTERED_BY_GARAGE:
        path += ("&" if "?" in path else "?") + f"garage_id={ids['garage_id']}"
    return path


#: Routes under a garage whose body names one of its objects (a template).
OBJECT_IN_BODY = {"POST /api/v1/garages/<id:garage_id>/overrides"}

#: API lists that take a garage to filter by: asked for the other side's.
FILTERED_BY_GARAGE = {"bookings.Bookings", "audit.Audit", "households.Households"}


def _csrf(client, path: str) -> str | None:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(as_text=True))
    return found.group(1) if found else None


class Caller:
    """One caller: a bearer token for the API, a signed-in browser for the pages."""

    def __init__(self, app: Flask, factory, name: str, user) -> None:
        self.app, self.factory, self.name, self.user = app, factory, name, user
        self.sign_in()

    def sign_in(self) -> None:
        self.browser = self.app.test_client()
        self.api = self.app.test_client()
        self.headers: dict[str, str] = {}
        if self.user is not None:
            _db.session.refresh(self.user)
            self.factory.browser(self.browser, self.user)
            self.headers = self.factory.headers(self.user)
        self.csrf = _csrf(self.browser, "/login" if self.user is None else "/account") or ""

    def call(self, method: str, path: str, body: Any, page: bool):
        client = self.browser if page else self.api
        headers = {"X-CSRFToken": self.csrf, "Accept": "text/html"} if page else self.headers
        if isinstance(body, tuple):  # multipart, with a picture that is no picture
            image = FileStorage(io.BytesIO(b"\x89PNG" + b"\0" * 64), filename="photo.png")
            return client.open(path, method=method, headers=headers, data={**body[1], "image": image})
        if page and isinstance(body, dict) and "scans" in body:  # the gate page's script sends JSON
            return client.open(path, method=method, headers=headers, json=body)
        if page:
            data = {"csrf_token": self.csrf, **(body or {})} if method != "GET" else None
            return client.open(path, method=method, headers=headers, data=data)
        return client.open(path, method=method, headers=headers, json=body)

    def flashed_error(self) -> bool:
        """Whether the page that redirected said a refusal (its flash), forgetting the flashes."""
        with self.browser.session_transaction() as session:
            flashes = session.pop("_flashes", [])
        return any(category == "error" for category, _ in flashes)


def _outcome(response, refused: bool, secrets: tuple[str, ...], signed_out: bool) -> tuple[str, str]:
    """(outcome, what to print): `ok`, `login`, `refused` (a page's redirect that flashes a
    refusal), `LEAK` (an answer that shows the other side's plate or phone), or the status."""
    status = response.status_code
    if status < 300 and secrets and any(secret in response.get_data(as_text=True) for secret in secrets):
        return "LEAK", f"{status} LEAK"
    location = response.headers.get("Location", "")
    if 300 <= status < 400 and "/login" in location and not signed_out:
        return "login", "→login"
    if 300 <= status < 400 and refused:
        return "refused", f"{status} refused"
    if status < 400:
        return "ok", str(status)
    reason = ""
    if response.is_json and isinstance(response.json, dict):
        reason = " " + str(response.json.get("error", ""))
    return str(status), f"{status}{reason}"


# Routes that end the caller's own sign-in or token: the caller signs in again after them.
ENDS_SIGN_IN = {
    "sign_ins.Logout",
    "sign_ins.SignOutEverywhere",
    "account.logout",
    "account.logout_page",
    "account_settings.sign_out_everywhere",
}


#: Sign-in and reset attempts count failures per phone and address; each caller starts afresh.
SIGN_IN_ATTEMPTS = {"auth.Token", "auth.Reset", "account.login", "account.reset"}


def _requests(app: Flask):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


# -- the matrix -----------------------------------------------------------------------------------

#: For each route and method, what each caller gets, in the order of CALLERS:
#:   anonymous  resident_a  resident_b  attendant_1  attendant_2  manager_1  manager_2  admin
#: `ok` let through (2xx, or a redirect elsewhere than the sign-in page); `login` sent to sign in;
#: `refused` a page's redirect with a refusal flashed; a status: 401 sign in, 403 not allowed, 404
#: not there for this caller; 409/422/400 a rule or a form refused a caller who was let through;
#: 503 `/readyz` in tests (no migrations table). No cell may read `LEAK`.
#: Residents and staff are each shown the other side's objects, so `ok` in their columns is for
#: routes about themselves or public ones; the administrator may do anything but hold a household's
#: pass (`403` on passes, hand-back and renewal: those are the household's own).
MATRIX: dict[str, str] = {
    "GET /": "ok      ok      ok      ok      ok      ok      ok      ok",
    "GET /account": "login   ok      ok      ok      ok      ok      ok      ok",
    "POST /account/delete": "login   422     422     422     422     422     422     422",
    "GET /account/delete": "login   ok      ok      ok      ok      ok      ok      ok",
    "GET /account/export": "login   ok      ok      ok      ok      ok      ok      ok",
    "POST /account/password": "login   422     422     422     422     422     422     422",
    "GET /account/sign-out-everywhere": "login   ok      ok      ok      ok      ok      ok      ok",
    "POST /account/sign-out-everywhere": "login   ok      ok      ok      ok      ok      ok      ok",
    "GET /admin": "login   403     403     403     403     403     403     ok",
    "POST /admin/accounts/erase": "login   403     403     403     403     403     403     422",
    "GET /admin/accounts/erase": "login   403     403     403     403     403     403     ok",
    "GET /admin/garages/<id:garage_id>": "login   403     403     403     403     403     403     ok",
    "POST /admin/garages/<id:garage_id>": "login   403     403     403     403     403     403     ok",
    "POST /admin/garages/<id:garage_id>/staff": "login   403     403     403     403     403     403     422",
    "POST /admin/garages/<id:garage_id>/staff/<id:user_id>/remove": "login   403     403     403     403     403     403     ok",
    "GET /admin/garages/new": "login   403     403     403     403     403     403     ok",
    "POST /admin/garages/new": "login   403     403     403     403     403     403     422",
    "GET /api/v1/audit": "401     403     403     403     403     403     403     ok",
    "POST /api/v1/auth/logout": "401     ok      ok      ok      ok      ok      ok      ok",
    "POST /api/v1/auth/register": "ok      ok      ok      ok      ok      ok      ok      ok",
    "POST /api/v1/auth/reset": "401     401     401     401     401     401     401     401",
    "POST /api/v1/auth/token": "401     401     401     401     401     401     401     401",
    "GET /api/v1/bookings": "401     ok      ok      ok      ok      ok      ok      ok",
    "POST /api/v1/bookings": "401     403     403     403     403     403     403     403",
    "GET /api/v1/bookings/<id:booking_id>": "401     404     404     404     404     404     404     ok",
    "POST /api/v1/bookings/<id:booking_id>/cancel": "401     404     404     404     404     404     404     ok",
    "GET /api/v1/bookings/<id:booking_id>/pass": "401     404     404     404     404     404     404     403",
    "GET /api/v1/bookings/<id:booking_id>/pass.html": "401     404     404     404     404     404     404     403",
    "GET /api/v1/bookings/<id:booking_id>/pass.png": "401     404     404     404     404     404     404     403",
    "GET /api/v1/bookings/<id:booking_id>/pass.svg": "401     404     404     404     404     404     404     403",
    "POST /api/v1/bookings/batch": "401     403     403     403     403     403     403     403",
    "POST /api/v1/cameras/<id:camera_id>/revoke": "401     404     404     404     404     404     404     ok",
    "GET /api/v1/docs": "ok      ok      ok      ok      ok      ok      ok      ok",
    "GET /api/v1/docs/static/<path:filename>": "ok      ok      ok      ok      ok      ok      ok      ok",
    "POST /api/v1/garages": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages": "ok      ok      ok      ok      ok      ok      ok      ok",
    "PATCH /api/v1/garages/<id:garage_id>": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>": "ok      ok      ok      ok      ok      ok      ok      ok",
    "GET /api/v1/garages/<id:garage_id>/addresses": "ok      ok      ok      ok      ok      ok      ok      ok",
    "PUT /api/v1/garages/<id:garage_id>/addresses": "401     403     403     403     403     403     403     422",
    "GET /api/v1/garages/<id:garage_id>/cameras": "401     403     403     403     403     403     403     ok",
    "POST /api/v1/garages/<id:garage_id>/cameras": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/gate-conflicts": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/keys": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/monthly-offers": "401     ok      ok      ok      ok      ok      ok      ok",
    "GET /api/v1/garages/<id:garage_id>/occupancy": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/overrides": "401     403     403     403     403     403     403     ok",
    "POST /api/v1/garages/<id:garage_id>/overrides": "401     403     403     403     403     422     422     ok",
    "DELETE /api/v1/garages/<id:garage_id>/overrides/<id:override_id>": "401     403     403     403     403     404     404     ok",
    "POST /api/v1/garages/<id:garage_id>/overrides/holidays": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/plate-events": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/reports/nights": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/revocations": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/staff": "401     403     403     403     403     403     403     ok",
    "POST /api/v1/garages/<id:garage_id>/staff": "401     403     403     403     403     403     403     ok",
    "DELETE /api/v1/garages/<id:garage_id>/staff/<id:user_id>": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/statements": "401     403     403     403     403     403     403     ok",
    "POST /api/v1/garages/<id:garage_id>/statements/<id:statement_id>/paid": "401     403     403     403     403     404     404     ok",
    "GET /api/v1/garages/<id:garage_id>/subscriptions": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/templates": "401     403     403     403     403     403     403     ok",
    "POST /api/v1/garages/<id:garage_id>/templates": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/templates/<id:template_id>": "401     403     403     403     403     404     404     ok",
    "PATCH /api/v1/garages/<id:garage_id>/templates/<id:template_id>": "401     403     403     403     403     404     404     ok",
    "GET /api/v1/garages/<id:garage_id>/templates/<id:template_id>/monthly": "401     403     403     403     403     404     404     ok",
    "PUT /api/v1/garages/<id:garage_id>/templates/<id:template_id>/monthly": "401     403     403     403     403     404     404     ok",
    "GET /api/v1/garages/<id:garage_id>/windows": "ok      ok      ok      ok      ok      ok      ok      ok",
    "POST /api/v1/gate/plate-events": "401     401     401     401     401     401     401     401",
    "POST /api/v1/gate/scan": "401     403     403     403     403     403     403     ok",
    "POST /api/v1/gate/scan-image": "401     403     403     403     403     403     403     422",
    "POST /api/v1/gate/scans/offline": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/households": "401     403     403     403     403     ok      ok      ok",
    "POST /api/v1/households": "401     409     409     403     403     403     403     403",
    "GET /api/v1/households/<id:household_id>": "401     404     404     404     404     404     404     ok",
    "POST /api/v1/households/<id:household_id>/members": "401     404     404     404     404     404     404     ok",
    "POST /api/v1/households/<id:household_id>/reopen": "401     404     404     404     404     404     404     409",
    "POST /api/v1/households/<id:household_id>/resubmit": "401     404     404     404     404     404     404     403",
    "POST /api/v1/households/<id:household_id>/vehicles": "401     404     404     404     404     404     404     ok",
    "POST /api/v1/households/<id:household_id>/verify": "401     404     404     404     404     404     404     ok",
    "GET /api/v1/me": "401     ok      ok      ok      ok      ok      ok      ok",
    "POST /api/v1/me/erasure": "401     403     403     403     403     403     403     403",
    "GET /api/v1/me/export": "401     ok      ok      ok      ok      ok      ok      ok",
    "POST /api/v1/me/password": "401     403     403     403     403     403     403     403",
    "POST /api/v1/me/sign-out-everywhere": "401     ok      ok      ok      ok      ok      ok      ok",
    "GET /api/v1/notifications": "401     ok      ok      ok      ok      ok      ok      ok",
    "GET /api/v1/openapi.json": "ok      ok      ok      ok      ok      ok      ok      ok",
    "POST /api/v1/plate-events/<id:event_id>/confirm": "401     404     404     404     404     404     404     ok",
    "POST /api/v1/plate-events/<id:event_id>/dismiss": "401     404     404     404     404     404     404     409",
    "GET /api/v1/statements": "401     ok      ok      ok      ok      ok      ok      ok",
    "GET /api/v1/subscriptions": "401     ok      ok      ok      ok      ok      ok      ok",
    "POST /api/v1/subscriptions": "401     403     403     403     403     403     403     403",
    "GET /api/v1/subscriptions/<id:subscription_id>": "401     404     404     404     404     404     404     ok",
    "POST /api/v1/subscriptions/<id:subscription_id>/hand-back": "401     404     404     404     404     404     404     403",
    "GET /api/v1/subscriptions/<id:subscription_id>/pass": "401     404     404     404     404     404     404     403",
    "GET /api/v1/subscriptions/<id:subscription_id>/pass.png": "401     404     404     404     404     404     404     403",
    "GET /api/v1/subscriptions/<id:subscription_id>/pass.svg": "401     404     404     404     404     404     404     403",
    "POST /api/v1/subscriptions/<id:subscription_id>/renew": "401     404     404     404     404     404     404     403",
    "POST /api/v1/users/<id:user_id>/erasure": "401     403     403     403     403     403     403     ok",
    "DELETE /api/v1/users/<id:user_id>/lockout": "401     403     403     403     403     403     403     404",
    "GET /api/v1/users/<id:user_id>/lockout": "401     403     403     403     403     403     403     404",
    "POST /api/v1/users/<id:user_id>/reset-code": "401     403     403     403     403     403     403     ok",
    "POST /api/v1/vehicles/<id:vehicle_id>/release": "401     404     404     404     404     404     404     409",
    "POST /api/v1/vehicles/<id:vehicle_id>/verify": "401     404     404     404     404     404     404     ok",
    "GET /api/v1/windows/<id:window_id>/draw": "ok      ok      ok      ok      ok      ok      ok      ok",
    "GET /bookings": "login   ok      ok      403     403     403     403     ok",
    "GET /bookings/<id:booking_id>": "login   404     404     403     403     403     403     ok",
    "POST /bookings/<id:booking_id>/cancel": "login   404     404     403     403     403     403     422",
    "GET /bookings/<id:booking_id>/cancel": "login   404     404     403     403     403     403     ok",
    "GET /bookings/<id:booking_id>/pass": "login   404     404     403     403     403     403     403",
    "GET /gate": "login   403     403     403     403     403     403     ok",
    "GET /gate/lists": "login   403     403     403     403     403     403     ok",
    "GET /gate/offline-material": "login   403     403     403     403     403     403     ok",
    "POST /gate/offline-upload": "login   403     403     403     403     403     403     ok",
    "POST /gate/plate": "login   403     403     403     403     403     403     ok",
    "POST /gate/plate-events/<int:event_id>/confirm": "login   403     403     404     404     404     404     409",
    "POST /gate/plate-events/<int:event_id>/dismiss": "login   403     403     404     404     404     404     409",
    "POST /gate/scan": "login   403     403     403     403     403     403     ok",
    "POST /gate/scan-image": "login   403     403     403     403     403     403     422",
    "GET /gate/sw.js": "ok      ok      ok      ok      ok      ok      ok      ok",
    "GET /healthz": "ok      ok      ok      ok      ok      ok      ok      ok",
    "GET /home": "login   ok      ok      403     403     403     403     ok",
    "GET /household": "login   ok      ok      403     403     403     403     ok",
    "POST /household": "login   422     422     403     403     403     403     422",
    "POST /household/members": "login   422     422     403     403     403     403     ok",
    "POST /household/resubmit": "login   422     422     403     403     403     403     ok",
    "POST /household/vehicles": "login   422     422     403     403     403     403     ok",
    "POST /lang": "ok      ok      ok      ok      ok      ok      ok      ok",
    "GET /lang/<code>": "ok      ok      ok      ok      ok      ok      ok      ok",
    "GET /login": "ok      ok      ok      ok      ok      ok      ok      ok",
    "POST /login": "422     422     422     422     422     422     422     422",
    "POST /logout": "login   ok      ok      ok      ok      ok      ok      ok",
    "GET /logout": "login   ok      ok      ok      ok      ok      ok      ok",
    "GET /manage": "login   403     403     403     403     403     403     ok",
    "GET /manage/addresses": "login   403     403     403     403     403     403     ok",
    "POST /manage/addresses": "login   403     403     403     403     403     403     ok",
    "GET /manage/audit": "login   403     403     403     403     403     403     ok",
    "GET /manage/calendar": "login   403     403     403     403     403     403     ok",
    "GET /manage/draw/<id:window_id>": "login   403     403     403     403     403     403     ok",
    "GET /manage/monthly": "login   403     403     403     403     403     403     ok",
    "POST /manage/monthly/offers/<id:template_id>": "login   403     403     403     403     404     404     ok",
    "GET /manage/monthly/statements.csv": "login   403     403     403     403     403     403     ok",
    "POST /manage/monthly/statements/<id:statement_id>/paid": "login   403     403     403     403     404     404     409",
    "POST /manage/overrides": "login   403     403     403     403     403     403     422",
    "GET /manage/overrides": "login   403     403     403     403     403     403     ok",
    "POST /manage/overrides/<id:override_id>/delete": "login   403     403     403     403     404     404     404",
    "POST /manage/overrides/holidays": "login   403     403     403     403     403     403     422",
    "GET /manage/people": "login   403     403     403     403     403     403     ok",
    "POST /manage/people/<id:user_id>/lift": "login   403     403     403     403     refused refused refused",
    "POST /manage/people/<id:user_id>/reset-code": "login   403     403     403     403     refused refused ok",
    "GET /manage/reports": "login   403     403     403     403     403     403     ok",
    "GET /manage/reports/nights.csv": "login   403     403     403     403     403     403     ok",
    "POST /manage/templates": "login   403     403     403     403     403     403     422",
    "GET /manage/templates": "login   403     403     403     403     403     403     ok",
    "GET /manage/templates/<id:template_id>": "login   403     403     403     403     404     404     ok",
    "POST /manage/templates/<id:template_id>": "login   403     403     403     403     404     404     422",
    "GET /manage/verify": "login   403     403     403     403     403     403     ok",
    "POST /manage/verify/households/<id:household_id>": "login   403     403     403     403     404     404     ok",
    "POST /manage/verify/households/<id:household_id>/reopen": "login   403     403     403     403     404     404     refused",
    "POST /manage/verify/vehicles/<id:vehicle_id>": "login   403     403     403     403     404     404     ok",
    "POST /manage/verify/vehicles/<id:vehicle_id>/release": "login   403     403     403     403     404     404     ok",
    "GET /monthly": "login   ok      ok      403     403     403     403     ok",
    "POST /monthly": "login   422     422     403     403     403     403     422",
    "GET /monthly/<id:subscription_id>": "login   404     404     403     403     403     403     403",
    "POST /monthly/<id:subscription_id>/nights/<service_date>/hand-back": "login   404     404     403     403     403     403     403",
    "GET /monthly/<id:subscription_id>/nights/<service_date>/hand-back": "login   404     404     403     403     403     403     403",
    "GET /monthly/<id:subscription_id>/pass": "login   404     404     403     403     403     403     403",
    "POST /monthly/<id:subscription_id>/renew": "login   404     404     403     403     403     403     403",
    "POST /nights": "login   403     403     403     403     403     403     403",
    "GET /nights": "login   ok      ok      403     403     403     403     ok",
    "POST /nights/several": "login   403     403     403     403     403     403     403",
    "GET /notifications": "login   ok      ok      ok      ok      ok      ok      ok",
    "GET /readyz": "503     503     503     503     503     503     503     503",
    "GET /register": "ok      ok      ok      ok      ok      ok      ok      ok",
    "POST /register": "422     422     422     422     422     422     422     422",
    "GET /reset": "ok      ok      ok      ok      ok      ok      ok      ok",
    "POST /reset": "422     422     422     422     422     422     422     422",
    "GET /static/<path:filename>": "ok      ok      ok      ok      ok      ok      ok      ok",
    "GET /sw.js": "ok      ok      ok      ok      ok      ok      ok      ok",
    "POST /account/sms": "login   ok      ok      ok      ok      ok      ok      ok",
    "POST /admin/garages/<id:garage_id>/webhook": "login   403     403     403     403     403     403     ok",
    "POST /admin/garages/<id:garage_id>/webhook/remove": "login   403     403     403     403     403     403     ok",
    "DELETE /api/v1/garages/<id:garage_id>/webhook": "401     403     403     403     403     403     403     ok",
    "GET /api/v1/garages/<id:garage_id>/webhook": "401     403     403     403     403     403     403     ok",
    "PUT /api/v1/garages/<id:garage_id>/webhook": "401     403     403     403     403     403     403     ok",
    "GET /manage/deliveries": "login   403     403     403     403     403     403     ok",
    "POST /manage/deliveries/<id:delivery_id>/send-again": "login   403     403     403     403     refused refused ok",
}


def test_the_authorization_matrix(app, factory, request):
    started = wallclock.monotonic()
    sides, people = _world(app, factory)
    callers = {name: Caller(app, factory, name, person) for name, person in people.items()}
    rows: list[tuple[str, list[str]]] = []
    outcomes: list[list[str]] = []
    for rule, method in _requests(app):
        key = f"{method} {rule.rule}"
        page = not rule.rule.startswith("/api/")
        cells, got = [], []
        for name in CALLERS:
            ids, own = sides[TARGET_SIDE[name]].ids, sides[3 - TARGET_SIDE[name]].ids
            if page:
                body = _page_form(rule.endpoint, ids, own, factory) if method == "POST" else None
            else:
                body = _api_body(rule.endpoint, ids, own, factory)
                if body is None and method in ("POST", "PUT", "PATCH"):
                    body = {}
            if rule.endpoint in SIGN_IN_ATTEMPTS:
                forget_all_failures()  # each caller's try starts with no failures counted
            caller = callers[name]
            staff = name.startswith(("attendant", "manager"))
            path = _path(rule, method, ids, own if staff else None, page)
            response = caller.call(method, path, body, page)
            response.get_data()
            response.close()
            refused = page and 300 <= response.status_code < 400 and caller.flashed_error()
            # The other side's plate and phones, which no one but an administrator may read.
            readable = name == "admin" or response.mimetype.startswith("image/")
            secrets = () if readable else (ids["plate"], ids["phone"], ids["pending_phone"])
            signed_out = rule.endpoint in ENDS_SIGN_IN and caller.user is not None  # as asked
            outcome, shown = _outcome(response, refused, secrets, signed_out)
            cells.append(shown)
            got.append(outcome)
            if rule.endpoint in ENDS_SIGN_IN and caller.user is not None:
                caller.sign_in()
        rows.append((key, cells))
        outcomes.append(got)
    elapsed = wallclock.monotonic() - started
    size = f"{len(rows)} routes × {len(CALLERS)} callers = {len(rows) * len(CALLERS)} cells"
    width = max(len(key) for key, _ in rows)
    lines = [" " * width + "".join(f"{name:>15}" for name in CALLERS)]
    lines += [f"{key:<{width}}" + "".join(f"{cell[:14]:>15}" for cell in cells) for key, cells in rows]
    title = f"authorization matrix ({app.config['BACKEND']}): {size}"
    request.node.user_properties.append(("table", (title, "\n".join(lines))))
    FIGURES.append(f"authorization matrix: {size} ({app.config['BACKEND']}, asked in {elapsed:.1f} s)")
    unlisted = [key for key, _ in rows if key not in MATRIX]
    assert not unlisted, f"routes without an entry in MATRIX (add what each caller gets): {unlisted}"
    gone = sorted(set(MATRIX) - {key for key, _ in rows})
    assert not gone, f"MATRIX entries for routes that no longer exist: {gone}"
    wrong = []
    for (key, cells), got in zip(rows, outcomes, strict=True):
        expected = MATRIX[key].split()
        assert len(expected) == len(CALLERS), key
        for name, want, have, shown in zip(CALLERS, expected, got, cells, strict=True):
            if want != have:
                wrong.append(f"{key} as {name}: expected {want}, got {shown}")
    assert not wrong, "\n".join(wrong)
