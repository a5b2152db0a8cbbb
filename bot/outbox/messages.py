"""Which Slack messages a domain change causes, and their words.

Nothing here talks to Slack: each function writes outbox rows (see `rows`) in the caller's
unit of work; the worker sends them after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, select

from bot.blocks.text import MESSAGE_TEXT_MAX, escape, truncate
from bot.blocks.tickets import (
    change_line,
    describe_change,
)
from bot.outbox.render import ticket_view
from bot.outbox.rows import RECORD_COMMENT, RENDER, STAFF_CHANNEL, Lane, Rendered, enqueue
from bot.services import preferences
from bot.services.tickets import Change
from models import (
    AuthorType,
    ClientCompany,
    CommentType,
    Member,
    MessageRole,
    Notice,
    Organization,
    OutboxMessage,
    OutboxStatus,
    SlackCommentRef,
    SlackMessageRef,
    Ticket,
    TicketComment,
    TicketPriority,
    TicketStatus,
)


def ticket_created(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    source: dict[str, Any] | None = None,
    filer: Member | None = None,
    requester: Member | None = None,
) -> None:
    """The card for the staff channel, the requester's "received" DM, and, for a ticket
    filed from a message, a reply in that message's thread. `requester`, when the caller
    has it at hand, saves reading it again."""
    if source and source.get("channel") and source.get("ts"):
        session.add(
            SlackMessageRef(
                organization_id=organization.id,  # type: ignore[arg-type]
                ticket_id=ticket.id,  # type: ignore[arg-type]
                role=MessageRole.SOURCE,
                channel_id=source["channel"],
                ts=source["ts"],
                permalink=source.get("permalink"),
            )
        )
        session.flush()
    enqueue(
        session,
        organization=organization,
        ticket=ticket,
        method="chat.postMessage",
        payload={RENDER: Rendered.TICKET_CARD, "unfurl_links": False},
        lane=Lane.STAFF,
        channel_ref=STAFF_CHANNEL,
        record_as=MessageRole.STAFF_CARD,
    )
    if requester is None or requester.id != ticket.requester_id:
        requester = session.get(Member, ticket.requester_id) if ticket.requester_id else None
    if requester is not None and requester.slack_user_id:
        enqueue(
            session,
            organization=organization,
            ticket=ticket,
            method="chat.postMessage",
            payload={"dm_user": requester.slack_user_id, RENDER: Rendered.REQUESTER_RECEIVED},
            lane=Lane.REQUESTER,
            record_as=MessageRole.REQUESTER_DM,
        )
    if source and source.get("channel") and source.get("ts"):
        payload = {
            "channel": source["channel"],
            "thread_ts": source.get("thread_ts") or source["ts"],
            RENDER: Rendered.FILED_NOTICE,
        }
        if filer is not None and filer.slack_user_id:
            # Where the bot cannot post in that channel, the person who filed hears instead.
            payload["fallback_dm_user"] = filer.slack_user_id
        enqueue(
            session,
            organization=organization,
            ticket=ticket,
            method="chat.postMessage",
            payload=payload,
            lane=Lane.SOURCE,
        )


def refresh_card(session: Session, *, organization: Organization, ticket: Ticket) -> int:
    """Redraw the card in place (something it shows changed without a change line)."""
    return enqueue(
        session,
        organization=organization,
        ticket=ticket,
        method="chat.update",
        payload={RENDER: Rendered.TICKET_CARD},
        lane=Lane.STAFF,
        channel_ref=MessageRole.STAFF_CARD,
        ts_ref=MessageRole.STAFF_CARD,
    )


def ticket_changed(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    actor: Member | None,
    actor_name: str,
    changes: Sequence[Change],
    tell_requester: bool = True,
) -> None:
    """Update the card in place and add one line per change in its thread. The requester
    hears of a status change unless they made it, or the caller tells them in its own
    words (`tell_requester` False)."""
    if not changes:
        return
    refresh_card(session, organization=organization, ticket=ticket)
    actor_slack_id = actor.slack_user_id if actor else None
    for change in changes:
        what = describe_change(change.field, _label(session, change.field, change.new))
        enqueue(
            session,
            organization=organization,
            ticket=ticket,
            method="chat.postMessage",
            payload={"text": change_line(actor_slack_id, actor_name, what)},
            lane=Lane.STAFF,
            channel_ref=MessageRole.STAFF_CARD,
            thread_ref=MessageRole.STAFF_CARD,
        )
    actor_id = actor.id if actor else None
    for change in changes:
        if (
            change.field == "status"
            and tell_requester
            and ticket.requester_id != actor_id
            and wants(session, ticket.requester_id, Notice.STATUS_CHANGE)
        ):
            text = _status_notice(ticket, change, _who(session, actor_id, actor_name))
            if text:
                requester_notice(session, organization=organization, ticket=ticket, text=text)
        if (
            change.field == "assigned_staff_id"
            and change.new is not None
            and change.new != actor_id
        ):
            assignee = session.get(Member, change.new)
            if (
                assignee is not None
                and assignee.slack_user_id
                and wants(session, assignee.id, Notice.ASSIGNMENT)
            ):
                _direct_message(
                    session,
                    organization,
                    ticket,
                    assignee.slack_user_id,
                    f":bust_in_silhouette: {_who(session, actor_id, actor_name)} assigned you "
                    f"ticket #{ticket.ticket_number}: {escape(ticket.title)}",
                )


REOPENED_FROM = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def wants(session: Session, member_id: int | None, notice: Notice) -> bool:
    """Whether the member gets DMs of this kind (their App Home switches)."""
    return member_id is not None and notice not in preferences.muted(session, member_id=member_id)


def _who(session: Session, member_id: int | None, name: str) -> str:
    """How a person is named in a message: a mention (Slack shows their current name),
    else their escaped name."""
    member = session.get(Member, member_id) if member_id else None
    if member is not None and member.slack_user_id:
        return f"<@{member.slack_user_id}>"
    return escape(name)


def _status_notice(ticket: Ticket, change: Change, who: str) -> str | None:
    """What the requester is told about a status change, in their ticket's DM thread."""
    number, new = ticket.ticket_number, TicketStatus(change.new)
    if change.old in REOPENED_FROM and new not in REOPENED_FROM:
        return f":arrows_counterclockwise: Ticket #{number} was reopened."
    if new == TicketStatus.IN_PROGRESS:
        return f":hammer_and_wrench: {who} started working on ticket #{number}."
    if new == TicketStatus.PENDING:
        return (
            f":hourglass_flowing_sand: Ticket #{number} is waiting for you: please reply in "
            "this thread with what the IT team asked for."
        )
    if new == TicketStatus.RESOLVED:
        return (
            f":white_check_mark: Ticket #{number} is resolved. If it isn't fixed, reply here "
            "and it reopens."
        )
    if new == TicketStatus.CLOSED:
        return f":lock: Ticket #{number} is closed."
    return None


