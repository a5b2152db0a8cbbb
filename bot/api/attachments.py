"""Attachments added through the API, with their uploaded bytes kept on disk.

Files live under `<file_storage_dir>/<organization id>/<uuid>`: the name on disk is never
user text, and one organization's files are never found through another's id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from bot.api.errors import ContentTooLarge
from bot.api.schemas import AttachmentCreateRequest
from bot.core.errors import InvalidInput, NotFound
from bot.core.storage import ContentStore
from bot.services import comments as comment_service
from bot.services.actors import Actor
from models import Organization, Ticket, TicketAttachment
from models.api import StoredAttachmentContent


@dataclass(frozen=True)
class StoredFile:
    path: Path
    media_type: str
    filename: str


def decode_content(content_base64: str, *, max_bytes: int) -> bytes:
    # Four base64 characters carry three bytes: a text this long cannot fit, so it is
    # refused before anything is decoded.
    if len(content_base64) > (max_bytes + 2) // 3 * 4 + 4:
        raise ContentTooLarge(_too_large(max_bytes), field="content_base64")
    try:
        content = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "content_base64 is not valid base64 (standard alphabet, with padding).",
            field="content_base64",
        ) from None
    if len(content) > max_bytes:
        raise ContentTooLarge(_too_large(max_bytes), field="content_base64")
    return content


def _too_large(max_bytes: int) -> str:
    return f"The file is too large: attachments can be at most {max_bytes:,} bytes."


def add_api_attachment(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    actor: Actor,
    request: AttachmentCreateRequest,
    content: bytes | None,
    storage_key: str | None,
    download_path: Callable[[TicketAttachment], str],
) -> TicketAttachment:
    """Record the attachment; uploaded content gets a row saying where it is stored and a
    `file_url` pointing at the API's download of it."""
    attachment = comment_service.add_attachment(
        session,
        organization=organization,
        ticket=ticket,
        actor=actor,
        filename=request.filename,
        file_url=request.file_url,
        file_type=request.file_type,
        file_size=len(content) if content is not None else request.file_size,
        is_internal=request.is_internal,
    )
    if content is not None and storage_key is not None:
        session.add(
            StoredAttachmentContent(
                attachment_id=attachment.id,  # type: ignore[arg-type]
                organization_id=organization.id,  # type: ignore[arg-type]
                storage_key=storage_key,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
            )
        )
        attachment.file_url = download_path(attachment)
        session.add(attachment)
        session.flush()
    return attachment


def get_attachment(
    session: Session, *, ticket: Ticket, attachment_id: int, viewer: Actor
) -> TicketAttachment:
    attachment = session.get(TicketAttachment, attachment_id)
    if attachment is None or attachment.ticket_id != ticket.id:
        raise NotFound(f"Ticket #{ticket.ticket_number} has no attachment with id {attachment_id}.")
    if attachment.is_internal and not viewer.is_staff:  # pragma: no cover - tokens are staff
        raise NotFound(f"Ticket #{ticket.ticket_number} has no attachment with id {attachment_id}.")
    return attachment


def stored_file(
    session: Session, *, store: ContentStore, attachment: TicketAttachment
) -> StoredFile:
    """Where the attachment's uploaded bytes are; NotFound when it has none here."""
    stored = session.get(StoredAttachmentContent, attachment.id)
    if stored is None or stored.organization_id != attachment.organization_id:
        raise NotFound(
            f"Attachment {attachment.id} has no content stored by Ticketbot"
            + (f"; it links to {attachment.file_url}." if attachment.file_url else ".")
        )
    path = store.path_of(stored.organization_id, stored.storage_key)
    if not path.is_file():
        raise NotFound(f"The content of attachment {attachment.id} is missing from storage.")
    return StoredFile(
        path=path,
        media_type=attachment.file_type or "application/octet-stream",
        filename=attachment.filename,
    )
