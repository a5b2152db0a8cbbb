"""REST bodies of time tracking (DESIGN.md §9): time entries, work types, the report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from bot.api.schemas import MAX_DB_ID, DbId, RequestBody, Text
from models.time_entry import TIME_NOTE_MAX_LENGTH, WORK_TYPE_NAME_MAX_LENGTH, TimeEntry, WorkType

Minutes = Annotated[int, Field(ge=1, le=24 * 60)]


class Rounding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    increment: int = Field(default=1, ge=1, le=1440)
    minimum: int = Field(default=0, ge=0, le=1440)
    mode: str = Field(default="up", pattern="^up$")
    aggregation: str = Field(default="per_entry", pattern="^(per_entry|per_ticket)$")


class TimeEntryPublic(BaseModel):
    id: int
    ticket_id: int
    technician_id: int
    work_type_id: int | None
    started_at: datetime
    ended_at: datetime | None
    actual_minutes: int
    billable: bool
    billable_minutes: int
    note: str
    source: str

    @classmethod
    def of(cls, entry: TimeEntry) -> TimeEntryPublic:
        return cls.model_validate(entry, from_attributes=True)


class TimeEntryResult(TimeEntryPublic):
    """A written entry, with the same technician's entries it overlaps (saved anyway)."""

    overlaps: list[int] = Field(default_factory=list)


class TimeEntryList(BaseModel):
    items: list[TimeEntryPublic]


class TimeEntryCreateRequest(RequestBody):
    """A finished span (`started_at` and `ended_at`, or either with `actual_minutes`), or,
    with neither `ended_at` nor `actual_minutes`, a running timer from `started_at` (now
    when absent)."""

    technician_id: DbId
    work_type_id: DbId | None = None
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    actual_minutes: Minutes | None = None
    billable: StrictBool | None = None
    note: Text = Field(default="", max_length=TIME_NOTE_MAX_LENGTH)


class TimeEntryUpdateRequest(RequestBody):
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    actual_minutes: Minutes | None = None
    work_type_id: DbId | None = None
    billable: StrictBool | None = None
    note: Text | None = Field(default=None, max_length=TIME_NOTE_MAX_LENGTH)


class TimeEntryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    technician_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    client_company_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    from_: date | AwareDatetime | None = Field(
        default=None,
        alias="from",
        description="A date (the organization's day) or an ISO 8601 instant; inclusive.",
    )
    to: date | AwareDatetime | None = Field(
        default=None, description="A date (inclusive) or an ISO 8601 instant (exclusive)."
    )


class WorkTypePublic(BaseModel):
    id: int
    name: str
    billable: bool
    rounding: dict[str, Any] | None

    @classmethod
    def of(cls, work_type: WorkType) -> WorkTypePublic:
        return cls.model_validate(work_type, from_attributes=True)


class WorkTypeList(BaseModel):
    items: list[WorkTypePublic]


class WorkTypeCreateRequest(RequestBody):
    name: Text = Field(min_length=1, max_length=WORK_TYPE_NAME_MAX_LENGTH)
    billable: StrictBool = True
    rounding: Rounding | None = None


class ReportLinePublic(BaseModel):
    ticket_id: int
    ticket_number: int
    title: str
    actual_minutes: int
    billable_minutes: int


class TimeReportPublic(BaseModel):
    month: str
    client_company_id: int | None
    timezone: str
    start: datetime
    end: datetime
    lines: list[ReportLinePublic]
    actual_minutes: int
    billable_minutes: int
