"""Tickets: numbering, creation, lookup, updates with an event log, listing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.core.errors import InvalidInput, NotFound, PermissionDenied
from bot.core.text import unstorable_reason
from bot.services import sla, time_tracking
from bot.services.actors import Actor, StaffCheck, member_has_staff_role
from bot.services.organizations import get_client_company, get_member
from models import (
    Member,
    Organization,
    Ticket,
    TicketEvent,
    TicketPriority,
    TicketStatus,
    saved_id,
    table_of,
    utcnow,
)
from models.ticket import (
    DESCRIPTION_MAX_LENGTH,
    DEVICE_ID_MAX_LENGTH,
    OPEN_STATUS_PREDICATE,
    TITLE_MAX_LENGTH,
    TicketCreate,
)

MAX_PAGE_SIZE = 200
OPEN_STATUSES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.PENDING)
# Fields `update_ticket` accepts, in the order their event-log lines are written.
UPDATABLE_FIELDS = (
    "title",
    "description",
    "status",
    "priority",
    "category",
    "assigned_staff_id",
    "client_company_id",
    "device_id",
)


# Built once: every new ticket runs it, with the organization's row locked (see below).
_ORGANIZATION = table_of(Organization)
_NEXT_TICKET_NUMBER = (
    update(_ORGANIZATION)
    .where(_ORGANIZATION.c.id == bindparam("organization_id"))
    .values(last_ticket_number=_ORGANIZATION.c.last_ticket_number + 1)
    .returning(_ORGANIZATION.c.last_ticket_number)
)


_TICKET = table_of(Ticket)
_SET_TICKET_NUMBER = (
    update(_TICKET)
    .where(_TICKET.c.id == bindparam("ticket_id"))
    .values(ticket_number=bindparam("ticket_number"))
)


_NUMBER_TICKET_PG = text(
    "WITH counter AS ("
    " UPDATE organization SET last_ticket_number = last_ticket_number + 1"
    " WHERE id = :organization_id RETURNING last_ticket_number)"
    " UPDATE ticket SET ticket_number = counter.last_ticket_number FROM counter"
    " WHERE ticket.id = :ticket_id RETURNING ticket.ticket_number"
)


def allocate_ticket_number(session: Session, *, organization_id: int) -> int:
    """The organization's next ticket number, atomically.

    One UPDATE … RETURNING on the organization's counter: PostgreSQL holds the row lock
    until commit and SQLite's writer lock does the same, so concurrent creators queue and
    each transaction that commits owns a distinct number. A rolled-back transaction gives
    its number back, so committed numbers have no gaps. (A Core statement on the unit of
    work's connection: the ORM's bulk-update machinery would only add cost here.)
    """
    number = (
        session.connection()
        .execute(_NEXT_TICKET_NUMBER, {"organization_id": organization_id})
        .scalar_one_or_none()
    )
    if number is None:
        raise NotFound("That organization does not exist.")
    return int(number)


def ensure_storable(value: str, *, field: str, label: str) -> str:
    """Refuse text the database cannot hold, naming the field."""
    reason = unstorable_reason(value)
    if reason is not None:
        raise InvalidInput(f"The {label} {reason}; remove it and try again.", field=field)
    return value


def clean_title(title: str | None) -> str:
    title = ensure_storable(" ".join((title or "").split()), field="title", label="title")
    if not title:
        raise InvalidInput("Give the ticket a title.", field="title")
    if len(title) > TITLE_MAX_LENGTH:
        raise InvalidInput(
            f"Keep the title under {TITLE_MAX_LENGTH} characters (it has {len(title)}).",
            field="title",
        )
    return title


def clean_description(description: str | None) -> str:
    description = ensure_storable(
        (description or "").strip(), field="description", label="description"
    )
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise InvalidInput(
            f"Keep the description under {DESCRIPTION_MAX_LENGTH:,} characters "
            f"(it has {len(description):,}).",
            field="description",
        )
    return description


def parse_priority(value: str | None, *, default: TicketPriority) -> TicketPriority:
    if value is None or value == "":
        return default
    try:
        return TicketPriority(value)
    except ValueError:
        choices = ", ".join(p.value for p in TicketPriority)
        raise InvalidInput(
            f"Unknown priority {value!r}; choose one of {choices}.", field="priority"
        ) from None


def parse_status(value: str) -> TicketStatus:
    try:
        return TicketStatus(value)
    except ValueError:
        choices = ", ".join(s.value for s in TicketStatus)
        raise InvalidInput(
            f"Unknown status {value!r}; choose one of {choices}.", field="status"
        ) from None


def parse_category(organization: Organization, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    for category in organization.categories:
        if category.lower() == value.strip().lower():
            return category
    choices = ", ".join(organization.categories)
    raise InvalidInput(f"Unknown category {value!r}; choose one of {choices}.", field="category")


def _clean_device(value: str | None) -> str | None:
    value = (value or "").strip()
    if len(value) > DEVICE_ID_MAX_LENGTH:
        raise InvalidInput(
            f"Keep the device id under {DEVICE_ID_MAX_LENGTH} characters.", field="device_id"
        )
    return value or None


def create_ticket(
    session: Session,
    *,
    organization: Organization,
    requester: Member,
    actor: Actor,
    request: TicketCreate,
    parent_ticket_id: int | None = None,
    number_last: bool = False,
) -> Ticket:
    """File a ticket for `requester`. Only staff may file on someone else's behalf; the
    client company is the requested one, else the requester's.

    With `number_last`, the ticket gets a stand-in number and the caller gives it its real
    one with `number_ticket` as the unit of work's last statement (see there). The request's
    `created_at` (an import from another system) may be in the past, never in the future;
    SLA clocks start from it.
    """
    if requester.organization_id != organization.id:
        raise NotFound("That requester is not known in this workspace.")
    ensure_member_of(organization.id, actor)
    if not actor.is_staff and actor.member_id != requester.id:
        raise PermissionDenied("Only staff can file a ticket on someone else's behalf.")
    # Checked in this order, so the first problem a person sees is the first field's.
    clean_title_ = clean_title(request.title)
    clean_description_ = clean_description(request.description)
    clean_priority = parse_priority(request.priority, default=organization.default_priority)
    clean_category = parse_category(organization, request.category)
    clean_device = _clean_device(request.device_id)
    client_company_id = request.client_company_id
    if client_company_id is not None:
        get_client_company(session, organization_id=organization.id, company_id=client_company_id)
    else:
        client_company_id = requester.client_company_id
    if parent_ticket_id is not None:  # a follow-up links to a ticket of the same organization
        get_ticket(session, organization_id=organization.id, ticket_id=parent_ticket_id)
    now = utcnow()
    created_at = request.created_at
    if created_at is not None:
        if created_at.tzinfo is None:
            raise InvalidInput("Give created_at with its time zone.", field="created_at")
        if created_at > now:
            raise InvalidInput("created_at cannot be in the future.", field="created_at")
    ticket = Ticket(
        organization_id=saved_id(organization),
        ticket_number=(
            _stand_in_number()
            if number_last
            else allocate_ticket_number(session, organization_id=saved_id(organization))
        ),
        requester_id=requester.id,
        client_company_id=client_company_id,
        parent_ticket_id=parent_ticket_id,
        status=TicketStatus.OPEN,
        created_at=created_at or now,
        updated_at=now,
        title=clean_title_,
        description=clean_description_,
        priority=clean_priority,
        category=clean_category,
        device_id=clean_device,
    )
    _insert_new_ticket(session, ticket)
    connection = session.connection()
    connection.execute(_INSERT_EVENT, _event_row(ticket, actor, "created", None, ticket.title))
    sla.on_ticket_created(session, ticket=ticket)
    return ticket


def _insert_new_ticket(session: Session, ticket: Ticket) -> None:
    """INSERT the new ticket with one Core statement and put it in the session as if it
    had been loaded: a filing is on Slack's ack path, and the ORM's flush of one object
    (its unit-of-work bookkeeping) costs several times the statement."""
    session.flush()  # whatever the unit of work holds first, as a flush would order it
    values = {column.key: getattr(ticket, column.key) for column in _TICKET.columns}
    del values["id"]
    result = session.connection().execute(_INSERT_TICKET, values)
    ticket.id = int(result.inserted_primary_key[0])  # type: ignore[index]
    make_transient_to_detached(ticket)
    session.add(ticket)


def _event_row(ticket: Ticket, actor: Actor, field: str, old: Any, new: Any) -> dict[str, Any]:
    return {
        "ticket_id": ticket.id,
        "organization_id": ticket.organization_id,
        "actor_id": actor.member_id,
        "actor_name": actor.name[:200],
        "field": field,
        "old_value": None if old is None else str(old)[:500],
        "new_value": None if new is None else str(new)[:500],
        "created_at": utcnow(),
    }


_TICKET = table_of(Ticket)
_INSERT_TICKET = insert(_TICKET)
_INSERT_EVENT = insert(table_of(TicketEvent))


def _stand_in_number() -> int:
    """A number no committed ticket has (they are positive), unlikely to be another
    unfinished filing's; if it is, PostgreSQL makes this one wait for the other's commit,
    which replaces it, and goes on."""
    return -1 - secrets.randbelow(2**31 - 2)


def number_ticket(session: Session, *, ticket: Ticket) -> int:
    """Give a ticket created with `number_last` its organization's next number.

    Call it last, just before the commit: from the counter's UPDATE to the commit, every
    other filing of the organization waits (PostgreSQL's row lock), so that time is kept
    to two statements instead of the whole filing (inserts, outbox rows, each a round
    trip to the database).
    """
    session.flush()  # whatever the unit of work still holds goes in before the lock
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # One round trip: the counter and the ticket in one statement.
        number = connection.execute(
            _NUMBER_TICKET_PG,
            {"organization_id": ticket.organization_id, "ticket_id": ticket.id},
        ).scalar_one()
    else:
        number = allocate_ticket_number(session, organization_id=ticket.organization_id)
        connection.execute(_SET_TICKET_NUMBER, {"ticket_id": ticket.id, "ticket_number": number})
    set_committed_value(ticket, "ticket_number", number)
    return int(number)


def get_ticket(session: Session, *, organization_id: int | None, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.organization_id != organization_id:
        raise NotFound(f"There is no ticket with id {ticket_id}.")
    return ticket


def get_ticket_by_number(session: Session, *, organization_id: int | None, number: int) -> Ticket:
    ticket = session.exec(
        select(Ticket).where(
            Ticket.organization_id == organization_id, Ticket.ticket_number == number
        )
    ).first()
    if ticket is None:
        raise NotFound(f"There is no ticket #{number}.")
    return ticket


def ensure_member_of(organization_id: int | None, actor: Actor) -> None:
    """An actor who is a member acts only in the member's own organization."""
    if actor.member is not None and actor.member.organization_id != organization_id:
        raise NotFound("There is no such ticket.")


def ensure_can_view(ticket: Ticket, viewer: Actor) -> None:
    """Staff see every ticket of their organization; end users only their own."""
    ensure_member_of(ticket.organization_id, viewer)
    if viewer.is_staff:
        return
    if viewer.member_id is None or ticket.requester_id != viewer.member_id:
        raise PermissionDenied(f"Ticket #{ticket.ticket_number} is not one of yours.")


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


def update_ticket(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    actor: Actor,
    changes: dict[str, Any],
    is_staff: StaffCheck = member_has_staff_role,
) -> list[Change]:
    """Apply `changes` (field → new value) and log each real change. Staff only.

    Every value is checked before anything is written, so a refused change leaves the
    ticket as it was. Returns the changes that took effect (none for a no-op).
    """
    if ticket.organization_id != organization.id:
        raise NotFound("There is no such ticket.")
    ensure_member_of(organization.id, actor)
    if not actor.is_staff:
        raise PermissionDenied("Only staff can change a ticket.")
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    cleaned = _clean_changes(session, organization, changes, is_staff)
    applied: list[Change] = []
    for field in UPDATABLE_FIELDS:
        if field not in cleaned:
            continue
        old, new = getattr(ticket, field), cleaned[field]
        if old == new:
            continue
        setattr(ticket, field, new)
        applied.append(Change(field=field, old=old, new=new))
    if not applied:
        return []
    now = utcnow()
    for change in applied:
        if change.field == "status":
            _stamp_status_times(ticket, TicketStatus(change.new), now)
        _log(
            session, ticket=ticket, actor=actor, field=change.field, old=change.old, new=change.new
        )
    ticket.updated_at = now
    session.add(ticket)
    session.flush()
    for change in applied:
        if change.field == "status":
            sla.on_status_changed(session, ticket=ticket, old=change.old, new=change.new, at=now)
    if any(c.field in ("priority", "client_company_id") for c in applied):
        sla.on_terms_changed(session, ticket=ticket)
    if any(change.field == "client_company_id" for change in applied):
        time_tracking.move_to_client(session, ticket=ticket)
    return applied


def reopen_for_requester_reply(
    session: Session, *, organization: Organization, ticket: Ticket, actor: Actor
) -> Change | None:
    """A requester's reply puts a waiting ticket back in the queue.

    Pending (waiting on the requester) and resolved tickets go back to open; other
    statuses are left alone. Closed tickets are not reopened: a reply to one starts a
    follow-up ticket instead (see the conversation workflow).
    """
    if ticket.organization_id != organization.id:
        raise NotFound("There is no such ticket.")
    ensure_can_view(ticket, actor)
    if ticket.status not in (TicketStatus.PENDING, TicketStatus.RESOLVED):
        return None
    change = Change(field="status", old=ticket.status, new=TicketStatus.OPEN)
    now = utcnow()
    ticket.status = TicketStatus.OPEN
    _stamp_status_times(ticket, TicketStatus.OPEN, now)
    ticket.updated_at = now
    _log(session, ticket=ticket, actor=actor, field="status", old=change.old, new=change.new)
    session.add(ticket)
    session.flush()
    sla.on_status_changed(session, ticket=ticket, old=change.old, new=change.new, at=now)
    return change


def carry_over(session: Session, *, parent: Ticket, follow_up: Ticket) -> None:
    """A follow-up of a closed ticket keeps its assignee and client company (logged as
    Ticketbot's changes); priority and category come with the filing itself."""
    ticketbot = Actor(name="Ticketbot", is_staff=True)
    changed_terms = False
    for field in ("assigned_staff_id", "client_company_id"):
        old, new = getattr(follow_up, field), getattr(parent, field)
        if new is None or old == new:
            continue
        setattr(follow_up, field, new)
        _log(session, ticket=follow_up, actor=ticketbot, field=field, old=old, new=new)
        if field == "client_company_id":
            changed_terms = True
    session.add(follow_up)
    session.flush()
    if changed_terms:  # the client's SLA policy may differ from the requester's default
        sla.on_terms_changed(session, ticket=follow_up)


def close_for_requester(
    session: Session, *, organization: Organization, ticket: Ticket, actor: Actor
) -> Change | None:
    """The requester says their problem is fixed: the ticket closes (None when it already
    is). Only the ticket's own requester may."""
    if ticket.organization_id != organization.id:
        raise NotFound("There is no such ticket.")
    if actor.member_id is None or ticket.requester_id != actor.member_id:
        raise PermissionDenied(f"Ticket #{ticket.ticket_number} is not one of yours.")
    if ticket.status == TicketStatus.CLOSED:
        return None
    change = Change(field="status", old=ticket.status, new=TicketStatus.CLOSED)
    now = utcnow()
    ticket.status = TicketStatus.CLOSED
    _stamp_status_times(ticket, TicketStatus.CLOSED, now)
    ticket.updated_at = now
    _log(session, ticket=ticket, actor=actor, field="status", old=change.old, new=change.new)
    session.add(ticket)
    session.flush()
    sla.on_status_changed(session, ticket=ticket, old=change.old, new=change.new, at=now)
    return change


def _clean_changes(
    session: Session, organization: Organization, changes: dict[str, Any], is_staff: StaffCheck
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "title":
            cleaned[field] = clean_title(value)
        elif field == "description":
            cleaned[field] = clean_description(value)
        elif field == "status":
            cleaned[field] = parse_status(value)
        elif field == "priority":
            cleaned[field] = parse_priority(value, default=TicketPriority.MEDIUM) if value else None
            if cleaned[field] is None:
                raise InvalidInput("A ticket always has a priority.", field="priority")
        elif field == "category":
            cleaned[field] = parse_category(organization, value)
        elif field == "device_id":
            cleaned[field] = _clean_device(value)
        elif field == "client_company_id":
            if value is not None:
                get_client_company(session, organization_id=organization.id, company_id=value)
            cleaned[field] = value
        elif field == "assigned_staff_id":
            if value is not None:
                assignee = get_member(session, organization_id=organization.id, member_id=value)
                if not is_staff(assignee):
                    raise InvalidInput(
                        f"{assignee.name} is not staff, so they cannot be assigned tickets.",
                        field="assigned_staff_id",
                    )
            cleaned[field] = value
    return cleaned


def _stamp_status_times(ticket: Ticket, status: TicketStatus, now: datetime) -> None:
    if status == TicketStatus.RESOLVED:
        ticket.resolved_at = now
        ticket.closed_at = None
    elif status == TicketStatus.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    else:  # back to work: the ticket is neither resolved nor closed any more
        ticket.resolved_at = None
        ticket.closed_at = None


def _log(
    session: Session, *, ticket: Ticket, actor: Actor, field: str, old: Any, new: Any
) -> TicketEvent:
    event = TicketEvent(**_event_row(ticket, actor, field, old, new))
    session.add(event)
    return event


SENT_TO_REQUESTER = "sent_to_requester"


def was_sent_to_requester(session: Session, *, ticket: Ticket, message: str) -> bool:
    """Whether staff already sent this message (`message`: where it is, "channel:ts") of
    the ticket's staff thread to its requester."""
    return (
        session.exec(
            select(TicketEvent.id).where(
                TicketEvent.ticket_id == ticket.id,
                TicketEvent.field == SENT_TO_REQUESTER,
                TicketEvent.new_value == message[:500],
            )
        ).first()
        is not None
    )


def record_sent_to_requester(
    session: Session, *, ticket: Ticket, actor: Actor, message: str
) -> None:
    """Log that a message of the staff thread was sent to the requester (sent once)."""
    _log(session, ticket=ticket, actor=actor, field=SENT_TO_REQUESTER, old=None, new=message)
    session.flush()


def touch(ticket: Ticket) -> None:
    """Mark the ticket as changed now (a comment or file counts as activity)."""
    ticket.updated_at = utcnow()


def list_events(session: Session, *, ticket: Ticket) -> list[TicketEvent]:
    return list(
        session.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(col(TicketEvent.id))
        ).all()
    )


@dataclass(frozen=True)
class TicketFilter:
    status: list[TicketStatus] | None = None
    priority: TicketPriority | None = None
    assigned_staff_id: int | None = None
    unassigned: bool = False
    requester_id: int | None = None
    client_company_id: int | None = None
    ticket_number: int | None = None
    updated_since: datetime | None = None


def list_tickets(
    session: Session,
    *,
    organization_id: int | None,
    viewer: Actor,
    filters: TicketFilter = TicketFilter(),
    limit: int = 50,
    offset: int = 0,
) -> list[Ticket]:
    """Tickets of one organization, newest activity first (ties by id), paginated.

    End users only ever get the tickets they requested.
    """
    if limit < 1 or limit > MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}.", field="limit")
    if offset < 0:
        raise InvalidInput("offset cannot be negative.", field="offset")
    ensure_member_of(organization_id, viewer)
    if not viewer.is_staff and viewer.member_id is None:
        return []  # `requester_id == None` would match tickets without a requester
    query = select(Ticket).where(Ticket.organization_id == organization_id)
    if not viewer.is_staff:
        query = query.where(Ticket.requester_id == viewer.member_id)
    if filters.status and set(filters.status) == set(OPEN_STATUSES):
        # Written as the partial index `ix_ticket_org_open_assignee` is, so that it applies.
        query = query.where(text(f"ticket.{OPEN_STATUS_PREDICATE}"))
    elif filters.status:
        query = query.where(col(Ticket.status).in_([s.value for s in filters.status]))
    if filters.priority is not None:
        query = query.where(Ticket.priority == filters.priority.value)
    if filters.unassigned:
        query = query.where(col(Ticket.assigned_staff_id).is_(None))
    elif filters.assigned_staff_id is not None:
        query = query.where(Ticket.assigned_staff_id == filters.assigned_staff_id)
    if filters.requester_id is not None:
        query = query.where(Ticket.requester_id == filters.requester_id)
    if filters.client_company_id is not None:
        query = query.where(Ticket.client_company_id == filters.client_company_id)
    if filters.ticket_number is not None:
        query = query.where(Ticket.ticket_number == filters.ticket_number)
    if filters.updated_since is not None:
        query = query.where(Ticket.updated_at >= filters.updated_since)
    query = (
        query.order_by(col(Ticket.updated_at).desc(), col(Ticket.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(query).all())
