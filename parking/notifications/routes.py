from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from parking.auth.access import current_actor, require
from parking.notifications import services
from parking.notifications.schemas import NotificationQuerySchema, NotificationSchema

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications", description="The user's messages")


@blp.route("")
class Notifications(MethodView):
    @require()
    @blp.arguments(NotificationQuerySchema(), location="query")
    @blp.response(200, NotificationSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """The caller's own notifications, newest first"""
        return services.inbox(current_actor().id, before_id=args.get("before_id"), limit=args["limit"])
