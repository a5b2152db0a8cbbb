"""The REST API's routes: parse, authenticate, one unit of work around a service or
workflow call, answer with the model's Public shape."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from bot.api import intake, tokens
from bot.api.attachments import (
    add_api_attachment,
    decode_content,
    get_attachment,
    stored_file,
)
from bot.api.errors import ApiRoute, error_responses, unauthorized
from bot.api.schemas import (
    MAX_DB_ID,
    AttachmentCreateRequest,
    AttachmentList,
    CommentCreateRequest,
    CommentList,
    TicketCreateRequest,
    TicketListQuery,
    TicketPage,
    TicketUpdateRequest,
)
from bot.api.tokens import ApiCaller
from bot.core.storage import ContentStore
from bot.flows import tickets as ticket_flows
from bot.runtime import Runtime
from bot.services import comments as comment_service
from bot.services import tickets as ticket_service
from bot.services.actors import member_has_staff_role
from models import Organization, Ticket, TicketAttachment
from models.attachment import TicketAttachmentPublic
from models.comment import TicketCommentPublic
from models.ticket import TicketPublic

# Bodies other than uploads are small: a full-length comment, JSON-escaped, fits many times.
JSON_BODY_MAX_BYTES = 1024 * 1024
TicketId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="The ticket's `id`.")]
AttachmentId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=intake.IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]([ -~]*[!-~])?$",
        description="Any unique string (a UUID, say). A retried request with the same key "
        "and body answers with the ticket the first one filed (200) instead of filing "
        "another; the same key with another body is refused (422).",
    ),
]


def _operation_id(route: APIRoute) -> str:
    # Client generators name their methods after these: `create_ticket`, not
    # `create_ticket_api_tickets_post`.
    return route.name


def _organization(session: Session, caller: ApiCaller) -> Organization:
    organization = session.get(Organization, caller.organization_id)
    if organization is None:  # pragma: no cover - organizations are never deleted
        raise unauthorized("The organization of this token no longer exists.")
    return organization


def _ticket(session: Session, caller: ApiCaller, ticket_id: int) -> Ticket:
    # Another organization's ticket raises the very NotFound a missing one does.
    return ticket_service.get_ticket(
        session, organization_id=caller.organization_id, ticket_id=ticket_id
    )


def _ticket_path(request: Request, ticket: Ticket) -> str:
    return str(request.app.url_path_for("get_ticket", ticket_id=str(ticket.id)))


def _content_path(request: Request, attachment: TicketAttachment) -> str:
    return str(
        request.app.url_path_for(
            "download_attachment_content",
            ticket_id=str(attachment.ticket_id),
            attachment_id=str(attachment.id),
        )
    )


def _next_offset(
    session: Session, caller: ApiCaller, query: TicketListQuery, page_length: int
) -> int | None:
    """Where the next page starts, or None when this one is the last: a page shorter than
    `limit` is the last, and a full one is followed by another only if a ticket is left."""
    if page_length < query.limit:
        return None
    following = query.offset + query.limit
    probe = ticket_service.list_tickets(
        session,
        organization_id=caller.organization_id,
        viewer=caller.actor,
        filters=query.filters(),
        limit=1,
        offset=following,
    )
    return following if probe else None


def create_api_router(runtime: Runtime) -> APIRouter:
    """The REST API, to be mounted at /api. Tokens decide the organization."""
    router = APIRouter(
        route_class=ApiRoute,
        responses=error_responses(401),
        generate_unique_id_function=_operation_id,
        max_body_size=JSON_BODY_MAX_BYTES,
    )
    bearer = HTTPBearer(
        auto_error=False,
        scheme_name="bearerAuth",
        description="An API token made with `ticketbot api-token create --team TEAM_ID`.",
    )
    store = ContentStore(runtime.settings.file_storage_dir)
    max_attachment_bytes = runtime.settings.max_attachment_bytes

    def authenticated(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> ApiCaller:
        if credentials is None:
            raise unauthorized("Send an API token: 'Authorization: Bearer <token>'.")
        with runtime.db.session() as session:
            caller = tokens.authenticate(session, token=credentials.credentials)
        if caller is None:
            raise unauthorized("That API token is not valid or was revoked.", error="invalid_token")
        return caller

    Caller = Annotated[ApiCaller, Depends(authenticated)]

    @router.post(
        "/tickets",
        tags=["tickets"],
        status_code=201,
        summary="File a ticket",
        max_body_size=JSON_BODY_MAX_BYTES,
        response_description="The new ticket.",
        responses={
            200: {
                "model": TicketPublic,
                "description": "A retry with a known Idempotency-Key: the ticket filed first.",
            },
            **error_responses(413, 422),
        },
    )
    def create_ticket(
        body: TicketCreateRequest,
        caller: Caller,
        request: Request,
        response: Response,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> TicketPublic:
        """File a ticket as if from Slack: it gets the next number, its card is posted in the
        staff channel, and a requester who is a Slack user gets a DM."""
        with runtime.db.session() as session:
            filed = intake.file_ticket_once(
                session,
                organization=_organization(session, caller),
                actor=caller.actor,
                directory=runtime.directory,
                request=body,
                idempotency_key=idempotency_key,
            )
            result = TicketPublic.model_validate(filed.ticket)
        response.status_code = 200 if filed.replayed else 201
        response.headers["Location"] = _ticket_path(request, filed.ticket)
        return result

    @router.get(
        "/tickets",
        tags=["tickets"],
        summary="List tickets",
        responses=error_responses(422),
    )
    def list_tickets(caller: Caller, query: Annotated[TicketListQuery, Query()]) -> TicketPage:
        """Newest activity first (`updated_at`, then `id`, both descending); page with
        `limit` and `offset` until `next_offset` is null."""
        with runtime.db.session() as session:
            found = ticket_service.list_tickets(
                session,
                organization_id=caller.organization_id,
                viewer=caller.actor,
                filters=query.filters(),
                limit=query.limit,
                offset=query.offset,
            )
            return TicketPage(
                items=[TicketPublic.model_validate(t) for t in found],
                limit=query.limit,
                offset=query.offset,
                next_offset=_next_offset(session, caller, query, len(found)),
            )

    @router.get(
        "/tickets/{ticket_id}",
        tags=["tickets"],
        summary="Get a ticket",
        responses=error_responses(404, 422),
    )
    def get_ticket(ticket_id: TicketId, caller: Caller) -> TicketPublic:
        with runtime.db.session() as session:
            return TicketPublic.model_validate(_ticket(session, caller, ticket_id))

    @router.patch(
        "/tickets/{ticket_id}",
        tags=["tickets"],
        summary="Change a ticket",
        max_body_size=JSON_BODY_MAX_BYTES,
        responses=error_responses(404, 413, 422),
    )
    def update_ticket(
        ticket_id: TicketId, body: TicketUpdateRequest, caller: Caller
    ) -> TicketPublic:
        """Change the fields given (null clears an optional one). The card in Slack is
        updated and each change is noted in its thread; nothing changes if one is refused."""
        changes = body.model_dump(exclude_unset=True)
        with runtime.db.session() as session:
            organization = _organization(session, caller)
            ticket = _ticket(session, caller, ticket_id)
            intake.check_update_references(session, organization=organization, changes=changes)
            ticket_flows.change_ticket(
                session,
                organization=organization,
                ticket=ticket,
                actor=caller.actor,
                changes=changes,
                is_staff=member_has_staff_role,
            )
            return TicketPublic.model_validate(ticket)

    @router.post(
        "/tickets/{ticket_id}/comments",
        tags=["comments"],
        status_code=201,
        summary="Comment on a ticket",
        max_body_size=JSON_BODY_MAX_BYTES,
        responses=error_responses(403, 404, 413, 422),
    )
    def create_comment(
        ticket_id: TicketId, body: CommentCreateRequest, caller: Caller
    ) -> TicketCommentPublic:
        """A public reply is sent to the requester by DM; an internal note goes to the
        card's thread in the staff channel only."""
        with runtime.db.session() as session:
            organization = _organization(session, caller)
            ticket = _ticket(session, caller, ticket_id)
            comment = ticket_flows.add_comment(
                session,
                organization=organization,
                ticket=ticket,
                actor=intake.comment_author(
                    session, organization=organization, caller=caller, author_id=body.author_id
                ),
                content=body.content,
                comment_type=body.comment_type,
            )
            return TicketCommentPublic.model_validate(comment)

    @router.get(
        "/tickets/{ticket_id}/comments",
        tags=["comments"],
        summary="List a ticket's comments",
        responses=error_responses(404, 422),
    )
    def list_comments(ticket_id: TicketId, caller: Caller) -> CommentList:
        """Oldest first, internal notes included (a token acts with staff rights)."""
        with runtime.db.session() as session:
            ticket = _ticket(session, caller, ticket_id)
            found = comment_service.list_comments(session, ticket=ticket, viewer=caller.actor)
            return CommentList(items=[TicketCommentPublic.model_validate(c) for c in found])

    @router.post(
        "/tickets/{ticket_id}/attachments",
        tags=["attachments"],
        status_code=201,
        summary="Attach a file to a ticket",
        responses=error_responses(404, 413, 422),
        # Room for the base64 text of the largest allowed file (4 characters per 3 bytes).
        max_body_size=(max_attachment_bytes + 2) // 3 * 4 + JSON_BODY_MAX_BYTES,
    )
    def create_attachment(
        ticket_id: TicketId, body: AttachmentCreateRequest, caller: Caller, request: Request
    ) -> TicketAttachmentPublic:
        """Upload the bytes in `content_base64` (then `file_url` is where to download them),
        or record a link in `file_url`."""
        content = None
        if body.content_base64 is not None:
            content = decode_content(body.content_base64, max_bytes=max_attachment_bytes)
        with (
            store.writing(caller.organization_id, content) as storage_key,
            runtime.db.session() as session,
        ):
            attachment = add_api_attachment(
                session,
                organization=_organization(session, caller),
                ticket=_ticket(session, caller, ticket_id),
                actor=caller.actor,
                request=body,
                content=content,
                storage_key=storage_key,
                download_path=lambda attachment: _content_path(request, attachment),
            )
            return TicketAttachmentPublic.model_validate(attachment)

    @router.get(
        "/tickets/{ticket_id}/attachments",
        tags=["attachments"],
        summary="List a ticket's attachments",
        responses=error_responses(404, 422),
    )
    def list_attachments(ticket_id: TicketId, caller: Caller) -> AttachmentList:
        with runtime.db.session() as session:
            ticket = _ticket(session, caller, ticket_id)
            found = comment_service.list_attachments(session, ticket=ticket, viewer=caller.actor)
            return AttachmentList(items=[TicketAttachmentPublic.model_validate(a) for a in found])

    @router.get(
        "/tickets/{ticket_id}/attachments/{attachment_id}/content",
        tags=["attachments"],
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
        ticket_id: TicketId, attachment_id: AttachmentId, caller: Caller
    ) -> Response:
        """Only content uploaded through the API is stored here; other attachments are 404."""
        with runtime.db.session() as session:
            ticket = _ticket(session, caller, ticket_id)
            attachment = get_attachment(
                session, ticket=ticket, attachment_id=attachment_id, viewer=caller.actor
            )
            file = stored_file(session, store=store, attachment=attachment)
        return FileResponse(
            file.path,
            media_type=file.media_type,
            filename=file.filename,
            content_disposition_type="attachment",
            # A download, never a page of ours: no sniffing an uploaded file into HTML.
            headers={"X-Content-Type-Options": "nosniff"},
        )

    return router
