"""Configuring SLAs: business calendars, policies with their targets, who gets which policy.

Slack-free; shared by the REST API, `/ticket setup` and the seed. Refusals are InvalidInput
with a message meant for a person (the API answers 422 with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core.errors import InvalidInput, NotFound
from bot.services import sla
from bot.services.business_time import Calendar, CalendarError
from models import (
    BusinessCalendar,
    ClientCompany,
    Organization,
    ReopenMode,
    SlaClock,
    SlaMetric,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketPriority,
    TicketStatus,
    saved_id,
    utcnow,
)

MAX_TARGET_MINUTES = 366 * 24 * 60


def _next_version(previous: datetime | None) -> datetime:
    """A saved calendar's or policy's new updated_at: later than the one before even when
    the clock stands still, since new tickets' cached terms are keyed by it (sla._terms_of)."""
    now = utcnow()
    if previous is not None and now <= previous:
        return previous + timedelta(microseconds=1)
    return now


def _clean_name(name: str | None, what: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(f"Give the {what} a name.", field="name")
    if len(name) > 200:
        raise InvalidInput(f"Keep the {what}'s name under 200 characters.", field="name")
    return name


# Calendars ---------------------------------------------------------------------------------


def validate_calendar(*, timezone: str, hours: dict[str, Any], holidays: Sequence[str]) -> Calendar:
    try:
        return Calendar.build(timezone=timezone, hours=hours, holidays=holidays)
    except CalendarError as error:
        message = str(error)
        field = (
            "timezone"
            if "time zone" in message
            else "holidays"
            if "Holiday" in message or "holidays" in message
            else "hours"
        )
        raise InvalidInput(message, field=field) from None


def list_calendars(session: Session, *, organization_id: int) -> list[BusinessCalendar]:
    return list(
        session.exec(
            select(BusinessCalendar)
            .where(BusinessCalendar.organization_id == organization_id)
            .order_by(col(BusinessCalendar.id))
        ).all()
    )


def get_calendar(session: Session, *, organization_id: int, calendar_id: int) -> BusinessCalendar:
    row = session.get(BusinessCalendar, calendar_id)
    if row is None or row.organization_id != organization_id:
        raise NotFound(f"There is no calendar with id {calendar_id}.")
    return row


def _name_taken(session: Session, model: Any, organization_id: int, name: str, own_id: Any) -> bool:
    found = session.exec(
        select(model).where(model.organization_id == organization_id, model.name == name)
    ).first()
    return found is not None and found.id != own_id


def save_calendar(
    session: Session,
    *,
    organization: Organization,
    calendar: BusinessCalendar | None = None,
    values: dict[str, Any],
) -> BusinessCalendar:
    """Create (no `calendar`) or change a calendar; `values` may hold name, timezone, hours,
    holidays (all of them to create). A change of hours, holidays or zone moves the due
    instants of the running clocks that count on it."""
    row = calendar or BusinessCalendar(
        organization_id=organization.id,  # type: ignore[arg-type]
        name="",
        timezone="UTC",
    )
    name = _clean_name(values.get("name", row.name), "calendar")
    timezone = values.get("timezone", row.timezone)
    hours = values.get("hours", row.hours)
    holidays = list(values.get("holidays", row.holidays) or [])
    validate_calendar(timezone=timezone, hours=hours, holidays=holidays)
    if _name_taken(session, BusinessCalendar, organization.id, name, row.id):  # type: ignore[arg-type]
        raise InvalidInput(f"There is already a calendar named {name!r}.", field="name")
    before = (row.timezone, row.hours, row.holidays)
    row.name, row.timezone = name, timezone
    row.hours = {day: [list(i) for i in hours.get(day) or []] for day in _weekdays()}
    row.holidays = sorted(set(holidays))
    row.updated_at = _next_version(row.updated_at)
    session.add(row)
    session.flush()
    if calendar is not None and (row.timezone, row.hours, row.holidays) != before:
        # Business time is what the calendar says now: running clocks follow it.
        using = session.exec(select(SlaPolicy.id).where(SlaPolicy.calendar_id == row.id)).all()
        sla.on_calendar_changed(session, policy_ids=[i for i in using if i is not None])
    return row


def _weekdays() -> tuple[str, ...]:
    from bot.services.business_time import WEEKDAYS

    return WEEKDAYS


def delete_calendar(session: Session, *, calendar: BusinessCalendar) -> None:
    used = session.exec(select(SlaPolicy).where(SlaPolicy.calendar_id == calendar.id)).first()
    if used is not None:
        raise InvalidInput(
            f"The policy {used.name!r} uses this calendar; give it another calendar first.",
            field="calendar_id",
        )
    session.delete(calendar)
    session.flush()


# Policies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetInput:
    priority: str
    metric: str
    minutes: int
    business_hours: bool = True


def list_policies(session: Session, *, organization_id: int) -> list[SlaPolicy]:
    return list(
        session.exec(
            select(SlaPolicy)
            .where(SlaPolicy.organization_id == organization_id)
            .order_by(col(SlaPolicy.id))
        ).all()
    )


def get_policy(session: Session, *, organization_id: int, policy_id: int) -> SlaPolicy:
    policy = session.get(SlaPolicy, policy_id)
    if policy is None or policy.organization_id != organization_id:
        raise NotFound(f"There is no SLA policy with id {policy_id}.")
    return policy


def targets_of(session: Session, policy: SlaPolicy) -> list[SlaTarget]:
    return list(
        session.exec(
            select(SlaTarget).where(SlaTarget.policy_id == policy.id).order_by(col(SlaTarget.id))
        ).all()
    )


def _clean_targets(targets: Sequence[TargetInput]) -> list[TargetInput]:
    seen: set[tuple[str, str]] = set()
    cleaned: list[TargetInput] = []
    for index, target in enumerate(targets):
        field = f"targets[{index}]"
        try:
            priority = TicketPriority(target.priority).value
        except ValueError:
            choices = ", ".join(p.value for p in TicketPriority)
            raise InvalidInput(
                f"Unknown priority {target.priority!r}; choose one of {choices}.", field=field
            ) from None
        try:
            metric = SlaMetric(target.metric).value
        except ValueError:
            choices = ", ".join(m.value for m in SlaMetric)
            raise InvalidInput(
                f"Unknown metric {target.metric!r}; choose one of {choices}.", field=field
            ) from None
        if target.minutes <= 0:
            raise InvalidInput("A target must be more than 0 minutes.", field=field)
        if target.minutes > MAX_TARGET_MINUTES:
            raise InvalidInput("A target can be at most a year.", field=field)
        if (priority, metric) in seen:
            raise InvalidInput(
                f"Two targets for {priority} {metric.replace('_', ' ')}; keep one.", field=field
            )
        seen.add((priority, metric))
        cleaned.append(TargetInput(priority, metric, target.minutes, target.business_hours))
    return cleaned


def save_policy(
    session: Session,
    *,
    organization: Organization,
    policy: SlaPolicy | None = None,
    values: dict[str, Any],
    targets: Sequence[TargetInput] | None = None,
) -> SlaPolicy:
    """Create (no `policy`) or change a policy. `targets`, when given, replace the policy's
    targets. Clocks already running keep the target they started with (the contract they
    were opened under); a move to another calendar moves their due instants."""
    row = policy or SlaPolicy(organization_id=organization.id, name="")  # type: ignore[arg-type]
    name = _clean_name(values.get("name", row.name), "policy")
    if _name_taken(session, SlaPolicy, organization.id, name, row.id):  # type: ignore[arg-type]
        raise InvalidInput(f"There is already a policy named {name!r}.", field="name")
    calendar_id = values.get("calendar_id", row.calendar_id)
    if calendar_id is not None:
        try:
            get_calendar(session, organization_id=organization.id, calendar_id=calendar_id)  # type: ignore[arg-type]
        except NotFound as error:
            raise InvalidInput(str(error), field="calendar_id") from None
    pause = list(values.get("pause_statuses", row.pause_statuses) or [])
    for status in pause:
        if status not in {s.value for s in TicketStatus}:
            raise InvalidInput(f"Unknown status {status!r}.", field="pause_statuses")
        if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            raise InvalidInput(
                "Resolved and closed tickets stop the clock; they cannot pause it.",
                field="pause_statuses",
            )
    try:
        reopen = ReopenMode(values.get("reopen_mode", row.reopen_mode))
    except ValueError:
        raise InvalidInput("reopen_mode is resume or restart.", field="reopen_mode") from None
    cleaned = _clean_targets(targets) if targets is not None else None
    business = [t for t in (cleaned or []) if t.business_hours]
    if business and calendar_id is None:
        raise InvalidInput(
            "Business-hours targets need a calendar: set calendar_id.", field="calendar_id"
        )
    calendar_moved = row.id is not None and calendar_id != row.calendar_id
    row.name, row.calendar_id = name, calendar_id
    row.pause_statuses = list(dict.fromkeys(pause))
    row.reopen_mode = reopen
    row.updated_at = _next_version(row.updated_at)
    is_default = bool(values.get("is_default", row.is_default))
    if is_default:
        session.execute(
            update(SlaPolicy)
            .where(
                col(SlaPolicy.organization_id) == organization.id,
                col(SlaPolicy.is_default),
            )
            .values(is_default=False)
        )
    row.is_default = is_default
    session.add(row)
    session.flush()
    if cleaned is not None:
        for old in targets_of(session, row):
            session.delete(old)
        session.flush()
        for target in cleaned:
            session.add(
                SlaTarget(
                    policy_id=row.id,  # type: ignore[arg-type]
                    priority=target.priority,
                    metric=SlaMetric(target.metric),
                    minutes=target.minutes,
                    business_hours=target.business_hours,
                )
            )
        session.flush()
    if calendar_moved:
        sla.on_calendar_changed(session, policy_ids=[saved_id(row)])
    return row


def delete_policy(session: Session, *, policy: SlaPolicy) -> None:
    """Remove a policy. Its clients and tickets fall back to the default; clocks already
    running keep their targets."""
    for model in (ClientCompany, Ticket):
        session.execute(
            update(model).where(col(model.sla_policy_id) == policy.id).values(sla_policy_id=None)
        )
    session.execute(
        update(SlaClock).where(col(SlaClock.policy_id) == policy.id).values(policy_id=None)
    )
    for target in targets_of(session, policy):
        session.delete(target)
    session.flush()
    session.delete(policy)
    session.flush()


def set_default_policy(
    session: Session, *, organization: Organization, policy_id: int | None
) -> SlaPolicy | None:
    """Make a policy the organization's default (None: no default, "No SLA")."""
    policy = None
    if policy_id is not None:
        policy = get_policy(session, organization_id=organization.id, policy_id=policy_id)  # type: ignore[arg-type]
    session.execute(
        update(SlaPolicy)
        .where(col(SlaPolicy.organization_id) == organization.id, col(SlaPolicy.is_default))
        .values(is_default=False)
    )
    if policy is not None:
        policy.is_default = True
        session.add(policy)
    session.flush()
    return policy


# Who gets which policy ---------------------------------------------------------------------


def _policy_id_of(session: Session, organization_id: int, policy_id: int | None) -> int | None:
    if policy_id is None:
        return None
    try:
        get_policy(session, organization_id=organization_id, policy_id=policy_id)
    except NotFound as error:
        raise InvalidInput(str(error), field="sla_policy_id") from None
    return policy_id


def set_company_policy(
    session: Session, *, organization: Organization, company: ClientCompany, policy_id: int | None
) -> ClientCompany:
    """The client's policy for tickets filed from now on (open tickets keep their clocks)."""
    company.sla_policy_id = _policy_id_of(session, organization.id, policy_id)  # type: ignore[arg-type]
    session.add(company)
    session.flush()
    return company


def update_company(
    session: Session, *, organization: Organization, company: ClientCompany, values: dict[str, Any]
) -> ClientCompany:
    if "name" in values:
        name = _clean_name(values["name"], "client company")
        if _name_taken(session, ClientCompany, organization.id, name, company.id):  # type: ignore[arg-type]
            raise InvalidInput(f"There is already a client company named {name!r}.", field="name")
        company.name = name
    if "email_domains" in values:
        company.email_domains = [
            d.strip().lower().lstrip("@") for d in values["email_domains"] or [] if d.strip()
        ]
    if "slack_team_id" in values:
        company.slack_team_id = values["slack_team_id"] or None
    if "sla_policy_id" in values:
        set_company_policy(
            session, organization=organization, company=company, policy_id=values["sla_policy_id"]
        )
    session.add(company)
    session.flush()
    return company


def set_ticket_policy(
    session: Session, *, organization: Organization, ticket: Ticket, policy_id: int | None
) -> None:
    """The ticket's own policy (None: back to its company's or the default); its live
    clocks take the new targets from their start."""
    new = _policy_id_of(session, organization.id, policy_id)  # type: ignore[arg-type]
    if new == ticket.sla_policy_id:
        return
    ticket.sla_policy_id = new
    session.add(ticket)
    session.flush()
    sla.on_terms_changed(session, ticket=ticket)
