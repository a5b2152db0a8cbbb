"""Files attached to tickets (metadata; the bytes live in the storage backend)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import created_at_field


class TicketAttachmentBase(SQLModel):
    filename: str = Field(min_length=1, max_length=255)
    file_url: str | None = Field(default=None, max_length=2000)
    file_type: str | None = Field(default=None, max_length=100)
    file_size: int | None = Field(default=None, ge=0)
    # Internal attachments (shared in the staff thread) are never shown to requesters.
    is_internal: bool = Field(default=True)


class TicketAttachment(TicketAttachmentBase, table=True):
    __tablename__ = "ticket_attachment"
    __table_args__ = (Index("ix_ticket_attachment_ticket", "ticket_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    organization_id: int = Field(foreign_key="organization.id", index=True)
    uploaded_by: int | None = Field(default=None, foreign_key="member.id")
    uploaded_by_name: str = Field(max_length=200)
    created_at: datetime = created_at_field()


class TicketAttachmentCreate(TicketAttachmentBase):
    pass


class TicketAttachmentPublic(TicketAttachmentBase):
    id: int
    ticket_id: int
    organization_id: int
    uploaded_by: int | None
    uploaded_by_name: str
    created_at: datetime
