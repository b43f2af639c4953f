"""The gate station `/gate` (docs/pages.md) and the JSON helpers of its script.

Every scan goes through `parking.gate.services.scan` (the function behind `POST /api/v1/gate/scan`),
a photo through `services.scan_image`, a queue judged offline through `offline_queue.upload`. The
page works without JavaScript (a plain form and POST-redirect-GET showing the last answer); the
script adds the scanner handling, tones and speech, the camera, refreshing lists and offline mode.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from babel.dates import format_skeleton
from flask import (
    Blueprint,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale

from parking import catalogue, clock
from parking.auth.models import Role, User
from parking.bookings.models import BookingStatus
from parking.errors import BadRequest, Forbidden, Unprocessable
from parking.extensions import db
from parking.garages.models import Garage, Window
from parking.gate import cameras, images, offline_queue, services, station
from parking.gate.models import Direction, Scan, ScanResult
from parking.gate.schemas import OfflineUploadSchema
from parking.i18n import get_locale
from parking.i18n import lazy_gettext as _l
from parking.passes import offline
from parking.passes.schemas import RevocationListSchema
from parking.web.forms.gate import GateScanForm, PlateEventForm, PlateLookupForm
from parking.web.pages import Outcome, actor, done, post_json, roles_required, valid_form, valid_json
from parking.web.words import hour_minute

bp = Blueprint("gate_station", __name__, template_folder="templates")

_LAST = "gate_last_scan"
_STATIC = Path(__file__).parent / "static"

WORDS: dict[str, Any] = {
    "accepted": _l("Accepted"),
    "rejected": _l("Refused"),
    "error": _l("Not checked"),
    "offline": _l("Offline"),
    "online": _l("Online"),
    **catalogue.DIRECTIONS,
    "idle": _l("Ready: scan a pass"),
    "double_read": _l("The same pass was read twice; the second read was ignored."),
    "queue": _l("Waiting to upload: %(n)s"),
    "uploaded": _l("Uploaded %(n)s offline scans."),
    "age": _l("Revocation list updated %(age)s ago"),
    "age_none": _l("No revocation list on this device yet: passes cannot be checked offline."),
    "stale": _l("The revocation list is old: connect to the network. A cancelled pass may not be caught."),
    "minutes": _l("%(n)s min"),
    "hours": _l("%(n)s h"),
    "under_minute": _l("under a minute"),
    "no_ed25519": _l(
        "This browser cannot check passes offline. When the network is down, use the plate look-up or call the manager."
    ),
    "offline_checked": _l("Offline: checked on this device; it will be uploaded later."),
    "network_error": _l("No answer from the server."),
    "no_code": _l("No QR code found yet. Hold the pass flat and closer."),
    "camera_failed": _l("The camera cannot be used here. Take a photo instead."),
    "camera_stop": _l("Stop the camera"),
    "camera_start": _l("Scan with the camera"),
    "camera_again": _l("Scan the next car"),
    "conflict": _l("The server disagrees with an offline scan"),
    "speak_accepted": _l("Accepted"),
    "speak_rejected": _l("Refused"),
}

# -- formatting -------------------------------------------------------------------------------------


def _local(instant: datetime | None, garage: Garage) -> str:
    return hour_minute(instant, garage.timezone)


def night_label(window: Window | None, garage: Garage) -> str:
    if window is None:
        return ""
    day = format_skeleton("MMMd", window.service_date, locale=str(get_locale() or "zh"))
    return str(
        _l(
            "Night of %(date)s, %(start)s to %(end)s",
            date=day,
            start=_local(window.opens_at, garage),
            end=_local(window.closes_at, garage),
        )
    )


def reason_text(reason: str | None, direction: str, **params: str) -> str:
    if reason is None:
        return str(catalogue.station_words(f"accepted_{direction}"))
    if reason == offline.NOT_YET_VALID and params.get("time"):
        return str(catalogue.station_words("not_yet_valid_at")) % {"time": params["time"]}
    if reason == offline.PLATE_MISMATCH:
        if not (params.get("seen") and params.get("plate")):
            return str(catalogue.scan_message(reason))
        return str(catalogue.station_words(reason)) % {"seen": params["seen"], "plate": params["plate"]}
    return str(catalogue.station_words(reason))


@dataclass(frozen=True)
class ScanAnswer:
    """A gate decision as the page shows it (and its script receives as JSON): word, plain reason,
    plate, night."""

    result: str
    ok: bool
    state: str
    icon: str
    reason: str | None
    word: str
    text: str
    plate: str
    direction: str
    direction_word: str
    line: str
    night: str
    booking: int | None
    offline: bool


@dataclass(frozen=True)
class ScanShown(ScanAnswer):
    """A stored scan's answer: with its id and time."""

    id: int
    at: str


