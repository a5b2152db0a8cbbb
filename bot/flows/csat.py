"""Satisfaction survey in the requester's DM thread, one conversation with the "resolved"
notice: "Is it fixed?" first, then "How did we do?" in the same message once they press
**It's fixed**, or with the notice that the ticket closed when they never answered.
Answers reach the card's thread and the card."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.blocks.csat import RATING_LABELS, survey_blocks, survey_text
from bot.blocks.text import escape
from bot.outbox import messages
from bot.outbox.rows import Lane, enqueue, person
from bot.services import csat
from bot.services.actors import Actor
from bot.services.automation_settings import lifecycle_settings
from models import (
    CsatRating,
    Member,
    MessageRole,
    Notice,
    Organization,
    Ticket,
    TicketEvent,
    TicketStatus,
    saved_id,
    utcnow,
)


def _resolved_by(session: Session, ticket: Ticket) -> int | None:
    """Who set the ticket to resolved last (a member id; None for Ticketbot or the API)."""
    return session.exec(
        select(TicketEvent.actor_id)
        .where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.field == "status",
            TicketEvent.new_value == TicketStatus.RESOLVED,
        )
        .order_by(col(TicketEvent.id).desc())
        .limit(1)
    ).first()


def _record_if_due(
    session: Session, *, organization: Organization, ticket: Ticket, requester: Member | None
) -> bool:
    """Ask this requester about this ticket now? (Sampling, once per ticket, the
    cooldown; never the person who resolved it.) If so the question is recorded."""
    now = utcnow()
    if requester is None or not requester.slack_user_id:
        return False
    if not csat.should_ask(
        session,
        organization=organization,
        ticket=ticket,
        requester=requester,
        settings=lifecycle_settings(organization),
        now=now,
    ):
        return False
    recorded = csat.record_question(
        session, organization=organization, ticket=ticket, requester=requester, now=now
    )
    return recorded is not None


def _requester(session: Session, ticket: Ticket) -> Member | None:
    return session.get(Member, ticket.requester_id) if ticket.requester_id else None


def _send(
    session: Session, *, organization: Organization, ticket: Ticket, requester: Member
) -> None:
    enqueue(
        session,
        organization=organization,
        ticket=ticket,
        method="chat.postMessage",
        payload={
            "dm_user": requester.slack_user_id,
            "text": survey_text(ticket.ticket_number),
            "blocks": survey_blocks(ticket_id=saved_id(ticket), number=ticket.ticket_number),
            "thread_optional": True,
        },
        lane=Lane.REQUESTER,
        thread_ref=MessageRole.REQUESTER_DM,
    )


def ask_on_resolve(
    session: Session, *, organization: Organization, ticket: Ticket, actor: Actor
) -> bool:
    """A person resolved the ticket. The requester's "resolved" notice asks "Is it fixed?"
    first: the survey follows their **It's fixed** in that same message, or the ticket's
    close (`survey_on_close`). Only a requester who gets no such notice (they muted status
    news) is asked "How did we do?" now. Never the person who resolved it."""
    requester = _requester(session, ticket)
    if requester is None or requester.id == actor.member_id:
        return False
    if messages.wants(session, requester.id, Notice.STATUS_CHANGE):
        return False  # the notice asks "Is it fixed?" first
    if not _record_if_due(session, organization=organization, ticket=ticket, requester=requester):
        return False
    _send(session, organization=organization, ticket=ticket, requester=requester)
    return True


def survey_on_close(
    session: Session, *, organization: Organization, ticket: Ticket, said: str
) -> list[dict[str, Any]] | None:
    """A resolved ticket closed (the requester pressed **It's fixed**, or nobody answered
    in time): the blocks of the message that says `said` and asks "How did we do?", or
    None when the survey is not due (sampling, cooldown, asked already, or the requester
    resolved it themselves)."""
    requester = _requester(session, ticket)
    if requester is None or _resolved_by(session, ticket) == requester.id:
        return None
    if not _record_if_due(session, organization=organization, ticket=ticket, requester=requester):
        return None
    return survey_blocks(ticket_id=saved_id(ticket), number=ticket.ticket_number, preface=said)


def ask_on_close(session: Session, *, organization: Organization, ticket: Ticket) -> bool:
    """Staff closed a resolved ticket the requester had not confirmed: "How did we do?"
    in the DM thread, if due."""
    requester = _requester(session, ticket)
    if requester is None or _resolved_by(session, ticket) == requester.id:
        return False
    if not _record_if_due(session, organization=organization, ticket=ticket, requester=requester):
        return False
    _send(session, organization=organization, ticket=ticket, requester=requester)
    return True


def answer(
    session: Session,
    *,
    organization: Organization,
    member: Member,
    ticket_id: int,
    rating: CsatRating,
    channel: str | None,
    ts: str | None,
    now: datetime | None = None,
    preface: str | None = None,
) -> csat.Answer:
    """The requester pressed Good or Bad: saved, the survey message shows the answer, the
    card's thread hears of it and the card shows it."""
    now = now or utcnow()
    given = csat.answer(
        session,
        organization=organization,
        ticket_id=ticket_id,
        member=member,
        rating=rating,
        now=now,
    )
    ticket = session.get(Ticket, ticket_id)
    if not given.changed or ticket is None:
        return given
    label = RATING_LABELS[rating]
    who = person(saved_id(member))
    if channel and ts:
        until = (given.response.asked_at + csat.ANSWER_WINDOW).date()
        enqueue(
            session,
            organization=organization,
            ticket=ticket,
            method="chat.update",
            payload={
                "channel": channel,
                "ts": ts,
                "text": f"You answered {label}. Thank you!",
                "blocks": survey_blocks(
                    ticket_id=ticket_id,
                    number=ticket.ticket_number,
                    rating=rating,
                    until=until,
                    preface=preface,
                ),
            },
            lane=Lane.REQUESTER,
        )
    if given.previous is None:
        line = f":bar_chart: {who} rated the support *{label}*."
    else:
        line = f":bar_chart: {who} changed their rating to *{label}*."
    messages.staff_thread_note(
        session, organization=organization, ticket=ticket, text=line, names=[saved_id(member)]
    )
    messages.refresh_card(session, organization=organization, ticket=ticket)
    return given


def comment(
    session: Session,
    *,
    organization: Organization,
    member: Member,
    ticket_id: int,
    text: str,
    now: datetime | None = None,
) -> None:
    """The requester's comment on the survey goes to the card's thread."""
    response = csat.comment(
        session,
        organization=organization,
        ticket_id=ticket_id,
        member=member,
        text=text,
        now=now or utcnow(),
    )
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return
    who = person(saved_id(member))
    messages.staff_thread_note(
        session,
        organization=organization,
        ticket=ticket,
        text=f":speech_balloon: {who} commented on the support:\n{escape(response.comment or '')}",
        names=[saved_id(member)],
    )
    messages.requester_notice(
        session,
        organization=organization,
        ticket=ticket,
        text="Thanks for your comment: the IT team will read it.",
    )
