"""time tracking: work types, time entries, calendar tokens

Revision ID: b80e43711d9c
Revises: b7d41e0a9c21
Create Date: 2026-12-04 15:54:16.783326
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "b80e43711d9c"
down_revision: str | None = "e3a1c07b5d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "work_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("billable", sa.Boolean(), nullable=False),
        sa.Column("rounding", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "name", name="uq_work_type_org_name"),
    )
    op.create_table(
        "ical_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token_prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_ical_token_member_id"), "ical_token", ["member_id"], unique=False)
    op.create_index(op.f("ix_ical_token_token_hash"), "ical_token", ["token_hash"], unique=True)
    op.create_table(
        "time_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=False),
        sa.Column("work_type_id", sa.Integer(), nullable=True),
        sa.Column("client_company_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_minutes", sa.Integer(), nullable=False),
        sa.Column("billable", sa.Boolean(), nullable=False),
        sa.Column("billable_minutes", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("edited_by_id", sa.Integer(), nullable=True),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("long_running_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_company_id"],
            ["client_company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["edited_by_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_type_id"],
            ["work_type.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_time_entry_org_client_started",
        "time_entry",
        ["organization_id", "client_company_id", "started_at"],
        unique=False,
    )
    op.create_index(
        "ix_time_entry_org_started", "time_entry", ["organization_id", "started_at"], unique=False
    )
    op.create_index(
        "ix_time_entry_org_technician_started",
        "time_entry",
        ["organization_id", "technician_id", "started_at"],
        unique=False,
    )
    op.create_index("ix_time_entry_ticket", "time_entry", ["ticket_id", "started_at"], unique=False)
    op.create_index(
        "uq_time_entry_one_running",
        "time_entry",
        ["technician_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_time_entry_one_running",
        table_name="time_entry",
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index("ix_time_entry_ticket", table_name="time_entry")
    op.drop_index("ix_time_entry_org_technician_started", table_name="time_entry")
    op.drop_index("ix_time_entry_org_started", table_name="time_entry")
    op.drop_index("ix_time_entry_org_client_started", table_name="time_entry")
    op.drop_table("time_entry")
    op.drop_index(op.f("ix_ical_token_token_hash"), table_name="ical_token")
    op.drop_index(op.f("ix_ical_token_member_id"), table_name="ical_token")
    op.drop_table("ical_token")
    op.drop_table("work_type")