@dataclass(frozen=True)
class Dismissed:
    """A camera's read dismissed: nothing was decided."""

    plate: str
    word: str
    text: str
    line: str
    result: str = "dismissed"
    ok: bool = False
    state: str = "idle"
    icon: str = "▣"
    night: str = ""
    offline: bool = False


@dataclass(frozen=True)
class Row:
    """A booking on the station's lists, its times in the garage's hours."""

    booking: int
    plate: str
    status: str
    inside: bool
    entered_at: str
    leave_by: str
    entry_from: str
    night: str


@dataclass(frozen=True)
class PendingRead:
    """A camera's doubtful plate read, waiting for the attendant."""

    id: int
    plate: str
    camera: str
    direction_word: str
    confidence: int
    at: str


@dataclass(frozen=True)
class ListsView:
    pending: list[PendingRead]
    nights: list[str]
    inside: list[Row]
    expected: list[Row]
    overstays: list[Row]
    updated: str


def result_view(scan: Scan, garage: Garage) -> ScanShown:
    """A scan as the page shows it: word, plain reason, plate, night."""
    view = answer_view(
        scan.result == ScanResult.ACCEPTED,
        scan.reason,
        scan.direction.value,
        garage,
        plate=scan.plate,
        booking_id=scan.booking_id,
        plate_seen=scan.plate_seen,
    )
    return ScanShown(**{**asdict(view), "offline": scan.offline}, id=scan.id, at=scan.at.isoformat())


def answer_view(
    ok: bool,
    reason: str | None,
    direction: str,
    garage: Garage,
    *,
    plate: str | None,
    booking_id: int | None,
    plate_seen: str | None = None,
) -> ScanAnswer:
    window = station.booking_window(booking_id)
    params = {"seen": plate_seen or "", "plate": plate or ""}
    if reason == offline.NOT_YET_VALID and window is not None:
        params["time"] = _local(window.opens_at - _early(garage), garage)
    text = reason_text(reason, direction, **params)
    return ScanAnswer(
        result="accepted" if ok else "rejected",
        ok=ok,
        state="ok" if ok else "bad",
        icon="✔" if ok else "✖",
        reason=reason,
        word=str(WORDS["accepted" if ok else "rejected"]),
        text=text,
        plate=plate or "",
        direction=direction,
        direction_word=str(WORDS[direction]),
        line=_line(ok, direction, text),
        night=night_label(window, garage),
        booking=booking_id,
        offline=False,
    )


def _line(ok: bool, direction: str, text: str) -> str:
    """The reason line: an accepted answer says the way itself ("Let the car in.")."""
    return text if ok else f"{WORDS[direction]} · {text}"


def _early(garage: Garage) -> timedelta:
    return timedelta(minutes=garage.early_entry_minutes)


def _row(entry: station.Entry, garage: Garage) -> Row:
    return Row(
        booking=entry.booking,
        plate=entry.plate,
        status=str(catalogue.status_words(entry.status).staff),
        inside=entry.inside,
        entered_at=_local(entry.entered_at, garage),
        leave_by=_local(entry.leave_by, garage),
        entry_from=_local(entry.entry_from, garage),
        night=night_label(entry.window, garage) if entry.window is not None else "",
    )


