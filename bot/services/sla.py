"""SLA clocks driven by a ticket's events (DESIGN §8). Slack-free.

One clock per ticket, metric and cycle:
- first response: starts at creation, met by the first public reply of staff; pending does
  not pause it;
- next response: starts at the oldest end-user public comment after the last staff public
  reply (only once the first response is met), met by the next staff public reply;
- resolution: starts at creation, paused while the status is in the policy's pause set,
  met at resolved (or closed). A reopen resumes it with the resolved spell excluded, or
  starts a new cycle (restart mode).
A priority or policy change keeps each clock's start and excluded time, swaps the target
and recomputes; a due instant already past means breached now, at that instant. Breaches
are never erased. The services of tickets and comments call the `on_…` functions in the
same unit of work as the change.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, bindparam, case, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from bot.core.months import month_bounds
from bot.services.business_time import (
    ALWAYS,
    Calendar,
    Interval,
    add_business_time,
    add_business_times,
    business_time_between,
)
from bot.services.policy_cache import IN_FORCE
from models import (
    AuthorType,
    BusinessCalendar,
    ClientCompany,
    ClockStatus,
    CommentType,
    ReopenMode,
    SlaClock,
    SlaMetric,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketComment,
    TicketStatus,
    saved_id,
    table_of,
    utcnow,
)
from models.base import UTCDateTime

DONE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
LIVE = (ClockStatus.RUNNING, ClockStatus.PAUSED)
# Session.info key: tickets whose clocks changed state in this unit of work (card redraw).
_CHANGED = "sla_changed_ticket_ids"


# Policy and calendar lookup ---------------------------------------------------------------


def default_policy(session: Session, *, organization_id: int) -> SlaPolicy | None:
    return session.exec(
        select(SlaPolicy)
        .where(SlaPolicy.organization_id == organization_id, col(SlaPolicy.is_default))
        .order_by(col(SlaPolicy.id))
    ).first()


def policy_for(session: Session, ticket: Ticket) -> SlaPolicy | None:
    """The ticket's override, else its client company's policy, else the default, else none."""
    policy_id = ticket.sla_policy_id
    if policy_id is None and ticket.client_company_id is not None:
        company = session.get(ClientCompany, ticket.client_company_id)
        policy_id = company.sla_policy_id if company else None
    if policy_id is not None:
        policy = session.get(SlaPolicy, policy_id)
        if policy is not None and policy.organization_id == ticket.organization_id:
            return policy
    return default_policy(session, organization_id=ticket.organization_id)


def calendar_of(session: Session, policy: SlaPolicy | None) -> Calendar:
    """The policy's business calendar (calendar time when it has none)."""
    if policy is None or policy.calendar_id is None:
        return ALWAYS
    row = session.get(BusinessCalendar, policy.calendar_id)
    if row is None:
        return ALWAYS
    return Calendar.build(timezone=row.timezone, hours=row.hours, holidays=row.holidays)


def _targets(session: Session, policy: SlaPolicy | None, priority: str) -> dict[str, SlaTarget]:
    if policy is None:
        return {}
    found = session.exec(
        select(SlaTarget).where(SlaTarget.policy_id == policy.id, SlaTarget.priority == priority)
    ).all()
    return {t.metric: t for t in found}


@dataclass
class _Context:
    policy: SlaPolicy | None
    targets: dict[str, SlaTarget]
    business: Calendar

    def calendar(self, clock: SlaClock) -> Calendar:
        return self.business if clock.business_hours else ALWAYS


def _context(session: Session, ticket: Ticket) -> _Context:
    policy = policy_for(session, ticket)
    return _Context(
        policy=policy,
        targets=_targets(session, policy, str(ticket.priority)),
        business=calendar_of(session, policy),
    )


# Clock rows --------------------------------------------------------------------------------


def clocks_of(session: Session, ticket: Ticket) -> list[SlaClock]:
    if ticket.id is None:
        return []
    return list(
        session.exec(
            select(SlaClock)
            .where(SlaClock.ticket_id == ticket.id)
            .order_by(col(SlaClock.metric), col(SlaClock.cycle))
        ).all()
    )


def _latest(clocks: Iterable[SlaClock], metric: SlaMetric) -> SlaClock | None:
    mine = [c for c in clocks if c.metric == metric]
    return max(mine, key=lambda c: c.cycle) if mine else None


def _awaited(clock: SlaClock | None) -> bool:
    """Whether the clock's promise is still to be kept (running, paused, or breached and
    not yet kept)."""
    if clock is None:
        return False
    if clock.status in LIVE:
        return True
    return clock.status == ClockStatus.BREACHED and clock.fulfilled_at is None


