"""Time tracking use cases: the service call plus the Slack messages it causes (the card
redrawn when who is timing changes, one line per entry in the card's thread)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.blocks.time_tracking import TIME_USAGE, entry_line, overlap_warning, status_text
from bot.flows import conversation, time_reports
from bot.outbox import messages
from bot.services import tickets as ticket_service
from bot.services import time_tracking as tt
from bot.services.actors import Actor, StaffCheck
from models import Member, Organization, Ticket, TicketComment, TimeEntry


def _thread_line(
    session: Session, organization: Organization, ticket: Ticket, actor: Actor, what: str
) -> None:
    messages.staff_thread_line(
        session,
        organization=organization,
        ticket=ticket,
        actor_id=actor.member_id,
        actor_name=actor.name,
        what=what,
    )


def _entry_logged(
    session: Session, organization: Organization, entry: TimeEntry, technician: Member
) -> None:
    """ "Tom logged 45 min (billable) — note" in the entry's ticket thread."""
    ticket = session.get(Ticket, entry.ticket_id)
    assert ticket is not None
    _thread_line(
        session,
        organization,
        ticket,
        Actor.for_member(technician, is_staff=True),
        entry_line(entry),
    )


def start_timer(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    technician: Member,
    actor: Actor,
    now: datetime | None = None,
    **kwargs: Any,
) -> tt.Outcome:
    outcome = tt.start_timer(
        session,
        organization=organization,
        ticket=ticket,
        technician=technician,
        actor=actor,
        now=now,
        **kwargs,
    )
    if outcome.stopped is not None:
        _stopped(session, organization, outcome.stopped, technician)
    messages.refresh_card(session, organization=organization, ticket=ticket)
    return outcome


def _stopped(session: Session, organization: Organization, entry: TimeEntry, who: Member) -> None:
    _entry_logged(session, organization, entry, who)
    stopped_on = session.get(Ticket, entry.ticket_id)
    assert stopped_on is not None
    messages.refresh_card(session, organization=organization, ticket=stopped_on)


def stop_timer(
    session: Session,
    *,
    organization: Organization,
    technician: Member,
    actor: Actor,
    note: str | None = None,
    now: datetime | None = None,
) -> tt.Outcome:
    tt.ensure_staff(actor)
    outcome = tt.stop_timer(
        session, organization=organization, technician=technician, note=note, now=now
    )
    if outcome.entry is not None:
        _stopped(session, organization, outcome.entry, technician)
    return outcome


def log_time(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    technician: Member,
    actor: Actor,
    **kwargs: Any,
) -> tt.Outcome:
    outcome = tt.log_time(
        session,
        organization=organization,
        ticket=ticket,
        technician=technician,
        actor=actor,
        **kwargs,
    )
    assert outcome.entry is not None
    if outcome.entry.ended_at is None:  # pragma: no cover - logs are finished spans
        return outcome
    _entry_logged(session, organization, outcome.entry, technician)
    return outcome


def update_entry(
    session: Session,
    *,
    organization: Organization,
    entry_id: int,
    actor: Actor,
    changes: dict[str, Any],
    now: datetime | None = None,
) -> tt.Outcome:
    outcome = tt.update_entry(
        session,
        organization=organization,
        entry_id=entry_id,
        actor=actor,
        changes=changes,
        now=now,
    )
    entry = outcome.entry
    assert entry is not None
    ticket = session.get(Ticket, entry.ticket_id)
    assert ticket is not None
    _thread_line(
        session,
        organization,
        ticket,
        actor,
        "changed a time entry: " + entry_line(entry, verb=None),
    )
    if entry.ended_at is None:
        messages.refresh_card(session, organization=organization, ticket=ticket)
    return outcome


def delete_entry(
    session: Session,
    *,
    organization: Organization,
    entry_id: int,
    actor: Actor,
    now: datetime | None = None,
) -> TimeEntry:
    was_running = tt.get_entry(session, organization_id=organization.id, entry_id=entry_id).running
    entry = tt.delete_entry(
        session, organization=organization, entry_id=entry_id, actor=actor, now=now
    )
    ticket = session.get(Ticket, entry.ticket_id)
    assert ticket is not None
    _thread_line(
        session,
        organization,
        ticket,
        actor,
        "deleted a time entry of " + tt.format_minutes(entry.actual_minutes),
    )
    if was_running:
        messages.refresh_card(session, organization=organization, ticket=ticket)
    return entry


def remind_long_timers(session: Session, *, now: datetime | None = None) -> int:
    """One DM per timer running past 10 h (the job; idempotent: each timer is told once)."""
    entries = tt.timers_to_remind(session, now=now)
    for entry in entries:
        technician = session.get(Member, entry.technician_id)
        organization = session.get(Organization, entry.organization_id)
        ticket = session.get(Ticket, entry.ticket_id)
        if technician is None or organization is None or ticket is None:
            continue
        if not technician.slack_user_id:
            continue
        messages.staff_dm(
            session,
            organization=organization,
            ticket=ticket,
            slack_user_id=technician.slack_user_id,
            text=(
                f"Your timer on ticket #{ticket.ticket_number} has been running for over "
                "10 hours. Stop it with `/ticket time stop` if you are done."
            ),
        )
    return len(entries)


# ---------------------------------------------------------------- Slack's answers


def _number(session: Session, entry: TimeEntry) -> int:
    ticket = session.get(Ticket, entry.ticket_id)
    return ticket.ticket_number if ticket else 0