def lists_view(actor_user: User, garage_id: int, now: datetime) -> ListsView:
    found = station.lists(actor_user, garage_id, now)
    garage = found.garage
    pending = [
        PendingRead(
            id=event.id,
            plate=event.plate,
            camera=event.camera.name,
            direction_word=str(WORDS[event.direction.value]),
            confidence=round(event.confidence * 100),
            at=_local(event.captured_at, garage),
        )
        for event in cameras.pending_events(actor_user, garage_id)
    ]
    return ListsView(
        pending=pending,
        nights=[night_label(w, garage) for w in found.windows],
        inside=[_row(e, garage) for e in found.inside],
        expected=[_row(e, garage) for e in found.expected],
        overstays=[_row(e, garage) for e in found.overstays],
        updated=_local(now, garage),
    )


# -- helpers ----------------------------------------------------------------------------------------


def _garage_arg(source: Any = None) -> int:
    raw: Any = (source if source is not None else request.args).get("garage_id")
    try:
        garage_id = int(raw)
    except (TypeError, ValueError):
        raise BadRequest(_l("Choose a garage."), reason="garage_required") from None
    if garage_id < 1:
        raise BadRequest(_l("Choose a garage."), reason="garage_required")
    return garage_id


def _default_garage(garages: list[Garage]) -> Garage:
    if not garages:
        raise Forbidden(_l("You are not on the staff of any garage yet. Ask the manager to add you."))
    return garages[0]


def _page_config(garage: Garage) -> dict:
    return {
        "garage_id": garage.id,
        "revocation_max_age": current_app.config["REVOCATION_MAX_AGE_SECONDS"],
        "urls": {
            "page": url_for("gate_station.home", garage_id=garage.id),
            "scan": url_for("gate_station.scan"),
            "image": url_for("gate_station.scan_image"),
            "lists": url_for("gate_station.lists", garage_id=garage.id),
            "material": url_for("gate_station.material", garage_id=garage.id),
            "upload": url_for("gate_station.upload"),
            "worker": url_for("gate_station.service_worker"),
            "verifier": url_for("static", filename="js/gate-verify.js"),
        },
        "reasons": _station_reasons(),
        "words": {k: str(v) for k, v in WORDS.items()},
        "lang": "zh-CN" if str(get_locale() or "zh") == "zh" else "en",
        "timezone": garage.timezone,
        "speech": _speech(),
    }


def _station_reasons() -> dict[str, str]:
    return {code: str(catalogue.station_words(code)) for code in catalogue.STATION_REASONS}


def _speech() -> dict:
    """What the page says aloud: always in zh-CN, whatever the page's language."""
    with force_locale("zh"):
        return {
            "accepted": str(WORDS["accepted"]),
            "rejected": str(WORDS["rejected"]),
            "error": str(WORDS["error"]),
            "reasons": {k: v for k, v in _station_reasons().items() if "%(" not in v},
        }


# -- pages ------------------------------------------------------------------------------------------


@bp.get("/gate")
@roles_required(Role.ATTENDANT, Role.MANAGER)
def home() -> ResponseReturnValue:
    user = actor()
    now = clock.now()
    garages = station.staff_garages(user)
    garage_id = _garage_arg() if request.args.get("garage_id") else _default_garage(garages).id
    garage = next((g for g in garages if g.id == garage_id), None)
    if garage is None:
        raise Forbidden()
    direction = request.args.get("direction") if request.args.get("direction") in ("in", "out") else "in"
    form = GateScanForm(formdata=None, garage_id=garage.id, direction=direction, idempotency_key=str(uuid.uuid4()))
    return _render(user, garage, garages, form, now)


