"""Messages drawn when they are delivered, from the ticket as it is then.

Also the ticket as the builders see it (`ticket_view`), shared by the card, App Home and
the /ticket views.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.blocks.csat import RATING_LABELS
from bot.blocks.sla import SlaLineView
from bot.blocks.text import first_name
from bot.blocks.tickets import (
    Activity,
    FiledFor,
    PersonView,
    TicketView,
    requester_received_blocks,
    requester_received_text,
    ticket_card,
    ticket_fallback_text,
)
from bot.blocks.time_tracking import timing_line
from bot.outbox.rows import CARD_LINK, LINK_CARD, NAMES, RENDER, Rendered
from bot.services import comments, csat, sla, time_tracking
from bot.services import organizations as orgs
from models import (
    AuthorType,
    ClientCompany,
    CommentType,
    CsatRating,
    CsatResponse,
    Member,
    MessageRole,
    Organization,
    OutboxMessage,
    SlackMessageRef,
    SlaClock,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketPriority,
    TicketStatus,
    TimeEntry,
    saved_id,
    utcnow,
)


def _person(member: Member | None) -> PersonView | None:
    if member is None:
        return None
    return PersonView(name=member.name, slack_user_id=member.slack_user_id)


def ticket_view(
    session: Session,
    ticket: Ticket,
    *,
    source_permalink: str | None = None,
    with_company_options: bool = False,
    with_sla: bool = False,
    with_timers: bool = False,
) -> TicketView:
    requester = session.get(Member, ticket.requester_id) if ticket.requester_id else None
    assignee = session.get(Member, ticket.assigned_staff_id) if ticket.assigned_staff_id else None
    company = (
        session.get(ClientCompany, ticket.client_company_id) if ticket.client_company_id else None
    )
    return TicketView(
        id=ticket.id,  # type: ignore[arg-type]
        number=ticket.ticket_number,
        title=ticket.title,
        description=ticket.description,
        status=TicketStatus(ticket.status),
        priority=TicketPriority(ticket.priority),
        category=ticket.category,
        requester=_person(requester),
        assignee=_person(assignee),
        company=company.name if company else None,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        source_permalink=source_permalink,
        company_id=ticket.client_company_id,
        # Only the card offers the company menu; lists of tickets do not need it.
        company_options=(
            _company_choices(session, ticket.organization_id) if with_company_options else ()
        ),
        sla=sla_line_view(session, ticket) if with_sla else None,
        timing=_timing(session, ticket) if with_timers else None,
    )


def sla_line_view(session: Session, ticket: Ticket) -> SlaLineView | None:
    """The clock the card's SLA line shows, and the zone its times are read in."""
    clocks = _ahead(session, "clocks", ticket.id, lambda: sla.clocks_of(session, ticket), [])
    clock = sla.most_urgent(clocks)
    if clock is None:
        return None
    finished = not sla.is_live(clock)
    return SlaLineView(
        metric=str(clock.metric),
        status=str(clock.status),
        due_at=clock.due_at,
        timezone=sla.timezone_of(session, ticket, clock),
        finished=finished,
        also_breached=tuple(sla.breached_metrics(clocks, besides=clock)) if finished else (),
    )


def _timing(session: Session, ticket: Ticket) -> str | None:
    running = _ahead(
        session,
        "running",
        ticket.id,
        lambda: time_tracking.running_on_ticket(session, ticket_id=ticket.id),
        [],
    )
    if not running:
        return None
    organization = session.get(Organization, ticket.organization_id)
    assert organization is not None
    return timing_line(running, time_tracking.zone_of(organization))


