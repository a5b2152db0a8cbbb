"""SQLModel tables, one module per aggregate. Importing this package registers them all."""

from sqlmodel import SQLModel

from models import api as api  # registers the REST API tables (ApiToken, IdempotencyKey, …)
from models import slack_oauth as slack_oauth  # slack_sdk's installation and state tables
from models.attachment import TicketAttachment
from models.base import (
    DEFAULT_CATEGORIES,
    AuthorType,
    CommentType,
    MemberRole,
    TicketPriority,
    TicketStatus,
    saved_id,
    table_of,
    utcnow,
)
from models.comment import TicketComment
from models.lifecycle import (
    AutomationRun,
    CsatRating,
    CsatResponse,
    Notice,
    NotificationPreference,
)
from models.organization import ClientCompany, Member, Organization
from models.slack import (
    MessageRole,
    OutboxMessage,
    OutboxStatus,
    SlackCommentRef,
    SlackEventReceipt,
    SlackFileRef,
    SlackMessageRef,
)
from models.ticket import Ticket, TicketEvent
from models.time_entry import IcalToken, TimeEntry, TimeEntrySource, WorkType

metadata = SQLModel.metadata

__all__ = [
    "DEFAULT_CATEGORIES",
    "AuthorType",
    "AutomationRun",
    "ClientCompany",
    "CommentType",
    "CsatRating",
    "CsatResponse",
    "IcalToken",
    "Member",
    "MemberRole",
    "MessageRole",
    "Notice",
    "NotificationPreference",
    "Organization",
    "OutboxMessage",
    "OutboxStatus",
    "SlackCommentRef",
    "SlackEventReceipt",
    "SlackFileRef",
    "SlackMessageRef",
    "Ticket",
    "TicketAttachment",
    "TicketComment",
    "TicketEvent",
    "TicketPriority",
    "TicketStatus",
    "TimeEntry",
    "TimeEntrySource",
    "WorkType",
    "metadata",
    "saved_id",
    "table_of",
    "utcnow",
]