@bp.post("/gate/plate")
@roles_required(Role.ATTENDANT, Role.MANAGER)
def plate_lookup() -> ResponseReturnValue:
    """A plate looked up: the page again, with the answer at the top where a scan's goes. A POST,
    so that the plate never stands in an address; it changes nothing."""
    user, now = actor(), clock.now()
    garages = station.staff_garages(user)
    garage = next((g for g in garages if g.id == _garage_arg(request.form)), None)
    if garage is None:
        raise Forbidden()
    direction = request.form.get("direction") if request.form.get("direction") in ("in", "out") else "in"
    form = GateScanForm(formdata=None, garage_id=garage.id, direction=direction, idempotency_key=str(uuid.uuid4()))
    lookup = PlateLookupForm()
    found, status = None, 422
    if lookup.validate_on_submit():
        result = station.plate_lookup(user, garage.id, lookup.full_plate(), now)
        if result.plate is None:
            lookup.plate.errors = [*lookup.plate.errors, str(_l("This is not a valid Chinese licence plate."))]
        else:
            found, status = plate_answer(result, garage), 200
    if found is None:
        found = refused_lookup(lookup)
    return _render(user, garage, garages, form, now, status, lookup=lookup, found=found)


def refused_lookup(lookup: PlateLookupForm) -> PlateAnswer:
    """A look-up refused (no plate, or not a plate) answers at the top too, where the attendant
    looks: the field's own message in red, and no button; the scan field keeps the focus."""
    said = [str(m) for item in lookup for m in (item.errors or []) if item.type != "CSRFTokenField"]
    typed = f"{lookup.province.data or ''}{lookup.plate.data or ''}".strip()
    return PlateAnswer(
        plate=typed,
        word=said[0] if said else str(_l("Enter a plate to look up.")),
        state="bad",
        bookings=[],
        let_in=False,
        let_out=False,
        key_in="",
        key_out="",
    )


@dataclass(frozen=True)
class PlateAnswer:
    """A plate's answer as the top of the page shows it, with the buttons it offers."""

    plate: str
    word: str
    state: str
    bookings: list[Row]
    let_in: bool
    let_out: bool
    key_in: str
    key_out: str


def plate_answer(result: station.PlateFound, garage: Garage) -> PlateAnswer:
    """A plate's answer as the top of the page shows it. Let in is offered only for a booking that
    holds its space and is not inside; let out only for a car inside; an unknown plate gets
    neither (the scan the button makes is judged by the gate service all the same)."""
    assert result.plate is not None
    rows = [_row(e, garage) for e in result.bookings]
    let_in = any(e.status == BookingStatus.CONFIRMED and not e.inside for e in result.bookings)
    let_out = any(e.inside for e in result.bookings)
    if let_in:
        word = str(_l("Booked tonight"))
    elif let_out:
        word = str(_l("Inside now"))
    elif rows:
        word = rows[0].status  # cancelled, waitlisted...: the booking's own state
    else:
        word = str(_l("No booking tonight"))
    return PlateAnswer(
        plate=result.plate,
        word=word,
        state="ok" if let_in or let_out else "bad",
        bookings=rows,
        let_in=let_in,
        let_out=let_out,
        key_in=str(uuid.uuid4()),
        key_out=str(uuid.uuid4()),
    )


def _render(
    user: User,
    garage: Garage,
    garages: list[Garage],
    form: GateScanForm,
    now: datetime,
    status: int = 200,
    lookup: PlateLookupForm | None = None,
    found: PlateAnswer | None = None,
) -> ResponseReturnValue:
    last = None
    last_id = session.pop(_LAST, None)
    if isinstance(last_id, int):
        scan = station.scan_of(user, garage.id, last_id)
        if scan is not None:
            last = result_view(scan, garage)
    return (
        render_template(
            "gate/home.html",
            garage=garage,
            garages=garages,
            form=form,
            last=None if found else last,
            lookup=lookup or PlateLookupForm(formdata=None),
            found=found,
            lists=lists_view(user, garage.id, now),
            config=_page_config(garage),
        ),
        status,
    )


