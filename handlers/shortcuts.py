"""Shortcuts: "New ticket" (global) and "Create ticket" (on a message)."""

from __future__ import annotations

import contextlib
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.tickets import ModalPrefill
from bot.ids import Callback
from handlers.common import open_ticket_modal

TITLE_FROM_MESSAGE_MAX = 200
SOURCE_FILE_FIELDS = ("id", "name", "mimetype", "size", "permalink")


def prefill_from_message(
    message: dict[str, Any], channel_id: str, permalink: str | None
) -> ModalPrefill:
    """Title from the message's first line, description from its text, and where it came from."""
    text = (message.get("text") or "").strip()
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    files = [
        {k: f.get(k) for k in SOURCE_FILE_FIELDS if f.get(k) is not None}
        for f in (message.get("files") or [])[:10]
    ]
    return ModalPrefill(
        title=first_line[:TITLE_FROM_MESSAGE_MAX],
        description=text,
        requester_slack_id=message.get("user"),
        source={
            "channel": channel_id,
            "ts": message.get("ts"),
            "thread_ts": message.get("thread_ts"),
            "author": message.get("user"),
            "permalink": permalink,
            "files": files,
        },
    )


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
        client,
        context,
        shortcut["trigger_id"],
        prefill_from_message(message, channel_id, permalink),
    )


def register(app: App) -> None:
    app.shortcut(Callback.NEW_TICKET_SHORTCUT)(new_ticket_shortcut)
    app.shortcut(Callback.CREATE_TICKET_FROM_MESSAGE)(create_ticket_from_message)
