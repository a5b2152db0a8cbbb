"""Shortcuts: "New ticket" (global), "Create ticket" and "Send to requester" (on a message)."""

from __future__ import annotations

import contextlib
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.tickets import ModalPrefill
from bot.core.errors import InvalidInput, PermissionDenied
from bot.core.text import from_slack
from bot.flows import attachments, conversation
from bot.flows import tickets as ticket_flows
from bot.flows.tickets import source_files
from bot.ids import Callback
from handlers.common import open_ticket_modal, source_prefill, tenant
from models import CommentType, MessageRole


def new_ticket_shortcut(ack: Ack, shortcut: dict[str, Any], client: Any, context: Any) -> None:
    ack()
    open_ticket_modal(client, context, shortcut["trigger_id"], ModalPrefill())


def create_ticket_from_message(
    ack: Ack, shortcut: dict[str, Any], client: Any, context: Any
) -> None:
    ack()
    message, channel_id = shortcut.get("message") or {}, (shortcut.get("channel") or {}).get("id")
    permalink = None
    # A link back is nice to have; the form opens without it.
    with contextlib.suppress(SlackApiError, SlackClientError, OSError, KeyError):
        response = client.chat_getPermalink(channel=channel_id, message_ts=message["ts"])
        permalink = response["permalink"]
    open_ticket_modal(
        client, context, shortcut["trigger_id"], source_prefill(message, channel_id, permalink)
    )


def send_to_requester(ack: Ack, shortcut: dict[str, Any], context: Any, respond: Any) -> None:
    """Publish a message of the card's thread to the requester: the one explicit act that
    takes staff-thread material to them."""
    ack()
    runtime, organization, member = tenant(context)
    actor = runtime.directory.actor(organization, member)
    if not actor.is_staff:
        raise PermissionDenied("Only the IT team can send messages to requesters.")
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id")
    with runtime.db.session() as session:
        thread = conversation.thread_of(
            session, organization=organization, channel=channel, thread_ts=message.get("thread_ts")
        )
        if thread is None or thread.role != MessageRole.STAFF_CARD:
            raise InvalidInput("Use this on a message in a ticket card's thread.")
        if (message.get("text") or "").strip() or not message.get("files"):
            ticket_flows.add_comment(
                session,
                organization=organization,
                ticket=thread.ticket,
                actor=actor,
                content=from_slack(message.get("text")),
                comment_type=CommentType.PUBLIC_REPLY,
            )
        attachments.publish_files(
            session,
            organization=organization,
            ticket=thread.ticket,
            files=source_files(message),
            uploader=member,
            notify_channel=channel,
            notify_thread_ts=message.get("thread_ts"),
        )
        number = thread.ticket.ticket_number
    respond(
        text=f":outbox_tray: Sent to the requester of ticket #{number}.",
        response_type="ephemeral",
    )


def register(app: App) -> None:
    app.shortcut(Callback.NEW_TICKET_SHORTCUT)(new_ticket_shortcut)
    app.shortcut(Callback.CREATE_TICKET_FROM_MESSAGE)(create_ticket_from_message)
    app.shortcut(Callback.SEND_TO_REQUESTER)(send_to_requester)
