"""SQLModel tables, one module per aggregate. Importing this package registers them all."""

from sqlmodel import SQLModel

from models import api as api  # registers the REST API tables (ApiToken, IdempotencyKey, …)
from models import fulltext as fulltext  # full-text indexes (GIN on PostgreSQL, FTS5 on SQLite)
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
from models.view import SavedView

metadata = SQLModel.metadata

__all__ = [
    "DEFAULT_CATEGORIES",
    "AuthorType",
    "AutomationRun",
    "ClientCompany",
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
    "SavedView",
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
