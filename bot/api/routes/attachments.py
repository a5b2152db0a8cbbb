"""REST: a ticket's attachments, and the content of those uploaded through the API."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import FileResponse

from bot.api.attachments import add_api_attachment, decode_content, get_attachment, stored_file
from bot.api.deps import (
    JSON_BODY_MAX_BYTES,
    Caller,
    RuntimeDep,
    TicketId,
    api_router,
    organization_of,
    ticket_of,
)
from bot.api.errors import error_responses
from bot.api.schemas import MAX_DB_ID, AttachmentCreateRequest, AttachmentList
from bot.core.storage import ContentStore
from bot.runtime import Runtime
from bot.services import comments as comment_service
from models import TicketAttachment
from models.attachment import TicketAttachmentPublic

AttachmentId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]


def _content_path(request: Request, attachment: TicketAttachment) -> str:
    return str(
        request.app.url_path_for(
            "download_attachment_content",
            ticket_id=str(attachment.ticket_id),
            attachment_id=str(attachment.id),
        )
    )


def _store(runtime: Runtime) -> ContentStore:
    return ContentStore(runtime.settings.file_storage_dir)


def build_router(max_attachment_bytes: int) -> APIRouter:
    """The attachment routes; an upload's body may hold the base64 text of the largest
    allowed file, a setting, so this router is built with it."""
    router = api_router(tags=["attachments"])

    @router.post(
        "/tickets/{ticket_id}/attachments",
        status_code=201,
        summary="Attach a file to a ticket",
        responses=error_responses(404, 413, 422),
        # Room for the base64 text of the largest allowed file (4 characters per 3 bytes).
        max_body_size=(max_attachment_bytes + 2) // 3 * 4 + JSON_BODY_MAX_BYTES,
    )
    def create_attachment(
        ticket_id: TicketId,
        body: AttachmentCreateRequest,
        caller: Caller,
        runtime: RuntimeDep,
        request: Request,
    ) -> TicketAttachmentPublic:
        """Upload the bytes in `content_base64` (then `file_url` is where to download them),
        or record a link in `file_url`."""
        content = None
        if body.content_base64 is not None:
            content = decode_content(body.content_base64, max_bytes=max_attachment_bytes)
        with (
            _store(runtime).writing(caller.organization_id, content) as storage_key,
            runtime.db.session() as session,
        ):
            attachment = add_api_attachment(
                session,
                organization=organization_of(session, caller),
                ticket=ticket_of(session, caller, ticket_id),
                actor=caller.actor,
                request=body,
                content=content,
                storage_key=storage_key,
                download_path=lambda attachment: _content_path(request, attachment),
            )
            return TicketAttachmentPublic.model_validate(attachment)

    @router.get(
        "/tickets/{ticket_id}/attachments",
        summary="List a ticket's attachments",
        responses=error_responses(404, 422),
    )
    def list_attachments(
        ticket_id: TicketId, caller: Caller, runtime: RuntimeDep
    ) -> AttachmentList:
        with runtime.db.session() as session:
            ticket = ticket_of(session, caller, ticket_id)
            found = comment_service.list_attachments(session, ticket=ticket, viewer=caller.actor)
            return AttachmentList(items=[TicketAttachmentPublic.model_validate(a) for a in found])

    @router.get(
        "/tickets/{ticket_id}/attachments/{attachment_id}/content",
        summary="Download an attachment's content",
        response_class=Response,
        responses={
            200: {
                "description": "The file, as an attachment download.",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            },
            **error_responses(404, 422),
        },
    )
    def download_attachment_content(
        ticket_id: TicketId, attachment_id: AttachmentId, caller: Caller, runtime: RuntimeDep
    ) -> Response:
        """Only content uploaded through the API is stored here; other attachments are 404."""
        with runtime.db.session() as session:
            ticket = ticket_of(session, caller, ticket_id)
            attachment = get_attachment(
                session, ticket=ticket, attachment_id=attachment_id, viewer=caller.actor
            )
            file = stored_file(session, store=_store(runtime), attachment=attachment)
        return FileResponse(
            file.path,
            media_type=file.media_type,
            filename=file.filename,
            content_disposition_type="attachment",
            # A download, never a page of ours: no sniffing an uploaded file into HTML.
            headers={"X-Content-Type-Options": "nosniff"},
        )

    return router
