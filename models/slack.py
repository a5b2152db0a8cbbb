"""Slack references kept beside the domain rows: processed events, posted messages, outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, created_at_field, utcnow


class SlackEventReceipt(SQLModel, table=True):
    """An Events API `event_id` that has been taken up; its primary key makes it once-only."""

    __tablename__ = "slack_event_receipt"

    event_id: str = Field(primary_key=True, max_length=64)
    team_id: str | None = Field(default=None, max_length=32)
    event_type: str | None = Field(default=None, max_length=64)
    received_at: datetime = created_at_field(index=True)


class MessageRole(StrEnum):
    """What a Slack message is to a ticket."""

    STAFF_CARD = "staff_card"  # the card in the staff channel; its thread is the staff thread
    REQUESTER_DM = "requester_dm"  # "Ticket #N received"; its thread is the requester's thread
    SOURCE = "source"  # the message a ticket was filed from


class SlackMessageRef(SQLModel, table=True):
    __tablename__ = "slack_message_ref"
    __table_args__ = (
        UniqueConstraint("ticket_id", "role", name="uq_slack_message_ref_ticket_role"),
        # One ticket per source message, however many people react or file it at once.
        UniqueConstraint(
            "organization_id", "channel_id", "ts", "role", name="uq_slack_message_ref_message"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    ticket_id: int = Field(foreign_key="ticket.id")
    role: MessageRole = Field(sa_type=String(20))
    channel_id: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    permalink: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at_field()


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"  # no longer to be sent (what it copied was deleted)


class OutboxMessage(SQLModel, table=True):
    """A Slack Web API call caused by a domain change, committed with it, sent after commit.

    `payload` holds the method's arguments. Two indirections are resolved at delivery time,
    because the values only exist once earlier rows of the same ticket have been delivered:
    `channel_ref`/`ts_ref`/`thread_ref` name a SlackMessageRef role of the ticket whose
    channel/ts/thread should be used, and `record_as` says which role the posted message
    becomes.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_ticket_lane", "ticket_id", "lane", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    # Rows of one ticket and lane are delivered strictly in id order; lanes are independent
    # so that a card waiting for a staff channel does not hold back the requester's DM.
    lane: str = Field(default="staff", max_length=20)
    method: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    channel_ref: str | None = Field(default=None, max_length=20)
    ts_ref: str | None = Field(default=None, max_length=20)
    thread_ref: str | None = Field(default=None, max_length=20)
    record_as: str | None = Field(default=None, max_length=20)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=String(10))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A worker that claimed the row owns it until then; a crashed worker's claim lapses.
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, sa_type=Text)
    result_channel: str | None = Field(default=None, max_length=32)
    result_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = created_at_field()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SlackCommentRef(SQLModel, table=True):
    """The Slack message a comment was written as (edits and deletions follow it)."""

    __tablename__ = "slack_comment_ref"
    __table_args__ = (
        UniqueConstraint(
            "organization_id", "channel_id", "ts", name="uq_slack_comment_ref_message"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    comment_id: int = Field(foreign_key="ticket_comment.id", index=True)
    channel_id: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    created_at: datetime = created_at_field()


class SlackFileRef(SQLModel, table=True):
    """The Slack file an attachment came from. One attachment per file and ticket, however
    many events (a `file_share` message and a `file_shared` event) announce it."""

    __tablename__ = "slack_file_ref"
    __table_args__ = (
        UniqueConstraint("ticket_id", "slack_file_id", name="uq_slack_file_ref_ticket_file"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    ticket_id: int = Field(foreign_key="ticket.id")
    attachment_id: int = Field(foreign_key="ticket_attachment.id", index=True)
    slack_file_id: str = Field(max_length=32)
    permalink: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at_field()
