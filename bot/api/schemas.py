"""Request and response bodies of the REST API. Field names are the models' own.

Requests refuse unknown fields, so a misspelt field is an error rather than silently
ignored. Responses are the models' Public classes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    field_validator,
    model_validator,
)

from bot.services.tickets import MAX_PAGE_SIZE, TicketFilter
from models import ClockStatus, CommentType, SlaMetric, TicketPriority, TicketStatus
from models.attachment import TicketAttachmentPublic
from models.comment import COMMENT_MAX_LENGTH, TicketCommentPublic
from models.ticket import (
    CATEGORY_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    DEVICE_ID_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    TicketPublic,
)

# Ids are 32-bit integers in the database: a larger number cannot name anything, and
# passing it on would make PostgreSQL fail with an overflow instead of a clean 404/422.
MAX_DB_ID = 2**31 - 1
DEFAULT_PAGE_SIZE = 50
SLACK_USER_ID_PATTERN = r"^[UW][A-Z0-9]{2,31}$"
MIME_TYPE_PATTERN = r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+\"-]+)*$"


def _storable_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8: both
    # would fail deep in the driver, so they are refused up front with a readable message.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it contains a lone surrogate)") from None
    return value


Text = Annotated[str, AfterValidator(_storable_text)]
# Strict: JSON `true` or "12" is not an id (lax pydantic would read them as 1 and 12).
DbId = Annotated[int, Strict(), Field(ge=1, le=MAX_DB_ID)]


def _no_default_in_schema(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional_not_null(**constraints: Any) -> Any:
    """A PATCH field that may be left out but not set to null (a ticket always has one)."""
    return Field(default=None, json_schema_extra=_no_default_in_schema, **constraints)


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketCreateRequest(RequestBody):
    """A new ticket. Give the requester in exactly one of the three `requester_*` forms."""

    title: Text = Field(min_length=1, max_length=TITLE_MAX_LENGTH)
    description: Text = Field(default="", max_length=DESCRIPTION_MAX_LENGTH)
    priority: TicketPriority | None = Field(
        default=None, description="Defaults to the organization's default priority."
    )
    category: Text | None = Field(
        default=None,
        max_length=CATEGORY_MAX_LENGTH,
        description="One of the organization's categories (case-insensitive).",
    )
    client_company_id: DbId | None = Field(
        default=None, description="Defaults to the requester's client company."
    )
    device_id: Text | None = Field(default=None, max_length=DEVICE_ID_MAX_LENGTH)
    requester_id: DbId | None = Field(default=None, description="A member of the organization.")
    requester_slack_user_id: str | None = Field(
        default=None,
        pattern=SLACK_USER_ID_PATTERN,
        description="A Slack user of the workspace; they get the ticket's DMs.",
    )
    requester_email: Text | None = Field(
        default=None,
        max_length=320,
        description="Someone not known yet is added as an end user, in the client company "
        "whose email domain matches.",
    )
    requester_name: Text | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The name of a person added from `requester_email` (default: the "
        "address's local part).",
    )

    created_at: AwareDatetime | None = Field(
        default=None,
        description="When the ticket was first opened, for imports from another system (not "
        "in the future); SLA clocks start from it. Default: now.",
    )

    @model_validator(mode="after")
    def _exactly_one_requester(self) -> TicketCreateRequest:
        given = [
            name
            for name in ("requester_id", "requester_slack_user_id", "requester_email")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of requester_id, requester_slack_user_id or requester_email"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.requester_name is not None and self.requester_email is None:
            raise ValueError("requester_name only goes with requester_email")
        return self


class TicketUpdateRequest(RequestBody):
    """The fields to change; those left out stay as they are. null clears a field."""

    title: Text = optional_not_null(min_length=1, max_length=TITLE_MAX_LENGTH)
    description: Text = optional_not_null(max_length=DESCRIPTION_MAX_LENGTH)
    status: TicketStatus = optional_not_null()
    priority: TicketPriority = optional_not_null()
    category: Text | None = Field(default=None, max_length=CATEGORY_MAX_LENGTH)
    assigned_staff_id: DbId | None = Field(
        default=None, description="A staff member (admin or technician) of the organization."
    )
    client_company_id: DbId | None = None
    device_id: Text | None = Field(default=None, max_length=DEVICE_ID_MAX_LENGTH)
    sla_policy_id: DbId | None = Field(
        default=None,
        description="This ticket's own SLA policy (null: its client company's or the default).",
    )
    due_override_at: AwareDatetime | None = Field(
        default=None,
        description="A resolution due instant set by hand, never recomputed (null: computed).",
    )


class CommentCreateRequest(RequestBody):
    content: Text = Field(min_length=1, max_length=COMMENT_MAX_LENGTH)
    comment_type: CommentType = Field(
        description="public_reply goes to the requester; internal_note stays with staff."
    )
    author_id: DbId | None = Field(
        default=None,
        description="A member of the organization to write as (default: the API token).",
    )


class AttachmentCreateRequest(RequestBody):
    """A file on a ticket: its bytes in `content_base64`, or a link in `file_url`."""

    filename: Text = Field(min_length=1, max_length=255)
    file_type: str | None = Field(default=None, max_length=100, pattern=MIME_TYPE_PATTERN)
    file_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://[^\s\x00]+$",
        description="Where the file lives, when its content is not uploaded.",
    )
    file_size: Annotated[int, Strict()] | None = Field(
        default=None, ge=0, le=MAX_DB_ID, description="Only with `file_url`."
    )
    content_base64: str | None = Field(
        default=None,
        description="The file's bytes, base64-encoded; stored and served at the "
        "attachment's `file_url`. At most the server's MAX_ATTACHMENT_BYTES once decoded.",
    )
    is_internal: StrictBool = Field(default=True, description="Internal files are for staff only.")

    @model_validator(mode="after")
    def _content_or_link(self) -> AttachmentCreateRequest:
        if self.content_base64 is not None and self.file_url is not None:
            raise ValueError("give content_base64 or file_url, not both")
        if self.content_base64 is not None and self.file_size is not None:
            raise ValueError("file_size is measured from content_base64; leave it out")
        return self


ISO_8601_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def _iso_8601_text(value: Any) -> Any:
    # pydantic would also take a Unix timestamp ("10.0"), which the document does not offer.
    if not isinstance(value, str) or not ISO_8601_DATE_TIME.match(value):
        raise ValueError("use ISO 8601 with a time zone, e.g. 2024-05-01T12:00:00Z")
    # An unencoded `+` in a query string arrives as a space: "2024-05-01T12:00:00 02:00".
    if len(value) > 19 and value[-6] == " ":
        return value[:-6] + "+" + value[-5:]
    return value


class TicketListQuery(BaseModel):
    """Filters and page of `GET /api/tickets`; unknown parameters are refused too."""

    model_config = ConfigDict(extra="forbid")

    status: list[str] = Field(
        default_factory=list,
        description="Repeat the parameter or separate values with commas: "
        + ", ".join(s.value for s in TicketStatus)
        + ".",
    )
    priority: TicketPriority | None = None
    assigned_staff_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    unassigned: bool = Field(default=False, description="Only tickets nobody is assigned to.")
    requester_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    client_company_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    ticket_number: int | None = Field(default=None, ge=1, le=MAX_DB_ID)
    updated_since: Annotated[AwareDatetime | None, BeforeValidator(_iso_8601_text)] = Field(
        default=None,
        description="ISO 8601 with a time zone, e.g. 2024-05-01T12:00:00Z: tickets changed "
        "at or after this instant.",
    )
    q: str | None = Field(
        default=None,
        max_length=1000,
        description="A search in the query language, e.g. `status:open priority:>=high "
        'client:"Acme Corp" created:>7d printer`. Dates are in the organization\'s time '
        "zone; `me` is nobody for a token. Not combined with the other filters.",
    )
    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=MAX_DB_ID)

    @field_validator("updated_since")
    @classmethod
    def _within_range(cls, value: datetime | None) -> datetime | None:
        # 0001-01-01T00:00:00+01:00 is a valid ISO 8601 instant before the first one a
        # datetime can hold in UTC (and 9999-12-31T23:59:59-01:00 one after the last).
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is outside the range of dates this API handles") from None

    def has_filters(self) -> bool:
        return bool(
            self.status
            or self.priority
            or self.assigned_staff_id
            or self.unassigned
            or self.requester_id
            or self.client_company_id
            or self.ticket_number
            or self.updated_since
        )

    @field_validator("status")
    @classmethod
    def _known_statuses(cls, values: list[str]) -> list[str]:
        statuses = [part.strip() for value in values for part in value.split(",") if part.strip()]
        known = [s.value for s in TicketStatus]
        unknown = [s for s in statuses if s not in known]
        if unknown:
            raise ValueError(
                f"unknown status {', '.join(map(repr, unknown))}; choose from {', '.join(known)}"
            )
        return statuses

    def filters(self) -> TicketFilter:
        return TicketFilter(
            status=[TicketStatus(s) for s in self.status] or None,
            priority=self.priority,
            assigned_staff_id=self.assigned_staff_id,
            unassigned=self.unassigned,
            requester_id=self.requester_id,
            client_company_id=self.client_company_id,
            ticket_number=self.ticket_number,
            updated_since=self.updated_since,
        )


class ClockPublic(BaseModel):
    metric: SlaMetric
    cycle: int
    status: ClockStatus
    started_at: datetime
    due_at: datetime | None
    warn_75_at: datetime | None
    warn_90_at: datetime | None
    fulfilled_at: datetime | None
    breached_at: datetime | None = Field(description="Set once breached; never erased.")
    paused_at: datetime | None
    excluded_seconds: int
    target_minutes: int
    business_hours: bool


class TicketSla(BaseModel):
    policy_id: int | None = Field(description="The policy in force (null: no SLA).")
    due_override_at: datetime | None = Field(
        default=None, description="A resolution due instant set by hand."
    )
    clocks: list[ClockPublic]


class TicketWithSla(TicketPublic):
    """A ticket and its SLA clocks."""

    sla: TicketSla


class TicketPage(BaseModel):
    items: list[TicketWithSla]
    limit: int
    offset: int
    next_offset: int | None = Field(
        description="The offset of the next page, or null on the last page."
    )
    description: str | None = Field(
        default=None,
        description="With `q`: the query as understood, in words "
        '("Open, high or urgent, created more than 7 days ago").',
    )
    total: int | None = Field(default=None, description="With `q`: how many tickets match.")


class SavedViewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    query: str = Field(max_length=1000, description="A search in the query language.")
    owner_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DB_ID,
        description="The member whose view it is; null: shared with the whole organization.",
    )


class SavedViewUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=80)
    query: str | None = Field(default=None, max_length=1000)
    owner_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID)


class SavedViewPublic(BaseModel):
    id: int
    name: str
    query: str
    owner_id: int | None = Field(description="null: shared with the whole organization.")
    shared: bool
    broken: str | None = Field(
        description="Why the query no longer runs (the view is kept), or null."
    )
    created_at: datetime
    updated_at: datetime


class SavedViewList(BaseModel):
    items: list[SavedViewPublic]


class CommentList(BaseModel):
    items: list[TicketCommentPublic]


class AttachmentList(BaseModel):
    items: list[TicketAttachmentPublic]


class OrganizationSettings(BaseModel):
    """The organization's time zone and the knobs of its automations. A number may be
    fractional; 0 or null turns the automation off."""

    timezone: str = Field(description="IANA time zone: where days and months begin.")
    auto_close_days: float | None = Field(
        description="A resolved ticket closes after this many days without a reply."
    )
    pending_reminder_business_days: float | None = Field(
        description="A pending ticket reminds its requester after this many business days."
    )
    pending_reminders_before_resolve: int | None = Field(
        description="After this many reminders without a reply, the ticket is resolved."
    )
    csat_enabled: bool = Field(description="Ask the requester how we did when resolved.")
    csat_sample_percent: float | None = Field(description="Share of resolved tickets asked.")
    csat_cooldown_hours: float | None = Field(
        description="At most one survey per requester in this many hours."
    )
    digest_time: str | None = Field(description="Daily digest time of day, HH:MM (24-hour).")


class OrganizationSettingsUpdate(BaseModel):
    """Any of the settings; those not named are kept. 0 or null turns an automation off."""

    model_config = ConfigDict(extra="forbid", strict=True)

    timezone: str | None = Field(default=None, max_length=64, examples=["Europe/Paris"])
    auto_close_days: float | None = Field(default=None, ge=0, le=365)
    pending_reminder_business_days: float | None = Field(default=None, ge=0, le=365)
    pending_reminders_before_resolve: int | None = Field(default=None, ge=0, le=20)
    csat_enabled: bool | None = None
    csat_sample_percent: float | None = Field(default=None, ge=0, le=100)
    csat_cooldown_hours: float | None = Field(default=None, ge=0, le=24 * 365)
    digest_time: str | None = Field(default=None, pattern=r"^([01]?\d|2[0-3]):[0-5]\d$")


class CsatReport(BaseModel):
    good: int
    bad: int
    score_percent: float | None = Field(description="Good answers as a share of all, in %.")


class WeekCountBody(BaseModel):
    week_start: str = Field(description="First day of the week inside the month (YYYY-MM-DD).")
    opened: int
    resolved: int


class SlaComplianceBody(BaseModel):
    metric: str = Field(description="first_response, next_response or resolution.")
    met: int
    breached: int = Field(description="Clocks that ever breached.")
    running: int = Field(description="Running or paused: not counted in the percentage.")
    compliance_percent: float | None = Field(description="Met as a share of met + breached.")


class ClientHoursBody(BaseModel):
    client_company_id: int | None = Field(description="None: tickets without a client company.")
    client_company: str
    actual_hours: float
    billable_hours: float = Field(description="After the organization's rounding rules.")


class MonthlyReportBody(BaseModel):
    month: str
    timezone: str
    client_company_id: int | None
    client_company: str | None
    weeks: list[WeekCountBody]
    csat: CsatReport
    sla: list[SlaComplianceBody] = Field(
        description="SLA compliance per metric, for the tickets opened in the month."
    )
    hours: list[ClientHoursBody] = Field(
        description="Hours logged in the month per client company, most billable first."
    )
