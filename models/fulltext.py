"""Full-text search indexes, one definition for both backends.

What is searched: a ticket's title and description (one document per ticket), and each
comment, public replies and internal notes indexed apart so that a requester's search
never reads internal text.

- PostgreSQL: GIN indexes on `to_tsvector('simple', …)` expressions of the rows themselves
  (kept current by PostgreSQL, nothing to maintain); public replies and internal notes
  have a partial index each.
- SQLite: FTS5 tables kept current by triggers: `ticket_fts` (one row per ticket) and
  `comment_fts` (one per comment, the text in `public_text` or `internal_text`).

Both are scoped by organization inside the index, so that a word's matches are read for
one organization only (a common word is in a tenth of all tickets: read across 100
organizations it cost 100 times the answer):
- PostgreSQL: each document also holds the lexeme `#<organization id>`, which no word can
  be (words are letters and digits); a search asks for its words AND that lexeme, and GIN
  intersects the two posting lists.
- SQLite: an FTS5 row's rowid is `(organization id << 32) + ticket or comment id`, so one
  organization's rows are one rowid range, and FTS5 seeks a word's doclist to the start of
  that range and stops at its end (ids stay below 2**32).

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


def pg_organization_lexeme(organization_id: int) -> str:
    """The tsquery text of the lexeme an organization's documents hold (ANDed to a search)."""
    return f"'#{int(organization_id)}'"


# The words alone (what the first full-text migration indexed; hand-written checks of one
# row need nothing more).
PG_TICKET_WORDS = pg_document("(title::text || ' '::text) || description")
PG_COMMENT_WORDS = pg_document("content")
_PG_ORGANIZATION_LEXEME = "array_to_tsvector(ARRAY['#'::text || organization_id])"
# Spelt as PostgreSQL prints it back, so that comparing the schema with the models agrees.
PG_TICKET_DOCUMENT = f"({PG_TICKET_WORDS} || {_PG_ORGANIZATION_LEXEME})"
PG_COMMENT_DOCUMENT = f"({PG_COMMENT_WORDS} || {_PG_ORGANIZATION_LEXEME})"
PUBLIC_REPLY = "comment_type = 'public_reply'"
INTERNAL_NOTE = "comment_type = 'internal_note'"

# GIN keeps new entries in a pending list that every search reads in full until it is
# merged (by VACUUM, or when it outgrows this limit, 4 MB by default): ~270 pages, 1.4 ms per
# index per search in the scale benchmark whatever the word or organization. 256 kB bounds
# that to ~32 pages, at the cost of merging every ~1,000 new tickets instead of ~15,000.
PG_GIN_OPTIONS = {"gin_pending_list_limit": 256}
PG_GIN_WITH = "WITH (gin_pending_list_limit = 256)"

TICKET_FULLTEXT_INDEX = Index(
    "ix_ticket_fulltext",
    text(PG_TICKET_DOCUMENT),
    postgresql_using="gin",
    postgresql_with=PG_GIN_OPTIONS,
).ddl_if(dialect="postgresql")
PUBLIC_REPLY_FULLTEXT_INDEX = Index(
    "ix_comment_public_fulltext",
    text(PG_COMMENT_DOCUMENT),
    postgresql_using="gin",
    postgresql_with=PG_GIN_OPTIONS,
    postgresql_where=text(PUBLIC_REPLY),
).ddl_if(dialect="postgresql")
INTERNAL_NOTE_FULLTEXT_INDEX = Index(
    "ix_comment_internal_fulltext",
    text(PG_COMMENT_DOCUMENT),
    postgresql_using="gin",
    postgresql_with=PG_GIN_OPTIONS,
    postgresql_where=text(INTERNAL_NOTE),
).ddl_if(dialect="postgresql")
table_of(Ticket).append_constraint(TICKET_FULLTEXT_INDEX)
table_of(TicketComment).append_constraint(PUBLIC_REPLY_FULLTEXT_INDEX)
table_of(TicketComment).append_constraint(INTERNAL_NOTE_FULLTEXT_INDEX)

