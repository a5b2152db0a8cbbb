"""What the API does beyond the services: find or add the requester, file a ticket at most
once per Idempotency-Key, and check the ids a request body refers to."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.api.errors import IdempotencyKeyReused
from bot.api.schemas import TicketCreateRequest
from bot.api.tokens import ApiCaller
from bot.core.errors import InvalidInput, NotFound
from bot.flows import tickets as ticket_flows
from bot.services import organizations as orgs
from bot.services.actors import Actor
from bot.slack.people import SlackDirectory
from models import Member, MemberRole, Organization, Ticket
from models.api import IdempotencyKey
from models.ticket import TicketCreate

IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class FiledTicket:
    ticket: Ticket
    # True when an earlier request with the same Idempotency-Key had filed it.
    replayed: bool = False


def member_of(
    session: Session, *, organization: Organization, member_id: int, field: str
) -> Member:
    """The member a request body names; an unknown id is bad input (422), not a 404."""
    try:
        return orgs.get_member(session, organization_id=organization.id, member_id=member_id)
    except NotFound:
        raise InvalidInput(
            f"There is no member with id {member_id} in this organization.", field=field
        ) from None


def comment_author(
    session: Session,
    *,
    organization: Organization,
    caller: ApiCaller,
    author_id: int | None,
) -> Actor:
    """Who a comment is by: the token's integration, or the member it names, who then
    writes with that member's own rights (an end user cannot write internal notes)."""
    if author_id is None:
        return caller.actor
    return Actor.for_member(
        member_of(session, organization=organization, member_id=author_id, field="author_id")
    )


def reopens_as_follow_up(ticket: Ticket, author: Actor, comment_type: str) -> bool:
    """A public reply by the ticket's requester to a closed ticket starts a follow-up
    ticket (as a reply in Slack does)."""
    return (
        ticket.status == "closed"
        and comment_type == "public_reply"
        and not author.is_staff
        and author.member is not None
        and author.member.id == ticket.requester_id
    )


def check_client_company(
    session: Session, *, organization: Organization, company_id: int | None
) -> None:
    if company_id is None:
        return
    try:
        orgs.get_client_company(session, organization_id=organization.id, company_id=company_id)
    except NotFound:
        raise InvalidInput(
            f"There is no client company with id {company_id} in this organization.",
            field="client_company_id",
        ) from None


def check_update_references(
    session: Session, *, organization: Organization, changes: dict[str, Any]
) -> None:
    """Ids a PATCH body sets must name rows of the organization (422 otherwise)."""
    if changes.get("assigned_staff_id") is not None:
        member_of(
            session,
            organization=organization,
            member_id=changes["assigned_staff_id"],
            field="assigned_staff_id",
        )
    check_client_company(
        session, organization=organization, company_id=changes.get("client_company_id")
    )


def resolve_requester(
    session: Session,
    *,
    organization: Organization,
    directory: SlackDirectory,
    request: TicketCreateRequest,
) -> Member:
    """The requester by member id, Slack user id or email; an unknown email becomes a new
    end user (in the client company of its domain), an unknown Slack user a new member whose
    profile is read from Slack later, as when they first use Ticketbot in Slack."""
    if request.requester_id is not None:
        return member_of(
            session, organization=organization, member_id=request.requester_id, field="requester_id"
        )
    if request.requester_slack_user_id is not None:
        return directory.member_for(session, organization, request.requester_slack_user_id)
    return _member_by_email(
        session,
        organization=organization,
        email=request.requester_email,
        name=request.requester_name,
    )


