"""Buttons and menus: the staff card, the DM offer, App Home links."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App

from bot.blocks.conversation import internal_note_modal, reply_modal
from bot.blocks.tickets import More, ticket_id_from_block_id
from bot.core.errors import NotFound, PermissionDenied
from bot.core.text import from_slack
from bot.flows import tickets as ticket_flows
from bot.flows.reactions import fetch_message
from bot.ids import Action
from bot.outbox.render import ticket_view
from bot.services import tickets as ticket_service
from bot.services.actors import Actor
from handlers.common import open_ticket_modal, source_prefill, tenant
from models import TicketStatus

STAFF_ONLY = "Only the IT team can change tickets. Your request is in good hands!"
ADD_TO_TICKET = re.compile(rf"^{Action.OFFER_ADD_TO_TICKET}:(\d{{1,18}})$")
OPEN_CARD = re.compile(rf"^{Action.OPEN_CARD}:\d+$")


def _staff_ticket_id(context: Any, action: dict[str, Any]) -> int:
    runtime, organization, member = tenant(context)
    if not runtime.directory.is_staff(organization, member):
        raise PermissionDenied(STAFF_ONLY)
    ticket_id = ticket_id_from_block_id(action.get("block_id"))
    if ticket_id is None:
        raise NotFound("That card does not belong to a ticket I know.")
    return ticket_id


def card_action(ack: Ack, action: dict[str, Any], context: Any) -> None:
    """Assign, reassign, change status or priority from the card; staff only."""
    ack()
    ticket_id = _staff_ticket_id(context, action)
    runtime, organization, member = tenant(context)
    actor = runtime.directory.actor(organization, member)
    with runtime.db.session() as session:
        ticket = ticket_service.get_ticket(
            session, organization_id=organization.id, ticket_id=ticket_id
        )
        picked = action.get("selected_user")
        ticket_flows.change_ticket(
            session,
            organization=organization,
            ticket=ticket,
            actor=actor,
            changes=_changes(
                action,
                member.id,
                runtime.directory.member_for(session, organization, picked).id if picked else None,
            ),
            is_staff=runtime.directory.staff_check(organization),
        )


def _changes(
    action: dict[str, Any], member_id: int | None, picked_id: int | None
) -> dict[str, Any]:
    action_id = action.get("action_id")
    option = action.get("selected_option") or {}
    if action_id == Action.CARD_MORE:
        action_id = {
            More.ASSIGN_TO_ME: Action.ASSIGN_TO_ME,
            More.UNASSIGN: Action.ASSIGNEE,
            More.CLOSE: Action.STATUS,
        }.get(option.get("value"), "")
        option = {"value": TicketStatus.CLOSED.value}
    if action_id == Action.ASSIGN_TO_ME:
        return {"assigned_staff_id": member_id}
    if action_id == Action.ASSIGNEE:
        return {"assigned_staff_id": picked_id}
    if action_id == Action.REOPEN:
        return {"status": TicketStatus.OPEN.value}
    if action_id == Action.STATUS:
        return {"status": option.get("value")}
    if action_id == Action.CATEGORY:
        return {"category": option.get("value")}
    if action_id == Action.CLIENT_COMPANY:
        value = option.get("value") or ""
        if not value.isdigit():
            raise NotFound("I don't know that client company.")
        return {"client_company_id": int(value)}
    if action_id == Action.PRIORITY:
        return {"priority": option.get("value")}
    raise NotFound("I don't know that button.")


def card_more(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], client: Any, context: Any
) -> None:
    """The card's ⋯ menu: a note opens its form; the rest change the ticket."""
    if (action.get("selected_option") or {}).get("value") == More.NOTE:
        open_comment_modal(
            ack, {**action, "action_id": Action.ADD_INTERNAL_NOTE}, body, client, context
        )
    else:
        card_action(ack, action, context)


def open_comment_modal(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], client: Any, context: Any
) -> None:
    """ "Add internal note" / "Reply to requester": a modal; staff only."""
    ack()
    ticket_id = _staff_ticket_id(context, action)
    runtime, organization, member = tenant(context)
    with runtime.db.session() as session:
        ticket = ticket_service.get_ticket(
            session, organization_id=organization.id, ticket_id=ticket_id
        )
        view = ticket_view(session, ticket)
    modal = (
        internal_note_modal(view)
        if action["action_id"] == Action.ADD_INTERNAL_NOTE
        else reply_modal(view, staff_name=member.name)
    )
    client.views_open(trigger_id=body["trigger_id"], view=modal)


def offer_new_ticket(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], client: Any, context: Any
) -> None:
    """ "File as a new ticket" under a DM: the new-ticket form, prefilled from the DM."""
    ack()
    where = json.loads(action.get("value") or "{}")
    message = _dm_message(client, where)
    open_ticket_modal(
        client, context, body["trigger_id"], source_prefill(message, where["channel"], None)
    )


def offer_add_to_ticket(
    ack: Ack, action: dict[str, Any], client: Any, context: Any, respond: Any
) -> None:
    """ "Add to #N" under a DM: the message becomes the requester's reply on ticket N."""
    ack()
    match = ADD_TO_TICKET.match(action.get("action_id", ""))
    if match is None:
        raise NotFound("I don't know that ticket.")
    where = json.loads(action.get("value") or "{}")
    message = _dm_message(client, where)
    runtime, organization, member = tenant(context)
    # The offer lists the sender's own tickets: they add to it as its requester, so the
    # message is a requester reply even when the sender is staff.
    actor = Actor.for_member(member, is_staff=False)
    with runtime.db.session() as session:
        ticket = ticket_service.get_ticket(
            session, organization_id=organization.id, ticket_id=int(match.group(1))
        )
        ticket_flows.add_comment(
            session,
            organization=organization,
            ticket=ticket,
            actor=actor,
            content=from_slack(message.get("text")),
            comment_type="public_reply",
        )
        number = ticket.ticket_number
    respond(text=f":white_check_mark: Added to ticket #{number}.", replace_original=True)


def _dm_message(client: Any, where: dict[str, Any]) -> dict[str, Any]:
    message = fetch_message(client, where.get("channel", ""), where.get("ts", ""))
    if message is None:
        raise NotFound("I can't find that message any more.")
    return message


def acknowledge_link(ack: Ack) -> None:
    """Link buttons (App Home's "Open card") also send an action; nothing to do."""
    ack()


def register(app: App) -> None:
    for action_id in (
        Action.ASSIGN_TO_ME,
        Action.ASSIGNEE,
        Action.STATUS,
        Action.PRIORITY,
        Action.CLIENT_COMPANY,
        Action.CATEGORY,
        Action.REOPEN,
    ):
        app.action(action_id)(card_action)
    app.action(Action.CARD_MORE)(card_more)
    for action_id in (Action.REPLY_TO_REQUESTER, Action.ADD_INTERNAL_NOTE):
        app.action(action_id)(open_comment_modal)
    app.action(Action.OFFER_NEW_TICKET)(offer_new_ticket)
    app.action(ADD_TO_TICKET)(offer_add_to_ticket)
    app.action(OPEN_CARD)(acknowledge_link)
