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
from bot.flows import views as ticket_views
from bot.ids import Reaction
from bot.runtime import Runtime
from bot.services.actors import Actor
from bot.slack import installs
from bot.slack.dedupe import claim_event
from models import Member, Organization

log = logging.getLogger(__name__)

# Message subtypes that are a person writing something.
AUTHORED_SUBTYPES = (None, "file_share", "thread_broadcast")


def reaction_added(
    event: dict[str, Any],
    body: dict[str, Any],
    runtime: Runtime,
    organization: Organization,
    member: Member | None,
) -> None:
    """:ticket: on a message files it (the worker reads the message and files it)."""
    item = event.get("item") or {}
    if event.get("reaction") != Reaction.FILE_TICKET or item.get("type") != "message":
        return
    if member is None:
        return
    with runtime.db.session() as session:
        if claim_event(session, body):
            reactions.file_on_reaction(
                session,
                organization=organization,
                reactor=member,
                channel=item.get("channel") or "",
                ts=item.get("ts") or "",
            )


def message(
    event: dict[str, Any],
    body: dict[str, Any],
    runtime: Runtime,
    organization: Organization,
    actor: Actor | None,
) -> None:
    """Messages: notes in card threads, requester replies in DM threads, edits, deletions,
    and an offer to file a DM that belongs to no ticket."""
    subtype = event.get("subtype")
    if subtype == "message_changed":
        return _edited(event, body, runtime, organization)
    if subtype == "message_deleted":
        return _deleted(event, body, runtime, organization)
    if subtype not in AUTHORED_SUBTYPES or event.get("bot_id") or actor is None:
        return None  # joins, topic changes, bots (ourselves included)
    incoming = conversation.IncomingMessage.from_event(event)
    with runtime.db.session() as session:
        if claim_event(session, body):
            conversation.route_message(
                session, organization=organization, actor=actor, message=incoming
            )
    return None


def _edited(
    event: dict[str, Any], body: dict[str, Any], runtime: Runtime, organization: Organization
) -> None:
    changed = event.get("message") or {}
    if changed.get("bot_id") or not changed.get("user"):
        return
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


def _deleted(
    event: dict[str, Any], body: dict[str, Any], runtime: Runtime, organization: Organization
) -> None:
    ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts", "")
    with runtime.db.session() as session:
        if not claim_event(session, body):
            return
        conversation.delete_from_slack(
            session, organization=organization, channel=event.get("channel", ""), ts=ts
        )


def file_shared(
    event: dict[str, Any],
    body: dict[str, Any],
    client: Any,
    context: Any,
    runtime: Runtime,
    organization: Organization,
) -> None:
    """A file was shared; if that was in a ticket's thread, it becomes an attachment (once,
    even when its `file_share` message is handled too)."""
    file = _shared_file(client, event.get("file_id") or "")
    if file is None or not file.get("user") or file.get("user") == context.bot_user_id:
        return  # our own uploads (copies shared between threads)
    with runtime.db.session() as session:
        if not claim_event(session, body):
            return
        uploader = runtime.directory.member_for(session, organization, file["user"])
        conversation.file_shared_in_threads(
            session,
            organization=organization,
            uploader=runtime.directory.actor(organization, uploader),
            file=file,
        )


def _shared_file(client: Any, file_id: str) -> dict[str, Any] | None:
    try:
        file: dict[str, Any] = client.files_info(file=file_id)["file"]
    except SlackApiError as error:
        log.warning("cannot read shared file %s: %s", file_id, error)
        return None
    return file


def app_home_opened(
    event: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    actor: Actor | None,
) -> None:
    if event.get("tab") != "home" or actor is None:
        return
    with runtime.db.read_session() as session:
        view = ticket_views.home_view(
            session,
            organization=organization,
            viewer=actor,
            staff_channel=runtime.directory.staff_channel(organization),
        )
    client.views_publish(user_id=event["user"], view=view)


def app_uninstalled(context: Any, runtime: Runtime, organization: Organization) -> None:
    """The app was removed from the workspace: forget its token, keep every ticket, pause
    deliveries until it is installed again."""
    if runtime.installation_store is not None:
        TokenRevocationListeners(runtime.installation_store).handle_app_uninstalled_events(context)
    with runtime.db.session() as session:
        installs.disconnect(session, organization=organization, reason="app uninstalled")


def tokens_revoked(
    event: dict[str, Any], context: Any, runtime: Runtime, organization: Organization
) -> None:
    if runtime.installation_store is not None:
        TokenRevocationListeners(runtime.installation_store).handle_tokens_revoked_events(
            event, context
        )
    if (event.get("tokens") or {}).get("bot"):
        with runtime.db.session() as session:
            installs.disconnect(session, organization=organization, reason="bot token revoked")


def member_joined_channel(
    event: dict[str, Any], context: Any, runtime: Runtime, organization: Organization
) -> None:
    """Ticketbot was invited (back) into a channel: if that is a staff channel Slack had
    refused, its waiting messages go out now."""
    if organization.staff_channel_error is None:
        return
    if context.bot_user_id and event.get("user") != context.bot_user_id:
        return
    if event.get("channel") != runtime.directory.staff_channel(organization):
        return
    with runtime.db.session() as session:
        installs.retry_staff_channel(session, organization=organization)


def register(app: App) -> None:
    app.event("reaction_added")(reaction_added)
    app.event("message")(message)
    app.event("app_home_opened")(app_home_opened)
    app.event("file_shared")(file_shared)
    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)
    app.event("member_joined_channel")(member_joined_channel)