def _mark_changed(session: Session, ticket: Ticket) -> None:
    session.info.setdefault(_CHANGED, set()).add(ticket.id)


def clocks_changed(session: Session, ticket: Ticket) -> bool:
    """Whether a clock of the ticket changed state in this unit of work (once: clears it)."""
    changed = session.info.get(_CHANGED, set())
    if ticket.id in changed:
        changed.discard(ticket.id)
        return True
    return False


def _periods(clock: SlaClock) -> list[Interval]:
    return [
        (datetime.fromisoformat(a).astimezone(UTC), datetime.fromisoformat(b).astimezone(UTC))
        for a, b in clock.excluded_periods
    ]


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def _recompute(clock: SlaClock, calendar: Calendar, *, override: datetime | None = None) -> None:
    """Due and warning instants from the start, the target and the excluded periods."""
    periods = _periods(clock)
    clock.excluded_seconds = int(
        sum(
            (business_time_between(calendar, a, b) for a, b in periods),
            timedelta(0),
        ).total_seconds()
    )
    if override is not None:
        clock.due_overridden = True
        clock.due_at = override
        span = business_time_between(calendar, clock.started_at, override, excluded=periods)
        clock.warn_75_at = add_business_time(
            calendar, clock.started_at, span * 3 / 4, excluded=periods
        )
        clock.warn_90_at = add_business_time(
            calendar, clock.started_at, span * 9 / 10, excluded=periods
        )
        return
    if clock.due_overridden:
        return
    if clock.status == ClockStatus.PAUSED:
        clock.due_at = clock.warn_75_at = clock.warn_90_at = None
        return
    target = timedelta(minutes=clock.target_minutes)
    start = clock.started_at
    clock.due_at = add_business_time(calendar, start, target, excluded=periods)
    clock.warn_75_at = add_business_time(calendar, start, target * 3 / 4, excluded=periods)
    clock.warn_90_at = add_business_time(calendar, start, target * 9 / 10, excluded=periods)


def _breach_if_past(clock: SlaClock, now: datetime) -> None:
    """A running clock whose due instant has passed is breached, at that instant."""
    if clock.status == ClockStatus.RUNNING and clock.due_at is not None and clock.due_at <= now:
        clock.status = ClockStatus.BREACHED
        clock.breached_at = clock.breached_at or clock.due_at
        # The warnings are moot once breached: they are not sent afterwards.
        clock.warned_75_at = clock.warned_75_at or now
        clock.warned_90_at = clock.warned_90_at or now


def _start(
    session: Session,
    ticket: Ticket,
    ctx: _Context,
    metric: SlaMetric,
    *,
    at: datetime,
    cycle: int,
    now: datetime,
) -> SlaClock | None:
    target = ctx.targets.get(metric)
    if target is None:
        return None
    clock = SlaClock(
        organization_id=ticket.organization_id,
        ticket_id=ticket.id,  # type: ignore[arg-type]
        policy_id=ctx.policy.id if ctx.policy else None,
        metric=metric,
        cycle=cycle,
        status=ClockStatus.RUNNING,
        target_minutes=target.minutes,
        business_hours=target.business_hours,
        started_at=at,
        created_at=now,
        updated_at=now,
    )
    override = ticket.sla_due_override_at if metric == SlaMetric.RESOLUTION else None
    _recompute(clock, ctx.calendar(clock), override=override)
    _breach_if_past(clock, now)
    session.add(clock)
    _mark_changed(session, ticket)
    return clock


def _fulfil(session: Session, ticket: Ticket, clock: SlaClock, at: datetime) -> None:
    """The promise was kept (or kept late): the clock stops at `at`."""
    if clock.status == ClockStatus.PAUSED and clock.paused_at is not None:
        clock.excluded_periods = [*clock.excluded_periods, [_iso(clock.paused_at), _iso(at)]]
        clock.paused_at = None
    if clock.status in LIVE and clock.due_at is not None and at > clock.due_at:
        clock.status = ClockStatus.BREACHED
    if clock.status == ClockStatus.BREACHED:
        clock.breached_at = clock.breached_at or clock.due_at or at
        # Fulfilled already: a breach message now would ask for what was done.
        clock.breach_notified_at = clock.breach_notified_at or at
    else:
        clock.status = ClockStatus.MET
    clock.fulfilled_at = at
    clock.updated_at = utcnow()
    session.add(clock)
    _mark_changed(session, ticket)


def _cancel(session: Session, ticket: Ticket, clock: SlaClock) -> None:
    if clock.status in LIVE:
        clock.status = ClockStatus.CANCELLED
        clock.paused_at = None
        clock.updated_at = utcnow()
        session.add(clock)
        _mark_changed(session, ticket)


# Events ------------------------------------------------------------------------------------


