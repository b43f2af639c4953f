"""`flask passes rotate-key --garage ID` and `flask passes verify TOKEN --keys … --revocations …`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from parking.passes import offline

passes_cli = AppGroup("passes", help="Pass signing keys and offline verification.")


@passes_cli.command("rotate-key")
@click.option("--garage", "garage_id", type=int, required=True, help="garage id")
def rotate_key_command(garage_id: int) -> None:
    """Add a new signing key for a garage; the old one stays published while its passes live."""
    from parking import clock
    from parking.errors import DomainError
    from parking.extensions import db
    from parking.passes.services import rotate_key

    try:
        key = rotate_key(garage_id, clock.now())
    except DomainError as exc:
        raise click.ClickException(f"garage {garage_id}: {exc.reason}") from exc
    db.session.commit()
    click.echo(f"garage {garage_id}: new signing key {key.kid}")


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {what}: {exc}") from exc


@passes_cli.command("verify")
@click.argument("token")
@click.option("--keys", "keys_paths", multiple=True, required=True, help="JWKS file from GET /garages/{id}/keys")
@click.option("--revocations", "revocations_path", required=True, help="file from GET /garages/{id}/revocations")
@click.option("--garage", "garage_id", type=int, default=None, help="the gate's garage (default: from the key file)")
@click.option("--at", "at_text", default=None, help="judge as if at this ISO 8601 instant (default: now)")
@click.option("--max-age", type=int, default=None, help="seconds before the revocation list is stale")
@click.option("--direction", type=click.Choice([offline.IN, offline.OUT]), default=offline.IN)
@click.option("--plate-seen", default=None, help="the plate the attendant reads on the car")
def verify_command(
    token: str,
    keys_paths: tuple[str, ...],
    revocations_path: str,
    garage_id: int | None,
    at_text: str | None,
    max_age: int | None,
    direction: str,
    plate_seen: str | None,
) -> None:
    """Decide on a pass from public material alone, as the gate would. Exit status 0: accepted."""
    from parking import clock, plates

    keys: dict[str, offline.PublicKey] = {}
    file_garages = []
    for path in keys_paths:
        document = _read_json(path, "keys")
        try:
            keys.update(offline.load_jwks(document))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--keys") from exc
        if isinstance(document.get("garage_id"), int):
            file_garages.append(document["garage_id"])
    try:
        revocations = offline.load_revocations(_read_json(revocations_path, "revocations"))
        at = offline.parse_instant(at_text) if at_text else clock.now()
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if garage_id is None:
        garage_id = file_garages[0] if file_garages else revocations.garage_id
    if max_age is None:
        max_age = current_app.config["REVOCATION_MAX_AGE_SECONDS"]

    if revocations.garage_id is not None and garage_id is not None and revocations.garage_id != garage_id:
        click.echo(f"warning: the revocation list is for garage {revocations.garage_id}, not {garage_id}", err=True)
    age = revocations.age_seconds(at)
    if revocations.is_stale(at, max_age):
        click.echo(f"warning: the revocation list is {int(age)} s old (max {max_age} s): fetch a new one", err=True)
    seen = plates.normalise(plate_seen) if plate_seen else None
    decision = offline.verify(
        token,
        keys,
        garage_id=garage_id,
        at=at,
        revoked=revocations.booking_ids,
        direction=direction,
        plate_seen=seen,
        revoked_nights=revocations.subscription_nights,
    )
    claims = decision.claims or decision.subscription
    trusted = claims is not None and decision.reason not in (offline.UNKNOWN_KEY, offline.BAD_SIGNATURE)
    out = {
        "result": decision.result,
        "reason": decision.reason,
        "booking": decision.claims.booking_id if trusted and decision.claims else None,
        "plate": claims.plate if trusted and claims else None,
        "garage": claims.garage_id if trusted and claims else None,
        "kid": claims.kid if claims else None,
        "revocations_age_seconds": int(age),
    }
    if decision.subscription is not None:  # a monthly pass
        out["subscription"] = decision.subscription.subscription_id if trusted else None
    click.echo(json.dumps(out, ensure_ascii=False))
    click.get_current_context().exit(0 if decision.ok else 1)
