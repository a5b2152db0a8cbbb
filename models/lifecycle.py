"""Lifecycle automations: claims of scheduled work, satisfaction answers, and each
person's notification preferences."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, created_at_field, optional_time_field, utcnow


class AutomationRun(SQLModel, table=True):
    """A piece of scheduled work that was done: written in the same unit of work as the
    messages it sends, so that two processes running the job at once do it once (the
    unique key refuses the second)."""

    __tablename__ = "automation_run"
    __table_args__ = (UniqueConstraint("organization_id", "kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=40)
    key: str = Field(max_length=200)
    created_at: datetime = created_at_field()


class CsatRating(StrEnum):
    GOOD = "good"
    BAD = "bad"


class CsatResponse(SQLModel, table=True):
    """The satisfaction survey of one ticket: when it was asked, and the answer."""

    __tablename__ = "csat_response"
    __table_args__ = (
        UniqueConstraint("ticket_id"),
        Index("ix_csat_requester_asked", "organization_id", "requester_id", "asked_at"),
        Index("ix_csat_answered", "organization_id", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    ticket_id: int = Field(foreign_key="ticket.id")
    requester_id: int = Field(foreign_key="member.id")
    rating: CsatRating | None = Field(default=None, sa_type=String(10))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    asked_at: datetime = created_at_field()
    answered_at: datetime | None = optional_time_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Notice(StrEnum):
    """Kinds of DMs a person can switch off."""

    ASSIGNMENT = "assignment"  # staff: you were assigned a ticket
    REQUESTER_REPLY = "requester_reply"  # staff: the requester replied on your ticket
    SLA_WARNING = "sla_warning"  # staff: an SLA warning on your ticket
    DIGEST = "digest"  # staff: the daily digest
    STATUS_CHANGE = "status_change"  # requester: your ticket's status changed


class NotificationPreference(SQLModel, table=True):
    """The DMs a member switched off (everything is on until switched off)."""

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    muted: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
