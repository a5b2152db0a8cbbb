"""Use cases shared by Slack handlers, the REST API and the demo.

Each runs inside the caller's unit of work: the domain change (through the services) and
the Slack messages it causes (outbox rows) commit together or not at all. No Slack calls.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from bot.blocks.text import truncate
from bot.core.errors import InvalidInput, NotFound
from bot.core.text import from_slack
from bot.flows import attachments
from bot.flows import csat as csat_flows
from bot.ids import Action, CardMore
from bot.outbox import messages
from bot.services import comments as comment_service
from bot.services import sla as sla_service
from bot.services import sla_admin
from bot.services import tickets as ticket_service
from bot.services.actors import Actor, StaffCheck
from bot.services.tickets import Change
from models import (
    CommentType,
    Member,
    MessageRole,
    Organization,
    SlackMessageRef,
    Ticket,
    TicketComment,
    TicketStatus,
)
from models.ticket import TITLE_MAX_LENGTH, TicketCreate

MAX_SOURCE_FILES = 10


SOURCE_FILE_FIELDS = ("id", "name", "mimetype", "size", "permalink", "url_private_download")


def first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def source_files(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A Slack message's files, trimmed to what a ticket keeps of them."""
    return [
        {k: f.get(k) for k in SOURCE_FILE_FIELDS if f.get(k) is not None}
        for f in (message.get("files") or [])[:MAX_SOURCE_FILES]
    ]


def request_from_message(message: dict[str, Any], channel: str) -> TicketCreate:
    """A ticket request made of a Slack message: its first line, its text, its files."""
    text = from_slack(message.get("text")).strip()
    return TicketCreate(
        title=first_line(text)[:200] or "Ticket from a Slack message",
        description=text,
        source={
            "channel": channel,
            "ts": message.get("ts"),
            "thread_ts": message.get("thread_ts"),
            "author": message.get("user"),
            "files": source_files(message),
        },
    )


def ticket_for_source_message(
    session: Session, *, organization: Organization, channel: str, ts: str
) -> Ticket | None:
    """The ticket already filed from Slack message (channel, ts), if any."""
    ref = session.exec(
        select(SlackMessageRef).where(
            SlackMessageRef.organization_id == organization.id,
            SlackMessageRef.channel_id == channel,
            SlackMessageRef.ts == ts,
            SlackMessageRef.role == MessageRole.SOURCE,
        )
    ).first()
    return session.get(Ticket, ref.ticket_id) if ref else None


def file_typed_text(
    session: Session, *, organization: Organization, member: Member, text: str, channel: str | None
) -> Ticket:
    """File what someone typed after `/ticket` as their own ticket, without the form (Slack
    could not open it). A text too long for a title is kept whole as the description.

    Filed for themselves, so their staff status does not matter (asking Slack for the
    staff channel's members is what cannot be done now)."""
    title = truncate(text, TITLE_MAX_LENGTH)
    return file_ticket(
        session,
        organization=organization,
        filer=Actor.for_member(member),
        requester=member,
        request=TicketCreate(
            title=title, description=text if title != text else "", channel=channel
        ),
    )


def file_ticket(
    session: Session,
    *,
    organization: Organization,
    filer: Actor,
    requester: Member,
    request: TicketCreate,
    parent_ticket_id: int | None = None,
) -> Ticket:
    """Create the ticket, its attachments from the source message, and its Slack messages.

    The ticket's number is taken after its rows and before its outbox rows; the caller
    commits right after (the messages are drawn at delivery)."""
    source = request.source or {}
    if source.get("channel") and source.get("ts"):
        existing = ticket_for_source_message(
            session, organization=organization, channel=source["channel"], ts=source["ts"]
        )
        if existing is not None:
            raise InvalidInput(
                f"That message is already ticket #{existing.ticket_number}.", field="title"
            )
    # The client company: chosen by staff, else the requester's, else the channel's.
    client_company_id = request.client_company_id if filer.is_staff else None
    if client_company_id is None and requester.client_company_id is None:
        channel_companies = organization.settings.get("channel_companies") or {}
        client_company_id = channel_companies.get(source.get("channel") or request.channel or "")
    # A ticket filed from someone's message is that person's request, whoever files it.
    acting = filer
    if source.get("author") and source["author"] == requester.slack_user_id:
        acting = Actor(name=filer.name, is_staff=True, member=filer.member)
    ticket = ticket_service.create_ticket(
        session,
        organization=organization,
        requester=requester,
        actor=acting,
        request=request.model_copy(update={"client_company_id": client_company_id}),
        parent_ticket_id=parent_ticket_id,
        number_last=True,
    )
    if source.get("files"):
        attachments.enqueue_fetch(
            session,
            organization=organization,
            ticket=ticket,
            files=source["files"][:MAX_SOURCE_FILES],
            uploader=requester,
            uploader_is_staff=False,
            is_internal=False,
            share_to=attachments.SHARE_TO_STAFF,
            notify_channel=source.get("channel"),
            notify_thread_ts=source.get("thread_ts") or source.get("ts"),
        )
    # From here the organization's other filings wait until this one commits. The
    # messages come after the number, so the card rows' ids ascend in number order across
    # racing filings (and processes): the worker posts the staff channel's cards in id order.
    ticket_service.number_ticket(session, ticket=ticket)
    messages.ticket_created(
        session,
        organization=organization,
        ticket=ticket,
        source=source or None,
        filer=filer.member,
        requester=requester,
    )
    return ticket


