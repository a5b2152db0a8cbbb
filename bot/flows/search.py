"""Finding tickets from Slack: `/ticket find`, saved views (`/ticket view …`), the views on
App Home. Reads through the search service, whose scope keeps a requester to their own
tickets' public side."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.blocks import search as blocks
from bot.blocks.search import PAGE_SIZE, PageRef, ViewLine
from bot.blocks.text import escape
from bot.core.errors import InvalidInput
from bot.outbox.render import ticket_view
from bot.services import saved_views, search
from bot.services.actors import Actor
from bot.services.search import QueryError, Scope
from models import Member, Organization, SavedView

VIEW_USAGE = (
    "`/ticket view save <name> <query>` · `/ticket view <name>` · `/ticket view list` · "
    "`/ticket view delete <name>` · `/ticket view share <name>` (admins)"
)


@dataclass(frozen=True)
class Answer:
    text: str
    blocks: list[dict[str, Any]]


def scope_of(organization: Organization, viewer: Actor, now: datetime) -> Scope:
    return search.scope_for(organization, member=viewer.member, is_staff=viewer.is_staff, now=now)


def find_page(
    session: Session, *, organization: Organization, viewer: Actor, ref: PageRef, now: datetime
) -> Answer:
    """One page of a search, or the query's error with a hint (never raised)."""
    try:
        result = search.search(
            session,
            text=ref.query,
            scope=scope_of(organization, viewer, now),
            limit=PAGE_SIZE,
            offset=ref.page * PAGE_SIZE,
        )
    except QueryError as error:
        return Answer(error.message, blocks.query_error_blocks(error.message, ref.query))
    views = [ticket_view(session, t) for t in result.tickets]
    return Answer(
        result.headline,
        blocks.results_blocks(
            headline=result.headline,
            tickets=views,
            ref=ref,
            total=result.total,
            now=now,
            can_save=viewer.member is not None,
        ),
    )


def command_answer(
    session: Session,
    *,
    organization: Organization,
    viewer: Actor,
    member: Member,
    find: bool,
    text: str,
    now: datetime,
) -> Answer:
    """`/ticket find <query>` (find) or `/ticket view …`."""
    if find:
        ref = PageRef(text)
        return find_page(session, organization=organization, viewer=viewer, ref=ref, now=now)
    return view_command(
        session, organization=organization, viewer=viewer, member=member, text=text, now=now
    )


def _views_of(session: Session, organization: Organization, member: Member) -> list[SavedView]:
    assert organization.id is not None
    return saved_views.list_views(session, organization_id=organization.id, member=member)


def _line(session: Session, view: SavedView, scope: Scope) -> ViewLine:
    status = saved_views.view_status(session, query=view.query, scope=scope)
    return ViewLine(
        name=view.name,
        query=view.query,
        count=status.count,
        broken=status.broken,
        shared=view.owner_id is None,
    )


def view_command(
    session: Session,
    *,
    organization: Organization,
    viewer: Actor,
    member: Member,
    text: str,
    now: datetime,
) -> Answer:
    """`/ticket view …`: save, list, delete, share, or open a view by name."""
    assert organization.id is not None
    word, _, rest = " ".join(text.split()).partition(" ")
    action = word.lower()
    scope = scope_of(organization, viewer, now)
    if action in ("", "list") and not rest:
        lines = [_line(session, v, scope) for v in _views_of(session, organization, member)]
        return Answer("Your views", blocks.view_list_blocks(lines))
    if action == "save":
        name, query = _name_and_rest(rest)
        if not name:
            raise InvalidInput(f"Give the view a name and a query: {VIEW_USAGE}")
        view = saved_views.create_view(
            session,
            organization=organization,
            name=name,
            query=query,
            owner=member,
            created_by=member,
            scope=scope,
        )
        count = search.count(session, text=view.query, scope=scope)
        return _said(
            f":white_check_mark: Saved *{escape(view.name)}* "
            f"({search.count_words(count)} now). Open it with `/ticket view {escape(view.name)}`."
        )
    if action in ("delete", "share") and rest:
        name = rest.strip().strip('"')
        if action == "share":
            view = saved_views.share_view(
                session, organization_id=organization.id, member=member, name=name
            )
            return _said(f":white_check_mark: *{escape(view.name)}* is shared with all staff.")
        view = saved_views.find_view(
            session, organization_id=organization.id, member=member, name=name
        )
        saved_views.delete_view(session, view=view, member=member)
        return _said(f"Deleted the view *{escape(view.name)}*.")
    view = saved_views.find_view(
        session, organization_id=organization.id, member=member, name=text.strip().strip('"')
    )
    ref = PageRef(view.query, 0, view.name)
    return find_page(session, organization=organization, viewer=viewer, ref=ref, now=now)


def _said(text: str) -> Answer:
    return Answer(text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}])


def _name_and_rest(text: str) -> tuple[str, str]:
    """`"Acme open" client:acme` → ("Acme open", "client:acme"); unquoted: the first word."""
    text = text.strip()
    if text.startswith('"'):
        try:
            lexer = shlex.shlex(text, posix=True)
            lexer.whitespace_split = True
            name = next(iter(lexer))
        except (ValueError, StopIteration):
            raise InvalidInput("The view's name has a quote that is not closed.") from None
        end = text.index('"', 1) + 1
        return name, text[end:].strip()
    name, _, rest = text.partition(" ")
    return name, rest.strip()


def save_view(
    session: Session,
    *,
    organization: Organization,
    viewer: Actor,
    member: Member,
    name: str,
    query: str,
    now: datetime,
) -> SavedView:
    """ "Save as view" under a search."""
    return saved_views.create_view(
        session,
        organization=organization,
        name=name,
        query=query,
        owner=member,
        created_by=member,
        scope=scope_of(organization, viewer, now),
    )


def home_views(
    session: Session, *, organization: Organization, viewer: Actor, now: datetime
) -> list[dict[str, Any]]:
    """Staff App Home's views: built-in, shared and personal, each with its live count
    (all counted in one statement)."""
    scope = scope_of(organization, viewer, now)
    saved = _views_of(session, organization, viewer.member) if viewer.member is not None else []
    named = [(v.name, v.query, False) for v in saved_views.BUILTIN_VIEWS]
    named += [(v.name, v.query, v.owner_id is None) for v in saved]
    counted = search.counts(session, texts=[query for _, query, _ in named], scope=scope)
    lines = [
        ViewLine(
            name,
            query,
            None if isinstance(count, QueryError) else count,
            count.message if isinstance(count, QueryError) else None,
            shared,
        )
        for (name, query, shared), count in zip(named, counted, strict=True)
    ]
    builtin = len(saved_views.BUILTIN_VIEWS)
    return blocks.home_views_blocks(lines[:builtin], lines[builtin:])
