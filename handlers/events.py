"""Events API: a :ticket: reaction files the message as a ticket."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError

from bot import workflows
from bot.ids import Reaction
from bot.slack_events import claim_event
from handlers.common import tenant
from handlers.shortcuts import SOURCE_FILE_FIELDS

log = logging.getLogger(__name__)


def fetch_message(client: Any, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at (channel, ts), top-level or in a thread."""
    history = client.conversations_history(
        channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
    )
    for message in history.get("messages", []):
        if message.get("ts") == ts:
            return message
    replies = client.conversations_replies(channel=channel, ts=ts, limit=1)
    return next((m for m in replies.get("messages", []) if m.get("ts") == ts), None)


def reaction_added(event: dict[str, Any], body: dict[str, Any], client: Any, context: Any) -> None:
    item = event.get("item") or {}
    if event.get("reaction") != Reaction.FILE_TICKET or item.get("type") != "message":
        return
    runtime, organization, member = tenant(context)
    channel, ts = item.get("channel"), item.get("ts")
    with runtime.db.session() as session:
        if workflows.ticket_for_source_message(
            session, organization=organization, channel=channel, ts=ts
        ):
            return  # one ticket per message, however many people react
    try:
        message = fetch_message(client, channel, ts)
    except SlackApiError as error:
        log.warning("cannot read the message reacted to in %s: %s", channel, error)
        return
    if not message or message.get("bot_id") or not message.get("user"):
        return  # bots' messages (ours included) are never tickets
    text = (message.get("text") or "").strip()
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    try:
        with runtime.db.session() as session:
            if not claim_event(session, body):
                return
            requester = runtime.directory.member_for(session, organization, message["user"])
            workflows.file_ticket(
                session,
                organization=organization,
                filer=runtime.directory.actor(organization, member),
                requester=requester,
                request=workflows.TicketRequest(
                    title=first_line[:200] or "Ticket from a Slack message",
                    description=text,
                    source={
                        "channel": channel,
                        "ts": ts,
                        "thread_ts": message.get("thread_ts"),
                        "author": message["user"],
                        "files": [
                            {k: f.get(k) for k in SOURCE_FILE_FIELDS if f.get(k) is not None}
                            for f in message.get("files") or []
                        ],
                    },
                ),
            )
    except IntegrityError:
        # Another reaction filed this message a moment ago; its ticket stands.
        log.info("message %s/%s was filed concurrently", channel, ts)


def register(app: App) -> None:
    app.event("reaction_added")(reaction_added)