def on_ticket_created(session: Session, *, ticket: Ticket) -> int:
    """First-response and resolution clocks from the ticket's creation (which an import may
    set in the past); returns how many were started.

    This runs on the filing's path, before Slack's acknowledgement: the policy in force and
    its version are one query, its targets and calendar come from a per-database cache of
    that version, and the clocks are one Core insert."""
    if ticket.sla_due_override_at is not None:  # an import with a due instant set by hand
        return _start_clocks_one_by_one(session, ticket)
    terms, remembered = _terms_of(session, ticket)
    if terms is None:
        return 0
    rows = _first_clock_rows(ticket, terms)
    if not rows:
        return 0
    connection = session.connection()
    if not remembered:
        connection.execute(_INSERT_CLOCKS, rows)
    else:
        # Remembered: another process may have changed or removed that policy since, so
        # each row goes in only while the policy is still the version its terms came from.
        if_current = _insert_clocks_if_current(tuple(rows[0]))
        current = [{**row, "policy_version": terms.policy_version} for row in rows]
        if connection.execute(if_current, current).rowcount != len(rows):
            connection.execute(_DELETE_CLOCKS_OF_TICKET, {"ticket_id": ticket.id})
            IN_FORCE.forget()
            return on_ticket_created(session, ticket=ticket)  # asked afresh: not remembered
    _mark_changed(session, ticket)
    return len(rows)


def _first_clock_rows(ticket: Ticket, terms: _Terms) -> list[dict[str, Any]]:
    """The ticket's first-response and resolution clocks under `terms`, as Core rows."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for metric in (SlaMetric.FIRST_RESPONSE, SlaMetric.RESOLUTION):
        target = terms.targets.get((str(ticket.priority), metric.value))
        if target is None:
            continue
        minutes, business_hours = target
        span = timedelta(minutes=minutes)
        warn_75, warn_90, due = add_business_times(
            terms.business if business_hours else ALWAYS,
            ticket.created_at,
            (span * 3 / 4, span * 9 / 10, span),
        )
        breached = due <= now
        rows.append(
            {
                "organization_id": ticket.organization_id,
                "ticket_id": ticket.id,
                "policy_id": terms.policy_id,
                "metric": metric.value,
                "cycle": 1,
                "status": (ClockStatus.BREACHED if breached else ClockStatus.RUNNING).value,
                "target_minutes": minutes,
                "business_hours": business_hours,
                "started_at": ticket.created_at,
                "due_at": due,
                "warn_75_at": warn_75,
                "warn_90_at": warn_90,
                # Breached at once (an import): at the due instant; its warnings are moot.
                "breached_at": due if breached else None,
                "warned_75_at": now if breached else None,
                "warned_90_at": now if breached else None,
                "excluded_seconds": 0,
                "excluded_periods": [],
                "due_overridden": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


_INSERT_CLOCKS = table_of(SlaClock).insert()


@functools.cache
def _insert_clocks_if_current(names: tuple[str, ...]) -> Any:
    """INSERT … SELECT of one clock row (columns `names`) that inserts nothing unless
    policy :policy_id still exists at version :policy_version."""
    clocks, policies = table_of(SlaClock), table_of(SlaPolicy)
    policy_id = bindparam("policy_id", type_=clocks.c.policy_id.type)
    values = [
        policy_id if name == "policy_id" else bindparam(name, type_=clocks.c[name].type)
        for name in names
    ]
    still_current = (
        sa_select(policies.c.id)
        .where(
            policies.c.id == policy_id,
            policies.c.updated_at == bindparam("policy_version", type_=policies.c.updated_at.type),
        )
        .exists()
    )
    # An INSERT's rowcount is kept only when asked for (every backend, executemany included).
    return (
        clocks.insert()
        .from_select(list(names), sa_select(*values).where(still_current))
        .execution_options(preserve_rowcount=True)
    )


_DELETE_CLOCKS_OF_TICKET = (
    table_of(SlaClock).delete().where(table_of(SlaClock).c.ticket_id == bindparam("ticket_id"))
)


def _start_clocks_one_by_one(session: Session, ticket: Ticket) -> int:
    ctx = _context(session, ticket)
    if ctx.policy is None:
        return 0
    now = utcnow()
    started = [
        _start(session, ticket, ctx, metric, at=ticket.created_at, cycle=1, now=now)
        for metric in (SlaMetric.FIRST_RESPONSE, SlaMetric.RESOLUTION)
    ]
    session.flush()
    return len([c for c in started if c is not None])


@dataclass(frozen=True)
class _Terms:
    """What a new ticket's clocks need of its policy: (priority, metric) → (minutes,
    business hours), and the business calendar."""

    policy_id: int
    policy_version: datetime  # the policy's updated_at these terms were read at
    targets: dict[tuple[str, str], tuple[int, bool]]
    business: Calendar


# Per database (engine), per policy version: (policy id, its updated_at, calendar id, the
# calendar's updated_at) → terms. Every change of a policy's targets or a calendar goes
# through sla_admin, which moves updated_at, so an edit in another process is a new key.
_TERMS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], _Terms]] = weakref.WeakKeyDictionary()
_TERMS_PER_DATABASE = 512


@functools.cache
def _policy_version_statement(chosen_by: str) -> Any:
    """The policy in force and its version: `chosen_by` is "default" (none chosen),
    "ticket" (the ticket's own policy, :chosen) or "company" (:company's policy); a chosen
    policy wins over the default when it exists in the organization. Built once per kind."""
    policy, calendar, company = (
        table_of(SlaPolicy),
        table_of(BusinessCalendar),
        table_of(ClientCompany),
    )
    query = sa_select(
        policy.c.id, policy.c.updated_at, calendar.c.id, calendar.c.updated_at
    ).select_from(policy.outerjoin(calendar, calendar.c.id == policy.c.calendar_id))
    query = query.where(policy.c.organization_id == bindparam("organization_id"))
    if chosen_by == "default":
        return query.where(policy.c.is_default).order_by(policy.c.id).limit(1)
    chosen: Any = bindparam("chosen", type_=Integer)
    if chosen_by == "company":
        chosen = (
            sa_select(company.c.sla_policy_id)
            .where(company.c.id == bindparam("company_id"))
            .scalar_subquery()
        )
    return (
        query.where(or_(policy.c.id == chosen, policy.c.is_default))
        .order_by(case((policy.c.id == chosen, 0), else_=1), policy.c.id)
        .limit(1)
    )


def business_calendar_for(session: Session, ticket: Ticket) -> Calendar | None:
    """The business calendar of the ticket's policy in force (None: no policy, or a policy
    without a calendar), from the same cache as new tickets' clocks."""
    terms, _ = _terms_of(session, ticket)
    if terms is None or terms.business is ALWAYS:
        return None
    return terms.business


