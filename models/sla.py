"""SLAs (DESIGN §8): business calendars, policies with their targets, and the clocks.

A clock is one row per ticket, metric and cycle. Its instants (due, warnings) are stored so
the minute job finds what is due with an index read: `status = 'running' AND due_at <= now`
walks `ix_sla_clock_status_due` and nothing else.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, created_at_field, optional_time_field, utcnow


class SlaMetric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class ClockStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


class ReopenMode(StrEnum):
    RESUME = "resume"
    RESTART = "restart"


class BusinessCalendar(SQLModel, table=True):
    """An IANA time zone, weekly open intervals (split shifts allowed) and holidays.

    `hours` has the fixtures' shape: `{"mon": [["09:00", "17:00"]], …, "sun": []}`;
    `holidays` is a list of ISO dates (local to the calendar).
    """

    __tablename__ = "business_calendar"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    hours: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    holidays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SlaPolicy(SQLModel, table=True):
    __tablename__ = "sla_policy"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    name: str = Field(max_length=200)
    # Business-hours targets count on this calendar; calendar-time targets ignore it.
    calendar_id: int | None = Field(default=None, foreign_key="business_calendar.id")
    is_default: bool = Field(default=False)
    pause_statuses: list[str] = Field(
        default_factory=lambda: ["pending"], sa_column=Column(JSON, nullable=False)
    )
    reopen_mode: ReopenMode = Field(default=ReopenMode.RESUME, sa_type=String(20))
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SlaTarget(SQLModel, table=True):
    """One promise of a policy: for this priority, this metric within so many minutes."""

    __tablename__ = "sla_target"
    __table_args__ = (UniqueConstraint("policy_id", "priority", "metric"),)

    id: int | None = Field(default=None, primary_key=True)
    policy_id: int = Field(foreign_key="sla_policy.id")
    priority: str = Field(max_length=20)
    metric: SlaMetric = Field(sa_type=String(20))
    minutes: int
    business_hours: bool = Field(default=True)


class SlaClock(SQLModel, table=True):
    """One metric of one ticket over one cycle (cycles count from 1)."""

    __tablename__ = "sla_clock"
    __table_args__ = (
        UniqueConstraint("ticket_id", "metric", "cycle", name="uq_sla_clock_ticket_metric_cycle"),
        # The minute job: running clocks due before now; warnings not sent yet whose instant
        # passed (the warned column before the instant, so a quarter of the running clocks
        # being past 75 %, and told, is not read again every minute).
        Index("ix_sla_clock_status_due", "status", "due_at"),
        Index("ix_sla_clock_status_warn75", "status", "warned_75_at", "warn_75_at"),
        Index("ix_sla_clock_status_warn90", "status", "warned_90_at", "warn_90_at"),
        # Breached clocks whose breach message is still to be sent.
        Index("ix_sla_clock_status_breach_notified", "status", "breach_notified_at"),
        # What breaches next in one organization.
        Index("ix_sla_clock_org_status_due", "organization_id", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    ticket_id: int = Field(foreign_key="ticket.id")
    policy_id: int | None = Field(default=None, foreign_key="sla_policy.id")
    metric: SlaMetric = Field(sa_type=String(20))
    cycle: int = Field(default=1)
    status: ClockStatus = Field(default=ClockStatus.RUNNING, sa_type=String(20))
    target_minutes: int
    business_hours: bool = Field(default=True)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    due_at: datetime | None = optional_time_field()
    warn_75_at: datetime | None = optional_time_field()
    warn_90_at: datetime | None = optional_time_field()
    fulfilled_at: datetime | None = optional_time_field()
    # Set when the clock breached and never erased: "ever breached" is breached_at IS NOT NULL.
    breached_at: datetime | None = optional_time_field()
    paused_at: datetime | None = optional_time_field()
    # Time not counted (paused, resolved before a reopen), measured the way the target counts
    # (business or calendar seconds); the periods themselves are kept so a policy change can
    # measure them again on another calendar.
    excluded_seconds: int = Field(default=0)
    excluded_periods: list[list[str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # A due instant set by hand (ticket's due override): never recomputed.
    due_overridden: bool = Field(default=False)
    # When each notification was claimed (once per clock cycle).
    warned_75_at: datetime | None = optional_time_field()
    warned_90_at: datetime | None = optional_time_field()
    breach_notified_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    @property
    def ever_breached(self) -> bool:
        return self.breached_at is not None
