"""requester index with updated_at

Revision ID: 4b0ff4163e61
Revises: 5ab2ac965914
Create Date: 2026-11-28 07:48:14.877006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4b0ff4163e61"
down_revision: str | None = "5ab2ac965914"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_org_requester"))
        batch_op.create_index(
            "ix_ticket_org_requester_updated",
            ["organization_id", "requester_id", "updated_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_org_requester_updated")
        batch_op.create_index(
            batch_op.f("ix_ticket_org_requester"), ["organization_id", "requester_id"], unique=False
        )
