"""The OpenAPI document is the truth: schemathesis generates requests from it, in-process against the
WSGI app, for every operation and as every kind of caller (anonymous, resident, attendant, manager,
admin), with a fixed seed. Every answer must be documented (status, content type, body, headers),
none a server error, and a request the document calls valid is refused only for a domain reason the
operation documents, never for a rule the document does not state.

Half the cases name the objects the callers can reach (their garage, household, booking…), half
draw ids at random, so that both the refusals and the successes are seen.

"Valid data accepted" is checked here by the answer's machine reason, not with schemathesis'
`positive_data_acceptance` (which judges by status): a domain refusal and a validation error share
422, and only the reason tells a listed refusal (`booking_closed`) from a rule the document misses
(`validation_error`). A `validation_error` passes only when the operation lists the `errors.<field>`
it names (a rule across fields or against stored state, which JSON Schema cannot state)."""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import pickle
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from parking.auth import tokens
from parking.auth.models import User
from parking.extensions import db
from tests.camera_helpers import register
from tests.conftest import FIGURES, empty_database

#: Per operation per caller; `OPENAPI_FUZZ_EXAMPLES=20` for a deeper run by hand.
EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "5"))
METHODS = {"get", "put", "post", "patch", "delete"}
CALLERS = ("anonymous", "resident", "attendant", "manager", "admin")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: The reasons that mean "your request breaks a rule of its shape": a request the document calls
#: valid must never get one of them (the document would be missing that rule).
SHAPE_REASONS = {"validation_error", "malformed_request", "bad_request", "invalid_value", "unsupported_media_type"}


def _world(client, factory) -> dict[str, Any]:
    """One garage with a night, a camera and a quota override, a resident with a booking, its
    staff and an admin."""
    garage = factory.garage()
    window = factory.window(garage, quota=5)
    resident, plate = factory.resident(garage)
    booking = factory.booking(window, user=resident, plate=plate)
    attendant = factory.attendant(garage)
    manager = factory.manager(garage)
    admin = factory.admin()
    household = resident.household
    camera = register(client, factory, manager, garage.id)
    override = client.post(
        f"/api/v1/garages/{garage.id}/overrides",
        json={
            "template_id": window.template_id,
            "start_date": "2026-12-10",
            "end_date": "2026-12-12",
            "quota": 4,
            "reason": "works",
        },
        headers=factory.headers(manager),
    )
    assert override.status_code == 201, override.json
    ids = {
        "garage_id": garage.id,
        "template_id": window.template_id,
        "window_id": window.id,
        "household_id": household.id,
        "vehicle_id": household.vehicles[0].id,
        "booking_id": booking.id,
        "user_id": resident.id,
        "camera_id": camera["id"],
        "override_id": override.json["id"],
    }
    users = {"resident": resident.id, "attendant": attendant.id, "manager": manager.id, "admin": admin.id}
    db.session.commit()
    return {"ids": ids, "users": users}


def _headers(caller: str, world: dict[str, Any]) -> dict[str, str]:
    """A fresh bearer token of the caller: an operation before (sign-out everywhere, log out) may
    have ended the last one."""
    if caller == "anonymous":
        return {}
    db.session.expire_all()
    user = db.session.get(User, world["users"][caller])
    token, _ = tokens.issue(user)
    db.session.commit()  # end the read: on SQLite it would hold the lock the requests need
    return {"Authorization": f"Bearer {token}"}


def _documented_reasons(operation: Any, status: int) -> str:
    """The text an operation documents for a status (and its default answer)."""
    document = operation.schema.raw_schema
    responses = operation.definition.raw.get("responses", {})
    texts = [operation.definition.raw.get("summary", ""), operation.definition.raw.get("description", "")]
    for key in (str(status), "default"):
        answer = responses.get(key, {})
        if "$ref" in answer:
            answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
        texts.append(str(answer.get("description", "")))
    return " ".join(texts)