def _terms_of(session: Session, ticket: Ticket) -> tuple[_Terms | None, bool]:
    """The ticket's policy in force (its own, else its company's, else the default; see
    `policy_for`) with its version, in one query or from `IN_FORCE`; its terms from the
    cache. The flag says the policy was remembered rather than read in this transaction."""
    values: dict[str, Any] = {"organization_id": ticket.organization_id}
    if ticket.sla_policy_id is not None:
        kind, values["chosen"] = "ticket", ticket.sla_policy_id
    elif ticket.client_company_id is not None:
        kind, values["company_id"] = "company", ticket.client_company_id
    else:
        kind = "default"
    session.flush()  # what the unit of work changed (a company's policy) counts
    bind = session.get_bind()
    asked = (kind, *values.values())
    found, key = IN_FORCE.get(bind, asked)
    if not found:
        read_at = IN_FORCE.generation
        row = session.connection().execute(_policy_version_statement(kind), values).first()
        key = None if row is None else tuple(row)
        IN_FORCE.remember(bind, asked, key, read_at=read_at)
    if key is None:
        return None, found
    cache = _TERMS.setdefault(bind, {})
    terms = cache.get(key)
    if terms is None:
        policy = session.get(SlaPolicy, key[0])
        assert policy is not None
        targets = session.exec(select(SlaTarget).where(SlaTarget.policy_id == policy.id)).all()
        terms = _Terms(
            policy_id=key[0],
            policy_version=key[1],
            targets={
                (str(t.priority), str(t.metric)): (t.minutes, t.business_hours) for t in targets
            },
            business=calendar_of(session, policy),
        )
        if len(cache) >= _TERMS_PER_DATABASE:
            cache.clear()
        cache[key] = terms
    return terms, found


def is_staff_public_reply(comment: TicketComment) -> bool:
    return (
        comment.comment_type == CommentType.PUBLIC_REPLY and comment.author_type == AuthorType.STAFF
    )


def on_comment(session: Session, *, ticket: Ticket, comment: TicketComment) -> None:
    """A staff public reply meets the response clocks; an end-user public comment after the
    last staff reply starts a next-response cycle. Internal notes change nothing."""
    if comment.comment_type != CommentType.PUBLIC_REPLY:
        return
    at = comment.created_at
    clocks = clocks_of(session, ticket)
    if is_staff_public_reply(comment):
        for metric in (SlaMetric.FIRST_RESPONSE, SlaMetric.NEXT_RESPONSE):
            clock = _latest(clocks, metric)
            if clock is not None and _awaited(clock):
                _fulfil(session, ticket, clock, at)
        session.flush()
        return
    if ticket.first_response_at is None:
        return  # next response counts only once the first response is met
    current = _latest(clocks, SlaMetric.NEXT_RESPONSE)
    if _awaited(current):
        return  # already waiting since an older comment
    ctx = _context(session, ticket)
    _start(
        session,
        ticket,
        ctx,
        SlaMetric.NEXT_RESPONSE,
        at=at,
        cycle=(current.cycle + 1) if current else 1,
        now=utcnow(),
    )
    session.flush()


