"""Full-text search indexes, one definition for both backends.

What is searched: a ticket's title and description (one document per ticket), and each
comment, public replies and internal notes indexed apart so that a requester's search
never reads internal text.

- PostgreSQL: GIN indexes on `to_tsvector('simple', …)` expressions of the rows themselves
  (kept current by PostgreSQL, nothing to maintain); public replies and internal notes
  have a partial index each.
- SQLite: FTS5 tables kept current by triggers: `ticket_fts` (rowid = ticket id) and
  `comment_fts` (rowid = comment id, the text in `public_text` or `internal_text`).

Both see the same words: runs of letters and digits, lowercased (PostgreSQL's text goes
through the same `regexp_replace` before its parser, FTS5's unicode61 tokenizer splits on
everything else), so the same query finds the same tickets on either.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DDL, Index, event, text

from models.base import table_of
from models.comment import TicketComment
from models.ticket import Ticket

PG_CONFIG = "'simple'::regconfig"
PG_WORD_SEPARATORS = "'[^[:alnum:]]+'"


def pg_document(expression: str) -> str:
    """The tsvector of `expression` as the GIN indexes hold it (queries must spell it so)."""
    return f"to_tsvector({PG_CONFIG}, regexp_replace({expression}, {PG_WORD_SEPARATORS}, ' ', 'g'))"


# Spelt as PostgreSQL prints it back, so that comparing the schema with the models agrees.
PG_TICKET_DOCUMENT = pg_document("(title::text || ' '::text) || description")
PG_COMMENT_DOCUMENT = pg_document("content")
PUBLIC_REPLY = "comment_type = 'public_reply'"
INTERNAL_NOTE = "comment_type = 'internal_note'"

TICKET_FULLTEXT_INDEX = Index(
    "ix_ticket_fulltext", text(PG_TICKET_DOCUMENT), postgresql_using="gin"
).ddl_if(dialect="postgresql")
PUBLIC_REPLY_FULLTEXT_INDEX = Index(
    "ix_comment_public_fulltext",
    text(PG_COMMENT_DOCUMENT),
    postgresql_using="gin",
    postgresql_where=text(PUBLIC_REPLY),
).ddl_if(dialect="postgresql")
INTERNAL_NOTE_FULLTEXT_INDEX = Index(
    "ix_comment_internal_fulltext",
    text(PG_COMMENT_DOCUMENT),
    postgresql_using="gin",
    postgresql_where=text(INTERNAL_NOTE),
).ddl_if(dialect="postgresql")
table_of(Ticket).append_constraint(TICKET_FULLTEXT_INDEX)
table_of(TicketComment).append_constraint(PUBLIC_REPLY_FULLTEXT_INDEX)
table_of(TicketComment).append_constraint(INTERNAL_NOTE_FULLTEXT_INDEX)

_TOKENIZER = "tokenize = 'unicode61 remove_diacritics 0'"
_COMMENT_COLUMNS = (
    "CASE WHEN new.comment_type = 'public_reply' THEN new.content ELSE '' END, "
    "CASE WHEN new.comment_type = 'public_reply' THEN '' ELSE new.content END"
)

SQLITE_DDL: tuple[str, ...] = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS ticket_fts USING fts5(document, {_TOKENIZER})",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS comment_fts USING fts5(public_text, internal_text, "
    f"{_TOKENIZER})",
    "CREATE TRIGGER IF NOT EXISTS ticket_fts_insert AFTER INSERT ON ticket BEGIN "
    "INSERT INTO ticket_fts(rowid, document) VALUES (new.id, new.title || ' ' || new.description);"
    " END",
    "CREATE TRIGGER IF NOT EXISTS ticket_fts_update AFTER UPDATE OF title, description ON ticket "
    "BEGIN DELETE FROM ticket_fts WHERE rowid = old.id; "
    "INSERT INTO ticket_fts(rowid, document) VALUES (new.id, new.title || ' ' || new.description);"
    " END",
    "CREATE TRIGGER IF NOT EXISTS ticket_fts_delete AFTER DELETE ON ticket BEGIN "
    "DELETE FROM ticket_fts WHERE rowid = old.id; END",
    "CREATE TRIGGER IF NOT EXISTS comment_fts_insert AFTER INSERT ON ticket_comment BEGIN "
    f"INSERT INTO comment_fts(rowid, public_text, internal_text) VALUES (new.id, "
    f"{_COMMENT_COLUMNS}); END",
    "CREATE TRIGGER IF NOT EXISTS comment_fts_update AFTER UPDATE OF content, comment_type "
    "ON ticket_comment BEGIN DELETE FROM comment_fts WHERE rowid = old.id; "
    f"INSERT INTO comment_fts(rowid, public_text, internal_text) VALUES (new.id, "
    f"{_COMMENT_COLUMNS}); END",
    "CREATE TRIGGER IF NOT EXISTS comment_fts_delete AFTER DELETE ON ticket_comment BEGIN "
    "DELETE FROM comment_fts WHERE rowid = old.id; END",
)
# Fills the FTS5 tables from rows written before they existed (the migration runs it).
SQLITE_BACKFILL: tuple[str, ...] = (
    "DELETE FROM ticket_fts",
    "INSERT INTO ticket_fts(rowid, document) SELECT id, title || ' ' || description FROM ticket",
    "DELETE FROM comment_fts",
    "INSERT INTO comment_fts(rowid, public_text, internal_text) SELECT id, "
    + _COMMENT_COLUMNS.replace("new.", "")
    + " FROM ticket_comment",
)
SQLITE_DROP: tuple[str, ...] = (
    "DROP TRIGGER IF EXISTS ticket_fts_insert",
    "DROP TRIGGER IF EXISTS ticket_fts_update",
    "DROP TRIGGER IF EXISTS ticket_fts_delete",
    "DROP TRIGGER IF EXISTS comment_fts_insert",
    "DROP TRIGGER IF EXISTS comment_fts_update",
    "DROP TRIGGER IF EXISTS comment_fts_delete",
    "DROP TABLE IF EXISTS ticket_fts",
    "DROP TABLE IF EXISTS comment_fts",
)


# `metadata.create_all` on SQLite (tests, throwaway databases) builds them too.
def _sqlite_only(statement: str) -> Any:
    return DDL(statement).execute_if(dialect="sqlite")  # type: ignore[no-untyped-call]


for _statement in SQLITE_DDL:
    event.listen(table_of(TicketComment), "after_create", _sqlite_only(_statement))
for _statement in SQLITE_DROP:
    event.listen(table_of(TicketComment), "before_drop", _sqlite_only(_statement))