@bp.post("/gate/scan")
@roles_required(Role.ATTENDANT, Role.MANAGER)
def scan() -> ResponseReturnValue:
    """One scan, by pass or by plate: JSON for the page script, POST-redirect-GET for a plain form."""
    load = valid_form(GateScanForm)
    user = actor()
    now = clock.now()

    def again(status: int) -> ResponseReturnValue:
        form = load.form
        garages = station.staff_garages(user)
        garage = next((g for g in garages if g.id == form.garage_id.data), None) or _default_garage(garages)
        form.idempotency_key.data = str(uuid.uuid4())
        return _render(user, garage, garages, form, now, status=status)

    def shown(stored: Scan) -> Outcome:
        session[_LAST] = stored.id
        return Outcome(url_for("gate_station.home", garage_id=stored.garage_id, direction=load.form.direction.data))

    return post_json(
        load,
        lambda form: services.scan(
            user,
            form.garage_id.data,
            direction=Direction(form.direction.data),
            idempotency_key=form.idempotency_key.data,
            now=now,
            token=form.token.data or None,
            plate=form.plate.data or None,
            device="web",
        ),
        _scan_answer,
        then=shown,
        page=again,
    )


def _scan_answer(stored: Scan) -> ScanShown:
    garage = db.session.get(Garage, stored.garage_id)
    assert garage is not None
    return result_view(stored, garage)


def _image_asked() -> tuple[int, Direction, str, bytes]:
    """What a photo's POST asks: the garage, the way, the key and the picture's bytes."""
    form = request.form
    garage_id = _garage_arg(form)
    direction = form.get("direction")
    key = form.get("idempotency_key") or ""
    upload = request.files.get("image")
    if direction not in ("in", "out") or not key or len(key) > 64 or upload is None:
        raise Unprocessable(_l("Some fields are not valid."), reason="validation_error")
    try:
        image = upload.read()
    finally:
        upload.close()
    return garage_id, Direction(direction), key, image


@bp.post("/gate/scan-image")
@images.limit_body(images.MAX_IMAGE_BYTES)
@roles_required(Role.ATTENDANT, Role.MANAGER)
def scan_image() -> ResponseReturnValue:
    """A photo or a camera frame of a pass: the server reads its QR code and scans it, as
    `POST /api/v1/gate/scan-image` does. No code in the picture: a 422 and nothing recorded."""
    return post_json(
        _image_asked,
        lambda asked: services.scan_image(
            actor(), asked[0], asked[3], direction=asked[1], idempotency_key=asked[2], now=clock.now(), device="web"
        ),
        _scan_answer,
    )


def _event_answer(answer: cameras.BarrierAnswer, garage: Garage, direction: str) -> ScanAnswer | Dismissed:
    if answer.reason == "dismissed":
        said = str(_l("Dismissed: nothing was decided."))
        return Dismissed(plate=answer.plate, word=str(WORDS["idle"]), text=said, line=said)
    return answer_view(answer.open, answer.reason, direction, garage, plate=answer.plate, booking_id=answer.booking)


def _event_view(event_id: int, answer: cameras.BarrierAnswer) -> tuple[int, ScanAnswer | Dismissed]:
    """The garage of a camera's read, and the answer as the page shows it."""
    garage, direction = station.event_place(event_id)
    return garage.id, _event_answer(answer, garage, direction)


def _event_outcome(garage_id: int, view: ScanAnswer | Dismissed) -> Outcome:
    """The answer without JavaScript: said at the top of the gate page."""
    return done(
        url_for("gate_station.home", garage_id=garage_id),
        f"{view.word} {view.plate} · {view.line}",
        "success" if view.ok else "warning",
    )


@bp.post("/gate/plate-events/<int:event_id>/confirm")
@roles_required(Role.ATTENDANT, Role.MANAGER)
def confirm_event(event_id: int) -> ResponseReturnValue:
    """The attendant confirms (or corrects) a camera's doubtful plate read; it is then judged."""
    return post_json(
        valid_form(
            PlateEventForm,
            lambda: Unprocessable(_l("This is not a valid Chinese licence plate."), reason="invalid_plate"),
        ),
        lambda form: cameras.confirm(actor(), event_id, clock.now(), plate=form.plate.data or None),
        lambda answer: _event_view(event_id, answer)[1],
        then=lambda answer: _event_outcome(*_event_view(event_id, answer)),
    )


