"""How much of a request the service reads: a request line of at most 4,096 bytes (a 414), header
fields of at most 8,190 bytes each, 100 of them and 32 KB in all (a 431); 64 KB of JSON or form
by default (Flask's MAX_CONTENT_LENGTH), more for the two uploads that need it, and JSON no deeper
than MAX_JSON_DEPTH levels. Larger bodies are a 413 before they are read, deeper ones a 400 before
any parser recurses into them; all in the one error shape (an error page on the pages).

gunicorn has limits of its own and answers them with its own HTML page, so gunicorn.conf.py sets
them above these: the application is always the one that refuses."""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import IO
from urllib.parse import quote

from flask import Flask, Request, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_content_length

from parking.catalogue import HTTP_REASONS
from parking.errors import BadRequest, DomainError, error_body
from parking.gate.images import MAX_IMAGE_BYTES
from parking.i18n import lazy_gettext as _l

#: A gate's full offline queue (500 scans, each a token of up to 400 characters and its key).
OFFLINE_UPLOAD_MAX_BYTES = 512 * 1024

#: The endpoints allowed a larger body than MAX_CONTENT_LENGTH, API and page alike.
LARGER_BODIES = {
    "gate.GateOfflineQueue": OFFLINE_UPLOAD_MAX_BYTES,
    "gate_station.upload": OFFLINE_UPLOAD_MAX_BYTES,
    "gate.GateScanImage": MAX_IMAGE_BYTES,
    "gate_station.scan_image": MAX_IMAGE_BYTES,
}

#: The request line ("GET /path?query HTTP/1.1", without its CRLF), in bytes.
MAX_REQUEST_LINE_BYTES = 4096
#: One header field ("Name: value"), in bytes.
MAX_HEADER_FIELD_BYTES = 8190
#: How many header fields, and their bytes together.
MAX_HEADER_FIELDS = 100
MAX_HEADER_BYTES = 32 * 1024
#: The header limits, as a 431 states them in its `details`.
HEADER_LIMITS = {
    "max_field_bytes": MAX_HEADER_FIELD_BYTES,
    "max_fields": MAX_HEADER_FIELDS,
    "max_bytes": MAX_HEADER_BYTES,
}

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class TooDeep(BadRequest):
    reason, message = "too_deep", _l("The request body is nested too deeply.")


class UriTooLong(DomainError):
    code, reason, message = 414, "uri_too_long", _l("The address is too long.")


class HeadersTooLarge(DomainError):
    code, reason, message = 431, "headers_too_large", _l("The request headers are too large.")


def request_line_bytes(environ: dict) -> int:
    """The length of the request line as the client sent it: gunicorn and Werkzeug's server keep
    the raw target (RAW_URI, REQUEST_URI); otherwise it is rebuilt from the decoded path."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        target = quote(path.encode("latin-1", "replace"), safe="/;=,:@!$&'()*+~-._")
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
    protocol = environ.get("SERVER_PROTOCOL") or "HTTP/1.1"
    return len(environ.get("REQUEST_METHOD", "GET")) + 1 + len(target) + 1 + len(protocol)


def header_fields(environ: dict) -> list[int]:
    """The size of each header field ("Name: value") of a WSGI environ; WSGI strings hold the
    bytes as Latin-1, so a character is a byte."""
    sizes = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key
        else:
            continue
        sizes.append(len(name) + 2 + len(value))
    return sizes


def refused_by_server(app: Flask, code: int) -> bytes:
    """The error shape, as the bytes of a JSON body, for a request the HTTP server refused before
    the application saw it (past gunicorn's own limits, or a request line or header it could not
    parse): gunicorn.conf.py sends it instead of gunicorn's HTML page. Nothing of the request is
    known, not even its language, so the words are in the default language."""
    known: dict[int, DomainError] = {
        414: UriTooLong(details={"max_bytes": MAX_REQUEST_LINE_BYTES}),
        431: HeadersTooLarge(
            details={
                "max_field_bytes": MAX_HEADER_FIELD_BYTES,
                "max_fields": MAX_HEADER_FIELDS,
                "max_bytes": MAX_HEADER_BYTES,
            }
        ),
    }
    with app.app_context():
        if code in known:
            refusal = known[code]
            body = error_body(code, refusal.reason, refusal.message, None, refusal.details)
        elif code >= 500:
            body = error_body(code, "internal_error", _l("Something went wrong on our side."))
        else:
            reason, message = HTTP_REASONS.get(code, ("http_error", HTTPStatus(code).phrase))
            body = error_body(code, reason, message)
        return json.dumps(body, ensure_ascii=False).encode()


def _check_head() -> None:
    if request_line_bytes(request.environ) > MAX_REQUEST_LINE_BYTES:
        raise UriTooLong(details={"max_bytes": MAX_REQUEST_LINE_BYTES})
    sizes = header_fields(request.environ)
    too_large = sizes and max(sizes) > MAX_HEADER_FIELD_BYTES
    if too_large or len(sizes) > MAX_HEADER_FIELDS or sum(sizes) > MAX_HEADER_BYTES:
        raise HeadersTooLarge(details=HEADER_LIMITS)


class _CappedStream(LimitedStream):
    """A body without a Content-Length (chunked), read against the maximum: Werkzeug's own stream
    stops quietly at the limit when read whole, which would hand a parser a truncated body."""

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


class LimitedRequest(Request):
    """The body limit follows the matched endpoint, so that it holds before anything reads the
    body (the CSRF check reads a page's form before the view runs). A chunked body, without a
    Content-Length, is cut at the same limit while it is read."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None:  # a view set its own
            return self._max_content_length
        larger = LARGER_BODIES.get(self.endpoint or "")
        if larger is not None:
            return larger
        return current_app.config["MAX_CONTENT_LENGTH"] if current_app else None

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        if limit is not None and "wsgi.input_terminated" in self.environ and get_content_length(self.environ) is None:
            return _CappedStream(self.environ["wsgi.input"], limit, is_max=True)  # type: ignore[return-value]  # the capped stream reads like the IO[bytes] it wraps
        return super().stream


def json_deeper_than(data: bytes, limit: int) -> bool:
    """Whether JSON text nests arrays and objects more than `limit` levels deep, found without
    recursion (the json module's decoder recurses once per level and overflows near 1,000)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b"", data)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _check_body() -> None:
    # A declared length over the limit is refused whether or not the view would read the body.
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if not request.is_json:
        return
    # Reading here enforces the size limit too; the parsers reuse the cached body.
    max_depth = current_app.config["MAX_JSON_DEPTH"]
    if json_deeper_than(request.get_data(cache=True), max_depth):
        raise TooDeep(details={"max_depth": max_depth})


def init_request_limits(app: Flask) -> None:
    app.request_class = LimitedRequest
    # First of all the checks before a view (the CSRF check, the rate limits): an oversized head is
    # refused for its size whatever else is wrong with the request.
    app.before_request_funcs.setdefault(None, []).insert(0, _check_head)
    app.before_request(_check_body)
