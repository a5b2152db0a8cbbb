"""Tickets and their event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import (
    TicketPriority,
    TicketStatus,
    UTCDateTime,
    created_at_field,
    optional_time_field,
    utcnow,
)

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 10_000
CATEGORY_MAX_LENGTH = 50
DEVICE_ID_MAX_LENGTH = 100
# The statuses of work still to do, written out: the partial index below applies to queries
# whose WHERE contains this very predicate (services.tickets.list_tickets writes it so).
OPEN_STATUS_PREDICATE = "status IN ('open', 'in_progress', 'pending')"


class TicketBase(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX_LENGTH)
    description: str = Field(default="", max_length=DESCRIPTION_MAX_LENGTH, sa_type=Text)
    status: TicketStatus = Field(default=TicketStatus.OPEN, sa_type=String(20))
    priority: TicketPriority = Field(default=TicketPriority.MEDIUM, sa_type=String(20))
    category: str | None = Field(default=None, max_length=CATEGORY_MAX_LENGTH)
    requester_id: int | None = Field(default=None, foreign_key="member.id")
    assigned_staff_id: int | None = Field(default=None, foreign_key="member.id")
    client_company_id: int | None = Field(default=None, foreign_key="client_company.id")
    device_id: str | None = Field(default=None, max_length=DEVICE_ID_MAX_LENGTH)


class Ticket(TicketBase, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("organization_id", "ticket_number", name="uq_ticket_org_number"),
        Index("ix_ticket_org_status", "organization_id", "status"),
        Index("ix_ticket_org_assignee_status", "organization_id", "assigned_staff_id", "status"),
        # With updated_at, a requester's newest tickets are read in order, not sorted.
        Index("ix_ticket_org_requester_updated", "organization_id", "requester_id", "updated_at"),
        Index("ix_ticket_org_updated", "organization_id", "updated_at"),
        # Someone's open tickets and the unassigned queue, newest first, read in order: a
        # handful of rows whatever the organization's history (closed tickets are not in
        # it). Without it SQLite walks the organization's tickets by date.
        Index(
            "ix_ticket_org_open_assignee",
            "organization_id",
            "assigned_staff_id",
            "updated_at",
            sqlite_where=text(OPEN_STATUS_PREDICATE),
            postgresql_where=text(OPEN_STATUS_PREDICATE),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    ticket_number: int = Field(nullable=False)
    # A ticket opened by replying to a closed one points back at it.
    parent_ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    first_response_at: datetime | None = optional_time_field()
    resolved_at: datetime | None = optional_time_field()
    closed_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class TicketCreate(SQLModel):
    """A new ticket as someone asked for it, wherever they asked: the new-ticket form, a
    message shortcut, a :ticket: reaction, a typed `/ticket`, the REST API. The services
    check and clean each field (so a bad one is a domain error with a message)."""

    title: str | None = None
    description: str | None = None
    priority: str | None = None
    category: str | None = None
    # Staff may choose the client company; otherwise it follows the requester or channel.
    client_company_id: int | None = None
    device_id: str | None = None
    # The channel the request was made in (a /ticket command's channel), if any.
    channel: str | None = None
    # Filed from a Slack message: channel, ts, thread_ts, permalink, author, files (Slack
    # file objects trimmed to id/name/mimetype/size/permalink).
    source: dict[str, Any] = Field(default_factory=dict)


class TicketUpdate(SQLModel):
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX_LENGTH)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX_LENGTH)
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    category: str | None = Field(default=None, max_length=CATEGORY_MAX_LENGTH)
    assigned_staff_id: int | None = None
    client_company_id: int | None = None
    device_id: str | None = Field(default=None, max_length=DEVICE_ID_MAX_LENGTH)


class TicketPublic(TicketBase):
    id: int
    organization_id: int
    ticket_number: int
    parent_ticket_id: int | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TicketEvent(SQLModel, table=True):
    """One line of a ticket's history: who changed what, from what, to what, when."""

    __tablename__ = "ticket_event"
    __table_args__ = (Index("ix_ticket_event_ticket", "ticket_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    organization_id: int = Field(foreign_key="organization.id")
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    actor_name: str = Field(max_length=200)
    field: str = Field(max_length=40)
    old_value: str | None = Field(default=None, max_length=500)
    new_value: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at_field()