#: The cases drawn for an operation, as data, by its label and the ids it was given: drawing is
#: the larger part of a run (hypothesis and schemathesis build each body), and with a fixed seed
#: every caller and both backends draw the very same cases (the checks never raise, so no example
#: ever fails and the draws do not depend on the answers; checked by hand when this was written:
#: both backends drew 426 equal cases). So a worker draws each operation once, before asking, and
#: asks the same cases as each caller, on each backend (a case is made anew for each backend's app).
#: Under xdist the two backends' tests usually run on two workers: the draws are also shared
#: through the run's temporary folder, keyed by the document, the number of examples and the
#: libraries' versions; two workers drawing at the same time split the operations between them.
_STATES: dict[tuple[str, tuple[tuple[str, Any], ...]], list[bytes]] = {}
#: The cases made from `_STATES` for each backend's app, by backend, label and ids.
_CASES: dict[tuple[str, str, tuple[tuple[str, Any], ...]], list[Any]] = {}


def _state(case: Any) -> bytes:
    """A drawn case as data, before it was sent: every field but the operation it belongs to."""
    return pickle.dumps({name: getattr(case, name) for name in Case.__slots__ if name != "operation"})


def _case(operation: Any, state: bytes) -> Any:
    case = object.__new__(Case)
    object.__setattr__(case, "operation", operation)
    for name, value in pickle.loads(state).items():  # noqa: S301  (drawn by this run)
        object.__setattr__(case, name, value)
    return case


def _shared_folder(schema: Any, tmp_path_factory: Any) -> Path | None:
    """Where this run's workers leave their draws, one file per operation (None without xdist: one
    process, memory is enough)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    document = json.dumps(schema.raw_schema, sort_keys=True, default=str)
    digest = hashlib.sha256(
        f"{document}|{EXAMPLES}|{schemathesis.__version__}|{hypothesis.__version__}".encode()
    ).hexdigest()[:16]
    folder = tmp_path_factory.getbasetemp().parent / f"openapi-fuzz-draws-{digest}"
    folder.mkdir(exist_ok=True)
    return folder


def _shared_key(operation: Any, ids: dict[str, Any]) -> tuple[str, tuple[tuple[str, Any], ...]]:
    known = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
    return operation.label, tuple(sorted(known.items()))


def _shared_path(folder: Path, shared: tuple[str, tuple[tuple[str, Any], ...]]) -> Path:
    return folder / f"{hashlib.sha256(repr(shared).encode()).hexdigest()[:24]}.pickle"


def _draw(operation: Any, known: dict[str, Any]) -> list[bytes]:
    """The operation's cases, half of them about the objects the callers can reach (`known`)."""
    states: list[bytes] = []
    strategy = operation.as_strategy()
    if known:
        strategy = st.one_of(operation.as_strategy(path_parameters=known), strategy)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def probe(case: Any) -> None:
        states.append(_state(case))

    probe()
    return states


def _draw_all(operations: list[Any], ids: dict[str, Any], folder: Path | None) -> Counter:
    """Every operation's cases in `_STATES`: drawn here, or taken from another worker's file. An
    operation another worker is drawing right now (its claim is there) is left to it and taken when
    its file is written (drawn here after all if that takes over 20 s)."""
    tally: Counter = Counter()
    waiting = []
    for operation in operations:
        shared = _shared_key(operation, ids)
        if shared in _STATES:
            tally["in memory"] += 1
            continue
        if folder is not None:
            path = _shared_path(folder, shared)
            try:
                path.with_suffix(".claim").touch(exist_ok=False)
            except FileExistsError:
                waiting.append((operation, shared, path))
                continue
        _STATES[shared] = _draw(operation, dict(shared[1]))
        tally["drawn"] += 1
        if folder is not None:
            partial = path.with_name(f"{path.name}.{os.getpid()}")
            partial.write_bytes(pickle.dumps(_STATES[shared]))
            partial.replace(path)  # whole or not at all, for a worker that reads it meanwhile
    for operation, shared, path in waiting:
        deadline = time.monotonic() + 20
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        if path.exists():
            _STATES[shared] = pickle.loads(path.read_bytes())  # noqa: S301  (this run's own)
            tally["from another worker"] += 1
        else:
            _STATES[shared] = _draw(operation, dict(shared[1]))
            tally["drawn"] += 1
    return tally


