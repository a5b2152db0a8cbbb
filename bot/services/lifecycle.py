"""Lifecycle automations' rules (Slack-free): which tickets are due to close, to be
reminded or to be resolved, business days, and claiming scheduled work once.

Every function takes `now` from its caller: the jobs pass the clock's time, tests pass
the instant they check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services import sla
from bot.services.automation_settings import LifecycleSettings
from models import AutomationRun, Organization, Ticket, TicketEvent, TicketStatus, saved_id

# Kinds of claimed work (AutomationRun.kind).
AUTO_CLOSE = "auto_close"
PENDING = "pending"

# Is this local date a working day? (Monday to Friday unless a calendar says otherwise.)
BusinessDay = Callable[[date], bool]


def weekdays(day: date) -> bool:
    return day.weekday() < 5


@dataclass(frozen=True)
class WorkingDays:
    """Where business days are counted for a ticket: a zone and which local dates work."""

    zone: ZoneInfo
    is_business_day: BusinessDay = weekdays


def working_days(session: Session, *, ticket: Ticket, settings: LifecycleSettings) -> WorkingDays:
    """The ticket's SLA calendar when its policy has one (its zone, its open weekdays, its
    holidays), else Monday to Friday in the organization's zone."""
    calendar = sla.business_calendar_for(session, ticket)
    if calendar is None:
        return WorkingDays(settings.zone)

    def is_open_day(day: date) -> bool:
        return day not in calendar.holidays and bool(calendar.week[day.weekday()])

    return WorkingDays(calendar.tz, is_open_day)


def add_business_days(
    start: datetime, days: float, zone: ZoneInfo, *, is_business_day: BusinessDay = weekdays
) -> datetime:
    """`days` working days after `start`, counted in `zone`: each whole day moves to the
    next working day at the same local time; a fraction adds that share of 24 hours. An
    instant that falls on a day off moves on to the next working day."""
    local = start.astimezone(zone)
    whole = math.floor(days)
    moved = 0
    while moved < whole:
        local = _same_time_next_day(local, zone)
        if is_business_day(local.date()):
            moved += 1
    if days > whole:
        local = (local + timedelta(hours=24 * (days - whole))).astimezone(zone)
    while not is_business_day(local.date()):
        local = _same_time_next_day(local, zone)
    return local.astimezone(start.tzinfo)


def _same_time_next_day(local: datetime, zone: ZoneInfo) -> datetime:
    # Wall-clock arithmetic: 16:00 stays 16:00 across a DST change.
    day = local.date() + timedelta(days=1)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=zone)


def claim(
    session: Session,
    *,
    organization: Organization,
    kind: str,
    key: str,
    ticket: Ticket | None = None,
) -> bool:
    """Record that the work (`kind`, `key`) is being done in this unit of work; False if
    it was done already. Two processes claiming at once: the second waits for the first
    to commit (PostgreSQL's unique index; SQLite's write lock) and then gets False."""
    try:
        with session.begin_nested():
            session.add(
                AutomationRun(
                    organization_id=saved_id(organization),
                    ticket_id=ticket.id if ticket else None,
                    kind=kind,
                    key=key[:200],
                )
            )
    except IntegrityError:
        return False
    return True


