"""Cards that age: the activity line ("Opened 2 d ago · Alice replied 5 m ago") of an open
ticket's card is redrawn when, with nothing else happening, it would read differently now.

The card was last drawn when its last card row was sent; the line's ages move in coarse
steps (`card_ago`), so comparing the ages then and now says whether a redraw changes
anything: a quiet queue costs no Slack call. Redraws go through the outbox (coalesced with
a waiting one) and are claimed, so two processes running the job redraw a card once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.blocks.tickets import card_ages
from bot.outbox import messages
from bot.outbox.rows import Lane
from bot.services import lifecycle
from models import (
    AutomationRun,
    MessageRole,
    Organization,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketComment,
    TicketStatus,
)

KIND = "card_age"
# chat.update is Tier 3 (50+ a minute per workspace): the job, run each minute, takes at
# most this many and leaves the rest of the budget to the redraws people cause.
REDRAWS_PER_RUN = 20
# The card is rendered a moment before its row is marked sent: its ages are read this much
# earlier, so a card drawn just before a step is not taken for one drawn after it.
DRAW_MARGIN = timedelta(seconds=15)
# A claim only has to outlive the waiting redraw it guards (which coalesces later ones).
CLAIM_RETENTION = timedelta(hours=1)
AGING = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.PENDING, TicketStatus.RESOLVED)


@dataclass(frozen=True)
class _Card:
    ticket_id: int
    drawn_at: datetime
    created_at: datetime
    resolved_at: datetime | None


def _drawn_cards(session: Session, organization: Organization) -> list[_Card]:
    """Open tickets whose card is posted, with when it was last drawn."""
    is_card = or_(
        col(OutboxMessage.record_as) == MessageRole.STAFF_CARD,
        and_(
            col(OutboxMessage.method) == "chat.update",
            col(OutboxMessage.ts_ref) == MessageRole.STAFF_CARD,
        ),
    )
    rows = session.execute(
        sa_select(
            col(Ticket.id),
            func.max(col(OutboxMessage.sent_at)),
            col(Ticket.created_at),
            col(Ticket.resolved_at),
            col(Ticket.status),
        )
        .join(OutboxMessage, col(OutboxMessage.ticket_id) == Ticket.id)
        .where(
            col(Ticket.organization_id) == organization.id,
            col(Ticket.status).in_(AGING),
            col(OutboxMessage.lane) == Lane.STAFF,
            col(OutboxMessage.status) == OutboxStatus.SENT,
            is_card,
        )
        .group_by(
            col(Ticket.id), col(Ticket.created_at), col(Ticket.resolved_at), col(Ticket.status)
        )
    ).all()
    return [
        _Card(
            ticket_id=ticket_id,
            drawn_at=drawn_at,
            created_at=created_at,
            resolved_at=resolved_at if status == TicketStatus.RESOLVED else None,
        )
        for ticket_id, drawn_at, created_at, resolved_at, status in rows
        if ticket_id is not None and drawn_at is not None
    ]


def _last_activity(session: Session, ticket_ids: list[int]) -> dict[int, datetime]:
    """When each ticket's latest comment was written (the card's "Alice replied 5 m ago")."""
    if not ticket_ids:
        return {}
    latest = session.exec(
        select(TicketComment.ticket_id, func.max(TicketComment.created_at))
        .where(col(TicketComment.ticket_id).in_(ticket_ids))
        .group_by(col(TicketComment.ticket_id))
    ).all()
    return {ticket_id: at for ticket_id, at in latest if at is not None}


def aged_cards(
    session: Session, *, organization: Organization, now: datetime
) -> list[tuple[int, tuple[str, ...]]]:
    """(ticket id, its card's ages now) of the cards that would read differently now than
    when they were drawn, the longest-unchanged first."""
    cards = _drawn_cards(session, organization)
    activity = _last_activity(session, [c.ticket_id for c in cards])
    aged: list[tuple[datetime, int, tuple[str, ...]]] = []
    for card in cards:
        last = activity.get(card.ticket_id)
        if last is not None and last > card.drawn_at:
            continue  # a comment after the last draw has its own redraw on the way

        def ages(at: datetime, card: _Card = card, last: datetime | None = last) -> tuple[str, ...]:
            return card_ages(
                created_at=card.created_at,
                last_activity_at=last,
                resolved_at=card.resolved_at,
                now=at,
            )

        current = ages(now)
        if ages(card.drawn_at - DRAW_MARGIN) != current:
            aged.append((card.drawn_at, card.ticket_id, current))
    aged.sort()
    return [(ticket_id, current) for _, ticket_id, current in aged]


def redraw_aged_cards(
    session: Session, *, organization: Organization, now: datetime, limit: int = REDRAWS_PER_RUN
) -> int:
    """Redraw (through the outbox) up to `limit` cards whose ages moved on; returns how
    many were queued. Call in a unit of work of its own: it claims what it redraws."""
    session.execute(
        delete(AutomationRun).where(
            col(AutomationRun.organization_id) == organization.id,
            col(AutomationRun.kind) == KIND,
            col(AutomationRun.created_at) < now - CLAIM_RETENTION,
        )
    )
    queued = 0
    for ticket_id, ages in aged_cards(session, organization=organization, now=now):
        if queued >= limit:
            break
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or not lifecycle.claim(
            session,
            organization=organization,
            kind=KIND,
            key=f"{ticket_id}:{'|'.join(ages)}",
            ticket=ticket,
        ):
            continue
        messages.refresh_card(session, organization=organization, ticket=ticket)
        queued += 1
    return queued
