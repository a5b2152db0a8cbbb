"""REST: tickets (file, list, read, change)."""

from typing import Annotated

from fastapi import Query, Request, Response
from sqlmodel import Session

from bot.api import intake
from bot.api.deps import (
    JSON_BODY_MAX_BYTES,
    Caller,
    IdempotencyKeyHeader,
    RuntimeDep,
    TicketId,
    api_router,
    organization_of,
    ticket_of,
)
from bot.api.errors import error_responses
from bot.api.schemas import TicketCreateRequest, TicketListQuery, TicketPage, TicketUpdateRequest
from bot.api.tokens import ApiCaller
from bot.flows import tickets as ticket_flows
from bot.services import tickets as ticket_service
from bot.services.actors import member_has_staff_role
from models import Ticket
from models.ticket import TicketPublic

router = api_router(tags=["tickets"])


def _ticket_path(request: Request, ticket: Ticket) -> str:
    return str(request.app.url_path_for("get_ticket", ticket_id=str(ticket.id)))


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


@router.post(
    "/tickets",
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
    runtime: RuntimeDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TicketPublic:
    """File a ticket as if from Slack: it gets the next number, its card is posted in the
    staff channel, and a requester who is a Slack user gets a DM."""
    with runtime.db.session() as session:
        filed = intake.file_ticket_once(
            session,
            organization=organization_of(session, caller),
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
    summary="List tickets",
    responses=error_responses(422),
)
def list_tickets(
    caller: Caller, runtime: RuntimeDep, query: Annotated[TicketListQuery, Query()]
) -> TicketPage:
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
    summary="Get a ticket",
    responses=error_responses(404, 422),
)
def get_ticket(ticket_id: TicketId, caller: Caller, runtime: RuntimeDep) -> TicketPublic:
    with runtime.db.session() as session:
        return TicketPublic.model_validate(ticket_of(session, caller, ticket_id))


@router.patch(
    "/tickets/{ticket_id}",
    summary="Change a ticket",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(404, 413, 422),
)
def update_ticket(
    ticket_id: TicketId, body: TicketUpdateRequest, caller: Caller, runtime: RuntimeDep
) -> TicketPublic:
    """Change the fields given (null clears an optional one). The card in Slack is
    updated and each change is noted in its thread; nothing changes if one is refused."""
    changes = body.model_dump(exclude_unset=True)
    with runtime.db.session() as session:
        organization = organization_of(session, caller)
        ticket = ticket_of(session, caller, ticket_id)
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
