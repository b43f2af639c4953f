from __future__ import annotations

from marshmallow import Schema, fields, validate

from parking.auth.models import Role, User
from parking.fields import Phone, Text


class RegisterSchema(Schema):
    phone = Phone(required=True)
    password = fields.String(required=True, validate=validate.Length(min=8, max=128), load_only=True)
    name = Text(required=True, max_length=60)


class TokenRequestSchema(Schema):
    phone = Phone(required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=128), load_only=True)


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=128), load_only=True)
    password = fields.String(required=True, validate=validate.Length(min=8, max=128), load_only=True)


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class UserSchema(Schema):
    id = fields.Integer()
    phone = fields.String()
    name = fields.String()
    role = fields.Enum(Role, by_value=True)
    roles = fields.Method("get_roles")
    garage_ids = fields.List(fields.Integer())
    household_id = fields.Integer(allow_none=True)
    locale = fields.String()
    created_at = fields.DateTime()

    def get_roles(self, user: User) -> list[str]:
        return [user.role.value]


class ResetRequestSchema(Schema):
    phone = Phone(required=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{8}$"), load_only=True)
    password = fields.String(required=True, validate=validate.Length(min=8, max=128), load_only=True)


class ResetCodeSchema(Schema):
    """Shown once: the code is kept only as a hash."""

    user_id = fields.Function(lambda issued: issued.user.id)
    code = fields.String()
    expires_at = fields.DateTime()


class LockoutSchema(Schema):
    user_id = fields.Integer()
    level = fields.Integer()
    started_at = fields.DateTime()
    locked_until = fields.DateTime()
    lifted_at = fields.DateTime(allow_none=True)
    lifted_by_id = fields.Integer(allow_none=True)
