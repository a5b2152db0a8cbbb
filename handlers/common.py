"""Small helpers the handlers share."""

from __future__ import annotations

from typing import Any

from bot.blocks.tickets import ModalPrefill, new_ticket_modal
from bot.errors import PermissionDenied
from bot.runtime import Runtime
from bot.services.actors import Actor
from models import Member, Organization, TicketPriority


def tenant(context: Any) -> tuple[Runtime, Organization, Member]:
    """The runtime, organization and member the tenant middleware put in the context."""
    member = context.get("member")
    organization = context.get("organization")
    if organization is None or member is None:
        raise PermissionDenied("I could not tell which workspace or person this came from.")
    return context["runtime"], organization, member


def actor_of(context: Any) -> Actor:
    runtime, organization, member = tenant(context)
    return runtime.directory.actor(organization, member)


def open_ticket_modal(client: Any, context: Any, trigger_id: str, prefill: ModalPrefill) -> None:
    runtime, organization, member = tenant(context)
    view = new_ticket_modal(
        prefill=prefill,
        categories=organization.categories,
        default_priority=TicketPriority(organization.default_priority),
        show_requester=runtime.directory.is_staff(organization, member),
    )
    client.views_open(trigger_id=trigger_id, view=view)
