"""Pass signing keys, issuing passes, rendering them, and the offline material.

Private keys live only in the `pass_keys` table, encrypted with a Fernet key derived by HKDF from
the app's SECRET_KEY (or PASS_KEY_SECRET when set), and are decrypted here only to sign. They are
never logged, returned, audited or shown in a repr. Losing SECRET_KEY makes the stored keys
unusable: rotate (`flask passes rotate-key --garage ID`) and re-issue.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy.exc import IntegrityError

from parking.audit.services import record
from parking.auth.access import require_gate_staff
from parking.auth.models import User
from parking.bookings import next_steps
from parking.bookings.admission import pass_validity
from parking.bookings.models import SPACE_HOLDING, Booking
from parking.bookings.next_steps import can_view
from parking.errors import Conflict, Forbidden, NotFound
from parking.extensions import db
from parking.garages.admin_services import create_garage
from parking.i18n import lazy_gettext as _l
from parking.monthly.models import Subscription
from parking.monthly.months import month_text
from parking.monthly.subscriptions import own_subscription
from parking.passes import offline
from parking.passes.models import Pass, PassKey
from parking.windows.models import Garage, Window
from parking.windows.services import get_garage

_HKDF_INFO = b"tidal-parking pass signing keys v1"


class NoSpaceHeld(Conflict):
    reason, message = "no_space_held", _l("This booking holds no space, so it has no pass.")


# -- keys ------------------------------------------------------------------------------------------


def _fernet() -> Fernet:
    secret = current_app.config.get("PASS_KEY_SECRET") or current_app.config["SECRET_KEY"]
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def new_key(garage_id: int, now: datetime) -> PassKey:
    """A new Ed25519 signing key for the garage, its private half encrypted (not yet added)."""
    private = Ed25519PrivateKey.generate()
    public_raw = private.public_key().public_bytes_raw()
    private_raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return PassKey(
        garage_id=garage_id,
        kid=offline.key_id(public_raw),
        public_key=public_raw,
        private_key_encrypted=_fernet().encrypt(private_raw),
        created_at=now,
    )


def _active(garage_id: int) -> PassKey | None:
    return db.session.scalar(db.select(PassKey).where(PassKey.garage_id == garage_id, PassKey.retired_at.is_(None)))


def active_key(garage_id: int, now: datetime) -> PassKey:
    """The garage's signing key. A garage gets it when it is opened (`open_garage`); a garage made
    before that (or by hand) gets it on first use, once. Two first uses at once make one key: the
    partial unique index refuses the second and the loser reads the winner's."""
    key = _active(garage_id)
    if key is not None:
        return key
    key = new_key(garage_id, now)
    try:
        with db.session.begin_nested():
            db.session.add(key)
    except IntegrityError:
        winner = _active(garage_id)
        assert winner is not None
        return winner
    record(None, "pass_key.created", key, after={"kid": key.kid}, at=now)
    return key


def open_garage(data: dict, actor: User, now: datetime) -> Garage:
    """A new garage with its first signing key, so that showing its first pass writes nothing."""
    garage = create_garage(data, actor, now)
    active_key(garage.id, now)
    return garage


def rotate_key(garage_id: int, now: datetime, actor: User | None = None) -> PassKey:
    """A new signing key for the garage; the old one is retired but stays published while passes
    it signed can still be used."""
    get_garage(garage_id)
    old = db.session.scalar(
        db.select(PassKey).where(PassKey.garage_id == garage_id, PassKey.retired_at.is_(None)).with_for_update()
    )
    if old is not None:
        old.retired_at = now
        db.session.flush()
        record(actor, "pass_key.retired", old, before={"kid": old.kid}, after={"retired_at": now}, at=now)
    key = new_key(garage_id, now)
    db.session.add(key)
    db.session.flush()
    record(actor, "pass_key.created", key, after={"kid": key.kid}, reason="rotation", at=now)
    return key


def _private(key: PassKey) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_fernet().decrypt(key.private_key_encrypted))


def sign_with(key: PassKey, claims: offline.PassClaims | offline.SubscriptionClaims) -> str:
    """A token signed by the garage's key (the private half is decrypted only here)."""
    return offline.sign(claims, _private(key))


