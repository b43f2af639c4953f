"""The conflicts the server finds in a queue of scans a gate device judged offline, shared by the
upload and the managers' list; their words are in the catalogue (`parking.catalogue.CONFLICTS`)."""

from __future__ import annotations

REVOKED_MEANWHILE = "revoked_meanwhile"
SCANNED_ELSEWHERE = "scanned_elsewhere"
NOT_INSIDE = "not_inside"
RESULT_MISMATCH = "result_mismatch"
