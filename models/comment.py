"""Comments on tickets: internal notes (staff only) and public replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlmodel import Field, SQLModel

from models.base import AuthorType, CommentType, UTCDateTime, created_at_field, utcnow

COMMENT_MAX_LENGTH = 40_000


class TicketCommentBase(SQLModel):
    content: str = Field(min_length=1, max_length=COMMENT_MAX_LENGTH, sa_type=Text)
    comment_type: CommentType = Field(default=CommentType.INTERNAL_NOTE, sa_type=String(20))


class TicketComment(TicketCommentBase, table=True):
    __tablename__ = "ticket_comment"
    __table_args__ = (Index("ix_ticket_comment_ticket", "ticket_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    organization_id: int = Field(foreign_key="organization.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="member.id")
    author_name: str = Field(max_length=200)
    author_type: AuthorType = Field(sa_type=String(20))
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class TicketCommentCreate(TicketCommentBase):
    pass


class TicketCommentPublic(TicketCommentBase):
    id: int
    ticket_id: int
    organization_id: int
    author_id: int | None
    author_name: str
    author_type: AuthorType
    created_at: datetime
    updated_at: datetime