def on_status_changed(
    session: Session,
    *,
    ticket: Ticket,
    old: TicketStatus | str,
    new: TicketStatus | str,
    at: datetime | None = None,
) -> None:
    """Pause, resume, meet or reopen the resolution clock; stop the response clocks when
    the ticket is done."""
    at = at or utcnow()
    old, new = TicketStatus(old), TicketStatus(new)
    clocks = clocks_of(session, ticket)
    ctx = _context(session, ticket)
    pause = set(ctx.policy.pause_statuses) if ctx.policy else set()
    resolution = _latest(clocks, SlaMetric.RESOLUTION)
    if new in DONE_STATUSES:
        if old not in DONE_STATUSES and _awaited(resolution):
            assert resolution is not None
            _fulfil(session, ticket, resolution, at)
        for metric in (SlaMetric.FIRST_RESPONSE, SlaMetric.NEXT_RESPONSE):
            clock = _latest(clocks, metric)
            if clock is not None:
                _cancel(session, ticket, clock)
        session.flush()
        return
    if old in DONE_STATUSES:
        resolution = _reopen(session, ticket, ctx, resolution, at=at)
    if resolution is None:
        session.flush()
        return
    calendar = ctx.calendar(resolution)
    if new.value in pause and resolution.status == ClockStatus.RUNNING:
        resolution.status = ClockStatus.PAUSED
        resolution.paused_at = at
        _recompute(resolution, calendar)
        _touch(session, ticket, resolution)
    elif new.value not in pause and resolution.status == ClockStatus.PAUSED:
        if resolution.paused_at is not None:
            resolution.excluded_periods = [
                *resolution.excluded_periods,
                [_iso(resolution.paused_at), _iso(at)],
            ]
        resolution.paused_at = None
        resolution.status = ClockStatus.RUNNING
        _recompute(resolution, calendar)
        _breach_if_past(resolution, utcnow())
        _touch(session, ticket, resolution)
    session.flush()


def _touch(session: Session, ticket: Ticket, clock: SlaClock) -> None:
    clock.updated_at = utcnow()
    session.add(clock)
    _mark_changed(session, ticket)


def _reopen(
    session: Session, ticket: Ticket, ctx: _Context, resolution: SlaClock | None, *, at: datetime
) -> SlaClock | None:
    """Resume the met resolution clock with the resolved spell excluded, or start a new
    cycle (restart mode, or a ticket that had no clock)."""
    if ctx.policy is None or SlaMetric.RESOLUTION not in ctx.targets:
        return resolution
    restart = ctx.policy.reopen_mode == ReopenMode.RESTART
    if resolution is None or restart or resolution.fulfilled_at is None:
        if resolution is not None and resolution.status in LIVE:
            return resolution
        return _start(
            session,
            ticket,
            ctx,
            SlaMetric.RESOLUTION,
            at=at,
            cycle=(resolution.cycle + 1) if resolution else 1,
            now=utcnow(),
        )
    resolution.excluded_periods = [
        *resolution.excluded_periods,
        [_iso(resolution.fulfilled_at), _iso(at)],
    ]
    resolution.fulfilled_at = None
    if resolution.status == ClockStatus.MET:
        resolution.status = ClockStatus.RUNNING
    _recompute(resolution, ctx.calendar(resolution))
    _breach_if_past(resolution, utcnow())
    _touch(session, ticket, resolution)
    return resolution


def on_terms_changed(session: Session, *, ticket: Ticket) -> None:
    """Priority, client company or policy changed: swap each live clock's target and
    recompute from its start and excluded time. Metrics the new terms no longer track are
    cancelled; metrics they newly track start from the ticket's creation."""
    ctx = _context(session, ticket)
    now = utcnow()
    clocks = clocks_of(session, ticket)
    for metric in SlaMetric:
        clock = _latest(clocks, metric)
        target = ctx.targets.get(metric)
        if clock is not None and clock.status in LIVE:
            if target is None:
                _cancel(session, ticket, clock)
                continue
            clock.policy_id = ctx.policy.id if ctx.policy else None
            clock.target_minutes = target.minutes
            clock.business_hours = target.business_hours
            _recompute(clock, ctx.calendar(clock))
            _breach_if_past(clock, now)
            _touch(session, ticket, clock)
        elif clock is None and target is not None and ticket.status not in DONE_STATUSES:
            if metric == SlaMetric.FIRST_RESPONSE and ticket.first_response_at is None:
                _start(session, ticket, ctx, metric, at=ticket.created_at, cycle=1, now=now)
            elif metric == SlaMetric.RESOLUTION:
                started = _start(
                    session, ticket, ctx, metric, at=ticket.created_at, cycle=1, now=now
                )
                pause = set(ctx.policy.pause_statuses) if ctx.policy else set()
                if started is not None and ticket.status in pause and started.status in LIVE:
                    started.status = ClockStatus.PAUSED
                    started.paused_at = now
                    _recompute(started, ctx.calendar(started))
    session.flush()