# An FTS5 rowid: the organization in the high 32 bits, the ticket's or comment's id below.
ORGANIZATION_ROWID_SHIFT = 32


def sqlite_rowid_range(organization_id: int) -> tuple[int, int]:
    """The first and last FTS5 rowid an organization's rows can have."""
    first = int(organization_id) << ORGANIZATION_ROWID_SHIFT
    return first, first + (1 << ORGANIZATION_ROWID_SHIFT) - 1


def _sqlite_rowid(row: str) -> str:
    return f"(({row}.organization_id << {ORGANIZATION_ROWID_SHIFT}) + {row}.id)"


_TOKENIZER = "tokenize = 'unicode61 remove_diacritics 0'"
_TICKET_TEXT = "new.title || ' ' || new.description"
_COMMENT_COLUMNS = (
    "CASE WHEN new.comment_type = 'public_reply' THEN new.content ELSE '' END, "
    "CASE WHEN new.comment_type = 'public_reply' THEN '' ELSE new.content END"
)

SQLITE_DDL: tuple[str, ...] = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS ticket_fts USING fts5(document, {_TOKENIZER})",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS comment_fts USING fts5(public_text, internal_text, "
    f"{_TOKENIZER})",
    "CREATE TRIGGER IF NOT EXISTS ticket_fts_insert AFTER INSERT ON ticket BEGIN "
    f"INSERT INTO ticket_fts(rowid, document) VALUES ({_sqlite_rowid('new')}, {_TICKET_TEXT});"
    " END",
    "CREATE TRIGGER IF NOT EXISTS ticket_fts_update "
    "AFTER UPDATE OF title, description, organization_id ON ticket "
    f"BEGIN DELETE FROM ticket_fts WHERE rowid = {_sqlite_rowid('old')}; "
    f"INSERT INTO ticket_fts(rowid, document) VALUES ({_sqlite_rowid('new')}, {_TICKET_TEXT});"
    " END",
    "CREATE TRIGGER IF NOT EXISTS ticket_fts_delete AFTER DELETE ON ticket BEGIN "
    f"DELETE FROM ticket_fts WHERE rowid = {_sqlite_rowid('old')}; END",
    "CREATE TRIGGER IF NOT EXISTS comment_fts_insert AFTER INSERT ON ticket_comment BEGIN "
    f"INSERT INTO comment_fts(rowid, public_text, internal_text) VALUES ({_sqlite_rowid('new')}, "
    f"{_COMMENT_COLUMNS}); END",
    "CREATE TRIGGER IF NOT EXISTS comment_fts_update "
    "AFTER UPDATE OF content, comment_type, organization_id ON ticket_comment "
    f"BEGIN DELETE FROM comment_fts WHERE rowid = {_sqlite_rowid('old')}; "
    f"INSERT INTO comment_fts(rowid, public_text, internal_text) VALUES ({_sqlite_rowid('new')}, "
    f"{_COMMENT_COLUMNS}); END",
    "CREATE TRIGGER IF NOT EXISTS comment_fts_delete AFTER DELETE ON ticket_comment BEGIN "
    f"DELETE FROM comment_fts WHERE rowid = {_sqlite_rowid('old')}; END",
)
# Fills the FTS5 tables from rows written before they existed (the migrations run it).
SQLITE_BACKFILL: tuple[str, ...] = (
    "DELETE FROM ticket_fts",
    f"INSERT INTO ticket_fts(rowid, document) SELECT {_sqlite_rowid('ticket')}, "
    "title || ' ' || description FROM ticket",
    "DELETE FROM comment_fts",
    f"INSERT INTO comment_fts(rowid, public_text, internal_text) SELECT "
    f"{_sqlite_rowid('ticket_comment')}, "
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
