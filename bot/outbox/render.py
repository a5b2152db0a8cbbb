"""Messages drawn when they are delivered, from the ticket as it is then.

Also the ticket as the builders see it (`ticket_view`), shared by the card, App Home and
the /ticket views.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlmodel import Session, select

from bot.blocks.csat import RATING_LABELS
from bot.blocks.tickets import (
    PersonView,
    TicketView,
    requester_received_blocks,
    requester_received_text,
    ticket_card,
    ticket_fallback_text,
)
from bot.outbox.rows import RENDER, Rendered
from bot.services import csat
from bot.services import organizations as orgs
from models import (
    ClientCompany,
    Member,
    MessageRole,
    OutboxMessage,
    SlackMessageRef,
    Ticket,
    TicketPriority,
    TicketStatus,
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
        source_permalink=source_permalink,
        company_id=ticket.client_company_id,
        # Only the card offers the company menu; lists of tickets do not need it.
        company_options=(
            orgs.company_choices(session, organization_id=ticket.organization_id)
            if with_company_options
            else ()
        ),
    )


def _card_payload(session: Session, ticket: Ticket) -> dict[str, Any]:
    view = ticket_view(
        session,
        ticket,
        source_permalink=_source_permalink(session, ticket),
        with_company_options=True,
    )
    rating = csat.rating_of(session, ticket_id=saved_id(ticket))
    if rating is not None:
        view = replace(view, satisfaction=RATING_LABELS[rating])
    return {"text": ticket_fallback_text(view), "blocks": ticket_card(view, now=utcnow())}


def _requester_received_payload(session: Session, ticket: Ticket) -> dict[str, Any]:
    view = ticket_view(session, ticket)
    return {"text": requester_received_text(view), "blocks": requester_received_blocks(view)}


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


def render(session: Session, row: OutboxMessage, args: dict[str, Any]) -> None:
    """Fill in `args` (a copy of the row's payload) with what the row asks to be rendered."""
    what = args.pop(RENDER, None)
    if what is None:
        return
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    if ticket is None:
        raise TicketGone(f"outbox row {row.id}: ticket {row.ticket_id} no longer exists")
    args.update(_RENDERERS[what](session, ticket))


def _source_permalink(session: Session, ticket: Ticket) -> str | None:
    ref = session.exec(
        select(SlackMessageRef).where(
            SlackMessageRef.ticket_id == ticket.id, SlackMessageRef.role == MessageRole.SOURCE
        )
    ).first()
    return ref.permalink if ref else None