def on_calendar_changed(session: Session, *, policy_ids: Sequence[int]) -> list[int]:
    """A calendar's hours, holidays or zone changed, or a policy moved to another calendar:
    the live business-hours clocks of these policies count on it from now, keeping their
    start, target and excluded periods (measured again). A due instant that is now past
    breaches at once, at that instant; an overridden due instant stays. Returns the ids of
    the tickets whose clocks changed."""
    if not policy_ids:
        return []
    now = utcnow()
    calendars: dict[int, Calendar] = {}
    tickets: dict[int, Ticket] = {}
    rows = session.exec(
        select(SlaClock, Ticket)
        .join(Ticket, col(Ticket.id) == col(SlaClock.ticket_id))
        .where(
            col(SlaClock.policy_id).in_(policy_ids),
            col(SlaClock.status).in_(LIVE),
            col(SlaClock.business_hours),
        )
        .order_by(col(SlaClock.id))
    ).all()
    for clock, ticket in rows:
        assert clock.policy_id is not None
        if clock.policy_id not in calendars:
            calendars[clock.policy_id] = calendar_of(
                session, session.get(SlaPolicy, clock.policy_id)
            )
        _recompute(clock, calendars[clock.policy_id])
        _breach_if_past(clock, now)
        _touch(session, ticket, clock)
        tickets[saved_id(ticket)] = ticket
    session.flush()
    return sorted(tickets)


def changed_ticket_ids(session: Session) -> list[int]:
    """The tickets whose clocks changed state in this unit of work (once: clears them)."""
    changed = session.info.pop(_CHANGED, set())
    return sorted(i for i in changed if i is not None)


def set_due_override(session: Session, *, ticket: Ticket, due: datetime | None) -> None:
    """Set (or clear) the resolution's due instant by hand; it is not recomputed."""
    ticket.sla_due_override_at = due
    session.add(ticket)
    clock = _latest(clocks_of(session, ticket), SlaMetric.RESOLUTION)
    if clock is None or clock.status not in LIVE:
        session.flush()
        return
    ctx = _context(session, ticket)
    if due is None:
        clock.due_overridden = False
        _recompute(clock, ctx.calendar(clock))
    else:
        _recompute(clock, ctx.calendar(clock), override=due)
    # A new due instant is a new promise: its warnings may be sent again.
    clock.warned_75_at = clock.warned_90_at = None
    _breach_if_past(clock, utcnow())
    _touch(session, ticket, clock)
    session.flush()


# Reading -----------------------------------------------------------------------------------

METRIC_ORDER = {m: i for i, m in enumerate(SlaMetric)}


def most_urgent(clocks: Sequence[SlaClock]) -> SlaClock | None:
    """The clock a card shows: a breached live promise first, then the running clock due
    soonest, then a paused one; when nothing is live, the finished one of the last metric
    (resolution, else next response, else first response), met or breached."""
    latest: dict[str, SlaClock] = {}
    for clock in clocks:
        if clock.metric not in latest or clock.cycle > latest[clock.metric].cycle:
            latest[clock.metric] = clock
    current = [c for c in latest.values() if c.status != ClockStatus.CANCELLED]
    if not current:
        return None

    def rank(clock: SlaClock) -> tuple[int, datetime, int]:
        far = datetime.max.replace(tzinfo=UTC)
        if clock.status == ClockStatus.BREACHED and clock.fulfilled_at is None:
            return (0, clock.breached_at or far, METRIC_ORDER[clock.metric])
        if clock.status == ClockStatus.RUNNING:
            return (1, clock.due_at or far, METRIC_ORDER[clock.metric])
        if clock.status == ClockStatus.PAUSED:
            return (2, far, METRIC_ORDER[clock.metric])
        return (3, far, -METRIC_ORDER[clock.metric])

    return min(current, key=rank)


def is_live(clock: SlaClock) -> bool:
    """Running, paused, or breached and its promise still to be kept."""
    return _awaited(clock)


