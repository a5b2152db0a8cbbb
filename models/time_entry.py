"""Time tracking: work types, time entries (timers and logged time) and calendar feed tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, created_at_field, optional_time_field, utcnow

WORK_TYPE_NAME_MAX_LENGTH = 100
TIME_NOTE_MAX_LENGTH = 2_000
# At most one running timer per technician: the partial unique index below is the rule,
# so two Start presses at the same instant cannot both leave a timer running.
RUNNING_PREDICATE = "ended_at IS NULL"


class TimeEntrySource(StrEnum):
    TIMER = "timer"
    LOG = "log"
    REST = "rest"


class WorkType(SQLModel, table=True):
    """A kind of work (remote support, on site, project …) with its billable default and,
    optionally, its own rounding rule (`{"increment", "minimum", "mode", "aggregation"}`)
    in place of the organization's."""

    __tablename__ = "work_type"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_work_type_org_name"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    name: str = Field(max_length=WORK_TYPE_NAME_MAX_LENGTH)
    billable: bool = Field(default=True)
    rounding: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = created_at_field()


class TimeEntry(SQLModel, table=True):
    """Time a technician spent on a ticket: a running timer (`ended_at` null) or a finished
    span. `actual_minutes` is what was worked, in whole minutes; `billable_minutes` is what
    rounding makes of it (per entry), or the actual minutes when the rule rounds per ticket
    per month (the report rounds the month's sum)."""

    __tablename__ = "time_entry"
    __table_args__ = (
        Index(
            "uq_time_entry_one_running",
            "technician_id",
            unique=True,
            sqlite_where=text(RUNNING_PREDICATE),
            postgresql_where=text(RUNNING_PREDICATE),
        ),
        # The monthly report of one client: its entries of the month, read in order.
        Index(
            "ix_time_entry_org_client_started", "organization_id", "client_company_id", "started_at"
        ),
        Index(
            "ix_time_entry_org_technician_started", "organization_id", "technician_id", "started_at"
        ),
        Index("ix_time_entry_org_started", "organization_id", "started_at"),
        Index("ix_time_entry_ticket", "ticket_id", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    ticket_id: int = Field(foreign_key="ticket.id")
    technician_id: int = Field(foreign_key="member.id")
    work_type_id: int | None = Field(default=None, foreign_key="work_type.id")
    # The ticket's client when the entry was written (kept in step when the ticket moves to
    # another client), so a client's month is read by index without visiting its tickets.
    client_company_id: int | None = Field(default=None, foreign_key="client_company.id")
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ended_at: datetime | None = optional_time_field()
    actual_minutes: int = Field(default=0, ge=0)
    billable: bool = Field(default=True)
    billable_minutes: int = Field(default=0, ge=0)
    note: str = Field(default="", max_length=TIME_NOTE_MAX_LENGTH, sa_type=Text)
    source: TimeEntrySource = Field(default=TimeEntrySource.TIMER, sa_type=String(10))
    # Bumped on every change: the calendar feed's SEQUENCE.
    revision: int = Field(default=0)
    created_by_id: int | None = Field(default=None, foreign_key="member.id")
    edited_by_id: int | None = Field(default=None, foreign_key="member.id")
    edited_at: datetime | None = optional_time_field()
    deleted_by_id: int | None = Field(default=None, foreign_key="member.id")
    deleted_at: datetime | None = optional_time_field()
    # When the technician was told that this timer has been running for long.
    long_running_notified_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    @property
    def running(self) -> bool:
        return self.ended_at is None


class IcalToken(SQLModel, table=True):
    """A secret URL of one technician's calendar feed. Only its sha256 is kept."""

    __tablename__ = "ical_token"

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    member_id: int = Field(foreign_key="member.id", index=True)
    token_prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = optional_time_field()
