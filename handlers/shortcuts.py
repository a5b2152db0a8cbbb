"""Shortcuts: "New ticket" (global), "Create ticket" and "Send to requester" (on a message)."""

from __future__ import annotations

import contextlib
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.tickets import ModalPrefill
from bot.flows import conversation
from bot.ids import Action, Callback
from bot.runtime import Runtime
from bot.services.actors import Actor
from handlers.common import open_ticket_modal, source_prefill
from models import Organization


def new_ticket_shortcut(
    ack: Ack,
    shortcut: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    actor: Actor,
) -> None:
    ack()
    open_ticket_modal(client, runtime, organization, actor, shortcut["trigger_id"], ModalPrefill())


def home_new_ticket(
    ack: Ack,
    body: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    actor: Actor,
) -> None:
    """App Home's "New ticket" button: the same form as the shortcut."""
    ack()
    open_ticket_modal(client, runtime, organization, actor, body["trigger_id"], ModalPrefill())


def create_ticket_from_message(
    ack: Ack,
    shortcut: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    actor: Actor,
) -> None:
    ack()
    message, channel_id = shortcut.get("message") or {}, (shortcut.get("channel") or {})["id"]
    permalink = None
    # A link back is nice to have; the form opens without it.
    with contextlib.suppress(SlackApiError, SlackClientError, OSError, KeyError):
        response = client.chat_getPermalink(channel=channel_id, message_ts=message["ts"])
        permalink = response["permalink"]
    prefill = source_prefill(message, channel_id, permalink)
    open_ticket_modal(client, runtime, organization, actor, shortcut["trigger_id"], prefill)


def send_to_requester(
    ack: Ack,
    shortcut: dict[str, Any],
    respond: Any,
    runtime: Runtime,
    organization: Organization,
    actor: Actor,
) -> None:
    """Publish a message of the card's thread to the requester: the one explicit act that
    takes staff-thread material to them."""
    ack()
    with runtime.db.session() as session:
        number = conversation.send_to_requester(
            session,
            organization=organization,
            actor=actor,
            channel=(shortcut.get("channel") or {}).get("id") or "",
            message=shortcut.get("message") or {},
        )
    respond(
        text=f":outbox_tray: Sent to the requester of ticket #{number}.",
        response_type="ephemeral",
    )


def register(app: App) -> None:
    app.shortcut(Callback.NEW_TICKET_SHORTCUT)(new_ticket_shortcut)
    app.shortcut(Callback.CREATE_TICKET_FROM_MESSAGE)(create_ticket_from_message)
    app.shortcut(Callback.SEND_TO_REQUESTER)(send_to_requester)
    app.action(Action.HOME_NEW_TICKET)(home_new_ticket)
