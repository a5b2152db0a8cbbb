"""Free-text matching: the one place the two backends differ (GIN vs FTS5).

Each function returns a SELECT of ticket ids whose searchable text holds the words next to
each other, in order. The PostgreSQL expressions are spelt exactly as the GIN indexes in
`models.fulltext` are, so the planner uses them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, column, text
from sqlalchemy.sql.selectable import TextualSelect

from models.fulltext import INTERNAL_NOTE, PG_COMMENT_DOCUMENT, PG_TICKET_DOCUMENT, PUBLIC_REPLY


def matching_ticket_ids(
    dialect: str,
    words: Sequence[str],
    *,
    organization_id: int,
    include_internal: bool,
    name: str,
) -> TextualSelect:
    """Ids of the organization's tickets whose title and description, public replies, or
    (with `include_internal`) internal notes contain `words` as a phrase.

    `name` makes the bound parameters unique within one statement."""
    phrase = " ".join(words)
    org = f"{name}_org"
    if dialect == "postgresql":
        query = f"phraseto_tsquery('simple'::regconfig, :{name})"
        parts = [
            f"SELECT ticket.id FROM ticket WHERE ticket.organization_id = :{org} "
            f"AND {PG_TICKET_DOCUMENT} @@ {query}",
            f"SELECT ticket_comment.ticket_id FROM ticket_comment "
            f"WHERE ticket_comment.organization_id = :{org} AND {PUBLIC_REPLY} "
            f"AND {PG_COMMENT_DOCUMENT} @@ {query}",
        ]
        if include_internal:
            parts.append(
                f"SELECT ticket_comment.ticket_id FROM ticket_comment "
                f"WHERE ticket_comment.organization_id = :{org} AND {INTERNAL_NOTE} "
                f"AND {PG_COMMENT_DOCUMENT} @@ {query}"
            )
        statement = text(" UNION ".join(parts)).bindparams(
            bindparam(name, phrase), bindparam(org, organization_id)
        )
        return statement.columns(column("id"))
    # SQLite FTS5: a phrase of plain words (letters and digits only, so no quoting issue).
    quoted = f'"{phrase}"'
    columns = "{public_text internal_text}" if include_internal else "public_text"
    comments = f"{name}_c"
    statement = text(
        f"SELECT rowid AS id FROM ticket_fts WHERE ticket_fts MATCH :{name} "
        f"UNION SELECT ticket_comment.ticket_id FROM ticket_comment "
        f"WHERE ticket_comment.organization_id = :{org} AND ticket_comment.id IN "
        f"(SELECT rowid FROM comment_fts WHERE comment_fts MATCH :{comments})"
    ).bindparams(
        bindparam(name, quoted),
        bindparam(comments, f"{columns} : {quoted}"),
        bindparam(org, organization_id),
    )
    return statement.columns(column("id"))
