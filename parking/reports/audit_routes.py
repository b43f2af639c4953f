from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

from parking.audit.schemas import AuditEventSchema, AuditQuerySchema
from parking.auth.access import current_actor, require
from parking.auth.models import Role
from parking.errors import Unprocessable
from parking.reports import audit_search as search

MAX_PAGE = 1_000_000

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit trail")


@blp.route("/audit")
class Audit(MethodView):
    @require(Role.MANAGER)
    @blp.arguments(AuditQuerySchema(), location="query")
    @blp.response(200, AuditEventSchema(many=True))
    @blp.alt_response(403, description="`not_your_garage`: a garage the manager does not manage")
    # The pagination's own 422 would replace an `alt_response(422)` in the document: the operation's
    # description lists them instead.
    @blp.doc(
        description=f"422: `invalid_range` (`to` before `from`); `validation_error` with `errors.object` "
        f"(not `<type>:<id>`) or with `errors.page` (a page past {MAX_PAGE})."
    )
    @blp.paginate(page_size=50, max_page_size=200)
    def get(self, args: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
        """Audit events (newest first) of the caller's garages; pagination in the X-Pagination header"""
        page_size = pagination_parameters.page_size
        if pagination_parameters.page > MAX_PAGE:  # an offset past any real trail, and past INTEGER
            raise Unprocessable(reason="validation_error", errors={"page": [f"at most {MAX_PAGE}"]})
        events, total = search.search(
            current_actor(),
            object_ref=args.get("object"),
            actor_id=args.get("actor"),
            action=args.get("action"),
            garage_id=args.get("garage_id"),
            start=args.get("from_"),
            end=args.get("to"),
            offset=(pagination_parameters.page - 1) * page_size,
            limit=page_size,
        )
        pagination_parameters.item_count = total
        return events