def requester_notice(
    session: Session, *, organization: Organization, ticket: Ticket, text: str
) -> int | None:
    """A message from Ticketbot to the requester in the ticket's DM thread."""
    requester = session.get(Member, ticket.requester_id) if ticket.requester_id else None
    if requester is None or not requester.slack_user_id:
        return None
    return enqueue(
        session,
        organization=organization,
        ticket=ticket,
        method="chat.postMessage",
        payload={
            "dm_user": requester.slack_user_id,
            "text": truncate(text, MESSAGE_TEXT_MAX),
            "thread_optional": True,
        },
        lane=Lane.REQUESTER,
        thread_ref=MessageRole.REQUESTER_DM,
    )


def _direct_message(
    session: Session, organization: Organization, ticket: Ticket, slack_user_id: str, text: str
) -> int:
    """A DM to a staff member about a ticket (not threaded)."""
    return enqueue(
        session,
        organization=organization,
        ticket=ticket,
        method="chat.postMessage",
        payload={"dm_user": slack_user_id, "text": truncate(text, MESSAGE_TEXT_MAX)},
        lane=Lane.NOTIFY,
    )


def _label(session: Session, field: str, value: Any) -> str | None:
    if value is None:
        return None
    if field == "status":
        return TicketStatus(value).label
    if field == "priority":
        return TicketPriority(value).label
    if field == "assigned_staff_id":
        member = session.get(Member, value)
        if member is None:
            return None
        return f"<@{member.slack_user_id}>" if member.slack_user_id else escape(member.name)
    if field == "client_company_id":
        company = session.get(ClientCompany, value)
        return company.name if company else None
    return str(value)


