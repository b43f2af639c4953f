"""A booking form submitted twice (a double tap, a reload after a lost answer) books once: each
rendered form carries its own `idempotency_key`, and the POST runs through the same idempotency
helper as the API. The second submit lands on the first one's outcome: the same redirect and
flash, or the same refusal beside the same field."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime

from flask import flash, redirect, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from parking.auth.models import User
from parking.idempotency.services import fingerprint, run_once
from parking.web.pages import Outcome

#: Form fields that are not part of what is asked.
_NOT_ASKED = {"csrf_token", "idempotency_key"}


def submit_once(form: FlaskForm, user: User, now: datetime, work: Callable[[], Outcome]) -> ResponseReturnValue:
    """Run `work` once per the form's key and commit; a redirect with its flashes. A refusal,
    fresh or stored, is raised as the domain error for the page to place beside its field."""
    asked = {name: f.data for name, f in form._fields.items() if name not in _NOT_ASKED}
    key = form.idempotency_key.data or None
    answer = run_once(
        user.id,
        key,
        fingerprint(request.method, request.path, asked),
        now,
        lambda: (302, json.dumps(asdict(work()), ensure_ascii=False)),
    )
    refusal = answer.refusal()
    if refusal is not None:
        raise refusal
    outcome = json.loads(answer.body)
    for category, message in outcome["flashes"]:
        flash(message, category)
    return redirect(outcome["location"])
