"""Files shared in Slack become ticket attachments, with a copy of their bytes.

Downloads and uploads run as outbox jobs, not on the path to an ack: they are retried like
any Slack call, and an attachment row is written only once its bytes are stored, so a file
that is too large or cannot be downloaded leaves no half-written row (the person who shared
it is told why in the thread instead).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.blocks.text import escape
from bot.core.db import Database
from bot.core.errors import DomainError
from bot.core.storage import ContentStore
from bot.outbox import rows as outbox
from bot.outbox.rows import Lane
from bot.services import comments as comment_service
from bot.services.actors import Actor
from bot.slack.files import DownloadFailed, FileTooLarge, download_slack_file, upload_to_thread
from models import (
    Member,
    MessageRole,
    Organization,
    OutboxMessage,
    SlackFileRef,
    Ticket,
    TicketAttachment,
    saved_id,
)
from models.api import StoredAttachmentContent

log = logging.getLogger(__name__)

FETCH_FILE = "ticketbot.fetch_file"
SHARE_FILE = "ticketbot.share_file"
# Where a fetched file is shown next: the card's thread or the requester's DM thread.
SHARE_TO_STAFF = "staff"
SHARE_TO_REQUESTER = "requester"
# Download failures worth retrying (Slack had a moment), as opposed to a final answer.
TRANSIENT_DOWNLOAD_FAILURES = ("timeout", "connection", "http_429", "http_5")
FILE_FIELDS = (
    "id",
    "name",
    "title",
    "mimetype",
    "size",
    "permalink",
    "url_private_download",
    "url_private",
)


def content_path(attachment: TicketAttachment) -> str:
    """The REST API's download of an attachment's stored copy (token required)."""
    return f"/api/tickets/{attachment.ticket_id}/attachments/{attachment.id}/content"


def attach_text(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    actor: Actor,
    filename: str,
    content: bytes,
    storage_key: str,
) -> TicketAttachment:
    """A text kept whole beside the ticket (stored by Ticketbot, public) when it does not
    fit where it belongs, e.g. a message longer than a description may be."""
    attachment = comment_service.add_attachment(
        session,
        organization=organization,
        ticket=ticket,
        actor=actor,
        filename=filename,
        file_type="text/plain",
        file_size=len(content),
        is_internal=False,
    )
    attachment.file_url = content_path(attachment)
    session.add(attachment)
    session.add(
        StoredAttachmentContent(
            attachment_id=attachment.id,  # type: ignore[arg-type]
            organization_id=organization.id,  # type: ignore[arg-type]
            storage_key=storage_key,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )
    )
    session.flush()
    return attachment


def enqueue_fetch(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    files: list[dict[str, Any]],
    uploader: Member | None,
    uploader_is_staff: bool,
    is_internal: bool,
    share_to: str | None,
    notify_channel: str | None,
    notify_thread_ts: str | None,
) -> list[int]:
    """Queue the download of each Slack file not yet attached to `ticket`."""
    rows = []
    for file in files[:10]:
        if not file.get("id"):
            continue
        known = session.exec(
            select(SlackFileRef).where(
                SlackFileRef.ticket_id == ticket.id, SlackFileRef.slack_file_id == file["id"]
            )
        ).first()
        if known is not None:
            continue
        rows.append(
            outbox.enqueue(
                session,
                organization=organization,
                ticket=ticket,
                method=FETCH_FILE,
                payload={
                    "file": {k: file[k] for k in FILE_FIELDS if file.get(k) is not None},
                    "uploader_id": uploader.id if uploader else None,
                    "uploader_is_staff": uploader_is_staff,
                    "is_internal": is_internal,
                    "share_to": share_to,
                    "notify_channel": notify_channel,
                    "notify_thread_ts": notify_thread_ts,
                },
                lane="files",
            )
        )
    return rows


class SlackFileJobs:
    """The outbox jobs that fetch Slack files into storage and share copies elsewhere."""

    def __init__(
        self, db: Database, store: ContentStore, *, allowed_hosts: frozenset[str], max_bytes: int
    ) -> None:
        self.db = db
        self.store = store
        self.allowed_hosts = allowed_hosts
        self.max_bytes = max_bytes

    def fetch(
        self,
        client: WebClient,
        organization: Organization,
        row: OutboxMessage,
        args: dict[str, Any],
    ) -> tuple[str | None, str | None]:
        file = args["file"]
        with self.db.session() as session:
            if self._attached(session, row.ticket_id, file["id"]):
                return None, None  # the same file arrived twice (message and file_shared)
        try:
            downloaded = download_slack_file(
                file,
                token=client.token or "",
                allowed_hosts=self.allowed_hosts,
                max_bytes=self.max_bytes,
            )
        except FileTooLarge as refused:
            return self._tell(client, args, refused.message)
        except DownloadFailed as failed:
            if failed.reason.startswith(TRANSIENT_DOWNLOAD_FAILURES):
                raise OSError(failed.message) from failed  # the outbox retries later
            return self._tell(client, args, failed.message)
        try:
            with self.store.writing(saved_id(organization), downloaded.content) as key, \
                    self.db.session() as session:  # fmt: skip
                self._record(session, organization, row, args, downloaded, key)
        except IntegrityError:
            log.info("file %s was attached concurrently", file["id"])
        except DomainError as refused:
            # A rule said no (a name too long, say): no retry changes that. Say so once
            # and let the files after it go on.
            log.info("file %s not attached: %s", file["id"], refused.message)
            return self._tell(client, args, refused.message)
        return None, None

    def _attached(self, session: Session, ticket_id: int | None, file_id: str) -> bool:
        return (
            session.exec(
                select(SlackFileRef).where(
                    SlackFileRef.ticket_id == ticket_id, SlackFileRef.slack_file_id == file_id
                )
            ).first()
            is not None
        )

    def _record(
        self,
        session: Session,
        organization: Organization,
        row: OutboxMessage,
        args: dict[str, Any],
        downloaded: Any,
        storage_key: str | None,
    ) -> None:
        ticket = session.get(Ticket, row.ticket_id)
        org = session.get(Organization, organization.id)
        assert ticket is not None and org is not None
        uploader = session.get(Member, args["uploader_id"]) if args.get("uploader_id") else None
        actor = Actor(
            name=uploader.name if uploader else "Slack",
            is_staff=bool(args.get("uploader_is_staff")),
            member=uploader,
        )
        attachment = comment_service.add_attachment(
            session,
            organization=org,
            ticket=ticket,
            actor=actor,
            filename=downloaded.name,
            file_type=downloaded.mimetype,
            file_size=downloaded.size,
            is_internal=bool(args.get("is_internal")),
        )
        attachment.file_url = content_path(attachment)
        session.add(attachment)
        session.add(
            StoredAttachmentContent(
                attachment_id=attachment.id,  # type: ignore[arg-type]
                organization_id=org.id,  # type: ignore[arg-type]
                storage_key=storage_key or "",
                size=downloaded.size,
                sha256=downloaded.sha256,
            )
        )
        session.add(
            SlackFileRef(
                organization_id=org.id,  # type: ignore[arg-type]
                ticket_id=ticket.id,  # type: ignore[arg-type]
                attachment_id=attachment.id,  # type: ignore[arg-type]
                slack_file_id=args["file"]["id"],
                permalink=args["file"].get("permalink"),
            )
        )
        session.flush()
        share_to = args.get("share_to")
        if share_to:
            enqueue_share(
                session,
                organization=org,
                ticket=ticket,
                attachment=attachment,
                share_to=share_to,
                uploader=uploader,
            )

    def _tell(
        self, client: WebClient, args: dict[str, Any], message: str
    ) -> tuple[str | None, str | None]:
        """Say in the thread where the file was shared why it was not attached."""
        channel = args.get("notify_channel")
        if not channel:
            return None, None
        response = client.chat_postMessage(
            channel=channel,
            thread_ts=args.get("notify_thread_ts"),
            text=f":warning: {escape(message)} It was not attached to the ticket.",
        )
        return response.get("channel"), response.get("ts")

    def share(
        self,
        client: WebClient,
        organization: Organization,
        row: OutboxMessage,
        args: dict[str, Any],
    ) -> tuple[str | None, str | None]:
        with self.db.session() as session:
            stored = session.get(StoredAttachmentContent, args["attachment_id"])
            attachment = session.get(TicketAttachment, args["attachment_id"])
        if stored is None or attachment is None:
            return None, None  # deleted meanwhile: nothing to share
        content = self.store.path_of(stored.organization_id, stored.storage_key).read_bytes()
        upload_to_thread(
            client,
            channel=args["channel"],
            thread_ts=args.get("thread_ts"),
            filename=attachment.filename,
            content=content,
            initial_comment=args.get("initial_comment"),
        )
        return args["channel"], None


def enqueue_share(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    attachment: TicketAttachment,
    share_to: str,
    uploader: Member | None,
) -> int | None:
    """Upload a copy of a stored attachment into the card's thread or the requester's DM
    thread (each side cannot open files of the other's conversation)."""
    who = f"<@{uploader.slack_user_id}>" if uploader and uploader.slack_user_id else "Someone"
    comment = f":paperclip: {who} shared {escape(attachment.filename)}"
    if share_to == SHARE_TO_STAFF:
        return outbox.enqueue(
            session,
            organization=organization,
            ticket=ticket,
            method=SHARE_FILE,
            payload={"attachment_id": attachment.id, "initial_comment": comment},
            lane=Lane.STAFF,
            channel_ref=MessageRole.STAFF_CARD,
            thread_ref=MessageRole.STAFF_CARD,
        )
    if attachment.is_internal:
        raise ValueError("internal files are never shared with requesters")
    requester = session.get(Member, ticket.requester_id) if ticket.requester_id else None
    if requester is None or not requester.slack_user_id:
        return None  # a requester outside Slack has no DM thread to share into
    return outbox.enqueue(
        session,
        organization=organization,
        ticket=ticket,
        method=SHARE_FILE,
        payload={
            "attachment_id": attachment.id,
            "initial_comment": comment,
            "dm_user": requester.slack_user_id,
            "thread_optional": True,
        },
        lane=Lane.REQUESTER,
        thread_ref=MessageRole.REQUESTER_DM,
    )


def publish_files(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    files: list[dict[str, Any]],
    uploader: Member | None,
    notify_channel: str | None,
    notify_thread_ts: str | None,
) -> None:
    """ "Send to requester" on a staff-thread message with files: the explicit act that
    makes those files public and uploads them into the requester's DM thread."""
    for file in files[:10]:
        ref = session.exec(
            select(SlackFileRef).where(
                SlackFileRef.ticket_id == ticket.id, SlackFileRef.slack_file_id == file.get("id")
            )
        ).first()
        if ref is None:
            enqueue_fetch(
                session,
                organization=organization,
                ticket=ticket,
                files=[file],
                uploader=uploader,
                uploader_is_staff=True,
                is_internal=False,
                share_to=SHARE_TO_REQUESTER,
                notify_channel=notify_channel,
                notify_thread_ts=notify_thread_ts,
            )
            continue
        attachment = session.get(TicketAttachment, ref.attachment_id)
        if attachment is None:
            continue
        attachment.is_internal = False
        session.add(attachment)
        session.flush()
        enqueue_share(
            session,
            organization=organization,
            ticket=ticket,
            attachment=attachment,
            share_to=SHARE_TO_REQUESTER,
            uploader=uploader,
        )