def comment_added(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    comment: TicketComment,
    already_in_staff_thread: bool = False,
) -> None:
    """Carry a comment to where it belongs in Slack.

    - internal note: the card's thread only (unless it was written there);
    - public reply by staff: the requester's DM thread, mirrored into the card's thread;
    - reply by the requester: mirrored into the card's thread.
    Internal notes never get a row addressed to anyone but the staff channel.
    """
    author = _who(session, comment.author_id, comment.author_name)
    content = escape(comment.content)
    if comment.comment_type == CommentType.INTERNAL_NOTE:
        if not already_in_staff_thread:
            _to_staff_thread(
                session,
                organization,
                ticket,
                truncate(f":lock: *Internal note* from {author}:\n{content}", MESSAGE_TEXT_MAX),
            )
        return
    if comment.author_type == AuthorType.STAFF:
        requester = session.get(Member, ticket.requester_id) if ticket.requester_id else None
        if requester is not None and requester.slack_user_id:
            enqueue(
                session,
                organization=organization,
                ticket=ticket,
                method="chat.postMessage",
                payload={
                    "dm_user": requester.slack_user_id,
                    "text": truncate(
                        f"*{author}* (IT team) on ticket #{ticket.ticket_number}:\n{content}",
                        MESSAGE_TEXT_MAX,
                    ),
                    "thread_optional": True,
                },
                lane=Lane.REQUESTER,
                thread_ref=MessageRole.REQUESTER_DM,
            )
        if not already_in_staff_thread:
            _to_staff_thread(
                session,
                organization,
                ticket,
                truncate(
                    f":outbox_tray: *Sent to the requester* by {author}:\n{content}",
                    MESSAGE_TEXT_MAX,
                ),
            )
        return
    _to_staff_thread(
        session, organization, ticket, requester_reply_text(author, content), mirrors=comment
    )
    assignee = session.get(Member, ticket.assigned_staff_id) if ticket.assigned_staff_id else None
    if (
        assignee is not None
        and assignee.slack_user_id
        and assignee.id != comment.author_id
        and wants(session, assignee.id, Notice.REQUESTER_REPLY)
    ):
        _direct_message(
            session,
            organization,
            ticket,
            assignee.slack_user_id,
            f":speech_balloon: {author} replied on ticket #{ticket.ticket_number} "
            f"({escape(ticket.title)}):\n{content}",
        )


def requester_reply_text(author: str, content: str) -> str:
    """How a requester's reply shows in the staff thread (`author` and `content` escaped)."""
    return truncate(
        f":speech_balloon: *{author}* (requester) replied:\n{content}", MESSAGE_TEXT_MAX
    )


def staff_thread_note(
    session: Session, *, organization: Organization, ticket: Ticket, text: str
) -> int:
    """A line from Ticketbot in the card's thread (staff only; `text` already escaped)."""
    return _to_staff_thread(session, organization, ticket, truncate(text, MESSAGE_TEXT_MAX))


def _to_staff_thread(
    session: Session,
    organization: Organization,
    ticket: Ticket,
    text: str,
    *,
    mirrors: TicketComment | None = None,
) -> int:
    payload: dict[str, Any] = {"text": text}
    if mirrors is not None:
        # The posted copy is recorded as another message of the comment, so that the
        # requester's edits and deletions reach it (see `comment_copies_follow`).
        payload[RECORD_COMMENT] = mirrors.id
    return enqueue(
        session,
        organization=organization,
        ticket=ticket,
        method="chat.postMessage",
        payload=payload,
        lane=Lane.STAFF,
        channel_ref=MessageRole.STAFF_CARD,
        thread_ref=MessageRole.STAFF_CARD,
    )


def comment_copies_follow(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    comment: TicketComment,
    written_as: SlackCommentRef,
    deleted: bool,
) -> list[SlackCommentRef]:
    """The requester edited or deleted their reply (`written_as`): so do its copies in the
    staff thread. Returns the copies Slack has.

    A copy still waiting to be posted is withdrawn, or given the new text. Those rows are
    locked before the posted copies are read (PostgreSQL): a worker finishing one at this
    moment either commits first (its copy is then read here and deleted or updated), or
    waits and finds the row withdrawn (it then deletes what it posted)."""
    waiting = session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.ticket_id == ticket.id,
            OutboxMessage.lane == Lane.STAFF,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .with_for_update()
    ).all()
    author = _who(session, comment.author_id, comment.author_name)
    text = requester_reply_text(author, escape(comment.content))
    for row in waiting:
        if row.payload.get(RECORD_COMMENT) != comment.id:
            continue
        if deleted:
            row.status = OutboxStatus.WITHDRAWN
            row.last_error = "the requester deleted the message before it was copied"
        else:
            row.payload = {**row.payload, "text": text}
        session.add(row)
    copies = list(
        session.exec(
            select(SlackCommentRef).where(
                SlackCommentRef.comment_id == comment.id, SlackCommentRef.id != written_as.id
            )
        ).all()
    )
    for copy in copies:
        payload: dict[str, Any] = {"channel": copy.channel_id, "ts": copy.ts}
        if not deleted:
            payload["text"] = text
        enqueue(
            session,
            organization=organization,
            ticket=ticket,
            method="chat.delete" if deleted else "chat.update",
            payload=payload,
            lane=Lane.STAFF,
        )
    return copies


def dm_offer(
    session: Session,
    *,
    organization: Organization,
    channel: str,
    ts: str,
    open_tickets: Sequence[Ticket],
) -> int:
    """Answer a DM that is not in any ticket's thread: file it, or add it to a ticket."""
    from bot.blocks.conversation import dm_offer as offer_blocks

    text, blocks = offer_blocks(
        channel=channel, ts=ts, open_tickets=[ticket_view(session, t) for t in open_tickets]
    )
    return enqueue(
        session,
        organization=organization,
        ticket=None,
        method="chat.postMessage",
        payload={"channel": channel, "thread_ts": ts, "text": text, "blocks": blocks},
        lane=Lane.NOTIFY,
    )
