"""Satisfaction survey: asked on resolve in the requester's DM thread; answers reach the
card's thread and the card."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks.csat import RATING_LABELS, survey_blocks, survey_text
from bot.blocks.text import escape
from bot.outbox import messages
from bot.outbox.rows import Lane, enqueue, person
from bot.services import csat
from bot.services.actors import Actor
from bot.services.automation_settings import lifecycle_settings
from models import CsatRating, Member, MessageRole, Organization, Ticket, saved_id, utcnow


def ask_on_resolve(
    session: Session, *, organization: Organization, ticket: Ticket, actor: Actor
) -> bool:
    """Send "How did we do?" to the requester of a ticket a person just resolved, if the
    organization's survey settings say so. Never to the person who resolved it."""
    now = utcnow()
    requester = session.get(Member, ticket.requester_id) if ticket.requester_id else None
    if requester is None or not requester.slack_user_id or requester.id == actor.member_id:
        return False
    settings = lifecycle_settings(organization)
    if not csat.should_ask(
        session,
        organization=organization,
        ticket=ticket,
        requester=requester,
        settings=settings,
        now=now,
    ):
        return False
    if (
        csat.record_question(
            session, organization=organization, ticket=ticket, requester=requester, now=now
        )
        is None
    ):
        return False
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
                    ticket_id=ticket_id, number=ticket.ticket_number, rating=rating, until=until
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
