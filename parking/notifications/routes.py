from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from parking.auth.access import current_actor, require
from parking.extensions import db
from parking.notifications.models import Notification
from parking.notifications.schemas import NotificationQuerySchema, NotificationSchema

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications", description="The user's messages")


@blp.route("")
class Notifications(MethodView):
    @require()
    @blp.arguments(NotificationQuerySchema(), location="query")
    @blp.response(200, NotificationSchema(many=True))
    def get(self, args):
        """The caller's own notifications, newest first"""
        stmt = db.select(Notification).where(Notification.user_id == current_actor().id)
        if args.get("before_id"):
            stmt = stmt.where(Notification.id < args["before_id"])
        return db.session.scalars(stmt.order_by(Notification.id.desc()).limit(args["limit"])).all()
