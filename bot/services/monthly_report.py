"""The monthly report: the data of its charts (one source for the JSON, the CSV and the
PNG), for the whole organization or one client company."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from bot.core.errors import InvalidInput
from bot.core.months import month_bounds
from bot.services import csat, sla
from bot.services import time_tracking as tt
from bot.services.organizations import get_client_company
from models import ClientCompany, CsatRating, CsatResponse, Organization, Ticket, saved_id


@dataclass(frozen=True)
class WeekCount:
    week_start: str  # the first day of the week inside the month (weeks start on Monday)
    opened: int
    resolved: int


@dataclass(frozen=True)
class CsatCounts:
    good: int
    bad: int
    score_percent: float | None


@dataclass(frozen=True)
class SlaCompliance:
    """One metric's clocks for the tickets opened in the month (ever breached counts as
    breached; running clocks are not counted in the percentage)."""

    metric: str
    met: int
    breached: int
    running: int
    compliance_percent: float | None


@dataclass(frozen=True)
class ClientHours:
    """Hours logged in the month for one client company (None: tickets without one)."""

    client_company_id: int | None
    client_company: str
    actual_hours: float
    billable_hours: float


@dataclass(frozen=True)
class MonthlyReport:
    month: str
    timezone: str
    client_company_id: int | None
    client_company: str | None
    weeks: list[WeekCount] = field(default_factory=list)
    csat: CsatCounts = CsatCounts(0, 0, None)
    sla: list[SlaCompliance] = field(default_factory=list)
    hours: list[ClientHours] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def opened(self) -> int:
        return sum(w.opened for w in self.weeks)

    @property
    def resolved(self) -> int:
        return sum(w.resolved for w in self.weeks)


def _week_starts(first: date, following: date) -> list[date]:
    """The first in-month day of each Monday-started week of the month."""
    starts = [first]
    day = first + timedelta(days=(7 - first.weekday()) % 7 or 7)
    while day < following:
        starts.append(day)
        day += timedelta(days=7)
    return starts


def _bucket(instant: datetime, zone: ZoneInfo, starts: list[date]) -> int:
    local = instant.astimezone(zone).date()
    index = 0
    for i, start in enumerate(starts):
        if local >= start:
            index = i
    return index


def build(
    session: Session,
    *,
    organization: Organization,
    month: str,
    zone: ZoneInfo,
    client_company_id: int | None = None,
) -> MonthlyReport:
    """Tickets opened and resolved per week (the organization's time zone), SLA compliance
    per metric, billable hours per client company and the satisfaction answers of the
    month; for one client company when given."""
    start, end = month_bounds(month, zone)
    company_name = None
    if client_company_id is not None:
        company = get_client_company(
            session, organization_id=organization.id, company_id=client_company_id
        )
        company_name = company.name
    starts = _week_starts(start.date(), end.date())
    opened = [0] * len(starts)
    resolved = [0] * len(starts)

    def scoped(query: Any) -> Any:
        query = query.where(Ticket.organization_id == organization.id)
        if client_company_id is not None:
            query = query.where(Ticket.client_company_id == client_company_id)
        return query

    for created_at in session.exec(
        scoped(
            select(Ticket.created_at).where(
                col(Ticket.created_at) >= start, col(Ticket.created_at) < end
            )
        )
    ).all():
        opened[_bucket(created_at, zone, starts)] += 1
    for resolved_at in session.exec(
        scoped(
            select(Ticket.resolved_at).where(
                col(Ticket.resolved_at) >= start, col(Ticket.resolved_at) < end
            )
        )
    ).all():
        resolved[_bucket(resolved_at, zone, starts)] += 1
    ratings = session.exec(
        scoped(
            select(CsatResponse.rating, func.count())
            .join(Ticket, col(Ticket.id) == CsatResponse.ticket_id)
            .where(
                col(CsatResponse.rating).is_not(None),
                col(CsatResponse.answered_at) >= start,
                col(CsatResponse.answered_at) < end,
            )
            .group_by(col(CsatResponse.rating))
        )
    ).all()
    counts = {str(rating): int(count) for rating, count in ratings}
    score = csat.CsatScore(good=counts.get(CsatRating.GOOD, 0), bad=counts.get(CsatRating.BAD, 0))
    return MonthlyReport(
        month=month,
        timezone=zone.key,
        client_company_id=client_company_id,
        client_company=company_name,
        weeks=[
            WeekCount(week_start=s.isoformat(), opened=o, resolved=r)
            for s, o, r in zip(starts, opened, resolved, strict=True)
        ],
        csat=CsatCounts(good=score.good, bad=score.bad, score_percent=score.score_percent),
        sla=_sla_compliance(session, organization, month, zone, client_company_id),
        hours=_hours_per_client(session, organization, month, client_company_id),
    )


def _sla_compliance(
    session: Session,
    organization: Organization,
    month: str,
    zone: ZoneInfo,
    client_company_id: int | None,
) -> list[SlaCompliance]:
    found = sla.month_report(
        session,
        organization_id=saved_id(organization),
        month=month,
        timezone=zone.key,
        client_company_id=client_company_id,
    )
    return [
        SlaCompliance(
            metric=metric,
            met=tally.met,
            breached=tally.breached,
            running=tally.running,
            compliance_percent=tally.compliance_percent,
        )
        for metric, tally in found.metrics.items()
    ]


def _hours(minutes: int) -> float:
    return round(minutes / 60, 2)


def _hours_per_client(
    session: Session, organization: Organization, month: str, client_company_id: int | None
) -> list[ClientHours]:
    """The time report's month (finished entries, the organization's rounding rules),
    summed per client company, most billable first."""
    report = tt.monthly_report(
        session, organization=organization, month=month, client_company_id=client_company_id
    )
    actual: dict[int | None, int] = defaultdict(int)
    billable: dict[int | None, int] = defaultdict(int)
    for line in report.lines:
        actual[line.client_company_id] += line.actual_minutes
        billable[line.client_company_id] += line.billable_minutes
    names = {
        company.id: company.name
        for company in session.exec(
            select(ClientCompany).where(ClientCompany.organization_id == organization.id)
        ).all()
    }
    rows = [
        ClientHours(
            client_company_id=company_id,
            client_company=names.get(company_id, "No client") if company_id else "No client",
            actual_hours=_hours(actual[company_id]),
            billable_hours=_hours(billable[company_id]),
        )
        for company_id in actual
    ]
    return sorted(rows, key=lambda row: (-row.billable_hours, row.client_company))


def to_csv(report: MonthlyReport) -> str:
    """The charts' data as CSV rows: chart, label, series, value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["chart", "label", "series", "value"])
    for week in report.weeks:
        writer.writerow(["tickets_per_week", week.week_start, "opened", week.opened])
        writer.writerow(["tickets_per_week", week.week_start, "resolved", week.resolved])
    for metric in report.sla:
        for series in ("met", "breached", "running", "compliance_percent"):
            value = getattr(metric, series)
            writer.writerow(["sla", metric.metric, series, "" if value is None else value])
    for client in report.hours:
        writer.writerow(["hours", client.client_company, "actual_hours", client.actual_hours])
        writer.writerow(["hours", client.client_company, "billable_hours", client.billable_hours])
    writer.writerow(["csat", report.month, "good", report.csat.good])
    writer.writerow(["csat", report.month, "bad", report.csat.bad])
    score = report.csat.score_percent
    writer.writerow(["csat", report.month, "score_percent", "" if score is None else score])
    return out.getvalue()


def parse_month(text: str | None, *, today: date) -> str:
    """`YYYY-MM`, or the previous month when none is given."""
    if not text:
        last = today.replace(day=1) - timedelta(days=1)
        return f"{last:%Y-%m}"
    try:
        first = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise InvalidInput(f"{text!r} is not a month; write it like 2026-03.") from None
    return f"{first:%Y-%m}"
