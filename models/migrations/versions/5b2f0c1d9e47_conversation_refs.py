"""conversation refs: Slack messages of comments, Slack files of attachments

Revision ID: 5b2f0c1d9e47
Revises: 1adee28c1bc0
Create Date: 2026-11-28 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5b2f0c1d9e47"
down_revision: str | None = "1adee28c1bc0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_comment_ref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["ticket_comment.id"]),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "organization_id", "channel_id", "ts", name="uq_slack_comment_ref_message"
        ),
    )
    with op.batch_alter_table("slack_comment_ref", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slack_comment_ref_comment_id"), ["comment_id"], unique=False
        )

    op.create_table(
        "slack_file_ref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("slack_file_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("permalink", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["ticket_attachment.id"]),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "slack_file_id", name="uq_slack_file_ref_ticket_file"),
    )
    with op.batch_alter_table("slack_file_ref", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slack_file_ref_attachment_id"), ["attachment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("slack_file_ref", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_file_ref_attachment_id"))
    op.drop_table("slack_file_ref")
    with op.batch_alter_table("slack_comment_ref", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_comment_ref_comment_id"))
    op.drop_table("slack_comment_ref")
