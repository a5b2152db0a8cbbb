"""Time tracking: timers, logged time, rounding of billable time, the monthly report.

Rules (DESIGN.md §9): one running timer per technician (starting one stops the other at
that instant); entries end after they start, last at most 24 h and are not in the future;
an overlap with the same technician's entry is saved and reported back; billable minutes
come from the organization's rounding rule or the work type's own; actual minutes are never
changed by rounding. Slack-free; callers pass `now` (tests control time).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.core.errors import InvalidInput, NotFound, PermissionDenied
from bot.core.months import month_bounds
from bot.services.actors import Actor, member_has_staff_role
from models import (
    Member,
    MemberRole,
    Organization,
    Ticket,
    TicketEvent,
    TimeEntry,
    TimeEntrySource,
    WorkType,
    saved_id,
    table_of,
    utcnow,
)
from models.time_entry import TIME_NOTE_MAX_LENGTH, WORK_TYPE_NAME_MAX_LENGTH

MAX_ENTRY = timedelta(hours=24)
MAX_ENTRY_MINUTES = 24 * 60
# A clock a few seconds ahead of ours is not "the future".
FUTURE_TOLERANCE = timedelta(minutes=1)
LONG_RUNNING = timedelta(hours=10)
AGGREGATIONS = ("per_entry", "per_ticket")


# ---------------------------------------------------------------- rounding


@dataclass(frozen=True)
class RoundingRule:
    """billable = ceil(max(actual, minimum) / increment) * increment (mode "up")."""

    increment: int = 1
    minimum: int = 0
    mode: str = "up"
    aggregation: str = "per_entry"

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> RoundingRule | None:
        """A rule from its JSON shape, checked; None stays None."""
        if data is None:
            return None
        if not isinstance(data, dict):
            raise InvalidInput("Rounding must be an object or null.", field="rounding")
        unknown = set(data) - {"increment", "minimum", "mode", "aggregation"}
        if unknown:
            raise InvalidInput(f"Unknown rounding field: {sorted(unknown)[0]}.", field="rounding")
        increment = data.get("increment", 1)
        minimum = data.get("minimum", 0)
        for name, value, low in (("increment", increment, 1), ("minimum", minimum, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 1440:
                raise InvalidInput(
                    f"Rounding {name} must be a whole number of minutes from {low} to 1440.",
                    field="rounding",
                )
        if data.get("mode", "up") != "up":
            raise InvalidInput('Rounding mode must be "up".', field="rounding")
        aggregation = data.get("aggregation", "per_entry")
        if aggregation not in AGGREGATIONS:
            raise InvalidInput(
                'Rounding aggregation must be "per_entry" or "per_ticket".', field="rounding"
            )
        return cls(increment=increment, minimum=minimum, aggregation=aggregation)

    def as_json(self) -> dict[str, Any]:
        return {
            "increment": self.increment,
            "minimum": self.minimum,
            "mode": self.mode,
            "aggregation": self.aggregation,
        }

    def round(self, actual_minutes: int) -> int:
        if actual_minutes <= 0 and self.minimum == 0:
            return 0
        return math.ceil(max(actual_minutes, self.minimum) / self.increment) * self.increment

    @property
    def per_ticket(self) -> bool:
        return self.aggregation == "per_ticket"


NO_ROUNDING = RoundingRule()


def organization_rule(organization: Organization) -> RoundingRule:
    return RoundingRule.parse(organization.time_rounding) or NO_ROUNDING


def rule_for(organization: Organization, work_type: WorkType | None) -> RoundingRule:
    """The work type's own rule, else the organization's."""
    if work_type is not None and work_type.rounding is not None:
        return RoundingRule.parse(work_type.rounding) or NO_ROUNDING
    return organization_rule(organization)


def set_organization_rounding(
    session: Session, *, organization: Organization, rounding: dict[str, Any] | None
) -> RoundingRule:
    rule = RoundingRule.parse(rounding)
    settings = dict(organization.settings)
    if rule is None:
        settings.pop("time_rounding", None)
    else:
        settings["time_rounding"] = rule.as_json()
    organization.settings = settings
    session.add(organization)
    session.flush()
    return rule or NO_ROUNDING


def billable_minutes_of(*, actual: int, billable: bool, rule: RoundingRule) -> int:
    """What one entry stores: rounded per entry, or its actual minutes when the rule rounds
    per ticket per month (the report rounds the month's sum)."""
    if not billable:
        return 0
    return actual if rule.per_ticket else rule.round(actual)


def billable_total(entries: list[tuple[int, bool]], rule: RoundingRule) -> int:
    """Billable minutes of (actual, billable) entries of one ticket in one month."""
    billable = [actual for actual, is_billable in entries if is_billable]
    if not billable:
        return 0
    if rule.per_ticket:
        return rule.round(sum(billable))
    return sum(rule.round(actual) for actual in billable)


# ---------------------------------------------------------------- durations and times


def whole_minutes(start: datetime, end: datetime) -> int:
    """Minutes between two instants; 30 seconds and more round up."""
    seconds = (end - start).total_seconds()
    return int((seconds + 30) // 60)


_DURATION = re.compile(
    r"^(?:(?P<hours>\d+(?:[.,]\d+)?)\s*h(?:ours?|rs?)?)?\s*"
    r"(?:(?P<minutes>\d+)\s*m(?:in(?:ute)?s?)?)?$"
)
DURATION_HINT = "Write a duration like 45m, 1h30m, 1.5h or 90 (minutes)."


def parse_duration(text: str | None) -> int:
    """Minutes from `45m`, `1h30m`, `1.5h`, `2h` or `90` (plain minutes)."""
    value = (text or "").strip().lower()
    if not value:
        raise InvalidInput("Enter how long you worked. " + DURATION_HINT, field="duration")
    if value.isdigit():
        minutes = int(value)
    else:
        match = _DURATION.match(value)
        if match is None or not (match["hours"] or match["minutes"]):
            raise InvalidInput(f"“{text}” is not a duration. " + DURATION_HINT, field="duration")
        hours = float(match["hours"].replace(",", ".")) if match["hours"] else 0.0
        minutes = round(hours * 60) + int(match["minutes"] or 0)
    if minutes <= 0:
        raise InvalidInput("The duration must be more than zero.", field="duration")
    if minutes > MAX_ENTRY_MINUTES:
        raise InvalidInput("An entry can last at most 24 hours.", field="duration")
    return minutes


def format_minutes(minutes: int) -> str:
    """`45 min`, `1 h`, `1 h 30 min`."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


def zone_of(organization: Organization) -> ZoneInfo:
    try:
        return ZoneInfo(organization.settings.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_month(value: str | None, *, organization: Organization, now: datetime) -> date:
    """The first day of month `YYYY-MM`, or of this month in the organization's zone."""
    if not value:
        today = now.astimezone(zone_of(organization)).date()
        return today.replace(day=1)
    match = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise InvalidInput("Give the month as YYYY-MM, like 2026-03.", field="month")
    return date(int(match[1]), int(match[2]), 1)


def day_bounds(organization: Organization, now: datetime) -> tuple[datetime, datetime]:
    zone = zone_of(organization)
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(today + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def check_span(started_at: datetime, ended_at: datetime, *, now: datetime) -> None:
    if started_at.tzinfo is None or ended_at.tzinfo is None:
        raise InvalidInput("Times need a time zone (for example 2026-03-02T10:00:00Z).")
    if ended_at <= started_at:
        raise InvalidInput("The end must be after the start.", field="ended_at")
    if ended_at - started_at > MAX_ENTRY:
        raise InvalidInput("An entry can last at most 24 hours.", field="ended_at")
    if ended_at > now + FUTURE_TOLERANCE:
        raise InvalidInput("Time in the future cannot be logged.", field="ended_at")


# ---------------------------------------------------------------- work types


def list_work_types(session: Session, *, organization_id: int | None) -> list[WorkType]:
    return list(
        session.exec(
            select(WorkType)
            .where(WorkType.organization_id == organization_id)
            .order_by(col(WorkType.name))
        )
    )


def get_work_type(session: Session, *, organization_id: int | None, work_type_id: int) -> WorkType:
    work_type = session.get(WorkType, work_type_id)
    if work_type is None or work_type.organization_id != organization_id:
        raise NotFound("That work type does not exist.", field="work_type_id")
    return work_type


def create_work_type(
    session: Session,
    *,
    organization: Organization,
    name: str,
    billable: bool = True,
    rounding: dict[str, Any] | None = None,
) -> WorkType:
    clean = " ".join((name or "").split())
    if not clean:
        raise InvalidInput("Give the work type a name.", field="name")
    if len(clean) > WORK_TYPE_NAME_MAX_LENGTH:
        raise InvalidInput(
            f"Keep the name under {WORK_TYPE_NAME_MAX_LENGTH} characters.", field="name"
        )
    rule = RoundingRule.parse(rounding)
    existing = session.exec(
        select(WorkType).where(WorkType.organization_id == organization.id, WorkType.name == clean)
    ).first()
    if existing is not None:
        raise InvalidInput(f"A work type named “{clean}” exists already.", field="name")
    work_type = WorkType(
        organization_id=saved_id(organization),
        name=clean,
        billable=billable,
        rounding=rule.as_json() if rule else None,
    )
    session.add(work_type)
    session.flush()
    return work_type


def ensure_work_type(
    session: Session, *, organization: Organization, name: str, billable: bool = True
) -> WorkType:
    """The work type of that name, created if missing (seed data)."""
    existing = session.exec(
        select(WorkType).where(WorkType.organization_id == organization.id, WorkType.name == name)
    ).first()
    return existing or create_work_type(
        session, organization=organization, name=name, billable=billable
    )


# ---------------------------------------------------------------- entries


@dataclass
class Outcome:
    """What a timer or log action did, for the person who asked."""

    entry: TimeEntry | None
    # The timer that starting this one stopped (same instant), if any.
    stopped: TimeEntry | None = None
    # Entries of the same technician this one overlaps (saved anyway).
    overlaps: list[TimeEntry] = field(default_factory=list)
    # The timer ran past 24 h and was ended at 24 h.
    capped: bool = False


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > TIME_NOTE_MAX_LENGTH:
        raise InvalidInput(f"Keep the note under {TIME_NOTE_MAX_LENGTH} characters.", field="note")
    return note


def ensure_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise PermissionDenied("Only the IT team tracks time.")


def is_admin(actor: Actor) -> bool:
    """REST tokens and jobs (no member) act with admin rights."""
    if actor.member is None:
        return actor.is_staff
    return actor.member.role == MemberRole.ADMIN or actor.member.slack_is_admin


def technician_of(session: Session, *, organization_id: int | None, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.organization_id != organization_id:
        raise NotFound("That technician does not exist.", field="technician_id")
    if not member_has_staff_role(member):
        raise InvalidInput("Time is tracked for technicians only.", field="technician_id")
    return member


def _work_type_or_none(
    session: Session, organization: Organization, work_type_id: int | None
) -> WorkType | None:
    if work_type_id is None:
        return None
    return get_work_type(session, organization_id=organization.id, work_type_id=work_type_id)


def _finish(organization: Organization, entry: TimeEntry, work_type: WorkType | None) -> None:
    """Fill in the minutes of a finished entry from its span."""
    assert entry.ended_at is not None
    entry.actual_minutes = whole_minutes(entry.started_at, entry.ended_at)
    entry.billable_minutes = billable_minutes_of(
        actual=entry.actual_minutes, billable=entry.billable, rule=rule_for(organization, work_type)
    )


def running_timer(session: Session, *, technician_id: int | None) -> TimeEntry | None:
    return session.exec(
        select(TimeEntry).where(
            TimeEntry.technician_id == technician_id, col(TimeEntry.ended_at).is_(None)
        )
    ).first()


def running_on_ticket(session: Session, *, ticket_id: int | None) -> list[tuple[TimeEntry, Member]]:
    """Who is timing this ticket, earliest first."""
    rows = session.exec(
        select(TimeEntry, Member)
        .join(Member, col(Member.id) == TimeEntry.technician_id)
        .where(TimeEntry.ticket_id == ticket_id, col(TimeEntry.ended_at).is_(None))
        .order_by(col(TimeEntry.started_at))
    ).all()
    return [(entry, member) for entry, member in rows]


def stop_timer(
    session: Session,
    *,
    organization: Organization,
    technician: Member,
    note: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Stop the technician's running timer. The row is locked first (PostgreSQL), so a
    second Stop of the same timer (a double click) finds nothing running and stops
    nothing."""
    now = now or utcnow()
    clean_note = _clean_note(note) if note is not None else None
    entry = session.exec(
        select(TimeEntry)
        .where(
            TimeEntry.organization_id == organization.id,
            TimeEntry.technician_id == technician.id,
            col(TimeEntry.ended_at).is_(None),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if entry is None:
        return Outcome(entry=None)
    capped = now - entry.started_at > MAX_ENTRY
    entry.ended_at = entry.started_at + MAX_ENTRY if capped else max(now, entry.started_at)
    if clean_note:
        entry.note = clean_note
    _finish(organization, entry, _work_type_or_none(session, organization, entry.work_type_id))
    _touch(entry, now)
    session.add(entry)
    session.flush()
    return Outcome(entry=entry, capped=capped, overlaps=overlaps_of(session, entry=entry, now=now))


def start_timer(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    technician: Member,
    actor: Actor,
    work_type_id: int | None = None,
    now: datetime | None = None,
    started_at: datetime | None = None,
    source: TimeEntrySource = TimeEntrySource.TIMER,
) -> Outcome:
    """Start a timer for the technician on the ticket; a timer they had running stops now."""
    ensure_staff(actor)
    now = now or utcnow()
    started_at = started_at or now
    if started_at > now + FUTURE_TOLERANCE:
        raise InvalidInput("A timer cannot start in the future.", field="started_at")
    if now - started_at > MAX_ENTRY:
        raise InvalidInput("An entry can last at most 24 hours.", field="started_at")
    work_type = _work_type_or_none(session, organization, work_type_id)
    for attempt in (1, 2):
        stopped = stop_timer(session, organization=organization, technician=technician, now=now)
        entry = TimeEntry(
            organization_id=saved_id(organization),
            ticket_id=saved_id(ticket),
            technician_id=saved_id(technician),
            work_type_id=work_type.id if work_type else None,
            client_company_id=ticket.client_company_id,
            started_at=started_at,
            billable=work_type.billable if work_type else True,
            source=source,
            created_by_id=actor.member_id,
            created_at=now,
            updated_at=now,
        )
        try:
            # Two starts of one technician at once (PostgreSQL): the one-running-timer index
            # makes the later insert wait for the earlier and then fail; it then stops that
            # timer and starts again, so the last press wins and one timer runs.
            with session.begin_nested():
                session.add(entry)
        except IntegrityError:
            if attempt == 2:
                raise
            continue
        break
    return Outcome(
        entry=entry,
        stopped=stopped.entry,
        overlaps=overlaps_of(session, entry=entry, now=now),
    )


def log_time(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    technician: Member,
    actor: Actor,
    minutes: int | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    work_type_id: int | None = None,
    billable: bool | None = None,
    note: str | None = None,
    source: TimeEntrySource = TimeEntrySource.LOG,
    now: datetime | None = None,
) -> Outcome:
    """Record finished work: a duration ending now (or at `ended_at`), or a start and end."""
    ensure_staff(actor)
    now = now or utcnow()
    clean_note = _clean_note(note)
    if started_at is None and ended_at is None and minutes is None:
        raise InvalidInput("Enter how long you worked.", field="duration")
    if minutes is not None and not 0 < minutes <= MAX_ENTRY_MINUTES:
        raise InvalidInput("The duration must be from 1 minute to 24 hours.", field="duration")
    if started_at is not None and ended_at is None:
        if minutes is None:
            raise InvalidInput("Give the end or the duration.", field="ended_at")
        ended_at = started_at + timedelta(minutes=minutes)
    ended_at = ended_at or now
    if started_at is None:
        assert minutes is not None
        started_at = ended_at - timedelta(minutes=minutes)
    check_span(started_at, ended_at, now=now)
    work_type = _work_type_or_none(session, organization, work_type_id)
    entry = TimeEntry(
        organization_id=saved_id(organization),
        ticket_id=saved_id(ticket),
        technician_id=saved_id(technician),
        work_type_id=work_type.id if work_type else None,
        client_company_id=ticket.client_company_id,
        started_at=started_at,
        ended_at=ended_at,
        billable=billable if billable is not None else (work_type.billable if work_type else True),
        note=clean_note,
        source=source,
        created_by_id=actor.member_id,
        created_at=now,
        updated_at=now,
    )
    _finish(organization, entry, work_type)
    session.add(entry)
    session.flush()
    return Outcome(entry=entry, overlaps=overlaps_of(session, entry=entry, now=now))


def overlaps_of(session: Session, *, entry: TimeEntry, now: datetime) -> list[TimeEntry]:
    """The same technician's other entries whose span meets this one's."""
    end = entry.ended_at or now
    others = session.exec(
        select(TimeEntry).where(
            TimeEntry.organization_id == entry.organization_id,
            TimeEntry.technician_id == entry.technician_id,
            TimeEntry.id != entry.id,
            col(TimeEntry.deleted_at).is_(None),
            col(TimeEntry.started_at) < end,
            col(TimeEntry.started_at) >= entry.started_at - MAX_ENTRY,
        )
    ).all()
    return [o for o in others if (o.ended_at or now) > entry.started_at]


def get_entry(session: Session, *, organization_id: int | None, entry_id: int) -> TimeEntry:
    entry = session.get(TimeEntry, entry_id)
    if entry is None or entry.organization_id != organization_id or entry.deleted_at is not None:
        raise NotFound("That time entry does not exist.")
    return entry


def _ensure_may_change(entry: TimeEntry, actor: Actor) -> None:
    ensure_staff(actor)
    if actor.member_id != entry.technician_id and not is_admin(actor):
        raise PermissionDenied(
            "Only the technician who logged this time, or an admin, can change it."
        )


def _touch(entry: TimeEntry, now: datetime) -> None:
    entry.revision += 1
    entry.updated_at = now


def _record(
    session: Session, *, entry: TimeEntry, actor: Actor, what: str, old: str | None, new: str | None
) -> None:
    session.add(
        TicketEvent(
            ticket_id=entry.ticket_id,
            organization_id=entry.organization_id,
            actor_id=actor.member_id,
            actor_name=actor.name[:200],
            field=what,
            old_value=old[:500] if old else old,
            new_value=new[:500] if new else new,
        )
    )


def describe_entry(entry: TimeEntry) -> str:
    span = (
        f"{entry.started_at:%Y-%m-%d %H:%M} to {entry.ended_at:%H:%M}"
        if entry.ended_at
        else (f"{entry.started_at:%Y-%m-%d %H:%M} to running")
    )
    billable = "billable" if entry.billable else "not billable"
    return f"time entry {entry.id}: {format_minutes(entry.actual_minutes)} ({billable}), {span} UTC"


def update_entry(
    session: Session,
    *,
    organization: Organization,
    entry_id: int,
    actor: Actor,
    changes: dict[str, Any],
    now: datetime | None = None,
) -> Outcome:
    """Change an entry's times, work type, billable flag or note; recorded in the ticket's
    history. Minutes follow the times (actual minutes are never set by hand)."""
    now = now or utcnow()
    entry = get_entry(session, organization_id=organization.id, entry_id=entry_id)
    _ensure_may_change(entry, actor)
    before = describe_entry(entry)
    if "work_type_id" in changes:
        work_type = _work_type_or_none(session, organization, changes["work_type_id"])
        entry.work_type_id = work_type.id if work_type else None
    if "billable" in changes and changes["billable"] is not None:
        entry.billable = bool(changes["billable"])
    if "note" in changes:
        entry.note = _clean_note(changes["note"])
    started_at = changes.get("started_at") or entry.started_at
    ended_at = changes.get("ended_at", entry.ended_at)
    if "actual_minutes" in changes and changes["actual_minutes"] is not None:
        minutes = int(changes["actual_minutes"])
        if not 0 < minutes <= MAX_ENTRY_MINUTES:
            raise InvalidInput(
                "The duration must be from 1 minute to 24 hours.", field="actual_minutes"
            )
        ended_at = started_at + timedelta(minutes=minutes)
    if ended_at is None:
        if entry.ended_at is not None:
            raise InvalidInput("A finished entry cannot be made running again.", field="ended_at")
        if started_at > now + FUTURE_TOLERANCE:
            raise InvalidInput("A timer cannot start in the future.", field="started_at")
    else:
        check_span(started_at, ended_at, now=now)
    entry.started_at, entry.ended_at = started_at, ended_at
    if entry.ended_at is not None:
        _finish(organization, entry, _work_type_or_none(session, organization, entry.work_type_id))
    entry.edited_at, entry.edited_by_id = now, actor.member_id
    _touch(entry, now)
    session.add(entry)
    _record(
        session, entry=entry, actor=actor, what="time_entry", old=before, new=describe_entry(entry)
    )
    session.flush()
    return Outcome(entry=entry, overlaps=overlaps_of(session, entry=entry, now=now))


def delete_entry(
    session: Session,
    *,
    organization: Organization,
    entry_id: int,
    actor: Actor,
    now: datetime | None = None,
) -> TimeEntry:
    """Remove an entry from reports and feeds; the row stays, marked, with who and when."""
    now = now or utcnow()
    entry = get_entry(session, organization_id=organization.id, entry_id=entry_id)
    _ensure_may_change(entry, actor)
    before = describe_entry(entry)
    if entry.ended_at is None:
        entry.ended_at = max(now, entry.started_at)
        _finish(organization, entry, _work_type_or_none(session, organization, entry.work_type_id))
    entry.deleted_at, entry.deleted_by_id = now, actor.member_id
    _touch(entry, now)
    session.add(entry)
    _record(session, entry=entry, actor=actor, what="time_entry", old=before, new="deleted")
    session.flush()
    return entry


@dataclass(frozen=True)
class EntryFilter:
    ticket_id: int | None = None
    technician_id: int | None = None
    client_company_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None


MAX_ENTRIES = 1000


def list_entries(
    session: Session, *, organization_id: int | None, filters: EntryFilter, limit: int = MAX_ENTRIES
) -> list[TimeEntry]:
    query = select(TimeEntry).where(
        TimeEntry.organization_id == organization_id, col(TimeEntry.deleted_at).is_(None)
    )
    if filters.ticket_id is not None:
        query = query.where(TimeEntry.ticket_id == filters.ticket_id)
    if filters.technician_id is not None:
        query = query.where(TimeEntry.technician_id == filters.technician_id)
    if filters.client_company_id is not None:
        query = query.where(TimeEntry.client_company_id == filters.client_company_id)
    if filters.start is not None:
        query = query.where(col(TimeEntry.started_at) >= filters.start)
    if filters.end is not None:
        query = query.where(col(TimeEntry.started_at) < filters.end)
    query = query.order_by(col(TimeEntry.started_at), col(TimeEntry.id)).limit(limit)
    return list(session.exec(query))


def today_minutes(
    session: Session, *, organization: Organization, technician: Member, now: datetime | None = None
) -> int:
    """The technician's minutes of today (the organization's day), a running timer's so far."""
    now = now or utcnow()
    start, end = day_bounds(organization, now)
    entries = list_entries(
        session,
        organization_id=organization.id,
        filters=EntryFilter(technician_id=technician.id, start=start, end=end),
    )
    return sum(
        e.actual_minutes if e.ended_at else whole_minutes(e.started_at, now) for e in entries
    )


def move_to_client(session: Session, *, ticket: Ticket) -> None:
    """Keep the ticket's entries filed under its client after the ticket changed client."""
    session.execute(
        update(TimeEntry)
        .where(col(TimeEntry.ticket_id) == ticket.id)
        .values(client_company_id=ticket.client_company_id)
        .execution_options(synchronize_session="fetch")
    )


# ---------------------------------------------------------------- monthly report


@dataclass(frozen=True)
class ReportLine:
    ticket_id: int
    ticket_number: int
    title: str
    actual_minutes: int
    billable_minutes: int
    client_company_id: int | None = None


@dataclass(frozen=True)
class TimeReport:
    month: str
    client_company_id: int | None
    start: datetime
    end: datetime
    lines: list[ReportLine]

    @property
    def actual_minutes(self) -> int:
        return sum(line.actual_minutes for line in self.lines)

    @property
    def billable_minutes(self) -> int:
        return sum(line.billable_minutes for line in self.lines)


def monthly_report(
    session: Session,
    *,
    organization: Organization,
    month: str | None,
    client_company_id: int | None,
    now: datetime | None = None,
) -> TimeReport:
    """Per ticket, the month's actual and billable minutes of finished entries (the month's
    days begin in the organization's time zone). Read by the (organization, client,
    started_at) index, summed in the database, one row per ticket and work type."""
    first = parse_month(month, organization=organization, now=now or utcnow())
    start, end = month_bounds(f"{first:%Y-%m}", zone_of(organization))
    entry, ticket = table_of(TimeEntry), table_of(Ticket)
    query = (
        sa_select(
            entry.c.ticket_id,
            ticket.c.ticket_number,
            ticket.c.title,
            entry.c.client_company_id,
            entry.c.work_type_id,
            entry.c.billable,
            func.sum(entry.c.actual_minutes),
            func.sum(entry.c.billable_minutes),
        )
        .join_from(entry, ticket, ticket.c.id == entry.c.ticket_id)
        .where(
            entry.c.organization_id == organization.id,
            entry.c.started_at >= start,
            entry.c.started_at < end,
            entry.c.deleted_at.is_(None),
            entry.c.ended_at.is_not(None),
        )
        .group_by(
            entry.c.ticket_id,
            ticket.c.ticket_number,
            ticket.c.title,
            entry.c.client_company_id,
            entry.c.work_type_id,
            entry.c.billable,
        )
    )
    if client_company_id is not None:
        query = query.where(entry.c.client_company_id == client_company_id)
    rows = session.execute(query).all()
    work_types = {w.id: w for w in list_work_types(session, organization_id=organization.id)}
    names: dict[int, tuple[int, str, int | None]] = {}
    actual: dict[int, int] = defaultdict(int)
    billable: dict[int, int] = defaultdict(int)
    per_ticket_sums: dict[tuple[int, RoundingRule], int] = defaultdict(int)
    for (
        ticket_id,
        number,
        title,
        company_id,
        work_type_id,
        is_billable,
        actual_sum,
        billable_sum,
    ) in rows:
        names[ticket_id] = (number, title, company_id)
        actual[ticket_id] += int(actual_sum or 0)
        if not is_billable:
            continue
        rule = rule_for(organization, work_types.get(work_type_id))
        if rule.per_ticket:
            per_ticket_sums[(ticket_id, rule)] += int(actual_sum or 0)
        else:
            billable[ticket_id] += int(billable_sum or 0)
    for (ticket_id, rule), minutes in per_ticket_sums.items():
        billable[ticket_id] += rule.round(minutes)
    lines = sorted(
        (
            ReportLine(
                ticket_id=ticket_id,
                ticket_number=names[ticket_id][0],
                title=names[ticket_id][1],
                actual_minutes=actual[ticket_id],
                billable_minutes=billable[ticket_id],
                client_company_id=names[ticket_id][2],
            )
            for ticket_id in actual
        ),
        key=lambda line: line.ticket_number,
    )
    return TimeReport(
        month=f"{first:%Y-%m}",
        client_company_id=client_company_id,
        start=start,
        end=end,
        lines=lines,
    )


REPORT_COLUMNS = ("ticket_number", "title", "actual_minutes", "billable_minutes")


def report_csv(report: TimeReport) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for line in report.lines:
        writer.writerow(
            [line.ticket_number, line.title, line.actual_minutes, line.billable_minutes]
        )
    writer.writerow(["total", "", report.actual_minutes, report.billable_minutes])
    return out.getvalue()


# ---------------------------------------------------------------- long-running timers


def timers_to_remind(session: Session, *, now: datetime | None = None) -> list[TimeEntry]:
    """Running timers past 10 h whose technician has not been told yet; marked told."""
    now = now or utcnow()
    entries = list(
        session.exec(
            select(TimeEntry)
            .where(
                col(TimeEntry.ended_at).is_(None),
                col(TimeEntry.long_running_notified_at).is_(None),
                col(TimeEntry.started_at) <= now - LONG_RUNNING,
            )
            .with_for_update(skip_locked=True)
        )
    )
    for entry in entries:
        entry.long_running_notified_at = now
        session.add(entry)
    session.flush()
    return entries