def _member_by_email(
    session: Session, *, organization: Organization, email: str | None, name: str | None
) -> Member:
    try:
        address = orgs.normalise_email(email)
    except InvalidInput as error:
        raise InvalidInput(error.message, field="requester_email") from None
    if address is None:
        raise InvalidInput("Give the requester's email address.", field="requester_email")
    found = orgs.find_member_by_email(session, organization_id=organization.id, email=address)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            return orgs.create_member(
                session,
                organization=organization,
                name=name or address.split("@", 1)[0],
                email=address,
                role=MemberRole.END_USER,
            )
    except IntegrityError:
        # Another request added the same person a moment ago.
        existing = orgs.find_member_by_email(
            session, organization_id=organization.id, email=address
        )
        if existing is None:  # pragma: no cover - the constraint that failed says it exists
            raise
        return existing


def file_api_ticket(
    session: Session,
    *,
    organization: Organization,
    actor: Actor,
    requester: Member,
    request: TicketCreateRequest,
) -> Ticket:
    """File a ticket for an integration exactly as Slack files one (same service, same card
    and DM), with the fields only integrations send (client company, device)."""
    check_client_company(session, organization=organization, company_id=request.client_company_id)
    return ticket_flows.file_ticket(
        session,
        organization=organization,
        filer=actor,
        requester=requester,
        request=TicketCreate(
            title=request.title,
            description=request.description or "",
            priority=request.priority,
            category=request.category,
            client_company_id=request.client_company_id,
            device_id=request.device_id,
            created_at=request.created_at,
        ),
    )


def request_fingerprint(request: TicketCreateRequest) -> str:
    # The validated body, defaults filled in: `{"title": "x"}` and
    # `{"title": "x", "priority": null}` are the same request.
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _recorded_key(
    session: Session, *, organization: Organization, key: str
) -> IdempotencyKey | None:
    return session.exec(
        select(IdempotencyKey).where(
            IdempotencyKey.organization_id == organization.id, IdempotencyKey.key == key
        )
    ).first()


def _replay(session: Session, record: IdempotencyKey, fingerprint: str) -> FiledTicket:
    ticket = session.get(Ticket, record.ticket_id) if record.ticket_id is not None else None
    if record.request_fingerprint != fingerprint:
        earlier = f" (it filed ticket #{ticket.ticket_number})" if ticket is not None else ""
        raise IdempotencyKeyReused(
            f"This Idempotency-Key was already used with a different request body{earlier}. "
            "Send the same body to retry, or a new key for a new ticket.",
            field=IDEMPOTENCY_HEADER,
        )
    if ticket is None:  # pragma: no cover - the key and its ticket commit together
        raise NotFound("The ticket of this Idempotency-Key no longer exists.")
    return FiledTicket(ticket=ticket, replayed=True)


def file_ticket_once(
    session: Session,
    *,
    organization: Organization,
    actor: Actor,
    directory: SlackDirectory,
    request: TicketCreateRequest,
    idempotency_key: str | None,
) -> FiledTicket:
    """File the ticket, or, for an Idempotency-Key seen before, answer with its ticket.

    The key row is inserted before the ticket is filed: a concurrent request with the same
    key then waits on the unique constraint until this transaction ends, and either fails
    (this one committed: it answers with our ticket) or goes ahead (this one rolled back).
    """

    def file() -> Ticket:
        requester = resolve_requester(
            session, organization=organization, directory=directory, request=request
        )
        return file_api_ticket(
            session, organization=organization, actor=actor, requester=requester, request=request
        )

    if idempotency_key is None:
        return FiledTicket(ticket=file())
    fingerprint = request_fingerprint(request)
    recorded = _recorded_key(session, organization=organization, key=idempotency_key)
    if recorded is not None:
        return _replay(session, recorded, fingerprint)
    record = IdempotencyKey(
        organization_id=organization.id,  # type: ignore[arg-type]
        key=idempotency_key,
        request_fingerprint=fingerprint,
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        winner = _recorded_key(session, organization=organization, key=idempotency_key)
        if winner is None:  # pragma: no cover - the constraint that failed says it exists
            raise
        return _replay(session, winner, fingerprint)
    ticket = file()
    record.ticket_id = ticket.id
    session.add(record)
    session.flush()
    return FiledTicket(ticket=ticket)
