"""What people see of tickets outside the card: App Home, `/ticket mine`, `/ticket 42`.

Reads only, through the services' visibility rules: a requester's views are built from
`list_comments` for that requester, which never returns internal notes.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from bot.blocks.conversation import (
    CommentView,
    requester_home,
    staff_home,
    ticket_details,
    ticket_list,
)
from bot.blocks.preferences import notification_blocks
from bot.blocks.setup import setup_button
from bot.blocks.tickets import TicketView
from bot.flows.search import home_views
from bot.outbox.render import ticket_view
from bot.outbox.rows import STAFF_CHANNEL
from bot.services import comments as comment_service
from bot.services import preferences
from bot.services import tickets as ticket_service
from bot.services.actors import Actor
from bot.services.tickets import OPEN_STATUSES, TicketFilter
from models import (
    AuthorType,
    ClientCompany,
    CommentType,
    Member,
    MemberRole,
    MessageRole,
    Organization,
    OutboxMessage,
    OutboxStatus,
    SlackMessageRef,
    Ticket,
    TicketComment,
    utcnow,
)

HOME_LIST_SIZE = 10


def _comment_view(comment: TicketComment) -> CommentView:
    return CommentView(
        author=comment.author_name,
        content=comment.content,
        created_at=comment.created_at,
        internal=comment.comment_type == CommentType.INTERNAL_NOTE,
        from_staff=comment.author_type == AuthorType.STAFF,
    )


def comment_views(session: Session, ticket: Ticket, viewer: Actor) -> list[CommentView]:
    return [
        _comment_view(c)
        for c in comment_service.list_comments(session, ticket=ticket, viewer=viewer)
    ]


def _load_people_and_companies(session: Session, tickets: list[Ticket]) -> list[object]:
    """Load the requesters, assignees and companies of a page of tickets with one query
    each, so that drawing each ticket finds them in the session instead of asking once
    per ticket. Keep the result while drawing: the session holds them only weakly."""
    member_ids = {
        i for t in tickets for i in (t.requester_id, t.assigned_staff_id) if i is not None
    }
    company_ids = {t.client_company_id for t in tickets if t.client_company_id is not None}
    loaded: list[object] = []
    if member_ids:
        loaded += session.exec(select(Member).where(col(Member.id).in_(member_ids))).all()
    if company_ids:
        loaded += session.exec(
            select(ClientCompany).where(col(ClientCompany.id).in_(company_ids))
        ).all()
    return loaded


def _ticket_views(session: Session, *pages: list[Ticket]) -> list[list[TicketView]]:
    """Each page of tickets drawn, their people and companies loaded once for all pages."""
    loaded = _load_people_and_companies(session, [t for page in pages for t in page])
    views = [[ticket_view(session, t) for t in page] for page in pages]
    del loaded  # (kept until every page is drawn)
    return views


def _card_links(session: Session, tickets: list[Ticket]) -> dict[int, str]:
    ids = [t.id for t in tickets if t.id is not None]
    if not ids:
        return {}
    refs = session.exec(
        select(SlackMessageRef).where(
            SlackMessageRef.ticket_id.in_(ids),  # type: ignore[attr-defined]
            SlackMessageRef.role == MessageRole.STAFF_CARD,
        )
    ).all()
    return {r.ticket_id: r.permalink for r in refs if r.permalink}


def waiting_cards(session: Session, *, organization: Organization) -> int:
    """Cards held back because the organization has no staff channel yet."""
    return int(
        session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.organization_id == organization.id,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.channel_ref == STAFF_CHANNEL,
            )
        ).one()
    )


def home_view(
    session: Session, *, organization: Organization, viewer: Actor, staff_channel: str | None
) -> dict[str, Any]:
    view = _home_view(session, organization=organization, viewer=viewer)
    member = viewer.member
    is_admin = member is not None and (member.role == MemberRole.ADMIN or member.slack_is_admin)
    if staff_channel is None and (viewer.is_staff or is_admin):
        waiting = waiting_cards(session, organization=organization)
        warning = {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f":warning: *No staff channel is set*, so {waiting} ticket "
                f"card{'s are' if waiting != 1 else ' is'} waiting. Tickets are still filed "
                "and requesters are told they wait. Choose the channel to start.",
            },
        }
        view["blocks"] = [warning, setup_button(), *view["blocks"]][:100]
    if member is not None and member.id is not None:
        offered = preferences.STAFF_NOTICES if viewer.is_staff else preferences.REQUESTER_NOTICES
        switches = notification_blocks(offered, preferences.muted(session, member_id=member.id))
        view["blocks"] = [*view["blocks"][: 100 - len(switches)], *switches]
    return view


def save_notifications(
    session: Session, *, member: Member, is_staff: bool, enabled: list[str]
) -> None:
    """The App Home's notification switches were changed."""
    offered = preferences.STAFF_NOTICES if is_staff else preferences.REQUESTER_NOTICES
    preferences.set_enabled(session, member=member, offered=offered, enabled=enabled)


