"""Small helpers the handlers share."""

from __future__ import annotations

from typing import Any

from bot.blocks.tickets import ModalPrefill, new_ticket_modal
from bot.flows.tickets import first_line, request_from_message
from bot.runtime import Runtime
from bot.services import organizations as orgs
from bot.services.actors import Actor
from models import Organization, TicketPriority

TITLE_FROM_MESSAGE_MAX = 200


def source_prefill(message: dict[str, Any], channel_id: str, permalink: str | None) -> ModalPrefill:
    """The new-ticket form for a Slack message: title from its first line, description
    from its text, its author as requester, and where it came from."""
    request = request_from_message(message, channel_id)
    return ModalPrefill(
        title=first_line(request.description)[:TITLE_FROM_MESSAGE_MAX],
        description=request.description or "",
        requester_slack_id=message.get("user"),
        source={**request.source, "permalink": permalink},
    )


def open_ticket_modal(
    client: Any,
    runtime: Runtime,
    organization: Organization,
    actor: Actor,
    trigger_id: str,
    prefill: ModalPrefill,
) -> None:
    """The new-ticket form; staff also choose the requester and the client company."""
    staff = actor.is_staff
    companies: tuple[tuple[int, str], ...] = ()
    if staff:
        with runtime.db.session() as session:
            companies = orgs.company_choices(session, organization_id=organization.id)
    view = new_ticket_modal(
        prefill=prefill,
        categories=organization.categories,
        default_priority=TicketPriority(organization.default_priority),
        show_requester=staff,
        companies=companies,
    )
    client.views_open(trigger_id=trigger_id, view=view)
