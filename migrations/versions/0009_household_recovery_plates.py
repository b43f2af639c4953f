"""households: sent again after a rejection, the estate's address lists, one household per
verified plate in a garage

Revision ID: 0009
Revises: 0005

Existing households keep their address as typed. Vehicles get their household's garage; where a
plate is verified for several households of one garage, the earliest verification stays and the
later ones go back to pending, each with an audit event (actor: the system).
"""

import sqlalchemy as sa
from alembic import op

import parking.dbtypes
from parking import clock

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_STATES = ("pending", "verified", "rejected")
NEW_STATES = (*OLD_STATES, "released")
VERIFIED = sa.text("state = 'verified'")
CLASH_REASON = "plate verified for another household of the garage earlier; left pending for a manager"


def _state(values):
    return sa.Enum(*values, name="vehicle_state", native_enum=False, create_constraint=True, length=20)


vehicles = sa.table(
    "vehicles",
    sa.column("id", sa.Integer),
    sa.column("household_id", sa.Integer),
    sa.column("garage_id", sa.Integer),
    sa.column("plate", sa.String),
    sa.column("state", sa.String),
    sa.column("created_at", parking.dbtypes.UTCDateTime(timezone=True)),
)
households = sa.table("households", sa.column("id", sa.Integer), sa.column("garage_id", sa.Integer))
audit_events = sa.table(
    "audit_events",
    sa.column("at", parking.dbtypes.UTCDateTime(timezone=True)),
    sa.column("actor_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("object_type", sa.String),
    sa.column("object_id", sa.BigInteger),
    sa.column("garage_id", sa.Integer),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
    sa.column("reason", sa.String),
)


def _verified_at(conn):
    """When each vehicle was last verified, from the audit trail (None: verified before there was one)."""
    rows = conn.execute(
        sa.select(audit_events.c.object_id, sa.func.max(audit_events.c.at))
        .where(audit_events.c.object_type == "vehicle", audit_events.c.action == "vehicle.verified")
        .group_by(audit_events.c.object_id)
    )
    return {object_id: at for object_id, at in rows}


def _clashes_to_pending(conn):
    verified = conn.execute(
        sa.select(vehicles.c.id, vehicles.c.garage_id, vehicles.c.plate, vehicles.c.created_at).where(
            vehicles.c.state == "verified"
        )
    ).all()
    groups = {}
    for row in verified:
        groups.setdefault((row.garage_id, row.plate), []).append(row)
    clashing = [rows for rows in groups.values() if len(rows) > 1]
    if not clashing:
        return
    when = _verified_at(conn)
    now = clock.now()
    for rows in clashing:
        rows.sort(key=lambda r: (when.get(r.id) or r.created_at, r.id))
        for later in rows[1:]:
            conn.execute(sa.update(vehicles).where(vehicles.c.id == later.id).values(state="pending"))
            conn.execute(
                audit_events.insert().values(
                    at=now,
                    actor_id=None,
                    action="vehicle.clash_pending",
                    object_type="vehicle",
                    object_id=later.id,
                    garage_id=later.garage_id,
                    before={"state": "verified"},
                    after={"state": "pending", "held_by_vehicle_id": rows[0].id},
                    reason=CLASH_REASON,
                )
            )


def upgrade():
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_reason", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("resubmitted_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=True))

    op.create_table(
        "garage_address_lists",
        sa.Column("garage_id", sa.Integer(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("addresses", sa.Integer(), nullable=False),
        sa.Column("updated_at", parking.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["garage_id"], ["garages.id"], name=op.f("fk_garage_address_lists_garage_id_garages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("garage_id", name=op.f("pk_garage_address_lists")),
    )

    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("garage_id", sa.Integer(), nullable=True))

    conn = op.get_bind()
    conn.execute(
        sa.update(vehicles).values(
            garage_id=sa.select(households.c.garage_id)
            .where(households.c.id == vehicles.c.household_id)
            .scalar_subquery()
        )
    )
    _clashes_to_pending(conn)

    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.alter_column("garage_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column(
            "state", existing_type=_state(OLD_STATES), type_=_state(NEW_STATES), existing_nullable=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_vehicles_garage_id_garages"), "garages", ["garage_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index(batch_op.f("ix_vehicles_garage_id"), ["garage_id"], unique=False)
        batch_op.create_index(
            "uq_vehicles_garage_plate_verified",
            ["garage_id", "plate"],
            unique=True,
            sqlite_where=VERIFIED,
            postgresql_where=VERIFIED,
        )


def downgrade():
    conn = op.get_bind()
    conn.execute(sa.update(vehicles).where(vehicles.c.state == "released").values(state="rejected"))
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.drop_index("uq_vehicles_garage_plate_verified", sqlite_where=VERIFIED, postgresql_where=VERIFIED)
        batch_op.drop_index(batch_op.f("ix_vehicles_garage_id"))
        batch_op.drop_constraint(batch_op.f("fk_vehicles_garage_id_garages"), type_="foreignkey")
        batch_op.alter_column(
            "state", existing_type=_state(NEW_STATES), type_=_state(OLD_STATES), existing_nullable=False
        )
        batch_op.drop_column("garage_id")
    op.drop_table("garage_address_lists")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_column("resubmitted_at")
        batch_op.drop_column("previous_reason")