@bp.post("/gate/plate-events/<int:event_id>/dismiss")
@roles_required(Role.ATTENDANT, Role.MANAGER)
def dismiss_event(event_id: int) -> ResponseReturnValue:
    """Not a car, or not readable: the camera's read is dismissed and nothing is decided."""
    return post_json(
        valid_form(PlateEventForm, BadRequest),
        lambda _form: cameras.dismiss(actor(), event_id, clock.now(), reason="dismissed at the gate page"),
        lambda answer: _event_view(event_id, answer)[1],
        then=lambda answer: _event_outcome(*_event_view(event_id, answer)),
    )


@bp.get("/gate/lists")
@roles_required(Role.ATTENDANT, Role.MANAGER)
def lists() -> ResponseReturnValue:
    """The three lists, rendered as on the page, for the script to swap in every 20 seconds."""
    view = lists_view(actor(), _garage_arg(), clock.now())
    return jsonify(
        {
            "html": render_template("gate/_lists.html", lists=view),
            "counts": {k: len(getattr(view, k)) for k in ("inside", "expected", "overstays", "pending")},
        }
    )


@bp.get("/gate/offline-material")
@roles_required(Role.ATTENDANT, Role.MANAGER)
def material() -> ResponseReturnValue:
    """The garage's public keys and revocation list, with the server's clock."""
    found = station.offline_material(actor(), _garage_arg(), clock.now())
    # The API's own shape (ISO instants, also of the monthly passes' revoked nights), which
    # offline.load_revocations and the page's verifier read.
    return jsonify(
        {
            "garage_id": found.garage_id,
            "server_time": found.server_time.isoformat(),
            "jwks": found.jwks,
            "revocations": RevocationListSchema().dump(found.revocations),
        }
    )


@bp.post("/gate/offline-upload")
@roles_required(Role.ATTENDANT, Role.MANAGER)
def upload() -> ResponseReturnValue:
    """The scans this page judged offline, each recorded once by the server at its device time."""
    return post_json(
        valid_json(OfflineUploadSchema()),
        lambda data: (
            data["garage_id"],
            offline_queue.upload(actor(), data["garage_id"], data["device"], data["scans"], clock.now()),
        ),
        lambda uploaded: _uploaded(*uploaded),
    )


def _uploaded(garage_id: int, answers: list[offline_queue.OfflineAnswer | offline_queue.UnrecordedScan]) -> dict:
    """The queue's answers for the page's script: each in words, its device time in the garage's hours."""
    garage = db.session.get(Garage, garage_id)
    assert garage is not None
    out = []
    for answer in answers:
        if isinstance(answer, offline_queue.OfflineAnswer):
            direction, conflict_message = answer.direction.value, answer.conflict_message
        else:  # not recorded: its key was another scan's
            direction, conflict_message = "in", None
        out.append(
            {
                "idempotency_key": answer.idempotency_key,
                "recorded": answer.recorded,
                "result": answer.result.value,
                "reason": answer.reason,
                "text": reason_text(answer.reason, direction, plate=answer.plate or ""),
                "conflict": answer.conflict,
                "conflict_text": str(conflict_message) if conflict_message else None,
                "plate": answer.plate,
                "device_time": _local(answer.device_time, garage),
            }
        )
    return {"garage_id": garage.id, "scans": out}


@bp.get("/gate/sw.js")
def service_worker() -> ResponseReturnValue:
    """The service worker that keeps /gate and its files for a reload without network."""
    response = make_response((_STATIC / "js" / "gate-sw.js").read_bytes())
    response.mimetype = "text/javascript"
    response.headers["Service-Worker-Allowed"] = "/gate"
    response.headers["Cache-Control"] = "no-cache"
    return response
