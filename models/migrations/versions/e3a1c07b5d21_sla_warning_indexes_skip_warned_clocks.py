"""SLA warning indexes skip clocks already warned

Revision ID: e3a1c07b5d21
Revises: d55ce0b123d9
Create Date: 2026-12-04 16:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e3a1c07b5d21"
down_revision: str | None = "d55ce0b123d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_clock_status_warn75")
        batch_op.drop_index("ix_sla_clock_status_warn90")
        batch_op.create_index(
            "ix_sla_clock_status_warn75", ["status", "warned_75_at", "warn_75_at"], unique=False
        )
        batch_op.create_index(
            "ix_sla_clock_status_warn90", ["status", "warned_90_at", "warn_90_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_clock_status_warn75")
        batch_op.drop_index("ix_sla_clock_status_warn90")
        batch_op.create_index("ix_sla_clock_status_warn75", ["status", "warn_75_at"], unique=False)
        batch_op.create_index("ix_sla_clock_status_warn90", ["status", "warn_90_at"], unique=False)