def _ticket_by(
    session: Session, organization: Organization, *, ticket_id: int | None, number: int | None
) -> Ticket:
    if number is not None:
        return ticket_service.get_ticket_by_number(
            session, organization_id=organization.id, number=number
        )
    assert ticket_id is not None
    return ticket_service.get_ticket(session, organization_id=organization.id, ticket_id=ticket_id)


def start_from_slack(
    session: Session,
    *,
    organization: Organization,
    member: Member,
    actor: Actor,
    ticket_id: int | None = None,
    number: int | None = None,
) -> str:
    """Start the presser's timer on a ticket (by id from the card, by number typed)."""
    tt.ensure_staff(actor)
    ticket = _ticket_by(session, organization, ticket_id=ticket_id, number=number)
    outcome = start_timer(
        session, organization=organization, ticket=ticket, technician=member, actor=actor
    )
    text = f"Timer started on #{ticket.ticket_number}."
    if outcome.stopped is not None:
        stopped = outcome.stopped
        text += (
            f" Your timer on #{_number(session, stopped)} stopped at that moment "
            f"({tt.format_minutes(stopped.actual_minutes)})."
        )
    return text + overlap_warning(len(outcome.overlaps))


def stop_from_slack(
    session: Session,
    *,
    organization: Organization,
    member: Member,
    actor: Actor,
    note: str | None = None,
) -> str:
    outcome = stop_timer(
        session, organization=organization, technician=member, actor=actor, note=note or None
    )
    entry = outcome.entry
    if entry is None:
        return "You have no timer running."
    text = f"Stopped your timer on #{_number(session, entry)}: " + entry_line(entry, verb=None)
    if outcome.capped:
        text += " It ran past 24 hours, so it was ended at 24 hours; edit it if needed."
    return text + overlap_warning(len(outcome.overlaps))


def log_from_slack(
    session: Session,
    *,
    organization: Organization,
    member: Member,
    actor: Actor,
    duration: str,
    ticket_id: int | None = None,
    number: int | None = None,
    work_type_id: int | None = None,
    billable: bool | None = None,
    note: str | None = None,
) -> str:
    tt.ensure_staff(actor)
    minutes = tt.parse_duration(duration)
    ticket = _ticket_by(session, organization, ticket_id=ticket_id, number=number)
    outcome = log_time(
        session,
        organization=organization,
        ticket=ticket,
        technician=member,
        actor=actor,
        minutes=minutes,
        work_type_id=work_type_id,
        billable=billable,
        note=note,
    )
    assert outcome.entry is not None
    text = f"Logged {entry_line(outcome.entry, verb=None)} on #{ticket.ticket_number}."
    return text + overlap_warning(len(outcome.overlaps))


def status_from_slack(session: Session, *, organization: Organization, member: Member) -> str:
    """`/ticket time`: my running timer and today's total."""
    running = tt.running_timer(session, technician_id=member.id)
    return status_text(
        running=running,
        ticket_number=_number(session, running) if running else None,
        today_minutes=tt.today_minutes(session, organization=organization, technician=member),
        zone=tt.zone_of(organization),
    )


TICKET_NUMBER = r"#?(\d{1,9})"
START = re.compile(rf"^start\s+{TICKET_NUMBER}$", re.I)
STOP = re.compile(r"^stop(?:\s+(?P<note>.+))?$", re.I | re.S)
REPORT = re.compile(r"^report\s+(.+)$", re.I | re.S)
LOG = re.compile(rf"^log\s+{TICKET_NUMBER}\s+(?P<duration>\S+)(?:\s+(?P<note>.+))?$", re.I | re.S)


def time_command(
    session: Session, *, text: str, organization: Organization, member: Member, actor: Actor
) -> str:
    """`/ticket time [start 42 | stop [note] | log 42 45m [note]]`: the answer to show."""
    text = text.strip()
    args: dict[str, Any] = {"organization": organization, "member": member, "actor": actor}
    if not text:
        return status_from_slack(session, organization=organization, member=member)
    if match := START.match(text):
        return start_from_slack(session, number=int(match[1]), **args)
    if match := STOP.match(text):
        return stop_from_slack(session, note=match["note"], **args)
    if match := REPORT.match(text):
        return time_reports.request_report(session, text=match[1], **args)
    if match := LOG.match(text):
        return log_from_slack(
            session, number=int(match[1]), duration=match["duration"], note=match["note"], **args
        )
    return TIME_USAGE


def comment_from_card_with_time(
    session: Session,
    *,
    organization: Organization,
    actor: Actor,
    ticket_id: int | None,
    content: str,
    internal: bool,
    then: str | None = None,
    is_staff: StaffCheck,
    duration: str = "",
) -> TicketComment:
    """A reply or internal note from the card's modals, with the time it took when given.
    The duration is read first: a bad one refuses the whole submission, nothing written."""
    minutes = tt.parse_duration(duration) if duration.strip() else None
    comment = conversation.comment_from_card(
        session,
        organization=organization,
        actor=actor,
        ticket_id=ticket_id,
        content=content,
        internal=internal,
        then=then,
        is_staff=is_staff,
    )
    if minutes is not None and actor.member is not None:
        ticket = ticket_service.get_ticket(
            session, organization_id=organization.id, ticket_id=comment.ticket_id
        )
        log_time(
            session,
            organization=organization,
            ticket=ticket,
            technician=actor.member,
            actor=actor,
            minutes=minutes,
        )
    return comment