def _home_view(session: Session, *, organization: Organization, viewer: Actor) -> dict[str, Any]:
    now = utcnow()
    if viewer.is_staff:

        def listed(filters: TicketFilter) -> list[Ticket]:
            return ticket_service.list_tickets(
                session,
                organization_id=organization.id,
                viewer=viewer,
                filters=filters,
                limit=HOME_LIST_SIZE,
            )

        open_statuses = list(OPEN_STATUSES)
        mine = listed(TicketFilter(status=open_statuses, assigned_staff_id=viewer.member_id))
        unassigned = listed(TicketFilter(status=open_statuses, unassigned=True))
        recent = listed(TicketFilter())
        mine_views, unassigned_views, recent_views = _ticket_views(
            session, mine, unassigned, recent
        )
        home = staff_home(
            mine=mine_views,
            unassigned=unassigned_views,
            recent=recent_views,
            card_links=_card_links(session, mine + unassigned + recent),
            now=now,
        )
        views = home_views(session, organization=organization, viewer=viewer, now=now)
        home["blocks"] = [*views, *home["blocks"]][:100]
        return home
    tickets = ticket_service.list_tickets(
        session, organization_id=organization.id, viewer=viewer, limit=HOME_LIST_SIZE
    )
    tickets.sort(key=lambda t: (t.status not in OPEN_STATUSES, -t.updated_at.timestamp()))
    return requester_home(
        tickets=_ticket_views(session, tickets)[0],
        conversations={
            ticket_id: [_comment_view(c) for c in comments]
            for ticket_id, comments in comment_service.list_comments_for_tickets(
                session, tickets=tickets, viewer=viewer
            ).items()
        },
        now=now,
    )


def my_tickets_blocks(
    session: Session, *, organization: Organization, viewer: Actor
) -> list[dict[str, Any]]:
    """`/ticket mine`: the tickets the person asked for (open ones first); for staff, first
    the open tickets assigned to them."""
    requester_view = Actor(name=viewer.name, is_staff=False, member=viewer.member)
    tickets = ticket_service.list_tickets(
        session, organization_id=organization.id, viewer=requester_view, limit=20
    )
    tickets.sort(key=lambda t: (t.status not in OPEN_STATUSES, -t.updated_at.timestamp()))
    now = utcnow()
    if not viewer.is_staff:
        return ticket_list(
            _ticket_views(session, tickets)[0],
            empty="You have no tickets. File one with `/ticket`.",
            now=now,
        )
    assigned = ticket_service.list_tickets(
        session,
        organization_id=organization.id,
        viewer=viewer,
        filters=TicketFilter(status=list(OPEN_STATUSES), assigned_staff_id=viewer.member_id),
        limit=20,
    )
    assigned_views, asked_views = _ticket_views(session, assigned, tickets)
    blocks = ticket_list(
        assigned_views,
        empty="*Assigned to you*\nNothing open is assigned to you. The unassigned tickets "
        "are on Ticketbot's Home tab.",
        now=now,
        heading="Assigned to you",
    )
    if asked_views:
        blocks += ticket_list(asked_views, empty="", now=now, heading="You asked for")
    return blocks


def ticket_blocks(
    session: Session, *, organization: Organization, viewer: Actor, number: int
) -> list[dict[str, Any]]:
    """`/ticket 42`: all of it for staff, the public view for its requester, else refused."""
    ticket = ticket_service.get_ticket_by_number(
        session, organization_id=organization.id, number=number
    )
    ticket_service.ensure_can_view(ticket, viewer)
    return ticket_details(
        ticket_view(session, ticket),
        comment_views(session, ticket, viewer),
        now=utcnow(),
        for_staff=viewer.is_staff,
    )
