"""Request and response bodies of the SLA endpoints (DESIGN §8)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictInt

from bot.api.schemas import DbId, RequestBody, Text, optional_not_null
from models import ReopenMode, SlaMetric, TicketPriority, TicketStatus

Clock = Annotated[str, Field(pattern=r"^\d{2}:\d{2}$", examples=["09:00"])]
Interval = Annotated[list[Clock], Field(min_length=2, max_length=2)]
Hours = Annotated[
    dict[str, list[Interval]],
    Field(
        description="Open intervals per weekday (mon … sun), local to the calendar's time "
        "zone; several per day for split shifts; `24:00` ends a day. A day left out is closed.",
        examples=[{"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "sat": [], "sun": []}],
    ),
]
IsoDate = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2026-12-25"])]


class CalendarCreate(RequestBody):
    name: Text = Field(min_length=1, max_length=200)
    timezone: Text = Field(max_length=64, description="An IANA time zone, like Europe/London.")
    hours: Hours
    holidays: list[IsoDate] = Field(default_factory=list, description="Closed days (local).")


class CalendarUpdate(RequestBody):
    name: Text = optional_not_null(min_length=1, max_length=200)
    timezone: Text = optional_not_null(max_length=64)
    hours: Hours = optional_not_null()
    holidays: list[IsoDate] = optional_not_null()


class CalendarPublic(BaseModel):
    id: int
    name: str
    timezone: str
    hours: dict[str, list[list[str]]]
    holidays: list[str]


class CalendarList(BaseModel):
    items: list[CalendarPublic]


class TargetBody(RequestBody):
    priority: TicketPriority
    metric: SlaMetric
    minutes: StrictInt = Field(description="More than 0.")
    business_hours: StrictBool = Field(
        default=True, description="Counted on the policy's calendar; false: real elapsed time."
    )


class TargetPublic(BaseModel):
    priority: str
    metric: str
    minutes: int
    business_hours: bool


class PolicyCreate(RequestBody):
    name: Text = Field(min_length=1, max_length=200)
    calendar_id: DbId | None = Field(
        default=None, description="Needed when a target counts business hours."
    )
    is_default: StrictBool = Field(
        default=False, description="The organization's default policy (only one is)."
    )
    pause_statuses: list[TicketStatus] = Field(
        default_factory=lambda: [TicketStatus.PENDING],
        description="Statuses that pause the resolution clock.",
    )
    reopen_mode: ReopenMode = Field(
        default=ReopenMode.RESUME,
        description="resume: a reopened ticket's resolution clock continues; restart: a new "
        "cycle starts.",
    )
    targets: list[TargetBody] = Field(default_factory=list, max_length=60)


class PolicyUpdate(RequestBody):
    name: Text = optional_not_null(min_length=1, max_length=200)
    calendar_id: DbId | None = None
    is_default: StrictBool = optional_not_null()
    pause_statuses: list[TicketStatus] = optional_not_null()
    reopen_mode: ReopenMode = optional_not_null()
    targets: list[TargetBody] = optional_not_null(max_length=60)


class PolicyPublic(BaseModel):
    id: int
    name: str
    calendar_id: int | None
    is_default: bool
    pause_statuses: list[str]
    reopen_mode: str
    targets: list[TargetPublic]


class PolicyList(BaseModel):
    items: list[PolicyPublic]


class CompanyCreate(RequestBody):
    name: Text = Field(min_length=1, max_length=200)
    slack_team_id: Text | None = Field(default=None, max_length=32)
    email_domains: list[Annotated[Text, Field(max_length=253)]] = Field(default_factory=list)
    sla_policy_id: DbId | None = Field(
        default=None, description="This client's policy (else the organization's default)."
    )


class CompanyUpdate(RequestBody):
    name: Text = optional_not_null(min_length=1, max_length=200)
    slack_team_id: Text | None = Field(default=None, max_length=32)
    email_domains: list[Annotated[Text, Field(max_length=253)]] = optional_not_null()
    sla_policy_id: DbId | None = None


class CompanyPublic(BaseModel):
    id: int
    name: str
    slack_team_id: str | None
    email_domains: list[str]
    sla_policy_id: int | None
    removed_at: datetime | None = Field(
        default=None,
        description="Set when an admin removed the company in Slack: it is no longer matched "
        "or offered; its tickets, time entries and reports keep it.",
    )


class CompanyList(BaseModel):
    items: list[CompanyPublic]


class MetricCompliance(BaseModel):
    met: int
    breached: int
    running: int
    compliance_percent: float | None = Field(
        description="Met as a percentage of met and breached; null when none finished."
    )


class ComplianceRow(BaseModel):
    metrics: dict[str, MetricCompliance]


class CompanyCompliance(ComplianceRow):
    client_company_id: int | None
    client_company: str | None


class PriorityCompliance(ComplianceRow):
    priority: str


class SlaReport(BaseModel):
    month: str
    timezone: str
    client_company_id: int | None = None
    metrics: dict[str, MetricCompliance]
    by_client_company: list[CompanyCompliance]
    by_priority: list[PriorityCompliance]
