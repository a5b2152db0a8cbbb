"""The daily digest's contents (Slack-free): each technician's open tickets, their SLA
clocks breached or due today, and the reminders going out today; the staff channel's
unassigned queue and the organization's SLA clocks breached or due today."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from bot.services import lifecycle
from bot.services.automation_settings import LifecycleSettings
from bot.services.tickets import OPEN_STATUSES
from models import ClockStatus, Member, Organization, SlaClock, Ticket

# A digest goes out at the first run of the job from its time of day on, but not hours
# late (a server started in the evening does not send the morning's digest).
LATEST_AFTER = timedelta(hours=3)


def zone_of(member: Member, settings: LifecycleSettings) -> ZoneInfo:
    """The member's own Slack time zone, else the organization's."""
    if member.timezone:
        try:
            return ZoneInfo(member.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return settings.zone


def due_day(now: datetime, zone: ZoneInfo, at: time) -> date | None:
    """The local day whose digest is due at `now` in `zone` (None: not digest time)."""
    local = now.astimezone(zone)
    start = datetime.combine(local.date(), at, tzinfo=zone)
    if start <= local < start + LATEST_AFTER:
        return local.date()
    return None


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)


@dataclass(frozen=True)
class SlaDue:
    """A live promise of an open ticket: breached and still unmet, or due before the day
    ends (`breached` False)."""

    ticket: Ticket
    metric: str
    due_at: datetime
    breached: bool


@dataclass
class Digest:
    """One person's digest (or the staff channel's, with `member` None)."""

    member: Member | None
    day: date
    zone: ZoneInfo
    open_tickets: list[Ticket] = field(default_factory=list)
    unassigned: list[Ticket] = field(default_factory=list)
    reminders_today: list[lifecycle.PendingStep] = field(default_factory=list)
    sla_due: list[SlaDue] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.open_tickets or self.unassigned or self.reminders_today or self.sla_due)


def sla_due_by(
    session: Session,
    *,
    organization: Organization,
    now: datetime,
    end: datetime,
    ticket_ids: list[int] | None = None,
) -> list[SlaDue]:
    """Open tickets' clocks breached and not met yet, or running and due before `end`,
    most urgent first (only `ticket_ids` when given). Paused clocks wait: not listed. A
    running clock already past due counts as breached (the minute job may not have run)."""
    query = (
        select(SlaClock, Ticket)
        .join(Ticket, col(Ticket.id) == col(SlaClock.ticket_id))
        .where(
            SlaClock.organization_id == organization.id,
            col(Ticket.status).in_(OPEN_STATUSES),
            or_(
                and_(col(SlaClock.status) == ClockStatus.RUNNING, col(SlaClock.due_at) < end),
                and_(
                    col(SlaClock.status) == ClockStatus.BREACHED,
                    col(SlaClock.fulfilled_at).is_(None),
                ),
            ),
        )
        .order_by(col(SlaClock.due_at), col(Ticket.ticket_number))
    )
    if ticket_ids is not None:
        if not ticket_ids:
            return []
        query = query.where(col(SlaClock.ticket_id).in_(ticket_ids))
    return [
        SlaDue(
            ticket=ticket,
            metric=str(clock.metric),
            due_at=clock.due_at,
            breached=clock.status == ClockStatus.BREACHED or clock.due_at <= now,
        )
        for clock, ticket in session.exec(query).all()
        if clock.due_at is not None
    ]


def open_tickets_by_assignee(
    session: Session, *, organization: Organization
) -> dict[int, list[Ticket]]:
    rows = session.exec(
        select(Ticket)
        .where(
            Ticket.organization_id == organization.id,
            col(Ticket.status).in_(OPEN_STATUSES),
            col(Ticket.assigned_staff_id).is_not(None),
        )
        .order_by(col(Ticket.ticket_number))
    ).all()
    grouped: dict[int, list[Ticket]] = defaultdict(list)
    for ticket in rows:
        assert ticket.assigned_staff_id is not None
        grouped[ticket.assigned_staff_id].append(ticket)
    return grouped


def technician_digest(
    session: Session,
    *,
    member: Member,
    tickets: list[Ticket],
    settings: LifecycleSettings,
    day: date,
    zone: ZoneInfo,
    now: datetime,
) -> Digest:
    """A technician's open tickets, their SLA clocks breached or due today, and the
    pending reminders (or automatic resolutions) of their tickets due today, in their zone."""
    start, end = day_bounds(day, zone)
    organization = session.get(Organization, member.organization_id)
    assert organization is not None
    digest = Digest(member=member, day=day, zone=zone, open_tickets=tickets)
    digest.sla_due = sla_due_by(
        session,
        organization=organization,
        now=now,
        end=end,
        ticket_ids=[t.id for t in tickets if t.id is not None],
    )
    for ticket in tickets:
        step = lifecycle.next_pending_step(
            session, ticket=ticket, settings=settings, after=start - timedelta(microseconds=1)
        )
        if step is not None and step.due_at < end:
            digest.reminders_today.append(step)
    return digest


def staff_digest(
    session: Session, *, organization: Organization, day: date, zone: ZoneInfo, now: datetime
) -> Digest:
    """The staff channel's: the open tickets nobody owns, and every open ticket's SLA
    clocks breached or due today."""
    unassigned = session.exec(
        select(Ticket)
        .where(
            Ticket.organization_id == organization.id,
            col(Ticket.status).in_(OPEN_STATUSES),
            col(Ticket.assigned_staff_id).is_(None),
        )
        .order_by(col(Ticket.ticket_number))
    ).all()
    _, end = day_bounds(day, zone)
    return Digest(
        member=None,
        day=day,
        zone=zone,
        unassigned=list(unassigned),
        sla_due=sla_due_by(session, organization=organization, now=now, end=end),
    )