def breached_metrics(clocks: Sequence[SlaClock], *, besides: SlaClock) -> list[str]:
    """The other metrics whose latest clock ever breached, in metric order."""
    latest: dict[str, SlaClock] = {}
    for clock in clocks:
        if clock.metric not in latest or clock.cycle > latest[clock.metric].cycle:
            latest[clock.metric] = clock
    return [
        str(metric)
        for metric in SlaMetric
        if metric in latest
        and latest[metric].id != besides.id
        and latest[metric].breached_at is not None
        and latest[metric].status != ClockStatus.CANCELLED
    ]


@dataclass(frozen=True)
class TicketSlaState:
    policy_id: int | None
    clocks: list[SlaClock]


def states_of(session: Session, tickets: Sequence[Ticket]) -> dict[int, TicketSlaState]:
    """The policy in force and the clocks of each ticket, in three queries for a page."""
    ids = [t.id for t in tickets if t.id is not None]
    if not ids:
        return {}
    clocks: dict[int, list[SlaClock]] = {i: [] for i in ids}
    for clock in session.exec(
        select(SlaClock)
        .where(col(SlaClock.ticket_id).in_(ids))
        .order_by(col(SlaClock.ticket_id), col(SlaClock.metric), col(SlaClock.cycle))
    ).all():
        clocks[clock.ticket_id].append(clock)
    company_ids = {t.client_company_id for t in tickets if t.client_company_id is not None}
    company_policy: dict[int, int | None] = {}
    if company_ids:
        for company in session.exec(
            select(ClientCompany).where(col(ClientCompany.id).in_(company_ids))
        ).all():
            company_policy[company.id] = company.sla_policy_id  # type: ignore[index]
    defaults: dict[int, int | None] = {}
    states: dict[int, TicketSlaState] = {}
    for ticket in tickets:
        if ticket.id is None:
            continue
        policy_id = ticket.sla_policy_id
        if policy_id is None and ticket.client_company_id is not None:
            policy_id = company_policy.get(ticket.client_company_id)
        if policy_id is None:
            org = ticket.organization_id
            if org not in defaults:
                found = default_policy(session, organization_id=org)
                defaults[org] = found.id if found else None
            policy_id = defaults[org]
        states[ticket.id] = TicketSlaState(policy_id=policy_id, clocks=clocks[ticket.id])
    return states


# Reports -----------------------------------------------------------------------------------


@dataclass
class Tally:
    met: int = 0
    breached: int = 0
    running: int = 0

    @property
    def compliance_percent(self) -> float | None:
        finished = self.met + self.breached
        return round(100 * self.met / finished, 1) if finished else None


@dataclass
class MonthReport:
    month: str
    timezone: str
    metrics: dict[str, Tally]
    by_company: dict[int | None, dict[str, Tally]]
    by_priority: dict[str, dict[str, Tally]]


def month_report(
    session: Session,
    *,
    organization_id: int,
    month: str,
    timezone: str,
    client_company_id: int | None = None,
) -> MonthReport:
    """Compliance per metric, client company and priority for the clocks of the tickets
    created in `month` (in `timezone`). A clock that ever breached counts as breached."""
    from sqlalchemy import case

    start, end = month_bounds(month, ZoneInfo(timezone))
    outcome = case(
        (col(SlaClock.breached_at).is_not(None), "breached"),
        (col(SlaClock.status) == ClockStatus.MET.value, "met"),
        (
            col(SlaClock.status).in_([ClockStatus.RUNNING.value, ClockStatus.PAUSED.value]),
            "running",
        ),
        else_="cancelled",
    )
    query = (
        sa_select(
            col(SlaClock.metric),
            col(Ticket.client_company_id),
            col(Ticket.priority),
            outcome.label("outcome"),
            func.count().label("n"),
        )
        .join(Ticket, col(Ticket.id) == col(SlaClock.ticket_id))
        .where(
            col(Ticket.organization_id) == organization_id,
            col(Ticket.created_at) >= start,
            col(Ticket.created_at) < end,
        )
        .group_by(
            col(SlaClock.metric), col(Ticket.client_company_id), col(Ticket.priority), outcome
        )
    )
    if client_company_id is not None:
        query = query.where(col(Ticket.client_company_id) == client_company_id)
    metrics = {m.value: Tally() for m in SlaMetric}
    by_company: dict[int | None, dict[str, Tally]] = {}
    by_priority: dict[str, dict[str, Tally]] = {}
    for metric, company_id, priority, kind, count in session.execute(query).all():
        if kind == "cancelled":
            continue
        company = by_company.setdefault(company_id, {m.value: Tally() for m in SlaMetric})
        prio = by_priority.setdefault(str(priority), {m.value: Tally() for m in SlaMetric})
        for tally in (metrics[metric], company[metric], prio[metric]):
            setattr(tally, kind, getattr(tally, kind) + count)
    return MonthReport(
        month=month,
        timezone=timezone,
        metrics=metrics,
        by_company=by_company,
        by_priority=by_priority,
    )


