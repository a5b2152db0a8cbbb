"""Comments and attachments on tickets, and who may see which."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.core.errors import InvalidInput, NotFound, PermissionDenied
from bot.services import sla
from bot.services.actors import Actor
from bot.services.tickets import ensure_can_view, ensure_storable, touch
from models import (
    AuthorType,
    CommentType,
    Organization,
    Ticket,
    TicketAttachment,
    TicketComment,
    utcnow,
)
from models.comment import COMMENT_MAX_LENGTH


def _ensure_ticket_of(organization: Organization, ticket: Ticket) -> None:
    if ticket.organization_id != organization.id:
        raise NotFound("There is no such ticket.")


def _parse_comment_type(value: str) -> CommentType:
    try:
        return CommentType(value)
    except ValueError:
        raise InvalidInput(
            f"Unknown comment type {value!r}; use internal_note or public_reply.",
            field="comment_type",
        ) from None


def add_comment(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    actor: Actor,
    content: str,
    comment_type: CommentType | str,
) -> TicketComment:
    """Add a comment. Internal notes are staff-only; end users comment on their own tickets.

    The first public reply by staff stamps the ticket's `first_response_at`.
    """
    _ensure_ticket_of(organization, ticket)
    kind = _parse_comment_type(comment_type)
    content = ensure_storable((content or "").strip(), field="content", label="comment")
    if not content:
        raise InvalidInput("A comment cannot be empty.", field="content")
    if len(content) > COMMENT_MAX_LENGTH:
        raise InvalidInput(
            f"Keep a comment under {COMMENT_MAX_LENGTH:,} characters.", field="content"
        )
    ensure_can_view(ticket, actor)
    if not actor.is_staff and kind == CommentType.INTERNAL_NOTE:
        raise PermissionDenied("Only staff can write internal notes.")
    comment = TicketComment(
        ticket_id=ticket.id,  # type: ignore[arg-type]
        organization_id=organization.id,  # type: ignore[arg-type]
        author_id=actor.member_id,
        author_name=actor.name[:200],
        author_type=AuthorType.STAFF if actor.is_staff else AuthorType.END_USER,
        comment_type=kind,
        content=content,
    )
    session.add(comment)
    if actor.is_staff and kind == CommentType.PUBLIC_REPLY and ticket.first_response_at is None:
        ticket.first_response_at = comment.created_at
    touch(ticket)
    session.add(ticket)
    session.flush()
    sla.on_comment(session, ticket=ticket, comment=comment)
    return comment


def list_comments(session: Session, *, ticket: Ticket, viewer: Actor) -> list[TicketComment]:
    """The ticket's comments, oldest first; end users never receive internal notes."""
    ensure_can_view(ticket, viewer)
    query = select(TicketComment).where(TicketComment.ticket_id == ticket.id)
    if not viewer.is_staff:
        query = query.where(TicketComment.comment_type == CommentType.PUBLIC_REPLY.value)
    query = query.order_by(col(TicketComment.created_at), col(TicketComment.id))
    return list(session.exec(query).all())


def edit_comment(
    session: Session, *, comment: TicketComment, actor: Actor, content: str
) -> TicketComment:
    """Change a comment's text; only its author may."""
    if actor.member_id is None or comment.author_id != actor.member_id:
        raise PermissionDenied("Only the author can edit a comment.")
    content = (content or "").strip()
    if not content:
        raise InvalidInput("A comment cannot be empty.", field="content")
    if len(content) > COMMENT_MAX_LENGTH:
        raise InvalidInput(
            f"Keep a comment under {COMMENT_MAX_LENGTH:,} characters.", field="content"
        )
    comment.content = content
    comment.updated_at = utcnow()
    session.add(comment)
    session.flush()
    return comment


def add_attachment(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    actor: Actor,
    filename: str,
    file_url: str | None = None,
    file_type: str | None = None,
    file_size: int | None = None,
    is_internal: bool = True,
) -> TicketAttachment:
    """Record a file on a ticket. End users add public files to their own tickets only."""
    _ensure_ticket_of(organization, ticket)
    filename = (filename or "").strip()
    if not filename:
        raise InvalidInput("A file needs a name.", field="filename")
    if len(filename) > 255:
        raise InvalidInput("Keep the file name under 255 characters.", field="filename")
    if file_size is not None and file_size < 0:
        raise InvalidInput("A file size cannot be negative.", field="file_size")
    ensure_can_view(ticket, actor)
    if not actor.is_staff and is_internal:
        raise PermissionDenied("Only staff can add internal files.")
    attachment = TicketAttachment(
        ticket_id=ticket.id,  # type: ignore[arg-type]
        organization_id=organization.id,  # type: ignore[arg-type]
        uploaded_by=actor.member_id,
        uploaded_by_name=actor.name[:200],
        filename=filename,
        file_url=file_url,
        file_type=file_type,
        file_size=file_size,
        is_internal=is_internal,
    )
    session.add(attachment)
    touch(ticket)
    session.add(ticket)
    session.flush()
    return attachment


def list_attachments(session: Session, *, ticket: Ticket, viewer: Actor) -> list[TicketAttachment]:
    """The ticket's files, oldest first; end users never receive internal ones."""
    ensure_can_view(ticket, viewer)
    query = select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
    if not viewer.is_staff:
        query = query.where(col(TicketAttachment.is_internal).is_(False))
    query = query.order_by(col(TicketAttachment.created_at), col(TicketAttachment.id))
    return list(session.exec(query).all())


def list_comments_for_tickets(
    session: Session, *, tickets: list[Ticket], viewer: Actor
) -> dict[int, list[TicketComment]]:
    """`list_comments` for a page of tickets in one query (App Home), same rules."""
    for ticket in tickets:
        ensure_can_view(ticket, viewer)
    ids = [t.id for t in tickets if t.id is not None]
    found: dict[int, list[TicketComment]] = {i: [] for i in ids}
    if not ids:
        return found
    query = select(TicketComment).where(col(TicketComment.ticket_id).in_(ids))
    if not viewer.is_staff:
        query = query.where(TicketComment.comment_type == CommentType.PUBLIC_REPLY.value)
    query = query.order_by(col(TicketComment.created_at), col(TicketComment.id))
    for comment in session.exec(query).all():
        found[comment.ticket_id].append(comment)
    return found


def last_public_author_type(session: Session, *, ticket_id: int | None) -> str | None:
    """Who wrote the ticket's latest public comment (an `AuthorType`), if anyone did."""
    author: str | None = session.exec(
        select(TicketComment.author_type)
        .where(
            TicketComment.ticket_id == ticket_id,
            TicketComment.comment_type == CommentType.PUBLIC_REPLY,
        )
        .order_by(col(TicketComment.id).desc())
        .limit(1)
    ).first()
    return author
