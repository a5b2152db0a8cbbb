"""lifecycle automations, csat, notification preferences

Revision ID: 917517ab3e20
Revises: 8946cb3f343a
Create Date: 2026-12-04 16:21:28.428259
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "917517ab3e20"
down_revision: str | None = "8946cb3f343a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "notification_preference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("muted", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id"),
    )
    with op.batch_alter_table("notification_preference", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_preference_organization_id"),
            ["organization_id"],
            unique=False,
        )

    op.create_table(
        "automation_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "kind", "key"),
    )
    with op.batch_alter_table("automation_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_automation_run_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "csat_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.String(length=10), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    with op.batch_alter_table("csat_response", schema=None) as batch_op:
        batch_op.create_index("ix_csat_answered", ["organization_id", "answered_at"], unique=False)
        batch_op.create_index(
            "ix_csat_requester_asked", ["organization_id", "requester_id", "asked_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("csat_response", schema=None) as batch_op:
        batch_op.drop_index("ix_csat_requester_asked")
        batch_op.drop_index("ix_csat_answered")

    op.drop_table("csat_response")
    with op.batch_alter_table("automation_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_automation_run_ticket_id"))

    op.drop_table("automation_run")
    with op.batch_alter_table("notification_preference", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_preference_organization_id"))

    op.drop_table("notification_preference")
