"""The REST API's own rows: bearer tokens, idempotency keys, stored attachment content."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_time_field

TOKEN_NAME_MAX_LENGTH = 100
IDEMPOTENCY_KEY_MAX_LENGTH = 255


class ApiToken(SQLModel, table=True):
    """A bearer token of one organization. Only a hash of the secret is kept: a leaked
    database does not leak working tokens. The prefix identifies a token to people."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    name: str = Field(max_length=TOKEN_NAME_MAX_LENGTH)
    # The token's first characters, shown in listings so a person can tell tokens apart.
    token_prefix: str = Field(max_length=16)
    # sha256 hex digest of the whole token; a token is found by its hash.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = optional_time_field()
    last_used_at: datetime | None = optional_time_field()


class IdempotencyKey(SQLModel, table=True):
    """An `Idempotency-Key` an organization has used to create a ticket.

    The unique constraint is what makes two concurrent requests with one key create one
    ticket: the second insert waits for the first transaction and then fails, and its
    request answers with the first one's ticket.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("organization_id", "key", name="uq_idempotency_key_org_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    key: str = Field(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    # sha256 of the request body as validated: a reused key with another body is refused.
    request_fingerprint: str = Field(max_length=64)
    # Set in the same transaction that inserts the key, so a committed key always has one.
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    created_at: datetime = created_at_field(index=True)


class StoredAttachmentContent(SQLModel, table=True):
    """Where the bytes of an attachment uploaded through the API are stored.

    An attachment without such a row (a link to a Slack file, say) has no content here.
    """

    __tablename__ = "stored_attachment_content"
    __table_args__ = (Index("ix_stored_attachment_content_org", "organization_id"),)

    attachment_id: int = Field(foreign_key="ticket_attachment.id", primary_key=True)
    organization_id: int = Field(foreign_key="organization.id")
    # File name under <file_storage_dir>/<organization id>/ (a random uuid, never user text).
    storage_key: str = Field(max_length=64)
    size: int = Field(ge=0)
    sha256: str = Field(max_length=64)
    created_at: datetime = created_at_field()
