"""search: full-text indexes scoped by organization (GIN lexeme, FTS5 rowid range)

A common word's matches were read across every organization and then filtered (at 1M
tickets in 100 organizations, ~125,000 rows for a word in 1/8 of all titles). Now each
PostgreSQL document also holds its organization's lexeme (`#<id>`), and each SQLite FTS5
rowid carries the organization in its high 32 bits, so the index is read for one
organization. The structures are rebuilt from the rows already there; the GIN indexes keep
a pending list of at most 256 kB (see `models.fulltext.PG_GIN_OPTIONS`).

Revision ID: 6f1b3d8e2a47
Revises: a4c9e2f17b30
Create Date: 2026-12-05 05:40:00
"""

from collections.abc import Sequence

from alembic import op

from models import fulltext
from models.migrations import fulltext_v1

revision: str = "6f1b3d8e2a47"
down_revision: str | None = "a4c9e2f17b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _build_postgres(ticket_document: str, comment_document: str, options: str) -> None:
    # CREATE INDEX reads the rows already there: existing tickets are searchable at once.
    op.execute("DROP INDEX IF EXISTS ix_comment_internal_fulltext")
    op.execute("DROP INDEX IF EXISTS ix_comment_public_fulltext")
    op.execute("DROP INDEX IF EXISTS ix_ticket_fulltext")
    op.execute(f"CREATE INDEX ix_ticket_fulltext ON ticket USING gin ({ticket_document}) {options}")
    op.execute(
        "CREATE INDEX ix_comment_public_fulltext ON ticket_comment "
        f"USING gin ({comment_document}) {options} WHERE {fulltext.PUBLIC_REPLY}"
    )
    op.execute(
        "CREATE INDEX ix_comment_internal_fulltext ON ticket_comment "
        f"USING gin ({comment_document}) {options} WHERE {fulltext.INTERNAL_NOTE}"
    )


def _build_sqlite(ddl: Sequence[str], backfill: Sequence[str]) -> None:
    for statement in (*fulltext.SQLITE_DROP, *ddl, *backfill):
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _build_postgres(
            fulltext.PG_TICKET_DOCUMENT, fulltext.PG_COMMENT_DOCUMENT, fulltext.PG_GIN_WITH
        )
    elif dialect == "sqlite":
        _build_sqlite(fulltext.SQLITE_DDL, fulltext.SQLITE_BACKFILL)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _build_postgres(fulltext.PG_TICKET_WORDS, fulltext.PG_COMMENT_WORDS, "")
    elif dialect == "sqlite":
        _build_sqlite(fulltext_v1.SQLITE_DDL, fulltext_v1.SQLITE_BACKFILL)
