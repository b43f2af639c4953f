"""The conflicts the server finds in a queue of scans a gate device judged offline,
and their words; shared by the upload, the managers' list and the notification text."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

REVOKED_MEANWHILE = "revoked_meanwhile"
SCANNED_ELSEWHERE = "scanned_elsewhere"
NOT_INSIDE = "not_inside"
RESULT_MISMATCH = "result_mismatch"

MESSAGES: dict[str, Any] = {
    REVOKED_MEANWHILE: _l(
        "The booking no longer holds a space: it was cancelled or withdrawn while the gate was offline."
    ),
    SCANNED_ELSEWHERE: _l("The car was scanned at another gate: it was already inside, or the record there is later."),
    NOT_INSIDE: _l("The car was let out, but it had not been recorded as entering."),
    RESULT_MISMATCH: _l("The gate device decided otherwise than the server."),
}
