"""Finding tickets: the query language (parse → typed query → one SQL statement), its
plain-words description, and running it for a person or a REST token."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Row, and_, func
from sqlmodel import Session, col, select

from bot.core.errors import InvalidInput
from bot.services.search.compile import UNRESOLVED_PREDICATE, Compiled, Scope, compile_query
from bot.services.search.describe import count_words, describe, headline
from bot.services.search.errors import QueryError
from bot.services.search.parser import parse
from bot.services.search.query import Query
from models import Member, Organization, Ticket

MAX_PAGE_SIZE = 200


@dataclass
class SearchResult:
    query: Query
    tickets: list[Ticket]
    total: int
    limit: int
    offset: int
    names: dict[int, str] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return describe(self.query, self.names)

    @property
    def headline(self) -> str:
        return headline(self.query, self.total, self.names)


def zone_named(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def organization_zone(organization: Organization) -> ZoneInfo:
    return zone_named(organization.settings.get("timezone"))


def scope_for(
    organization: Organization, *, member: Member | None, is_staff: bool, now: datetime
) -> Scope:
    """A person's dates are in their own zone (their Slack one), else the organization's;
    a REST token's in the organization's."""
    zone = zone_named(member.timezone) if member is not None and member.timezone else None
    assert organization.id is not None
    return Scope(
        organization_id=organization.id,
        is_staff=is_staff,
        member=member,
        now=now,
        zone=zone or organization_zone(organization),
        categories=tuple(organization.categories),
    )


def compile_text(session: Session, text: str | None, scope: Scope) -> tuple[Query, Compiled]:
    query = parse(text)
    return query, compile_query(session, query, scope)


def search(
    session: Session, *, text: str | None, scope: Scope, limit: int = 10, offset: int = 0
) -> SearchResult:
    """One page of the tickets `text` finds, with the total and the query as understood."""
    if limit < 1 or limit > MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}.", field="limit")
    if offset < 0:
        raise InvalidInput("offset cannot be negative.", field="offset")
    query, compiled = compile_text(session, text, scope)
    tickets = list(session.exec(compiled.select().offset(offset).limit(limit)).all())
    total = int(session.exec(compiled.count()).one())
    return SearchResult(
        query=query, tickets=tickets, total=total, limit=limit, offset=offset, names=compiled.names
    )


def counts(session: Session, *, texts: Sequence[str], scope: Scope) -> list[int | QueryError]:
    """How many tickets each query finds, in one statement (App Home's views); a query that
    does not run gives its error in its place.

    The same text is counted once. The queries that keep only unresolved tickets (most views:
    the built-in ones, "my open …") are counted together in one pass over the organization's
    open tickets (a few hundred whatever the history), each a `count(*) FILTER (WHERE …)` of
    its own conditions, rather than one subquery each that the database plans and runs on its
    own; each of the others is a subquery of its own."""
    errors: dict[str, QueryError] = {}
    open_counts: list[tuple[str, Any]] = []
    other_counts: list[tuple[str, Any]] = []
    for text in dict.fromkeys(texts):
        try:
            _, compiled = compile_text(session, text, scope)
        except QueryError as error:
            errors[text] = error
            continue
        if compiled.unresolved_only:
            open_counts.append((text, func.count().filter(and_(*compiled.where))))
        else:
            other_counts.append((text, compiled.count().scalar_subquery()))
    columns = [subquery for _, subquery in other_counts]
    if open_counts:
        unresolved = [UNRESOLVED_PREDICATE]
        if session.get_bind().dialect.name == "sqlite":
            # SQLite's sampled statistics (ANALYZE with analysis_limit) count as many
            # tickets of one status as of the organization: told that unresolved ones are
            # rare (`unlikely`, a hint that changes no result), it reads them from the status
            # index rather than walk every ticket of the organization in a covering index
            # (10,000 at 1M) when the built-in views need no other column.
            unresolved.append(func.unlikely(UNRESOLVED_PREDICATE))
        open_tickets = (
            select(*[count.label(f"view_{i}") for i, (_, count) in enumerate(open_counts)])
            .select_from(Ticket)
            .where(col(Ticket.organization_id) == scope.organization_id, *unresolved)
            .subquery("open_tickets")
        )
        columns += list(open_tickets.c)
    counted: dict[str, int] = {}
    if columns:
        row = session.exec(select(*columns)).one()
        values = row if isinstance(row, tuple | Row) else (row,)
        for (text, _), value in zip([*other_counts, *open_counts], values, strict=True):
            counted[text] = int(value)
    return [errors[text] if text in errors else counted[text] for text in texts]


def count(session: Session, *, text: str | None, scope: Scope) -> int:
    _, compiled = compile_text(session, text, scope)
    return int(session.exec(compiled.count()).one())


__all__ = [
    "QueryError",
    "Scope",
    "SearchResult",
    "compile_text",
    "count",
    "count_words",
    "counts",
    "describe",
    "organization_zone",
    "parse",
    "scope_for",
    "search",
]