def published_keys(garage_id: int, now: datetime) -> list[PassKey]:
    """The active key and every retired key with a pass that can still be used: a pass stored
    when it was first shown (before passes were signed when shown), or a booking whose pass could
    have been shown while that key signed (a token is signed by the key active when shown)."""
    stored = sa.exists().where(Pass.kid == PassKey.kid, Pass.not_after > now)
    shown = sa.exists().where(
        Booking.garage_id == PassKey.garage_id,
        Booking.pass_not_after > now,
        Booking.confirmed_at <= PassKey.retired_at,
    )
    return list(
        db.session.scalars(
            db.select(PassKey)
            .where(PassKey.garage_id == garage_id, sa.or_(PassKey.retired_at.is_(None), stored, shown))
            .order_by(PassKey.id)
        )
    )


class ServerKeys(Mapping[str, offline.PublicKey]):
    """The database's public keys as the mapping `offline.verify` reads. A key id names one public
    key forever (it is derived from it), so loaded keys are cached for the process."""

    _cache: dict[str, offline.PublicKey] = {}
    _CACHE_SIZE = 1024

    def __getitem__(self, kid: str) -> offline.PublicKey:
        cached = self._cache.get(kid)
        if cached is not None:
            return cached
        row = db.session.execute(
            db.select(PassKey.garage_id, PassKey.public_key).where(PassKey.kid == kid)
        ).one_or_none()
        if row is None:
            raise KeyError(kid)
        public = offline.PublicKey(
            kid, row.garage_id, offline.Ed25519PublicKey.from_public_bytes(bytes(row.public_key))
        )
        if len(self._cache) >= self._CACHE_SIZE:
            self._cache.clear()
        self._cache[kid] = public
        return public

    def __iter__(self) -> Iterator[str]:
        return iter(db.session.scalars(db.select(PassKey.kid)))

    def __len__(self) -> int:
        return db.session.scalar(db.select(sa.func.count()).select_from(PassKey)) or 0


def jwks(actor: User, garage_id: int, now: datetime) -> dict:
    """`GET /garages/{id}/keys`: the garage's public keys as a JWKS, for its staff."""
    require_gate_staff(actor, garage_id)
    keys = published_keys(garage_id, now)
    return {"garage_id": garage_id, "keys": [offline.to_jwk(k.kid, bytes(k.public_key)) for k in keys]}


@dataclass(frozen=True)
class RevokedNight:
    """A night of a monthly pass that holds no space any more, and the pass's validity then."""

    subscription_id: int
    service_date: date
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class RevocationList:
    """What a gate device refuses offline (`RevocationListSchema` is its JSON)."""

    generated_at: datetime
    garage_id: int
    booking_ids: list[int]
    subscription_nights: list[RevokedNight]


def revocations(actor: User, garage_id: int, now: datetime) -> RevocationList:
    """`GET /garages/{id}/revocations`: bookings that held a space (so have a pass) and no longer
    hold one while the pass could still be used; and the nights of monthly passes that no longer
    hold a space (handed back, bumped, not used) while they could still be used."""
    require_gate_staff(actor, garage_id)
    not_holding = Booking.status.not_in(SPACE_HOLDING)
    written = db.select(Booking.id).where(
        Booking.garage_id == garage_id,
        Booking.subscription_id.is_(None),  # a monthly night's pass is its month's
        Booking.pass_not_after > now,
        not_holding,
    )
    stored = (
        db.select(Booking.id)
        .join(Pass, Pass.booking_id == Booking.id)
        .where(Pass.garage_id == garage_id, Pass.not_after > now, not_holding)
    )
    ids = sorted(set(db.session.scalars(written)) | set(db.session.scalars(stored)))
    return RevocationList(now, garage_id, ids, revoked_nights(garage_id, now))


# -- passes ----------------------------------------------------------------------------------------


#: [not_before, not_after) of a night's pass: the window with the early-entry and exit graces.
validity = pass_validity


def unix_seconds(instant: datetime) -> int:
    return int(instant.timestamp())


@dataclass(frozen=True)
class ShownPass:
    """A pass as shown: its token signed now, from what was written with its booking."""

    booking_id: int | None
    subscription_id: int | None
    token: str
    not_before: datetime
    not_after: datetime
    kid: str

    @classmethod
    def stored(cls, row: Pass) -> ShownPass:
        return cls(row.booking_id, row.subscription_id, row.token, row.not_before, row.not_after, row.kid)


