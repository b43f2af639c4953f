"""A garage's webhook to its operator's SMS or WeChat gateway: set by an admin (page and API), the
secret generated here, shown once and stored encrypted (so that the delivery pass can sign with it),
never returned afterwards. Loopback and private addresses are allowed: gateways live on the
operator's network. Only http and https."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from parking.audit.services import record
from parking.auth.access import require_staff
from parking.auth.models import Role, User
from parking.errors import NotFound, Unprocessable
from parking.extensions import db
from parking.i18n import lazy_gettext as _l
from parking.notifications.models import GarageWebhook
from parking.windows.models import Garage

_HKDF_INFO = b"tidal-parking garage webhook secrets v1"


class InvalidWebhookUrl(Unprocessable):
    reason, message, field = (
        "invalid_webhook_url",
        _l("Give the gateway's address as http://… or https://…"),
        "url",
    )


@dataclass(frozen=True)
class WebhookSettings:
    """What may be shown of a garage's webhook: never the secret."""

    garage_id: int
    url: str | None
    set_at: datetime | None


@dataclass(frozen=True)
class WebhookSet:
    """The answer to setting a webhook: the secret, this once."""

    garage_id: int
    url: str
    secret: str
    set_at: datetime


def seal(secret: str) -> bytes:
    """A gateway secret sealed as it is stored (the key derived from SECRET_KEY)."""
    return _fernet().encrypt(secret.encode())


def _fernet() -> Fernet:
    secret = current_app.config.get("PASS_KEY_SECRET") or current_app.config["SECRET_KEY"]
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500 or parts.username:
        raise InvalidWebhookUrl()
    return url


def webhook_settings(garage_id: int, actor: User) -> WebhookSettings:
    require_staff(actor, garage_id, Role.ADMIN)
    hook = db.session.get(GarageWebhook, garage_id)
    return WebhookSettings(garage_id, hook.url if hook else None, hook.set_at if hook else None)


def set_webhook(garage_id: int, url: str, actor: User, now: datetime) -> WebhookSet:
    """Point the garage's notifications at `url` with a new secret (returned this once). Messages
    created from now on go through it; an earlier backlog is not sent all at once."""
    require_staff(actor, garage_id, Role.ADMIN)
    if db.session.get(Garage, garage_id) is None:
        raise NotFound()
    url = check_url(url)
    secret = secrets.token_urlsafe(32)
    hook = db.session.get(GarageWebhook, garage_id)
    before = {"url": hook.url} if hook else None
    if hook is None:
        hook = GarageWebhook(garage_id=garage_id)
        db.session.add(hook)
    hook.url, hook.secret_encrypted, hook.set_at = url, _fernet().encrypt(secret.encode()), now
    db.session.flush()
    garage = db.session.get(Garage, garage_id)
    record(actor, "garage.webhook_set", garage, before=before, after={"url": url}, garage_id=garage_id, at=now)
    return WebhookSet(garage_id, url, secret, now)


def remove_webhook(garage_id: int, actor: User, now: datetime) -> WebhookSettings:
    """No gateway: notifications stay in-app; what was still waiting is not sent."""
    require_staff(actor, garage_id, Role.ADMIN)
    hook = db.session.get(GarageWebhook, garage_id)
    if hook is not None:
        record(
            actor,
            "garage.webhook_removed",
            db.session.get(Garage, garage_id),
            before={"url": hook.url},
            garage_id=garage_id,
            at=now,
        )
        db.session.delete(hook)
        db.session.flush()
    return WebhookSettings(garage_id, None, None)


def signing_secret(hook: GarageWebhook) -> bytes:
    return _fernet().decrypt(hook.secret_encrypted)