def lock_ticket(session: Session, ticket_id: int) -> Ticket | None:
    """The ticket as committed now, locked until the unit of work ends (PostgreSQL)."""
    return session.exec(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def close_due_at(ticket: Ticket, settings: LifecycleSettings) -> datetime | None:
    """When a resolved ticket closes by itself (None: it does not)."""
    if ticket.status != TicketStatus.RESOLVED or ticket.resolved_at is None:
        return None
    if not settings.auto_close_days:
        return None
    return ticket.resolved_at + timedelta(days=settings.auto_close_days)


def tickets_to_close(
    session: Session, *, organization: Organization, settings: LifecycleSettings, now: datetime
) -> list[Ticket]:
    """Resolved tickets whose requester has not replied for `auto_close_days` (a reply
    reopens a resolved ticket, so still being resolved means no reply)."""
    if not settings.auto_close_days:
        return []
    cutoff = now - timedelta(days=settings.auto_close_days)
    return list(
        session.exec(
            select(Ticket)
            .where(
                Ticket.organization_id == organization.id,
                Ticket.status == TicketStatus.RESOLVED,
                col(Ticket.resolved_at) <= cutoff,
            )
            .order_by(col(Ticket.id))
        ).all()
    )


@dataclass(frozen=True)
class PendingStep:
    """What a pending ticket is due for: reminder number `reminder` (1, 2, …), or being
    resolved (`reminder` is None), at `due_at`; `since` identifies the pending period."""

    ticket: Ticket
    since: datetime
    reminder: int | None
    due_at: datetime

    @property
    def key(self) -> str:
        step = f"reminder-{self.reminder}" if self.reminder else "resolve"
        return f"{self.ticket.id}:{self.since.isoformat()}:{step}"


def pending_since(session: Session, *, ticket: Ticket) -> datetime:
    """When the ticket was last set to pending (its last status change to pending)."""
    event = session.exec(
        select(TicketEvent)
        .where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.field == "status",
            TicketEvent.new_value == TicketStatus.PENDING,
        )
        .order_by(col(TicketEvent.id).desc())
    ).first()
    return event.created_at if event is not None else ticket.updated_at


def pending_steps(
    session: Session,
    *,
    organization: Organization,
    settings: LifecycleSettings,
    now: datetime,
) -> list[PendingStep]:
    """Pending tickets' reminders and resolutions that came due and were not done.

    Reminder k is due k times N business days after the ticket became pending; after M
    reminders without a reply, the ticket is resolved N business days after the last.
    Business days are those of the ticket's SLA calendar when it has one.
    Only the latest step due is returned for a ticket (a job that did not run for a
    while does not send a burst of reminders)."""
    if not settings.pending_reminder_business_days:
        return []
    steps: list[PendingStep] = []
    pending = session.exec(
        select(Ticket)
        .where(Ticket.organization_id == organization.id, Ticket.status == TicketStatus.PENDING)
        .order_by(col(Ticket.id))
    ).all()
    for ticket in pending:
        since = pending_since(session, ticket=ticket)
        due: PendingStep | None = None
        days = working_days(session, ticket=ticket, settings=settings)
        for step in _schedule(ticket, since, settings, days):
            if step.due_at > now:
                break
            due = step
        done = due is not None and is_done(
            session, organization=organization, kind=PENDING, key=due.key
        )
        if due is not None and not done:
            steps.append(due)
    return steps


def _schedule(
    ticket: Ticket, since: datetime, settings: LifecycleSettings, days: WorkingDays
) -> Iterator[PendingStep]:
    """The reminders of a pending period, then its resolution (if a count is set)."""
    every = settings.pending_reminder_business_days
    if not every:
        return
    reminders = settings.pending_reminders_before_resolve or 0
    at, step = since, 1
    while True:
        at = add_business_days(at, every, days.zone, is_business_day=days.is_business_day)
        if reminders and step > reminders:
            yield PendingStep(ticket, since, None, at)
            return
        yield PendingStep(ticket, since, step, at)
        step += 1


def next_pending_step(
    session: Session,
    *,
    ticket: Ticket,
    settings: LifecycleSettings,
    after: datetime,
) -> PendingStep | None:
    """The first reminder or resolution of a pending ticket due after `after`."""
    if ticket.status != TicketStatus.PENDING:
        return None
    since = pending_since(session, ticket=ticket)
    days = working_days(session, ticket=ticket, settings=settings)
    for step in _schedule(ticket, since, settings, days):
        if step.due_at > after:
            return step
    return None


def is_done(session: Session, *, organization: Organization, kind: str, key: str) -> bool:
    return (
        session.exec(
            select(AutomationRun.id).where(
                AutomationRun.organization_id == organization.id,
                AutomationRun.kind == kind,
                AutomationRun.key == key[:200],
            )
        ).first()
        is not None
    )
