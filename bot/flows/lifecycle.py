"""Lifecycle automations, one unit of work per ticket: auto-close of resolved tickets,
reminders on pending tickets and their resolution. Each claims its work (see
`lifecycle.claim`) in the unit of work that writes the messages, so it happens once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks.csat import survey_text
from bot.blocks.text import escape
from bot.flows import csat as csat_flows
from bot.outbox import messages
from bot.services import lifecycle
from bot.services import tickets as ticket_service
from bot.services.actors import Actor
from bot.services.automation_settings import LifecycleSettings, lifecycle_settings
from models import Notice, Organization, Ticket, TicketStatus, saved_id

AUTOMATION = Actor.integration("Ticketbot")


def _days(value: float) -> str:
    shown = f"{value:g}"
    return f"{shown} day" if value == 1 else f"{shown} days"


def auto_close(
    session: Session, *, organization: Organization, ticket: Ticket, now: datetime
) -> bool:
    """Close a resolved ticket whose requester did not reply in time, and tell them once.
    False if it was no longer due (a reply reopened it) or another process did it."""
    settings = lifecycle_settings(organization)
    current = lifecycle.lock_ticket(session, saved_id(ticket))
    due = lifecycle.close_due_at(current, settings) if current else None
    if current is None or due is None or due > now:
        return False
    assert current.resolved_at is not None
    key = f"{current.id}:{current.resolved_at.isoformat()}"
    if not lifecycle.claim(
        session, organization=organization, kind=lifecycle.AUTO_CLOSE, key=key, ticket=current
    ):
        return False
    _set_status(session, organization, current, TicketStatus.CLOSED, tell_requester=False)
    assert settings.auto_close_days
    closed = (
        f":checkered_flag: Ticket #{current.ticket_number} is now closed: there was no reply for "
        f"{_days(settings.auto_close_days)} after it was resolved. If you still need "
        "help, reply here and a new ticket will be opened."
    )
    # The requester who never said whether it is fixed is asked how it went, here.
    survey = csat_flows.survey_on_close(
        session, organization=organization, ticket=current, said=closed
    )
    if survey is not None or messages.wants(session, current.requester_id, Notice.STATUS_CHANGE):
        messages.requester_notice(
            session,
            organization=organization,
            ticket=current,
            text=f"{closed} {survey_text(current.ticket_number)}" if survey else closed,
            blocks=survey,
        )
    return True


def pending_step(
    session: Session,
    *,
    organization: Organization,
    step: lifecycle.PendingStep,
    settings: LifecycleSettings,
) -> bool:
    """Remind the requester of a pending ticket, or resolve it after the last reminder.
    False if it is no longer pending in that period, or another process did it."""
    current = lifecycle.lock_ticket(session, saved_id(step.ticket))
    if current is None or current.status != TicketStatus.PENDING:
        return False
    if lifecycle.pending_since(session, ticket=current) != step.since:
        return False
    if not lifecycle.claim(
        session, organization=organization, kind=lifecycle.PENDING, key=step.key, ticket=current
    ):
        return False
    number = current.ticket_number
    if step.reminder is not None:
        messages.requester_notice(
            session,
            organization=organization,
            ticket=current,
            text=(
                f":hourglass_flowing_sand: Reminder: ticket #{number} ({escape(current.title)}) "
                "is waiting for your reply. Please answer in this thread so the IT team can "
                "go on."
            ),
        )
        return True
    reminders = settings.pending_reminders_before_resolve or 0
    _set_status(session, organization, current, TicketStatus.RESOLVED, tell_requester=False)
    messages.staff_thread_note(
        session,
        organization=organization,
        ticket=current,
        text=(
            f":robot_face: Resolved automatically: the requester did not reply after "
            f"{reminders} reminder{'s' if reminders != 1 else ''}."
        ),
    )
    if messages.wants(session, current.requester_id, Notice.STATUS_CHANGE):
        messages.requester_notice(
            session,
            organization=organization,
            ticket=current,
            text=(
                f":white_check_mark: Ticket #{number} is resolved, as we did not hear back "
                "from you. If you still need help, reply here and it reopens."
            ),
        )
    return True


def _set_status(
    session: Session,
    organization: Organization,
    ticket: Ticket,
    status: TicketStatus,
    *,
    tell_requester: bool,
) -> None:
    changes = ticket_service.update_ticket(
        session,
        organization=organization,
        ticket=ticket,
        actor=AUTOMATION,
        changes={"status": status},
    )
    messages.ticket_changed(
        session,
        organization=organization,
        ticket=ticket,
        actor=None,
        actor_name=AUTOMATION.name,
        changes=changes,
        tell_requester=tell_requester,
    )
