"""A :ticket: reaction files the message it is on.

The reaction event does not carry the message, and reading it is a Slack call that may
fail; so the event only queues a job in the outbox (committed before the ack), and the
worker reads the message and files the ticket, retrying while Slack is unreachable.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.blocks.text import escape, truncate
from bot.core.db import Database
from bot.core.errors import DomainError
from bot.core.storage import ContentStore
from bot.flows import attachments
from bot.flows import tickets as ticket_flows
from bot.outbox import rows as outbox
from bot.services.actors import Actor
from bot.slack.people import SlackDirectory
from models import Member, Organization, OutboxMessage
from models.ticket import DESCRIPTION_MAX_LENGTH

log = logging.getLogger(__name__)

FILE_REACTED_MESSAGE = "ticketbot.file_reacted_message"


def fetch_message(client: Any, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at (channel, ts), top-level or in a thread."""
    history = client.conversations_history(
        channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
    )
    message: dict[str, Any]
    for message in history.get("messages", []):
        if message.get("ts") == ts:
            return message
    # A reply in a thread: conversations.replies always puts the thread's parent first, so
    # the window (this ts alone) and a limit of two bring the parent and this reply.
    replies = client.conversations_replies(
        channel=channel, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=2
    )
    return next((m for m in replies.get("messages", []) if m.get("ts") == ts), None)


def file_on_reaction(
    session: Session, *, organization: Organization, reactor: Member, channel: str, ts: str
) -> int | None:
    """:ticket: on a message: queue its filing, unless it is outside the request channels
    (when the admins set some) or already a ticket (one ticket per message, however many
    people react). Returns the queued job's outbox id."""
    request_channels = organization.settings.get("request_channels") or []
    if request_channels and channel not in request_channels:
        _explain_request_channels(
            session, organization=organization, reactor=reactor, channel=channel
        )
        return None
    if ticket_flows.ticket_for_source_message(
        session, organization=organization, channel=channel, ts=ts
    ):
        return None
    return enqueue_filing(
        session, organization=organization, reactor=reactor, channel=channel, ts=ts
    )


EXPLAINED = "reaction_explained_to"  # organization setting: members told the rule below


def _explain_request_channels(
    session: Session, *, organization: Organization, reactor: Member, channel: str
) -> None:
    """Tell the reactor, once, privately, why their :ticket: did nothing here."""
    org = session.get(Organization, organization.id)
    if org is None or reactor.id is None or not reactor.slack_user_id:
        return
    told = list(org.settings.get(EXPLAINED) or [])
    if reactor.id in told:
        return
    org.settings = {**org.settings, EXPLAINED: [*told, reactor.id]}
    session.add(org)
    where = ", ".join(f"<#{c}>" for c in org.settings.get("request_channels") or [])
    outbox.enqueue(
        session,
        organization=org,
        ticket=None,
        method="chat.postEphemeral",
        payload={
            "channel": channel,
            "user": reactor.slack_user_id,
            "text": f"A :ticket: reaction files a ticket only in {where}. To file this "
            "message, use *Create ticket* in its ⋯ menu (More actions).",
        },
        lane="notify",
    )


def enqueue_filing(
    session: Session, *, organization: Organization, reactor: Member, channel: str, ts: str
) -> int:
    return outbox.enqueue(
        session,
        organization=organization,
        ticket=None,
        method=FILE_REACTED_MESSAGE,
        payload={"channel": channel, "ts": ts, "reactor_id": reactor.id},
        lane="intake",
    )


# A message longer than a description may be: the description is cut with this note, and
# the whole text is attached.
WHOLE_MESSAGE_FILE = "message.txt"
CUT_NOTE = (
    "\n\n[The message is longer than a ticket's description can be; "
    f"the whole text is attached as {WHOLE_MESSAGE_FILE}.]"
)


class ReactionJobs:
    def __init__(self, db: Database, directory: SlackDirectory, store: ContentStore) -> None:
        self.db = db
        self.directory = directory
        self.store = store

    def file(
        self,
        client: WebClient,
        organization: Organization,
        row: OutboxMessage,
        args: dict[str, Any],
    ) -> tuple[str | None, str | None]:
        channel, ts = args["channel"], args["ts"]
        with self.db.session() as session:
            if ticket_flows.ticket_for_source_message(
                session, organization=organization, channel=channel, ts=ts
            ):
                return None, None  # one ticket per message, however many people react
        message = fetch_message(client, channel, ts)  # a Slack error makes the job retry
        if not message or message.get("bot_id") or not message.get("user"):
            return None, None  # bots' messages (ours included) are never tickets
        request = ticket_flows.request_from_message(message, channel)
        whole = None
        text = request.description or ""
        if len(text) > DESCRIPTION_MAX_LENGTH:
            whole = text.encode("utf-8")
            request.description = truncate(text, DESCRIPTION_MAX_LENGTH - len(CUT_NOTE)) + CUT_NOTE
        try:
            with self.store.writing(organization.id or 0, whole) as storage_key, \
                    self.db.session() as session:  # fmt: skip
                org = session.get(Organization, organization.id)
                reactor = session.get(Member, args.get("reactor_id"))
                if org is None or reactor is None:
                    return None, None
                requester = self.directory.member_for(session, org, message["user"])
                ticket = ticket_flows.file_ticket(
                    session,
                    organization=org,
                    filer=self.directory.actor(org, reactor),
                    requester=requester,
                    request=request,
                )
                if whole is not None and storage_key is not None:
                    attachments.attach_text(
                        session,
                        organization=org,
                        ticket=ticket,
                        actor=Actor(name=requester.name, is_staff=True, member=requester),
                        filename=WHOLE_MESSAGE_FILE,
                        content=whole,
                        storage_key=storage_key,
                    )
        except IntegrityError:
            log.info("message %s/%s was filed concurrently", channel, ts)
        except DomainError as refused:
            # Refused for good (filed meanwhile by someone else, say): no retry changes
            # that; say why under the message, once.
            log.info("reaction on %s/%s not filed: %s", channel, ts, refused.message)
            with self.db.session() as session:
                if ticket_flows.ticket_for_source_message(
                    session, organization=organization, channel=channel, ts=ts
                ):
                    return None, None  # filed meanwhile from another reaction: all is well
                outbox.enqueue(
                    session,
                    organization=organization,
                    ticket=None,
                    method="chat.postMessage",
                    payload={
                        "channel": channel,
                        "thread_ts": message.get("thread_ts") or ts,
                        "text": "This message was not filed as a ticket: "
                        + escape(refused.message),
                    },
                    lane="intake",
                )
        return None, None