def card_changes(
    control: str, value: str | None, *, member_id: int | None, picked_id: int | None
) -> dict[str, Any]:
    """The change a control of the card asks for: `control` is its action_id, `value` the
    option chosen (menus, ⋯), `picked_id` the member chosen in the assignee picker."""
    if control == Action.CARD_MORE:
        control, value = _MORE.get(value or "", ("", None))
    if control == Action.ASSIGN_TO_ME:
        return {"assigned_staff_id": member_id}
    if control == Action.ASSIGNEE:
        return {"assigned_staff_id": picked_id}
    if control == Action.REOPEN:
        return {"status": TicketStatus.OPEN.value}
    if control in _FIELD_OF_MENU:
        return {_FIELD_OF_MENU[control]: value}
    if control == Action.CLIENT_COMPANY:
        if not value or not value.isdigit() or len(value) > 18:
            raise NotFound("I don't know that client company.")
        return {"client_company_id": int(value)}
    raise NotFound("I don't know that control.")


_MORE: dict[str, tuple[str, str | None]] = {
    CardMore.ASSIGN_TO_ME: (Action.ASSIGN_TO_ME, None),
    CardMore.UNASSIGN: (Action.ASSIGNEE, None),
    CardMore.CLOSE: (Action.STATUS, TicketStatus.CLOSED.value),
}
_FIELD_OF_MENU: dict[str, str] = {
    Action.STATUS: "status",
    Action.PRIORITY: "priority",
    Action.CATEGORY: "category",
}


def change_ticket_by_id(
    session: Session,
    *,
    organization: Organization,
    ticket_id: int,
    actor: Actor,
    changes: dict[str, Any],
    is_staff: StaffCheck,
) -> list[Change]:
    """`change_ticket` for a ticket known by id (a card's button)."""
    ticket = ticket_service.get_ticket(
        session, organization_id=organization.id, ticket_id=ticket_id
    )
    return change_ticket(
        session,
        organization=organization,
        ticket=ticket,
        actor=actor,
        changes=changes,
        is_staff=is_staff,
    )


def change_ticket(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    actor: Actor,
    changes: dict[str, Any],
    is_staff: StaffCheck,
) -> list[Change]:
    """Apply changes to a ticket; the card is updated and each change gets a thread line."""
    applied = ticket_service.update_ticket(
        session,
        organization=organization,
        ticket=ticket,
        actor=actor,
        changes=changes,
        is_staff=is_staff,
    )
    messages.ticket_changed(
        session,
        organization=organization,
        ticket=ticket,
        actor=actor.member,
        actor_name=actor.name,
        changes=applied,
    )
    if any(c.field == "status" and c.new == TicketStatus.RESOLVED for c in applied):
        csat_flows.ask_on_resolve(session, organization=organization, ticket=ticket, actor=actor)
    if any(
        c.field == "status" and c.old == TicketStatus.RESOLVED and c.new == TicketStatus.CLOSED
        for c in applied
    ):
        csat_flows.ask_on_close(session, organization=organization, ticket=ticket)
    if any(c.field == "client_company_id" for c in applied) and ticket.client_company_id:
        # Staff placed an unmatched requester: their next tickets match by themselves.
        requester = session.get(Member, ticket.requester_id) if ticket.requester_id else None
        if requester is not None and requester.client_company_id is None:
            requester.client_company_id = ticket.client_company_id
            session.add(requester)
            session.flush()
    return applied


def add_comment(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    actor: Actor,
    content: str,
    comment_type: CommentType | str,
    already_in_staff_thread: bool = False,
) -> TicketComment:
    """Save a comment and carry it to Slack: notes to the staff thread only, public
    replies to the requester's DM thread (mirrored for staff), requester replies to staff."""
    comment = comment_service.add_comment(
        session,
        organization=organization,
        ticket=ticket,
        actor=actor,
        content=content,
        comment_type=comment_type,
    )
    messages.comment_added(
        session,
        organization=organization,
        ticket=ticket,
        comment=comment,
        already_in_staff_thread=already_in_staff_thread,
    )
    if sla_service.clocks_changed(session, ticket):
        # A response met or a next-response clock started: the card's SLA line changes.
        messages.refresh_card(session, organization=organization, ticket=ticket)
    return comment


def change_ticket_sla(
    session: Session, *, organization: Organization, ticket: Ticket, changes: dict[str, Any]
) -> None:
    """The ticket's own SLA policy and/or a resolution due instant set by hand; the card's
    SLA line follows."""
    if "sla_policy_id" in changes:
        sla_admin.set_ticket_policy(
            session, organization=organization, ticket=ticket, policy_id=changes["sla_policy_id"]
        )
    if "due_override_at" in changes:
        sla_service.set_due_override(session, ticket=ticket, due=changes["due_override_at"])
    if sla_service.clocks_changed(session, ticket):
        messages.refresh_card(session, organization=organization, ticket=ticket)
