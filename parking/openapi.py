"""The OpenAPI document states what the API does. flask-smorest and apispec build it from the routes
and the marshmallow schemas; this module fills in what they would otherwise leave out or get wrong:

- the one error shape (`parking.errors.ErrorSchema`, with `error` and `details`) on every error
  answer of every operation, and the generic refusals an operation can give (401 without a bearer
  token, 403 for a role it is not open to, 404 for an id that names nothing, 422 for a field that
  breaks a rule of this document); an operation's own domain refusals are listed by its route
  (`alt_response`), by their machine reason;
- the bearer token as a security scheme, on the operations that need one (`access.require`);
- money as the decimal string it is sent as, a bound as a number, an exclusive bound as exclusive;
- `HH:MM` times as a pattern; rules a schema checks across its fields (`OPENAPI_RULES`).
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec, BasePlugin
from flask import Flask
from flask_smorest import Api
from marshmallow import fields, validate

from parking.errors import ErrorSchema
from parking.fields import HH_MM_PATTERN

#: A decimal sent as a string: digits, optionally a point and more digits ("300.00").
DECIMAL_STRING = r"^-?[0-9]+(\.[0-9]+)?$"
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
BEARER = "bearer"
VALIDATION_REFUSAL = "`validation_error`: a field breaks a rule of this document; `errors` says which, by field"


def _field_rules(self: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """What apispec leaves out or writes wrongly for one field."""
    if isinstance(field, fields.Decimal):
        if field.as_string:
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "format"):
                ret.pop(key, None)
            return {"type": "string", "pattern": DECIMAL_STRING}
        for key in ("minimum", "maximum"):
            if key in ret:
                ret[key] = float(ret[key])  # apispec writes a Decimal bound as the string "100000.00"
        floor = next((r for r in field.validators if isinstance(r, validate.Range) and r.min is not None), None)
        if floor is not None and not floor.min_inclusive and field.places is not None:
            # The value is rounded to `places` first: above 0 means at least one unit of the last place.
            ret["minimum"] = float(floor.min + field.places)  # marshmallow keeps `places` as Decimal("0.001")
            return {}
    if isinstance(field, fields.Time) and field.format == "%H:%M":
        ret.pop("format", None)
        return {"type": "string", "pattern": HH_MM_PATTERN}
    extra: dict[str, Any] = {}
    for rule in field.validators:
        if isinstance(rule, validate.OneOf) and "enum" in ret:  # apispec keeps the field's own choices
            extra["enum"] = [getattr(choice, "value", choice) for choice in rule.choices]
        rounded_floor = isinstance(field, fields.Decimal) and field.places is not None
        if isinstance(rule, validate.Range) and "minimum" in ret and not rule.min_inclusive and not rounded_floor:
            extra["exclusiveMinimum"] = True
        if isinstance(rule, validate.Range) and "maximum" in ret and not rule.max_inclusive:
            extra["exclusiveMaximum"] = True
    return extra


class DocumentPlugin(BasePlugin):
    """Per operation, what the routes leave unsaid; per schema, its rules across fields."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def init_spec(self, spec: APISpec) -> None:
        spec.components.security_scheme(
            BEARER,
            {
                "type": "http",
                "scheme": "bearer",
                "description": "the `access_token` of `POST /api/v1/auth/token`",
            },
        )

    def schema_helper(self, name: str, definition: dict, **kwargs: Any) -> dict | None:
        schema = kwargs.get("schema")
        rules = getattr(schema, "OPENAPI_RULES", None)
        return dict(rules) if rules else None

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        rule = kwargs.get("rule")
        view_class = getattr(self.app.view_functions.get(rule.endpoint), "view_class", None) if rule else None
        for method, operation in (operations or {}).items():
            view = getattr(view_class, method, None)
            self._document(path or "", operation, getattr(view, "required_roles", None))

    @staticmethod
    def _document(path: str, operation: dict[str, Any], roles: tuple[Any, ...] | None) -> None:
        responses: dict[str, Any] = {}
        for status, answer in operation.get("responses", {}).items():  # 200 and "200" are one answer
            known = responses.get(str(status))
            if isinstance(known, dict) and isinstance(answer, dict):
                content = {**known.get("content", {}), **answer.get("content", {})}
                answer = {**known, **answer, "content": content}
            responses[str(status)] = answer
        operation["responses"] = responses

        def refusal(status: int, text: str) -> None:
            answer = responses.setdefault(str(status), {})
            if not isinstance(answer, dict):  # a component's name: a response of its own
                return
            description = answer.get("description", "")
            if text not in description:
                answer["description"] = f"{description}; {text}" if description else text
            answer.setdefault("content", ERROR_CONTENT)

        if roles is not None:
            operation["security"] = [{BEARER: []}]
            refusal(401, "`unauthorized`: no valid bearer token")
            names = ", ".join(getattr(role, "value", str(role)) for role in roles)
            only = f"only for {names} (and admins), and " if roles else ""
            refusal(403, f"`forbidden`: {only}only on what is the caller's (own household, own garage)")
        if re.search(r"\{[a-z_]+\}", path) or ("requestBody" in operation and roles is not None):
            refusal(404, "`not_found`: an id (in the path or the body) names nothing the caller may see")
        if "422" in responses or "requestBody" in operation or operation.get("parameters"):
            refusal(422, VALIDATION_REFUSAL)
        for status, answer in responses.items():
            if isinstance(answer, dict) and (status == "default" or status[0] in "45"):
                answer.setdefault("content", ERROR_CONTENT)
                answer["description"] = answer.get("description") or "the error shape"


def init_openapi(api: Api, app: Flask) -> None:
    """Bind the API to the app with the error shape and the additions above."""
    api.ERROR_SCHEMA = ErrorSchema  # type: ignore[misc]  # flask-smorest documents every error with this schema
    api.init_app(app, spec_kwargs={"extra_plugins": [DocumentPlugin(app)]})
    api.ma_plugin.converter.add_attribute_function(_field_rules)
    components = api.spec.components
    # flask-smorest sends X-Pagination as JSON text, and documents it as an object.
    components.headers_lazy["PAGINATION"] = {
        "description": "JSON text of an object: `total`, `total_pages`, `first_page`, `last_page`, `page`, "
        "`previous_page`, `next_page`",
        "schema": {
            "type": "string",
            "example": '{"total": 1, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1}',
        },
    }
    components.responses_lazy["UNPROCESSABLE_ENTITY"]["description"] = VALIDATION_REFUSAL
    components.responses_lazy["DEFAULT_ERROR"]["description"] = (
        "the error shape; any operation may also answer 413 `payload_too_large`, 414 `uri_too_long` (a request "
        "line over 4,096 bytes), 431 `headers_too_large` (a header over 8,190 bytes, more than 100 headers or "
        "32 KB of them), 415 `unsupported_media_type`, 400 `malformed_request` (a body that is not JSON), "
        "429 `rate_limited` and 503 `service_unavailable`"
    )
