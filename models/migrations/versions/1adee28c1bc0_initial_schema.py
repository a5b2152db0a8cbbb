"""initial schema

Revision ID: 1adee28c1bc0
Revises:
Create Date: 2026-11-28 06:15:47.256759
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "1adee28c1bc0"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slack_team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "slack_enterprise_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True
        ),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("staff_channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("last_ticket_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_slack_team_id"), ["slack_team_id"], unique=True
        )

    op.create_table(
        "slack_event_receipt",
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("slack_event_receipt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slack_event_receipt_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "client_company",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("email_domains", sa.JSON(), nullable=False),
        sa.Column("slack_team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "name"),
    )
    with op.batch_alter_table("client_company", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_company_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "member",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("client_company_id", sa.Integer(), nullable=True),
        sa.Column("slack_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("slack_profile_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_company_id"],
            ["client_company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "email"),
        sa.UniqueConstraint("organization_id", "slack_user_id"),
    )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index("ix_member_org_role", ["organization_id", "role"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_member_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "ticket",
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("requester_id", sa.Integer(), nullable=True),
        sa.Column("assigned_staff_id", sa.Integer(), nullable=True),
        sa.Column("client_company_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("ticket_number", sa.Integer(), nullable=False),
        sa.Column("parent_ticket_id", sa.Integer(), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_staff_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["client_company_id"],
            ["client_company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["parent_ticket_id"],
            ["ticket.id"],
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "ticket_number", name="uq_ticket_org_number"),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_org_assignee_status",
            ["organization_id", "assigned_staff_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ticket_org_requester", ["organization_id", "requester_id"], unique=False
        )
        batch_op.create_index("ix_ticket_org_status", ["organization_id", "status"], unique=False)
        batch_op.create_index(
            "ix_ticket_org_updated", ["organization_id", "updated_at"], unique=False
        )

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("lane", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("channel_ref", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("ts_ref", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("thread_ref", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("record_as", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result_channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("result_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_status_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_outbox_ticket_lane", ["ticket_id", "lane", "id"], unique=False)

    op.create_table(
        "slack_message_ref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("permalink", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
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
        sa.UniqueConstraint(
            "organization_id", "channel_id", "ts", "role", name="uq_slack_message_ref_message"
        ),
        sa.UniqueConstraint("ticket_id", "role", name="uq_slack_message_ref_ticket_role"),
    )
    op.create_table(
        "ticket_attachment",
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("file_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("file_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("is_internal", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_attachment_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            "ix_ticket_attachment_ticket", ["ticket_id", "created_at"], unique=False
        )

    op.create_table(
        "ticket_comment",
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("comment_type", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("author_type", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_comment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_comment_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index("ix_ticket_comment_ticket", ["ticket_id", "created_at"], unique=False)

    op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("old_value", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("new_value", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_event_ticket", ["ticket_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_event_ticket")

    op.drop_table("ticket_event")
    with op.batch_alter_table("ticket_comment", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_comment_ticket")
        batch_op.drop_index(batch_op.f("ix_ticket_comment_organization_id"))

    op.drop_table("ticket_comment")
    with op.batch_alter_table("ticket_attachment", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_attachment_ticket")
        batch_op.drop_index(batch_op.f("ix_ticket_attachment_organization_id"))

    op.drop_table("ticket_attachment")
    op.drop_table("slack_message_ref")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ticket_lane")
        batch_op.drop_index("ix_outbox_status_due")

    op.drop_table("outbox_message")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_org_updated")
        batch_op.drop_index("ix_ticket_org_status")
        batch_op.drop_index("ix_ticket_org_requester")
        batch_op.drop_index("ix_ticket_org_assignee_status")

    op.drop_table("ticket")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_organization_id"))
        batch_op.drop_index("ix_member_org_role")

    op.drop_table("member")
    with op.batch_alter_table("client_company", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_company_organization_id"))

    op.drop_table("client_company")
    with op.batch_alter_table("slack_event_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_event_receipt_received_at"))

    op.drop_table("slack_event_receipt")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_slack_team_id"))

    op.drop_table("organization")