def _run(app, operation: Any, caller: str, world: dict[str, Any], tally: dict[str, Counter], found: list[str]) -> None:
    known = {p.name: world["ids"][p.name] for p in operation.path_parameters if p.name in world["ids"]}
    headers = _headers(caller, world)

    def check(case: Any) -> None:
        response = contextvars.Context().run(case.call, headers=headers)
        db.session.expire_all()
        tally[caller]["cases"] += 1
        if response.status_code < 300:
            tally[caller]["2xx"] += 1
        failures: list[Failure] = []
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            failures.extend(group.exceptions)
        except Failure as failure:
            failures.append(failure)
        for failure in failures:
            kind = type(failure).__name__
            tally[caller][kind] += 1
            found.append(f"{caller} {operation.label}: {kind}: {failure.title} {failure.message[:300]}")
        if 400 <= response.status_code < 500 and (response.headers.get("content-type") or [""])[0].startswith(
            "application/json"
        ):
            body = response.json() or {}
            reason = body.get("error", "")
            documented = _documented_reasons(operation, response.status_code)
            if reason == "validation_error" and all(
                f"`errors.{field}`" in documented for field in body.get("errors") or {"?": 0}
            ):
                pass  # a rule across fields or against stored state, stated in the operation's refusals
            elif reason in SHAPE_REASONS:
                tally[caller]["RejectedPositiveData"] += 1
                found.append(
                    f"{caller} {operation.label}: valid data rejected {response.status_code} {reason} "
                    f"{str(response.json().get('errors'))[:200]} sent {case.body!r:.200} {case.query!r:.200}"
                )
            elif reason and not re.search(
                rf"`{re.escape(reason)}`", _documented_reasons(operation, response.status_code)
            ):
                tally[caller]["UndocumentedRefusal"] += 1
                found.append(f"{caller} {operation.label}: refusal {response.status_code} `{reason}` not documented")

    shared = _shared_key(operation, world["ids"])
    key = (app.config["BACKEND"], *shared)
    if shared not in _STATES:  # a world with other ids than the first one's
        _STATES[shared] = _draw(operation, known)
    if key not in _CASES:
        _CASES[key] = [_case(operation, state) for state in _STATES[shared]]
    for case in _CASES[key]:
        check(case)


def test_every_operation_as_every_caller_conforms_to_the_document(app, client, factory, tmp_path_factory):
    """Each caller in a world of its own: the database is emptied and the world built again (the
    same ids) before the next caller. Each operation's cases are drawn once (see `_STATES`) and
    asked as each of the five callers."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    folder = _shared_folder(schema, tmp_path_factory)
    results = list(schema.get_all_operations())
    unusable = [result.err() for result in results if not isinstance(result, Ok)]
    assert unusable == [], "operations schemathesis cannot test"
    operations = [result.ok() for result in results]
    documented = sum(1 for item in schema.raw_schema["paths"].values() for method in item if method in METHODS)
    assert len(operations) == documented >= 80
    backend = app.config["BACKEND"]
    tally: dict[str, Counter] = defaultdict(Counter)
    found: list[str] = []
    for caller in CALLERS:
        if caller != CALLERS[0]:
            empty_database(app)
        world = _world(client, factory)
        if caller == CALLERS[0]:
            started = time.perf_counter()
            draws = _draw_all(operations, world["ids"], folder)
            taken = ", ".join(f"{n} {how}" for how, n in sorted(draws.items()))
            FIGURES.append(
                f"schemathesis ({backend}) cases of {len(operations)} operations: {taken}, "
                f"{time.perf_counter() - started:.1f} s"
            )
        started = time.perf_counter()
        for operation in operations:
            _run(app, operation, caller, world, tally, found)
        seconds = time.perf_counter() - started
        counts = tally[caller]
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()) if kind not in ("cases", "2xx"))
        FIGURES.append(
            f"schemathesis ({backend}) {caller}: {len(operations)} operations, {counts['cases']} cases "
            f"({counts['2xx']} answered 2xx), failures: {kinds or 'none'}, {seconds:.1f} s"
        )
    for line, n in Counter(found).most_common(300):
        print(f"{n:4d} {line}")
    assert found == [], f"{len(found)} failures"


@pytest.mark.parametrize("method", ["GET", "PATCH"])
@pytest.mark.parametrize("garage_id", ["0", "01", "2147483648", "99999999999"])
def test_an_id_out_of_range_is_404_whatever_the_method(client, method, garage_id):
    # Werkzeug noted the methods of a rule whose path matched before the id converter said no:
    # PATCH /garages/0 answered 405 (as if GET were the only method) where it must answer 404.
    response = client.open(f"/api/v1/garages/{garage_id}", method=method, json={})
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
