"""The daily digest: each technician's DM at their own digest time, the staff channel's
at the organization's. Each is claimed for its day in the unit of work that writes it,
so it goes out once; nobody gets an empty one."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks import digest as digest_blocks
from bot.blocks.digest import DigestLine, ReminderLine, SlaDueLine
from bot.outbox import messages
from bot.outbox.rows import STAFF_CHANNEL, Lane, enqueue
from bot.services import digest, lifecycle
from bot.services.automation_settings import lifecycle_settings
from models import Member, Notice, Organization, Ticket, TicketPriority, TicketStatus

DIGEST = "digest"
STAFF_DIGEST = "staff_digest"


def _line(ticket: Ticket) -> DigestLine:
    return DigestLine(
        number=ticket.ticket_number,
        title=ticket.title,
        status=TicketStatus(ticket.status),
        priority=TicketPriority(ticket.priority),
    )


def _sla_lines(found: digest.Digest) -> list[SlaDueLine]:
    return [
        SlaDueLine(
            number=due.ticket.ticket_number,
            title=due.ticket.title,
            metric=due.metric,
            due_at=due.due_at.astimezone(found.zone),
            breached=due.breached,
        )
        for due in found.sla_due
    ]


def send_digests(session: Session, *, organization: Organization, now: datetime) -> int:
    """Every digest of the organization due at `now` and not sent yet; returns how many
    were sent. Call in a unit of work of its own (it claims what it sends)."""
    settings = lifecycle_settings(organization)
    at = settings.digest_at
    if at is None:
        return 0
    sent = 0
    for member_id, tickets in digest.open_tickets_by_assignee(
        session, organization=organization
    ).items():
        member = session.get(Member, member_id)
        if member is None or not member.slack_user_id:
            continue
        zone = digest.zone_of(member, settings)
        day = digest.due_day(now, zone, at)
        if day is None or not messages.wants(session, member.id, Notice.DIGEST):
            continue
        found = digest.technician_digest(
            session,
            member=member,
            tickets=tickets,
            settings=settings,
            day=day,
            zone=zone,
            now=now,
        )
        if found.empty or not lifecycle.claim(
            session, organization=organization, kind=DIGEST, key=f"{member_id}:{day}"
        ):
            continue
        text, blocks = digest_blocks.technician_digest(
            day=day,
            open_tickets=[_line(t) for t in found.open_tickets],
            reminders=[
                ReminderLine(
                    number=step.ticket.ticket_number,
                    title=step.ticket.title,
                    at=step.due_at.astimezone(zone),
                    resolves=step.reminder is None,
                )
                for step in found.reminders_today
            ],
            sla_due=_sla_lines(found),
        )
        enqueue(
            session,
            organization=organization,
            ticket=None,
            method="chat.postMessage",
            payload={"dm_user": member.slack_user_id, "text": text, "blocks": blocks},
            lane=Lane.NOTIFY,
        )
        sent += 1
    day = digest.due_day(now, settings.zone, at)
    if day is not None:
        queue = digest.staff_digest(
            session, organization=organization, day=day, zone=settings.zone, now=now
        )
        if not queue.empty and lifecycle.claim(
            session, organization=organization, kind=STAFF_DIGEST, key=str(day)
        ):
            text, blocks = digest_blocks.staff_digest(
                day=day, unassigned=[_line(t) for t in queue.unassigned], sla_due=_sla_lines(queue)
            )
            enqueue(
                session,
                organization=organization,
                ticket=None,
                method="chat.postMessage",
                payload={"text": text, "blocks": blocks},
                lane=Lane.NOTIFY,
                channel_ref=STAFF_CHANNEL,
            )
            sent += 1
    return sent
