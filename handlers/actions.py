"""Buttons and menus on the staff card."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot import workflows
from bot.blocks.tickets import ticket_id_from_block_id
from bot.errors import NotFound, PermissionDenied
from bot.ids import Action
from bot.services import tickets as ticket_service
from handlers.common import tenant

STAFF_ONLY = "Only the IT team can change tickets. Your request is in good hands!"


def card_action(ack: Ack, action: dict[str, Any], context: Any) -> None:
    """Assign, reassign, change status or priority from the card; staff only."""
    ack()
    runtime, organization, member = tenant(context)
    actor = runtime.directory.actor(organization, member)
    if not actor.is_staff:
        raise PermissionDenied(STAFF_ONLY)
    ticket_id = ticket_id_from_block_id(action.get("block_id"))
    if ticket_id is None:
        raise NotFound("That card does not belong to a ticket I know.")
    with runtime.db.session() as session:
        ticket = ticket_service.get_ticket(
            session, organization_id=organization.id, ticket_id=ticket_id
        )
        workflows.change_ticket(
            session,
            organization=organization,
            ticket=ticket,
            actor=actor,
            changes=_changes(
                action,
                member.id,
                lambda user: runtime.directory.member_for(session, organization, user).id,
            ),
            is_staff=runtime.directory.staff_check(organization),
        )


def _changes(action: dict[str, Any], member_id: int | None, member_id_of: Any) -> dict[str, Any]:
    action_id = action.get("action_id")
    if action_id == Action.ASSIGN_TO_ME:
        return {"assigned_staff_id": member_id}
    if action_id == Action.ASSIGNEE:
        user = action.get("selected_user")
        return {"assigned_staff_id": member_id_of(user) if user else None}
    option = action.get("selected_option") or {}
    if action_id == Action.STATUS:
        return {"status": option.get("value")}
    return {"priority": option.get("value")}


def conversation_action(ack: Ack, context: Any) -> None:
    """ "Reply to requester" and "Add internal note" arrive with the conversation feature."""
    ack()
    runtime, organization, member = tenant(context)
    if not runtime.directory.is_staff(organization, member):
        raise PermissionDenied(STAFF_ONLY)
    raise PermissionDenied(
        "Replies and internal notes from the card are not available yet; "
        "write in the card's thread for now."
    )


def register(app: App) -> None:
    for action_id in (Action.ASSIGN_TO_ME, Action.ASSIGNEE, Action.STATUS, Action.PRIORITY):
        app.action(action_id)(card_action)
    for action_id in (Action.REPLY_TO_REQUESTER, Action.ADD_INTERNAL_NOTE):
        app.action(action_id)(conversation_action)
