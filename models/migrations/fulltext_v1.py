"""The first full-text structures (revision d5e7a1c3b9f2), frozen as they were built then.

They matched words across all organizations: FTS5 rowids were the ticket's or comment's id
and the GIN documents held words only. Revision 6f1b3d8e2a47 replaced them with ones scoped
by organization (`models.fulltext`); its downgrade, and d5e7a1c3b9f2 itself, build these.
"""

from __future__ import annotations

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
SQLITE_BACKFILL: tuple[str, ...] = (
    "DELETE FROM ticket_fts",
    "INSERT INTO ticket_fts(rowid, document) SELECT id, title || ' ' || description FROM ticket",
    "DELETE FROM comment_fts",
    "INSERT INTO comment_fts(rowid, public_text, internal_text) SELECT id, "
    + _COMMENT_COLUMNS.replace("new.", "")
    + " FROM ticket_comment",
)
