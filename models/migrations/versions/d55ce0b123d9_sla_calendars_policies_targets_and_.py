"""sla calendars policies targets and clocks

Revision ID: d55ce0b123d9
Revises: b7d41e0a9c21
Create Date: 2026-12-04 15:56:16.278251
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.base

revision: str = "d55ce0b123d9"
down_revision: str | None = "b7d41e0a9c21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "name"),
    )
    with op.batch_alter_table("business_calendar", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_business_calendar_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "sla_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("pause_statuses", sa.JSON(), nullable=False),
        sa.Column("reopen_mode", sa.String(length=20), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["business_calendar.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "name"),
    )
    with op.batch_alter_table("sla_policy", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sla_policy_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "sla_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policy.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("policy_id", "priority", "metric"),
    )
    op.create_table(
        "sla_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("target_minutes", sa.Integer(), nullable=False),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("started_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warn_75_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warn_90_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("breached_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("excluded_seconds", sa.Integer(), nullable=False),
        sa.Column("excluded_periods", sa.JSON(), nullable=False),
        sa.Column("due_overridden", sa.Boolean(), nullable=False),
        sa.Column("warned_75_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warned_90_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("breach_notified_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policy.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "ticket_id", "metric", "cycle", name="uq_sla_clock_ticket_metric_cycle"
        ),
    )
    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_clock_org_status_due", ["organization_id", "status", "due_at"], unique=False
        )
        batch_op.create_index(
            "ix_sla_clock_status_breach_notified", ["status", "breach_notified_at"], unique=False
        )
        batch_op.create_index("ix_sla_clock_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_sla_clock_status_warn75", ["status", "warn_75_at"], unique=False)
        batch_op.create_index("ix_sla_clock_status_warn90", ["status", "warn_90_at"], unique=False)

    with op.batch_alter_table("client_company", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_policy_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_client_company_sla_policy", "sla_policy", ["sla_policy_id"], ["id"]
        )

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_policy_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("sla_due_override_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key("fk_ticket_sla_policy", "sla_policy", ["sla_policy_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_constraint("fk_ticket_sla_policy", type_="foreignkey")
        batch_op.drop_column("sla_due_override_at")
        batch_op.drop_column("sla_policy_id")

    with op.batch_alter_table("client_company", schema=None) as batch_op:
        batch_op.drop_constraint("fk_client_company_sla_policy", type_="foreignkey")
        batch_op.drop_column("sla_policy_id")

    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_clock_status_warn90")
        batch_op.drop_index("ix_sla_clock_status_warn75")
        batch_op.drop_index("ix_sla_clock_status_due")
        batch_op.drop_index("ix_sla_clock_status_breach_notified")
        batch_op.drop_index("ix_sla_clock_org_status_due")

    op.drop_table("sla_clock")
    op.drop_table("sla_target")
    with op.batch_alter_table("sla_policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_policy_organization_id"))

    op.drop_table("sla_policy")
    with op.batch_alter_table("business_calendar", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_business_calendar_organization_id"))

    op.drop_table("business_calendar")