def card_view(session: Session, ticket: Ticket) -> TicketView:
    """The ticket as its card shows it: with the menus' choices and its latest activity."""
    view = ticket_view(
        session,
        ticket,
        source_permalink=_source_permalink(session, ticket),
        with_company_options=True,
        with_sla=True,
        with_timers=True,
    )
    rating = _ahead(
        session, "rating", ticket.id, lambda: csat.rating_of(session, ticket_id=saved_id(ticket))
    )
    if rating is not None:
        view = replace(view, satisfaction=RATING_LABELS[rating])
    organization = session.get(Organization, ticket.organization_id)
    parent = session.get(Ticket, ticket.parent_ticket_id) if ticket.parent_ticket_id else None
    latest = _ahead(
        session,
        "latest",
        ticket.id,
        lambda: session.exec(
            select(TicketComment)
            .where(TicketComment.ticket_id == ticket.id)
            .order_by(col(TicketComment.id).desc())
            .limit(1)
        ).first(),
    )
    last_public = _ahead(
        session,
        "last_public",
        ticket.id,
        lambda: comments.last_public_author_type(session, ticket_id=ticket.id),
    )
    return replace(
        view,
        category_options=tuple(organization.categories) if organization else (),
        last_activity=(
            Activity(
                who=first_name(latest.author_name),
                internal=latest.comment_type == CommentType.INTERNAL_NOTE,
                at=latest.created_at,
            )
            if latest
            else None
        ),
        waiting_on_requester=last_public == AuthorType.STAFF,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        follows_number=parent.ticket_number if parent else None,
    )


def _card_payload(session: Session, ticket: Ticket) -> dict[str, Any]:
    view = card_view(session, ticket)
    return {"text": ticket_fallback_text(view), "blocks": ticket_card(view, now=utcnow())}


def _requester_received_payload(
    session: Session, ticket: Ticket, has_staff_channel: bool = True
) -> dict[str, Any]:
    view, filed_for = ticket_view(session, ticket), _filed_for(session, ticket)
    return {
        "text": requester_received_text(view, filed_for),
        "blocks": requester_received_blocks(view, filed_for, awaiting_setup=not has_staff_channel),
    }


def _filed_for(session: Session, ticket: Ticket) -> FiledFor | None:
    """Who filed the ticket, when it was not its requester, and from which channel."""
    filer_id = _ahead(
        session,
        "filer",
        ticket.id,
        lambda: session.exec(
            select(TicketEvent.actor_id).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.field == "created"
            )
        ).first(),
    )
    if filer_id is None or filer_id == ticket.requester_id:
        return None
    filer = session.get(Member, filer_id)
    if filer is None:
        return None
    source_ref = _source_ref(session, ticket)
    source = source_ref.channel_id if source_ref else None
    # A channel, not a DM (whose link would name nobody the requester knows).
    in_channel = source if source and source[:1] in ("C", "G") else None
    return FiledFor(by=first_name(filer.name), channel=in_channel)


def _filed_notice_payload(session: Session, ticket: Ticket) -> dict[str, Any]:
    return {
        "text": f":ticket: Filed as ticket #{ticket.ticket_number}. The IT team will follow up."
    }


_RENDERERS = {
    Rendered.TICKET_CARD: _card_payload,
    Rendered.REQUESTER_RECEIVED: _requester_received_payload,
    Rendered.FILED_NOTICE: _filed_notice_payload,
}


class TicketGone(LookupError):
    """The ticket a message is drawn from no longer exists."""


def render(
    session: Session,
    row: OutboxMessage,
    args: dict[str, Any],
    *,
    has_staff_channel: bool = True,
    drawn: dict[str, Any] | None = None,
) -> None:
    """Fill in `args` (a copy of the row's payload) with what the row asks to be rendered;
    `has_staff_channel`: whether the organization's cards have somewhere to go yet;
    `drawn`: the row's message as `draw` made it already (the worker draws a batch at once)."""
    names = args.pop(NAMES, None)
    if names:
        args["text"] = _fill_names(session, row, args.get("text", ""), names)
    if args.pop(LINK_CARD, None):
        args["text"] = args.get("text", "").replace(CARD_LINK, _card_link(session, row))
    what = args.pop(RENDER, None)
    if what is None:
        return
    args.update(drawn if drawn is not None else draw(session, row, what, has_staff_channel))