def timezone_of(session: Session, ticket: Ticket, clock: SlaClock) -> str:
    """Where a clock's instants are read: its policy's calendar, else the organization's."""
    policy = session.get(SlaPolicy, clock.policy_id) if clock.policy_id else None
    if policy is not None and policy.calendar_id is not None:
        calendar = session.get(BusinessCalendar, policy.calendar_id)
        if calendar is not None:
            return calendar.timezone
    from models import Organization

    organization = session.get(Organization, ticket.organization_id)
    return organization.timezone if organization else "UTC"


# The minute job's claims -------------------------------------------------------------------


class Alert:
    WARN_75 = 75
    WARN_90 = 90
    BREACH = 100


CLAIM_BATCH = 500


@functools.cache
def _claim_statements(postgresql: bool) -> tuple[tuple[Any, int], ...]:
    """The claims, built once per dialect: (statement, alert), in the order they run.

    Each is `UPDATE … WHERE id IN (candidates) RETURNING id`; the candidates are an index
    range read (`ix_sla_clock_status_due`, `…_breach_notified`, `…_warn90`, `…_warn75`) of
    the clocks whose notification is not yet claimed, and the update reaches them by primary
    key. Two processes claiming at once each get a clock at most once: on PostgreSQL the
    candidates are locked (`FOR UPDATE SKIP LOCKED`: a row another claim holds is passed
    over, and a row it changed meanwhile is re-checked against the conditions and dropped);
    SQLite runs one writing statement at a time."""
    t = table_of(SlaClock)
    now = bindparam("now", type_=UTCDateTime())
    limit = bindparam("limit", type_=Integer())
    running = t.c.status == ClockStatus.RUNNING.value

    def claim(candidates: Any, values: dict[str, Any]) -> Any:
        if postgresql:
            candidates = candidates.with_for_update(skip_locked=True)
        return (
            sa_update(t)
            .where(t.c.id.in_(candidates.limit(limit).scalar_subquery()))
            .values(**values)
            .returning(t.c.id)
        )

    breach = claim(
        sa_select(t.c.id).where(running, t.c.due_at <= now).order_by(t.c.due_at),
        {
            "status": ClockStatus.BREACHED.value,
            "breached_at": func.coalesce(t.c.breached_at, t.c.due_at),
            "breach_notified_at": now,
            "warned_75_at": func.coalesce(t.c.warned_75_at, now),
            "warned_90_at": func.coalesce(t.c.warned_90_at, now),
            "updated_at": now,
        },
    )
    # Clocks that breached in a unit of work (a priority change, a reopen), not yet told.
    untold = claim(
        sa_select(t.c.id)
        .where(t.c.status == ClockStatus.BREACHED.value, t.c.breach_notified_at.is_(None))
        .order_by(t.c.id),
        {"breach_notified_at": now, "updated_at": now},
    )
    warn_90 = claim(
        sa_select(t.c.id)
        .where(running, t.c.warn_90_at <= now, t.c.warned_90_at.is_(None))
        .order_by(t.c.warn_90_at),
        {
            "warned_90_at": now,
            "warned_75_at": func.coalesce(t.c.warned_75_at, now),
            "updated_at": now,
        },
    )
    warn_75 = claim(
        sa_select(t.c.id)
        .where(running, t.c.warn_75_at <= now, t.c.warned_75_at.is_(None))
        .order_by(t.c.warn_75_at),
        {"warned_75_at": now, "updated_at": now},
    )
    return (
        (breach, Alert.BREACH),
        (untold, Alert.BREACH),
        (warn_90, Alert.WARN_90),
        (warn_75, Alert.WARN_75),
    )


def claim_alerts(
    session: Session, *, now: datetime, limit: int = CLAIM_BATCH
) -> list[tuple[int, int]]:
    """Claim what is due: breaches, then 90 % and 75 % warnings of running clocks; each
    (clock id, alert) once per clock cycle. A breach claims the warnings not sent yet, and
    a 90 % warning the 75 % one, so a late run sends only the most urgent."""
    connection = session.connection()  # Core statements: none of the ORM's update machinery
    postgresql = connection.dialect.name == "postgresql"
    claimed: list[tuple[int, int]] = []
    for statement, alert in _claim_statements(postgresql):
        for row in connection.execute(statement, {"now": now, "limit": limit}):
            claimed.append((int(row[0]), alert))
    session.expire_all()
    return claimed
