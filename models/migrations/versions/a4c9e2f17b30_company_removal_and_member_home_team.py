"""client companies can be removed (history kept); a member's Slack Connect workspace

Revision ID: a4c9e2f17b30
Revises: d5e7a1c3b9f2
Create Date: 2026-12-04 19:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a4c9e2f17b30"
down_revision: str | None = "d5e7a1c3b9f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client_company", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("slack_team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("slack_team_id")
    with op.batch_alter_table("client_company", schema=None) as batch_op:
        batch_op.drop_column("removed_at")