def draw(
    session: Session, row: OutboxMessage, what: str, has_staff_channel: bool = True
) -> dict[str, Any]:
    """The message `what` (a `Rendered`) of the row's ticket as it is now: text and blocks."""
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    if ticket is None:
        raise TicketGone(f"outbox row {row.id}: ticket {row.ticket_id} no longer exists")
    if what == Rendered.REQUESTER_RECEIVED:
        return _requester_received_payload(session, ticket, has_staff_channel)
    return _RENDERERS[what](session, ticket)


def _card_link(session: Session, row: OutboxMessage) -> str:
    """ "ticket #N", linked to its card when the card is posted."""
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    if ticket is None:
        return "a ticket"
    words = f"ticket #{ticket.ticket_number}"
    ref = session.exec(
        select(SlackMessageRef).where(
            SlackMessageRef.ticket_id == ticket.id, SlackMessageRef.role == MessageRole.STAFF_CARD
        )
    ).first()
    return f"<{ref.permalink}|{words}>" if ref and ref.permalink else words


_PLACEHOLDER = re.compile(r"⟪(\d{1,18})⟫")


def _fill_names(session: Session, row: OutboxMessage, text: str, names: list[int]) -> str:
    """Each `person(id)` of the row's members becomes that member's first name, now."""

    def name(match: re.Match[str]) -> str:
        member_id = int(match.group(1))
        if member_id not in names:
            return match.group(0)
        member = session.get(Member, member_id)
        if member is None or member.organization_id != row.organization_id:
            return "Someone"
        return first_name(member.name)

    return _PLACEHOLDER.sub(name, text)


def _source_permalink(session: Session, ticket: Ticket) -> str | None:
    ref = _source_ref(session, ticket)
    return ref.permalink if ref else None


def _source_ref(session: Session, ticket: Ticket) -> SlackMessageRef | None:
    return _ahead(
        session,
        "source",
        ticket.id,
        lambda: session.exec(
            select(SlackMessageRef).where(
                SlackMessageRef.ticket_id == ticket.id, SlackMessageRef.role == MessageRole.SOURCE
            )
        ).first(),
    )


# -- drawing a batch of messages at once -----------------------------------------------------
#
# The worker draws the cards and "received" DMs of a claimed batch in one read: what each
# message needs of its ticket (requester, company, SLA clocks, timers, rating, latest
# comment, ...) is read for every ticket of the batch by one statement per kind, instead
# of one small unit of work per message and a dozen statements per card.

_PREFETCH = "ticketbot_render_prefetch"
_T = TypeVar("_T")


@dataclass
class _Prefetched:
    """Per read session: facts of the batch's tickets, by kind and ticket id."""

    tickets: frozenset[int]
    facts: dict[str, dict[int, Any]] = field(default_factory=dict)
    # What was read into the identity map, held: the map holds it only weakly, and
    # `session.get` must find it there instead of asking the database again.
    held: list[Any] = field(default_factory=list)
    company_choices: dict[int | None, tuple[tuple[int, str], ...]] = field(default_factory=dict)


def _ahead(
    session: Session, kind: str, ticket_id: int | None, load: Callable[[], _T], missing: Any = None
) -> _T:
    """The fact `kind` of a ticket, as read ahead for the batch, else loaded now."""
    prefetched: _Prefetched | None = session.info.get(_PREFETCH)
    if prefetched is None or ticket_id is None or ticket_id not in prefetched.tickets:
        return load()
    value: _T = prefetched.facts[kind].get(ticket_id, missing)
    return value


def _company_choices(session: Session, organization_id: int | None) -> tuple[tuple[int, str], ...]:
    prefetched: _Prefetched | None = session.info.get(_PREFETCH)
    if prefetched is None:
        return orgs.company_choices(session, organization_id=organization_id)
    if organization_id not in prefetched.company_choices:
        prefetched.company_choices[organization_id] = orgs.company_choices(
            session, organization_id=organization_id
        )
    return prefetched.company_choices[organization_id]


