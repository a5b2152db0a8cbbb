"""The SLA minute job's unit of work: claim what is due, write the Slack messages it causes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.outbox import messages
from bot.services import sla
from models import Organization, SlaClock, Ticket


def send_due_alerts(session: Session, *, now: datetime) -> list[tuple[int, int]]:
    """Warnings at 75 % and 90 % and breaches, each once per clock cycle, all organizations.

    Claims and their messages commit together: a crash before commit leaves the clocks
    unclaimed for the next run, and a claimed clock never gets a second message."""
    claimed = sla.claim_alerts(session, now=now)
    for clock_id, percent in claimed:
        clock = session.get(SlaClock, clock_id)
        ticket = session.get(Ticket, clock.ticket_id) if clock else None
        organization = session.get(Organization, ticket.organization_id) if ticket else None
        if clock is None or ticket is None or organization is None:
            continue
        messages.sla_alert(
            session,
            organization=organization,
            ticket=ticket,
            metric=str(clock.metric),
            percent=percent,
            due_at=clock.due_at,
            timezone=sla.timezone_of(session, ticket, clock),
            now=now,
        )
    return claimed


def refresh_changed_cards(session: Session, *, organization: Organization) -> int:
    """Redraw the cards of the tickets whose clocks changed in this unit of work (after a
    calendar or policy edit); returns how many."""
    redrawn = 0
    for ticket_id in sla.changed_ticket_ids(session):
        ticket = session.get(Ticket, ticket_id)
        if ticket is not None and ticket.organization_id == organization.id:
            messages.refresh_card(session, organization=organization, ticket=ticket)
            redrawn += 1
    return redrawn
