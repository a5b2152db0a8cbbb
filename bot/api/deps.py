"""What the REST API's routes depend on: the runtime, the calling token, the organization
and ticket it may reach, the shared route settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from bot.api import intake, tokens
from bot.api.errors import ApiRoute, error_responses, unauthorized
from bot.api.schemas import MAX_DB_ID
from bot.api.tokens import ApiCaller
from bot.runtime import Runtime
from bot.services import tickets as ticket_service
from models import Organization, Ticket

# Bodies other than uploads are small: a full-length comment, JSON-escaped, fits many times.
JSON_BODY_MAX_BYTES = 1024 * 1024

TicketId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="The ticket's `id`.")]
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


def api_router(**kwargs: Any) -> APIRouter:
    """A router of the REST API: its error shapes, operation ids and body limit."""
    return APIRouter(
        route_class=ApiRoute,
        responses=error_responses(401),
        generate_unique_id_function=_operation_id,
        max_body_size=JSON_BODY_MAX_BYTES,
        **kwargs,
    )


def get_runtime(request: Request) -> Runtime:
    """The running Ticketbot, put on the web app by `bot.web.create_web_app`."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="An API token made with `ticketbot api-token create --team TEAM_ID`.",
)


def authenticated(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiCaller:
    if credentials is None:
        raise unauthorized("Send an API token: 'Authorization: Bearer <token>'.")
    with runtime.db.session() as session:
        caller = tokens.authenticate(session, token=credentials.credentials)
    if caller is None:
        raise unauthorized("That API token is not valid or was revoked.", error="invalid_token")
    return caller


Caller = Annotated[ApiCaller, Depends(authenticated)]


def organization_of(session: Session, caller: ApiCaller) -> Organization:
    organization = session.get(Organization, caller.organization_id)
    if organization is None:  # pragma: no cover - organizations are never deleted
        raise unauthorized("The organization of this token no longer exists.")
    return organization


def ticket_of(session: Session, caller: ApiCaller, ticket_id: int) -> Ticket:
    # Another organization's ticket raises the very NotFound a missing one does.
    return ticket_service.get_ticket(
        session, organization_id=caller.organization_id, ticket_id=ticket_id
    )