def read_ahead(session: Session, ticket_ids: Iterable[int]) -> None:
    """Read what drawing the cards and "received" DMs of these tickets needs, a statement
    per kind for all of them; `render` in this session then reads no more for them (the
    tickets, members, companies and organizations stay in the session's identity map)."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return
    tickets = list(session.exec(select(Ticket).where(col(Ticket.id).in_(ids))).all())
    member_ids = {t.requester_id for t in tickets} | {t.assigned_staff_id for t in tickets}
    filers = _first_by_ticket(
        session.exec(
            select(TicketEvent.ticket_id, TicketEvent.actor_id)
            .where(col(TicketEvent.ticket_id).in_(ids), TicketEvent.field == "created")
            .order_by(col(TicketEvent.id))
        ).all()
    )
    member_ids |= set(filers.values())
    member_ids.discard(None)
    held: list[Any] = list(tickets)
    if member_ids:
        held += session.exec(select(Member).where(col(Member.id).in_(member_ids))).all()
    company_ids = {t.client_company_id for t in tickets if t.client_company_id}
    if company_ids:
        held += session.exec(
            select(ClientCompany).where(col(ClientCompany.id).in_(company_ids))
        ).all()
    organization_ids = {t.organization_id for t in tickets}
    held += session.exec(
        select(Organization).where(col(Organization.id).in_(organization_ids))
    ).all()
    facts: dict[str, dict[int, Any]] = {"filer": filers}
    facts["clocks"] = _all_by_ticket(
        session.exec(
            select(SlaClock)
            .where(col(SlaClock.ticket_id).in_(ids))
            .order_by(col(SlaClock.metric), col(SlaClock.cycle))
        ).all()
    )
    running: dict[int, Any] = {}
    for entry, member in session.exec(
        select(TimeEntry, Member)
        .join(Member, col(Member.id) == TimeEntry.technician_id)
        .where(col(TimeEntry.ticket_id).in_(ids), col(TimeEntry.ended_at).is_(None))
        .order_by(col(TimeEntry.started_at))
    ).all():
        running.setdefault(entry.ticket_id, []).append((entry, member))
    facts["running"] = running
    facts["rating"] = {
        ticket_id: CsatRating(rating)
        for ticket_id, rating in session.exec(
            select(CsatResponse.ticket_id, CsatResponse.rating).where(
                col(CsatResponse.ticket_id).in_(ids)
            )
        ).all()
        if rating
    }
    facts["source"] = {
        ref.ticket_id: ref
        for ref in session.exec(
            select(SlackMessageRef).where(
                col(SlackMessageRef.ticket_id).in_(ids), SlackMessageRef.role == MessageRole.SOURCE
            )
        ).all()
    }
    latest_ids = (
        select(func.max(TicketComment.id))
        .where(col(TicketComment.ticket_id).in_(ids))
        .group_by(col(TicketComment.ticket_id))
    )
    facts["latest"] = {
        comment.ticket_id: comment
        for comment in session.exec(
            select(TicketComment).where(col(TicketComment.id).in_(latest_ids))
        ).all()
    }
    public_ids = (
        select(func.max(TicketComment.id))
        .where(
            col(TicketComment.ticket_id).in_(ids),
            TicketComment.comment_type == CommentType.PUBLIC_REPLY,
        )
        .group_by(col(TicketComment.ticket_id))
    )
    facts["last_public"] = dict(
        session.exec(
            select(TicketComment.ticket_id, TicketComment.author_type).where(
                col(TicketComment.id).in_(public_ids)
            )
        ).all()
    )
    session.info[_PREFETCH] = _Prefetched(
        tickets=frozenset(t.id for t in tickets if t.id), facts=facts, held=held
    )


def _first_by_ticket(pairs: Iterable[Any]) -> dict[int, Any]:
    first: dict[int, Any] = {}
    for ticket_id, value in pairs:
        first.setdefault(ticket_id, value)
    return first


def _all_by_ticket(rows: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.ticket_id, []).append(row)
    return grouped
