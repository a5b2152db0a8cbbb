"""partial index of open tickets by assignee

Revision ID: 8946cb3f343a
Revises: 4b0ff4163e61
Create Date: 2026-11-28 09:17:30.107338
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8946cb3f343a"
down_revision: str | None = "4b0ff4163e61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_org_open_assignee",
            ["organization_id", "assigned_staff_id", "updated_at"],
            unique=False,
            sqlite_where=sa.text("status IN ('open', 'in_progress', 'pending')"),
            postgresql_where=sa.text("status IN ('open', 'in_progress', 'pending')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_ticket_org_open_assignee",
            sqlite_where=sa.text("status IN ('open', 'in_progress', 'pending')"),
            postgresql_where=sa.text("status IN ('open', 'in_progress', 'pending')"),
        )
