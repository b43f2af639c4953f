from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from parking import clock
from parking.auth.access import current_actor, managed_garage, require
from parking.auth.models import Role
from parking.extensions import db
from parking.garages import template_services as services
from parking.garages.template_schemas import TemplateCreateSchema, TemplateOutSchema, TemplateUpdateSchema

blp = Blueprint("templates", __name__, url_prefix="/api/v1", description="Window templates")


@blp.route("/garages/<id:garage_id>/templates")
class Templates(MethodView):
    @require(Role.MANAGER)
    @blp.response(200, TemplateOutSchema(many=True))
    def get(self, garage_id: int) -> Any:
        """Window templates of a garage"""
        return services.list_templates(managed_garage(current_actor(), garage_id))

    @require(Role.MANAGER)
    @blp.arguments(TemplateCreateSchema())
    @blp.response(201, TemplateOutSchema)
    @blp.alt_response(422, description="`quota_above_capacity`")
    def post(self, data: dict[str, Any], garage_id: int) -> Any:
        """Add a window template; its windows are created for the booking horizon"""
        actor = current_actor()
        template = services.create_template(managed_garage(actor, garage_id), data, actor, clock.now())
        db.session.commit()
        return template


@blp.route("/garages/<id:garage_id>/templates/<id:template_id>")
class TemplateOne(MethodView):
    @require(Role.MANAGER)
    @blp.response(200, TemplateOutSchema)
    def get(self, garage_id: int, template_id: int) -> Any:
        """One window template"""
        return services.get_template(managed_garage(current_actor(), garage_id), template_id)

    @require(Role.MANAGER)
    @blp.arguments(TemplateUpdateSchema())
    @blp.response(200, TemplateOutSchema)
    @blp.alt_response(409, description="`template_has_bookings`")
    @blp.alt_response(422, description="`quota_above_capacity`")
    def patch(self, data: dict[str, Any], garage_id: int, template_id: int) -> Any:
        """Change a template: times and weekdays move unbooked future windows; quota follows the policy"""
        actor = current_actor()
        template = services.update_template(managed_garage(actor, garage_id), template_id, data, actor, clock.now())
        db.session.commit()
        return template
