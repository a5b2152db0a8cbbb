"""REST: tickets (file, list, read, change)."""

from typing import Annotated, Any

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
from bot.api.schemas import (
    ClockPublic,
    TicketCreateRequest,
    TicketListQuery,
    TicketPage,
    TicketSla,
    TicketUpdateRequest,
    TicketWithSla,
)
from bot.api.tokens import ApiCaller
from bot.core.errors import InvalidInput
from bot.flows import tickets as ticket_flows
from bot.runtime import Runtime
from bot.services import search
from bot.services import sla as sla_service
from bot.services import tickets as ticket_service
from bot.services.actors import member_has_staff_role
from models import Ticket
from models.ticket import TicketPublic

router = api_router(tags=["tickets"])


def _ticket_path(request: Request, ticket: Ticket) -> str:
    return str(request.app.url_path_for("get_ticket", ticket_id=str(ticket.id)))


def with_sla(session: Session, tickets: list[Ticket]) -> list[TicketWithSla]:
    """Tickets as the API shows them: each with its SLA policy and clocks."""
    states = sla_service.states_of(session, tickets)
    shown = []
    for ticket in tickets:
        state = states.get(ticket.id)  # type: ignore[arg-type]
        shown.append(
            TicketWithSla.model_validate(
                {
                    **TicketPublic.model_validate(ticket).model_dump(),
                    "sla": TicketSla(
                        policy_id=state.policy_id if state else None,
                        due_override_at=ticket.sla_due_override_at,
                        clocks=[
                            ClockPublic.model_validate(c, from_attributes=True)
                            for c in (state.clocks if state else [])
                        ],
                    ),
                }
            )
        )
    return shown


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


def _search(caller: ApiCaller, runtime: Runtime, query: TicketListQuery) -> TicketPage:
    if query.has_filters():
        raise InvalidInput(
            "Give either `q` or the other filters, not both (all of them can be said in `q`).",
            field="q",
        )
    with runtime.db.read_session() as session:
        scope = search.scope_for(
            organization_of(session, caller), member=None, is_staff=True, now=runtime.clock()
        )
        found = search.search(
            session, text=query.q, scope=scope, limit=query.limit, offset=query.offset
        )
        following = query.offset + len(found.tickets)
        return TicketPage(
            items=with_sla(session, list(found.tickets)),
            limit=query.limit,
            offset=query.offset,
            next_offset=following if following < found.total else None,
            description=found.description,
            total=found.total,
        )


@router.post(
    "/tickets",
    status_code=201,
    summary="File a ticket",
    max_body_size=JSON_BODY_MAX_BYTES,
    response_description="The new ticket.",
    responses={
        200: {
            "model": TicketWithSla,
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
) -> TicketWithSla:
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
        result = with_sla(session, [filed.ticket])[0]
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
    `limit` and `offset` until `next_offset` is null. With `q`, the query language decides
    (its `sort:` too), and the answer says how it was understood."""
    if query.q is not None:
        return _search(caller, runtime, query)
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
            items=with_sla(session, found),
            limit=query.limit,
            offset=query.offset,
            next_offset=_next_offset(session, caller, query, len(found)),
        )


@router.get(
    "/tickets/{ticket_id}",
    summary="Get a ticket",
    responses=error_responses(404, 422),
)
def get_ticket(ticket_id: TicketId, caller: Caller, runtime: RuntimeDep) -> TicketWithSla:
    with runtime.db.session() as session:
        return with_sla(session, [ticket_of(session, caller, ticket_id)])[0]


@router.patch(
    "/tickets/{ticket_id}",
    summary="Change a ticket",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(404, 413, 422),
)
def update_ticket(
    ticket_id: TicketId, body: TicketUpdateRequest, caller: Caller, runtime: RuntimeDep
) -> TicketWithSla:
    """Change the fields given (null clears an optional one). The card in Slack is
    updated and each change is noted in its thread; nothing changes if one is refused.
    `sla_policy_id` and `due_override_at` change the ticket's SLA clocks."""
    changes = body.model_dump(exclude_unset=True)
    sla_changes: dict[str, Any] = {
        k: changes.pop(k) for k in ("sla_policy_id", "due_override_at") if k in changes
    }
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
        if sla_changes:
            ticket_flows.change_ticket_sla(
                session, organization=organization, ticket=ticket, changes=sla_changes
            )
        return with_sla(session, [ticket])[0]
