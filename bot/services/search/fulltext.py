"""Free-text matching: the one place the two backends differ (GIN vs FTS5).

Each function returns a SELECT of ticket ids whose searchable text holds the words next to
each other, in order. The PostgreSQL expressions are spelt exactly as the GIN indexes in
`models.fulltext` are, so the planner uses them.

Matches are read for the one organization inside the index (its lexeme on PostgreSQL, its
rowid range on SQLite): a common word costs that organization's matches, not everyone's.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, column, text
from sqlalchemy.sql.selectable import TextualSelect

from bot.services.search.query import UNRESOLVED
from models.fulltext import (
    INTERNAL_NOTE,
    PG_COMMENT_DOCUMENT,
    PG_TICKET_DOCUMENT,
    PUBLIC_REPLY,
    pg_organization_lexeme,
    sqlite_rowid_range,
)


def matching_ticket_ids(
    dialect: str,
    words: Sequence[str],
    *,
    organization_id: int,
    include_internal: bool,
    name: str,
    unresolved_only: bool = False,
) -> TextualSelect:
    """Ids of the organization's tickets whose title and description, public replies, or
    (with `include_internal`) internal notes contain `words` as a phrase.

    `unresolved_only`: the caller keeps only unresolved tickets, so on PostgreSQL the
    tickets' own matches are read for the unresolved ones only (a bitmap AND of the GIN
    index with the partial index of open tickets: the live queue's matches, not the whole
    history's). Comments' matches are not narrowed: the caller's filter drops the others.

    `name` names the bound parameters; SQLAlchemy makes them unique in the statement it ends
    up in (`unique=True`), which may hold several queries' matches (App Home's counts)."""
    phrase = " ".join(words)
    org = f"{name}_org"
    if dialect == "postgresql":
        lexeme = f"{name}_lexeme"
        query = f"(phraseto_tsquery('simple'::regconfig, :{name}) && CAST(:{lexeme} AS tsquery))"
        # Spelt as the partial index's predicate, so that the planner can use it.
        open_tickets = f"AND ticket.status IN ({', '.join(repr(s.value) for s in UNRESOLVED)}) "
        # Comments are read from their GIN index only, the organization checked on each
        # match (`+ 0`: not an index condition): the organization's lexeme already narrows
        # the index to its matches, and otherwise, for an organization with a few hundred
        # comments, the planner reads them all by organization and computes each one's
        # words (1.5 ms for 300 comments against 0.3 ms from the index).
        comments_of_organization = f"(ticket_comment.organization_id + 0) = :{org}"
        parts = [
            f"SELECT ticket.id FROM ticket WHERE ticket.organization_id = :{org} "
            f"{open_tickets if unresolved_only else ''}"
            f"AND {PG_TICKET_DOCUMENT} @@ {query}",
            f"SELECT ticket_comment.ticket_id FROM ticket_comment "
            f"WHERE {comments_of_organization} AND {PUBLIC_REPLY} "
            f"AND {PG_COMMENT_DOCUMENT} @@ {query}",
        ]
        if include_internal:
            parts.append(
                f"SELECT ticket_comment.ticket_id FROM ticket_comment "
                f"WHERE {comments_of_organization} AND {INTERNAL_NOTE} "
                f"AND {PG_COMMENT_DOCUMENT} @@ {query}"
            )
        statement = text(" UNION ".join(parts)).bindparams(
            bindparam(name, phrase, unique=True),
            bindparam(lexeme, pg_organization_lexeme(organization_id), unique=True),
            bindparam(org, organization_id, unique=True),
        )
        return statement.columns(column("id"))
    # SQLite FTS5: a phrase of plain words (letters and digits only, so no quoting issue),
    # read within the organization's rowid range (its rows' ids are the rowid's low bits).
    quoted = f'"{phrase}"'
    columns = "{public_text internal_text}" if include_internal else "public_text"
    comments, first, last = f"{name}_c", f"{name}_first", f"{name}_last"
    in_organization = f"rowid BETWEEN :{first} AND :{last}"
    row_id = f"rowid - :{first}"
    statement = text(
        f"SELECT {row_id} AS id FROM ticket_fts WHERE ticket_fts MATCH :{name} "
        f"AND {in_organization} "
        f"UNION SELECT ticket_comment.ticket_id FROM ticket_comment "
        f"WHERE ticket_comment.organization_id = :{org} AND ticket_comment.id IN "
        f"(SELECT {row_id} FROM comment_fts WHERE comment_fts MATCH :{comments} "
        f"AND {in_organization})"
    )
    lowest, highest = sqlite_rowid_range(organization_id)
    statement = statement.bindparams(
        bindparam(name, quoted, unique=True),
        bindparam(comments, f"{columns} : {quoted}", unique=True),
        bindparam(org, organization_id, unique=True),
        bindparam(first, lowest, unique=True),
        bindparam(last, highest, unique=True),
    )
    return statement.columns(column("id"))
