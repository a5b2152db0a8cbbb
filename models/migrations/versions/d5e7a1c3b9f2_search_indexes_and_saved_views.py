"""search: full-text indexes (GIN / FTS5), age indexes, saved views

Revision ID: d5e7a1c3b9f2
Revises: b7d41e0a9c21
Create Date: 2026-12-04 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.fulltext import INTERNAL_NOTE, PUBLIC_REPLY, SQLITE_DROP
from models.fulltext import PG_COMMENT_WORDS as PG_COMMENT_DOCUMENT
from models.fulltext import PG_TICKET_WORDS as PG_TICKET_DOCUMENT
from models.migrations.fulltext_v1 import SQLITE_BACKFILL, SQLITE_DDL

revision: str = "d5e7a1c3b9f2"
down_revision: str | None = "b80e43711d9c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_view",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("name_key", sa.String(length=80), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_saved_view_owner_name",
        "saved_view",
        ["organization_id", "owner_id", "name_key"],
        unique=True,
        sqlite_where=sa.text("owner_id IS NOT NULL"),
        postgresql_where=sa.text("owner_id IS NOT NULL"),
    )
    op.create_index(
        "uq_saved_view_shared_name",
        "saved_view",
        ["organization_id", "name_key"],
        unique=True,
        sqlite_where=sa.text("owner_id IS NULL"),
        postgresql_where=sa.text("owner_id IS NULL"),
    )
    op.create_index("ix_ticket_org_created", "ticket", ["organization_id", "created_at"])
    op.create_index("ix_ticket_org_resolved", "ticket", ["organization_id", "resolved_at"])
    if op.get_bind().dialect.name == "postgresql":
        # CREATE INDEX reads the rows already there: existing tickets are searchable at once.
        op.execute(f"CREATE INDEX ix_ticket_fulltext ON ticket USING gin ({PG_TICKET_DOCUMENT})")
        op.execute(
            "CREATE INDEX ix_comment_public_fulltext ON ticket_comment "
            f"USING gin ({PG_COMMENT_DOCUMENT}) WHERE {PUBLIC_REPLY}"
        )
        op.execute(
            "CREATE INDEX ix_comment_internal_fulltext ON ticket_comment "
            f"USING gin ({PG_COMMENT_DOCUMENT}) WHERE {INTERNAL_NOTE}"
        )
    elif op.get_bind().dialect.name == "sqlite":
        for statement in (*SQLITE_DDL, *SQLITE_BACKFILL):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_comment_internal_fulltext")
        op.execute("DROP INDEX IF EXISTS ix_comment_public_fulltext")
        op.execute("DROP INDEX IF EXISTS ix_ticket_fulltext")
    elif op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DROP:
            op.execute(statement)
    op.drop_index("ix_ticket_org_resolved", table_name="ticket")
    op.drop_index("ix_ticket_org_created", table_name="ticket")
    op.drop_index("uq_saved_view_shared_name", table_name="saved_view")
    op.drop_index("uq_saved_view_owner_name", table_name="saved_view")
    op.drop_table("saved_view")
