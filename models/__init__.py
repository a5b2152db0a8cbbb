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
from models.sla import (
    BusinessCalendar,
    ClockStatus,
    ReopenMode,
    SlaClock,
    SlaMetric,
    SlaPolicy,
    SlaTarget,
)
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

metadata = SQLModel.metadata

__all__ = [
    "DEFAULT_CATEGORIES",
    "AuthorType",
    "AutomationRun",
    "BusinessCalendar",
    "ClientCompany",
    "ClockStatus",
    "CommentType",
    "CsatRating",
    "CsatResponse",
    "Member",
    "MemberRole",
    "MessageRole",
    "Notice",
    "NotificationPreference",
    "Organization",
    "OutboxMessage",
    "OutboxStatus",
    "ReopenMode",
    "SlaClock",
    "SlaMetric",
    "SlaPolicy",
    "SlaTarget",
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
    "metadata",
    "saved_id",
    "table_of",
    "utcnow",
]