_STORED_OF_BOOKING = db.select(Pass).where(Pass.booking_id == sa.bindparam("booking_id"))
_STORED_OF_SUBSCRIPTION = db.select(Pass).where(Pass.subscription_id == sa.bindparam("subscription_id"))


def _own_booking(actor: User, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_view(actor, booking):
        raise NotFound()
    if actor.household_id != booking.household_id:
        raise Forbidden()  # staff see the booking, but the pass is the household's
    return booking


def issue(actor: User, booking_id: int, now: datetime) -> ShownPass:
    """The pass that admits the booking's car, for the household's members while it holds a space.

    The one issuer for any entitlement: a single night's pass, or, for a monthly night, its
    month's pass (a night's own pass issued before stays valid for its night; none is issued any
    more). The nonce and the validity were written with the booking; the token is signed now with
    the garage's active key (Ed25519 is deterministic), so showing a pass writes nothing. A pass
    stored when it was first shown, before, is shown as it was."""
    booking = _own_booking(actor, booking_id)
    if not next_steps.shows_pass(booking):
        raise NoSpaceHeld(details={"status": booking.status.value})
    if booking.subscription_id is not None:
        return issue_month(actor, booking.subscription_id, now)
    stored = db.session.scalar(_STORED_OF_BOOKING, {"booking_id": booking.id})
    if stored is not None:
        return ShownPass.stored(stored)
    if booking.pass_nonce is None or booking.pass_not_before is None or booking.pass_not_after is None:
        # Took its space before passes were written with their bookings: written now, once.
        booking.pass_nonce = offline.new_nonce()
        booking.pass_not_before, booking.pass_not_after = validity(booking.window, booking.window.garage)
        db.session.flush()
    key = active_key(booking.garage_id, now)
    claims = offline.PassClaims(
        offline.VERSION,
        key.kid,
        booking.id,
        booking.garage_id,
        booking.plate,
        unix_seconds(booking.pass_not_before),
        unix_seconds(booking.pass_not_after),
        booking.pass_nonce,
    )
    return ShownPass(booking.id, None, sign_with(key, claims), booking.pass_not_before, booking.pass_not_after, key.kid)


@dataclass(frozen=True)
class PassPage:
    """What the printable pass page of a night shows: the night's times in the garage's time, and
    the QR code of the pass that admits it (a monthly night's is its month's)."""

    booking: Booking
    garage: Garage
    plate: str
    service_date: date
    opens_local: datetime
    closes_local: datetime
    not_before_local: datetime
    not_after_local: datetime
    svg: str


def pass_page(actor: User, booking_id: int, now: datetime) -> PassPage:
    shown = issue(actor, booking_id, now)
    booking = _own_booking(actor, booking_id)
    window, garage = booking.window, booking.window.garage
    zone = ZoneInfo(garage.timezone)
    not_before, not_after = validity(window, garage)
    return PassPage(
        booking=booking,
        garage=garage,
        plate=booking.plate,
        service_date=window.service_date,
        opens_local=window.opens_at.astimezone(zone),
        closes_local=window.closes_at.astimezone(zone),
        not_before_local=not_before.astimezone(zone),
        not_after_local=not_after.astimezone(zone),
        svg=inline_svg(shown.token),
    )


# -- the month's pass ------------------------------------------------------------------------------


def _night_admits(garage: Garage, now: datetime) -> sa.ColumnElement[bool]:
    """The pass rule of a monthly night: it holds its space and its validity (the window with the
    exit grace) has not ended. What the month's pass admits, and whether the month has a pass."""
    return sa.and_(
        Booking.status.in_(SPACE_HOLDING),
        Window.closes_at > now - timedelta(minutes=garage.exit_grace_minutes),
    )


def months_with_pass(garage: Garage, subscription_ids: list[int], now: datetime) -> set[int]:
    """Which of these subscriptions (of one garage) have a pass to show now."""
    if not subscription_ids:
        return set()
    return set(
        db.session.scalars(
            db.select(Booking.subscription_id)
            .join(Window, Window.id == Booking.window_id)
            .where(Booking.subscription_id.in_(subscription_ids), _night_admits(garage, now))
            .distinct()
        )
    )


def issue_month(actor: User, subscription_id: int, now: datetime) -> ShownPass:
    """The subscription's one pass, while one of its nights admits (`_night_admits`). It carries
    the month's nonce, written with the subscription, and the nights booked then (a night given
    up later is revoked: `revoked_nights`); signed now, so showing it writes nothing."""
    subscription = own_subscription(actor, subscription_id)
    garage: Garage = subscription.template.garage
    if subscription.id not in months_with_pass(garage, [subscription.id], now):
        raise NoSpaceHeld(details={"subscription_id": subscription.id})
    stored = db.session.scalar(_STORED_OF_SUBSCRIPTION, {"subscription_id": subscription.id})
    if stored is not None:
        return ShownPass.stored(stored)
    if subscription.pass_nonce is None:  # made before passes were written with their bookings: once
        subscription.pass_nonce = offline.new_nonce()
        db.session.flush()
    nights = db.session.execute(
        db.select(Booking, Window)
        .join(Window, Window.id == Booking.window_id)
        .where(Booking.subscription_id == subscription.id)
        .order_by(Window.service_date)
    ).all()
    first = nights[0][1].service_date
    spans = []
    for booking, window in nights:
        start, end = (
            (booking.pass_not_before, booking.pass_not_after)
            if booking.pass_not_before is not None and booking.pass_not_after is not None
            else validity(window, garage)
        )
        spans.append(((window.service_date - first).days, unix_seconds(start), unix_seconds(end)))
    not_before, not_after, span, mask = offline.subscription_window(spans)
    key = active_key(garage.id, now)
    claims = offline.SubscriptionClaims(
        offline.VERSION,
        key.kid,
        subscription.id,
        garage.id,
        subscription.plate,
        not_before,
        not_after,
        subscription.pass_nonce,
        span,
        mask,
    )
    return ShownPass(
        None,
        subscription.id,
        sign_with(key, claims),
        datetime.fromtimestamp(not_before, UTC),
        datetime.fromtimestamp(not_after, UTC),
        key.kid,
    )


@dataclass(frozen=True)
class MonthPassPage:
    """What the month's pass page shows: the month, its validity in the garage's time, the QR code."""

    subscription: Subscription
    garage: Garage
    plate: str
    month: str
    opens_local: datetime
    closes_local: datetime
    svg: str
    token: str


def month_pass_page(actor: User, subscription_id: int, now: datetime) -> MonthPassPage:
    shown = issue_month(actor, subscription_id, now)
    subscription = db.session.get(Subscription, subscription_id)
    assert subscription is not None
    garage = subscription.template.garage
    zone = ZoneInfo(garage.timezone)
    return MonthPassPage(
        subscription=subscription,
        garage=garage,
        plate=subscription.plate,
        month=month_text(subscription.month),
        opens_local=shown.not_before.astimezone(zone),
        closes_local=shown.not_after.astimezone(zone),
        svg=inline_svg(shown.token),
        token=shown.token,
    )


def revoked_nights(garage_id: int, now: datetime) -> list[RevokedNight]:
    """Nights of the garage's monthly passes that hold no space any more (handed back, bumped,
    not used) and could still be used: a device refuses the month's pass during them."""
    garage = db.session.get(Garage, garage_id)
    if garage is None:
        return []
    grace = timedelta(minutes=garage.exit_grace_minutes)
    rows = db.session.execute(
        db.select(Booking.subscription_id, Window)
        .join(Window, Window.id == Booking.window_id)
        .where(
            Booking.garage_id == garage_id,
            Booking.subscription_id.is_not(None),
            Booking.status.not_in(SPACE_HOLDING),
            Window.closes_at > now - grace,
        )
        .order_by(Booking.subscription_id, Window.service_date)
    ).all()
    out = []
    for subscription_id, window in rows:
        start, end = validity(window, garage)
        if end > now:
            out.append(RevokedNight(subscription_id, window.service_date, start, end))
    return out


# -- rendering -------------------------------------------------------------------------------------


def qr(token: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(token)
    code.make(fit=True)
    return code


@functools.lru_cache(maxsize=512)
def render_png(token: str) -> bytes:
    """The pass as a PNG; cached by token (a pass never changes, so neither does its picture)."""
    buffer = io.BytesIO()
    qr(token).make_image().save(buffer)
    return buffer.getvalue()


def inline_svg(token: str) -> str:
    """The SVG without its XML declaration, to sit inside an HTML page."""
    text = render_svg(token).decode()
    return text[text.find("<svg") :]


@functools.lru_cache(maxsize=512)
def render_svg(token: str) -> bytes:
    buffer = io.BytesIO()
    qr(token).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return buffer.getvalue()
