"""Events API: messages in ticket threads and DMs, edits and deletions, :ticket:
reactions, App Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_bolt.listener.builtins import TokenRevocationListeners
from slack_sdk.errors import SlackApiError

from bot.core.text import from_slack
from bot.flows import conversation, reactions
from bot.flows import tickets as ticket_flows
from bot.flows import views as ticket_views
from bot.ids import Reaction
from bot.slack import installs
from bot.slack.dedupe import claim_event
from handlers.common import tenant, tenant_organization

log = logging.getLogger(__name__)

# Message subtypes that are a person writing something.
AUTHORED_SUBTYPES = (None, "file_share", "thread_broadcast")


def reaction_added(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
    """:ticket: on a message files it (the worker reads the message and files it)."""
    item = event.get("item") or {}
    if event.get("reaction") != Reaction.FILE_TICKET or item.get("type") != "message":
        return
    runtime, organization, member = tenant(context)
    channel, ts = item.get("channel"), item.get("ts")
    request_channels = organization.settings.get("request_channels") or []
    if request_channels and channel not in request_channels:
        return  # the admins limited :ticket: filing to their request channels
    with runtime.db.session() as session:
        if ticket_flows.ticket_for_source_message(
            session, organization=organization, channel=channel, ts=ts
        ):
            return  # one ticket per message, however many people react
        if claim_event(session, body):
            reactions.enqueue_filing(
                session, organization=organization, reactor=member, channel=channel, ts=ts
            )


def message(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
    """Messages: notes in card threads, requester replies in DM threads, edits, deletions,
    and an offer to file a DM that belongs to no ticket."""
    subtype = event.get("subtype")
    if subtype == "message_changed":
        return _edited(event, body, context)
    if subtype == "message_deleted":
        return _deleted(event, body, context)
    if subtype not in AUTHORED_SUBTYPES or event.get("bot_id") or not event.get("user"):
        return None  # joins, topic changes, bots (ourselves included)
    incoming = conversation.IncomingMessage(
        channel=event["channel"],
        ts=event["ts"],
        user=event["user"],
        text=from_slack(event.get("text")),
        thread_ts=event.get("thread_ts"),
        files=event.get("files") or [],
        in_dm=event.get("channel_type") == "im",
    )
    runtime, organization, member = tenant(context)
    actor = runtime.directory.actor(organization, member)
    with runtime.db.session() as session:
        if claim_event(session, body):
            conversation.route_message(
                session, organization=organization, actor=actor, message=incoming
            )
    return None


def _edited(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
    changed = event.get("message") or {}
    if changed.get("bot_id") or not changed.get("user"):
        return
    runtime, organization = tenant_organization(context)
    with runtime.db.session() as session:
        if not claim_event(session, body):
            return
        author = runtime.directory.member_for(session, organization, changed["user"])
        conversation.edit_from_slack(
            session,
            organization=organization,
            actor=runtime.directory.actor(organization, author),
            channel=event.get("channel", ""),
            ts=changed.get("ts", ""),
            text=from_slack(changed.get("text")),
        )


def _deleted(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
    runtime, organization = tenant_organization(context)
    ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts", "")
    with runtime.db.session() as session:
        if not claim_event(session, body):
            return
        conversation.delete_from_slack(
            session, organization=organization, channel=event.get("channel", ""), ts=ts
        )


def file_shared(event: dict[str, Any], body: dict[str, Any], client: Any, context: Any) -> None:
    """A file was shared; if that was in a ticket's thread, it becomes an attachment (once,
    even when its `file_share` message is handled too)."""
    runtime, organization = tenant_organization(context)
    try:
        file = client.files_info(file=event.get("file_id") or "")["file"]
    except SlackApiError as error:
        log.warning("cannot read shared file %s: %s", event.get("file_id"), error)
        return
    if not file.get("user") or file.get("user") == context.bot_user_id:
        return  # our own uploads (copies shared between threads)
    places = [
        (channel, entry.get("thread_ts"))
        for by_channel in (file.get("shares") or {}).values()
        for channel, entries in by_channel.items()
        for entry in entries
        if entry.get("thread_ts")
    ]
    with runtime.db.session() as session:
        if not claim_event(session, body):
            return
        uploader = runtime.directory.member_for(session, organization, file["user"])
        for channel, thread_ts in places:
            thread = conversation.thread_of(
                session, organization=organization, channel=channel, thread_ts=thread_ts
            )
            if thread is not None:
                conversation.files_in_thread(
                    session,
                    organization=organization,
                    thread=thread,
                    uploader=uploader,
                    uploader_is_staff=runtime.directory.is_staff(organization, uploader),
                    files=[file],
                    channel=channel,
                    thread_ts=thread_ts,
                )


def app_home_opened(event: dict[str, Any], client: Any, context: Any) -> None:
    if event.get("tab") != "home":
        return
    runtime, organization, member = tenant(context)
    viewer = runtime.directory.actor(organization, member)
    with runtime.db.read_session() as session:
        view = ticket_views.home_view(
            session,
            organization=organization,
            viewer=viewer,
            staff_channel=runtime.directory.staff_channel(organization),
        )
    client.views_publish(user_id=event["user"], view=view)


def app_uninstalled(body: dict[str, Any], context: Any) -> None:
    """The app was removed from the workspace: forget its token, keep every ticket, pause
    deliveries until it is installed again."""
    runtime, organization = tenant_organization(context)
    if runtime.installation_store is not None:
        TokenRevocationListeners(runtime.installation_store).handle_app_uninstalled_events(context)
    with runtime.db.session() as session:
        installs.disconnect(session, organization=organization, reason="app uninstalled")


def tokens_revoked(event: dict[str, Any], context: Any) -> None:
    runtime, organization = tenant_organization(context)
    if runtime.installation_store is not None:
        TokenRevocationListeners(runtime.installation_store).handle_tokens_revoked_events(
            event, context
        )
    if (event.get("tokens") or {}).get("bot"):
        with runtime.db.session() as session:
            installs.disconnect(session, organization=organization, reason="bot token revoked")


def register(app: App) -> None:
    app.event("reaction_added")(reaction_added)
    app.event("message")(message)
    app.event("app_home_opened")(app_home_opened)
    app.event("file_shared")(file_shared)
    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)
