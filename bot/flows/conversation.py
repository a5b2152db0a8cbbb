"""A ticket as a conversation: messages in the card's thread and in the requester's DM
thread become comments; edits and deletions follow them.

Use cases only (no Slack calls): each runs in the caller's unit of work and writes the
Slack messages it causes to the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from bot.blocks.csat import survey_text
from bot.blocks.tickets import ANSWERED, CONFIRMED_FIXED, REOPENED_BY_REPLY, STILL_BROKEN
from bot.core.errors import InvalidInput, NotFound, PermissionDenied
from bot.core.text import from_slack
from bot.flows import attachments
from bot.flows import csat as csat_flows
from bot.flows import tickets as ticket_flows
from bot.ids import Reaction, ReplyThen
from bot.outbox import messages
from bot.services import comments as comment_service
from bot.services import tickets as ticket_service
from bot.services.actors import Actor, StaffCheck
from bot.services.tickets import OPEN_STATUSES, TicketFilter
from models import (
    CommentType,
    Member,
    MessageRole,
    Organization,
    SlackCommentRef,
    SlackMessageRef,
    Ticket,
    TicketComment,
    TicketStatus,
)
from models.ticket import TicketCreate


@dataclass(frozen=True)
class IncomingMessage:
    """A person's Slack message, as the Events API described it."""

    channel: str
    ts: str
    user: str
    text: str = ""
    thread_ts: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    in_dm: bool = False  # written in the person's direct messages with Ticketbot

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> IncomingMessage:
        return cls(
            channel=event["channel"],
            ts=event["ts"],
            user=event["user"],
            text=from_slack(event.get("text")),
            thread_ts=event.get("thread_ts"),
            files=event.get("files") or [],
            in_dm=event.get("channel_type") == "im",
        )

    @property
    def in_thread(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass(frozen=True)
class ThreadOf:
    ticket: Ticket
    role: MessageRole


def thread_of(
    session: Session, *, organization: Organization, channel: str, thread_ts: str | None
) -> ThreadOf | None:
    """The ticket whose card thread or requester thread is (channel, thread_ts)."""
    if not thread_ts:
        return None
    ref = session.exec(
        select(SlackMessageRef).where(
            SlackMessageRef.organization_id == organization.id,
            SlackMessageRef.channel_id == channel,
            SlackMessageRef.ts == thread_ts,
            SlackMessageRef.role.in_([MessageRole.STAFF_CARD, MessageRole.REQUESTER_DM]),  # type: ignore[attr-defined]
        )
    ).first()
    if ref is None:
        return None
    ticket = session.get(Ticket, ref.ticket_id)
    return ThreadOf(ticket=ticket, role=MessageRole(ref.role)) if ticket else None


def route_message(
    session: Session, *, organization: Organization, actor: Actor, message: IncomingMessage
) -> None:
    """Where a person's message belongs: a note in a card's thread (staff), a reply in
    their own ticket's DM thread, or, for a DM outside any ticket, an offer to file it."""
    thread = thread_of(
        session, organization=organization, channel=message.channel, thread_ts=message.thread_ts
    )
    member = actor.member
    if member is None:
        return
    if thread is None:
        if message.in_dm and not message.in_thread:
            own_open = ticket_service.list_tickets(
                session,
                organization_id=organization.id,
                viewer=Actor.for_member(member, is_staff=False),
                filters=TicketFilter(status=list(OPEN_STATUSES)),
                limit=4,
            )
            messages.dm_offer(
                session,
                organization=organization,
                channel=message.channel,
                ts=message.ts,
                open_tickets=own_open,
            )
        return
    if thread.role == MessageRole.STAFF_CARD:
        note_from_staff_thread(
            session, organization=organization, ticket=thread.ticket, actor=actor, message=message
        )
    elif thread.ticket.requester_id == member.id:
        reply_from_requester(
            session,
            organization=organization,
            ticket=thread.ticket,
            requester=member,
            message=message,
        )


def _remember(session: Session, comment: TicketComment, channel: str, ts: str) -> None:
    session.add(
        SlackCommentRef(
            organization_id=comment.organization_id,
            comment_id=comment.id,  # type: ignore[arg-type]
            channel_id=channel,
            ts=ts,
        )
    )
    session.flush()


def note_from_staff_thread(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    actor: Actor,
    message: IncomingMessage,
) -> TicketComment | None:
    """A staff member wrote in the card's thread: an internal note (already visible there).
    Files shared with it become internal attachments."""
    if not actor.is_staff:
        return None
    if message.files and actor.member is not None:
        files_in_thread(
            session,
            organization=organization,
            thread=ThreadOf(ticket, MessageRole.STAFF_CARD),
            uploader=actor.member,
            uploader_is_staff=True,
            files=message.files,
            channel=message.channel,
            thread_ts=message.thread_ts,
        )
    if not message.text.strip():
        return None
    comment = ticket_flows.add_comment(
        session,
        organization=organization,
        ticket=ticket,
        actor=actor,
        content=message.text,
        comment_type=CommentType.INTERNAL_NOTE,
        already_in_staff_thread=True,
    )
    _remember(session, comment, message.channel, message.ts)
    messages.mark_message(
        session,
        organization=organization,
        ticket=ticket,
        channel=message.channel,
        ts=message.ts,
        reaction=Reaction.SAVED_AS_NOTE,
    )
    return comment


@dataclass(frozen=True)
class RequesterReply:
    ticket: Ticket  # the ticket the reply landed on (a new follow-up for a closed ticket)
    comment: TicketComment | None
    follow_up_of: Ticket | None = None
    reopened: bool = False


def reply_from_requester(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    requester: Member,
    message: IncomingMessage,
) -> RequesterReply:
    """The requester answered in their DM thread.

    Saved as a public reply and mirrored to the staff. A pending or resolved ticket goes
    back to open; a closed one stays closed and the reply starts a follow-up ticket.
    """
    actor = Actor.for_member(requester, is_staff=False)
    text = message.text.strip() or "(sent a file)"
    if ticket.status == TicketStatus.CLOSED:
        follow_up = open_follow_up(
            session, organization=organization, ticket=ticket, requester=requester, text=text
        )
        return RequesterReply(ticket=follow_up, comment=None, follow_up_of=ticket)
    comment = ticket_flows.add_comment(
        session,
        organization=organization,
        ticket=ticket,
        actor=actor,
        content=text,
        comment_type=CommentType.PUBLIC_REPLY,
    )
    _remember(session, comment, message.channel, message.ts)
    if message.files:
        files_in_thread(
            session,
            organization=organization,
            thread=ThreadOf(ticket, MessageRole.REQUESTER_DM),
            uploader=requester,
            uploader_is_staff=False,
            files=message.files,
            channel=message.channel,
            thread_ts=message.thread_ts,
        )
    change = ticket_service.reopen_for_requester_reply(
        session, organization=organization, ticket=ticket, actor=actor
    )
    if change is not None:
        was_resolved = change.old == TicketStatus.RESOLVED
        messages.ticket_changed(
            session,
            organization=organization,
            ticket=ticket,
            actor=requester,
            actor_name=requester.name,
            changes=[change],
            said=REOPENED_BY_REPLY if was_resolved else ANSWERED,
        )
        if was_resolved:
            messages.reopened_by_reply(
                session, organization=organization, ticket=ticket, requester=requester
            )
    return RequesterReply(ticket=ticket, comment=comment, reopened=change is not None)


def open_follow_up(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    requester: Member,
    text: str,
) -> Ticket:
    """The requester wrote to a closed ticket: a follow-up ticket linked to it takes the
    message, with fresh SLA clocks; it keeps the closed ticket's priority, category,
    assignee and client; the closed card's thread points to it and the requester is told
    where their message went."""
    follow_up = ticket_flows.file_ticket(
        session,
        organization=organization,
        filer=Actor.for_member(requester, is_staff=False),
        requester=requester,
        request=TicketCreate(
            title=f"Follow-up to #{ticket.ticket_number}: {ticket.title}"[:200],
            description=text,
            priority=ticket.priority,
            category=ticket.category if ticket.category in organization.categories else None,
        ),
        parent_ticket_id=ticket.id,
    )
    ticket_service.carry_over(session, parent=ticket, follow_up=follow_up)
    messages.follow_up_opened(
        session, organization=organization, parent=ticket, follow_up=follow_up
    )
    messages.requester_notice(
        session,
        organization=organization,
        ticket=ticket,
        text=(
            f"Ticket #{ticket.ticket_number} is closed, so I opened "
            f"ticket #{follow_up.ticket_number} for your message."
        ),
    )
    return follow_up


@dataclass(frozen=True)
class Verdict:
    """What the notice the requester answered now says (`blocks`: with the survey)."""

    text: str
    blocks: list[dict[str, Any]] | None = None


def requester_verdict(
    session: Session, *, organization: Organization, member: Member, ticket_id: str, fixed: bool
) -> Verdict:
    """The requester pressed **It's fixed** (the ticket closes, and the notice asks "How did
    we do?" when the survey is due) or **Still broken** (it reopens) under a notice;
    returns what the notice now says."""
    if not ticket_id.isdigit() or len(ticket_id) > 18:
        raise NotFound("I don't know that ticket.")
    ticket = ticket_service.get_ticket(
        session, organization_id=organization.id, ticket_id=int(ticket_id)
    )
    actor = Actor.for_member(member, is_staff=False)
    number = ticket.ticket_number
    if fixed:
        change = ticket_service.close_for_requester(
            session, organization=organization, ticket=ticket, actor=actor
        )
        said, answer = CONFIRMED_FIXED, f"Glad it's fixed! Ticket #{number} is closed."
    elif ticket.status == TicketStatus.CLOSED:
        return Verdict(
            f"Ticket #{number} is closed. Write what still goes wrong in this thread and I "
            "will open a follow-up ticket."
        )
    else:
        change = ticket_service.reopen_for_requester_reply(
            session, organization=organization, ticket=ticket, actor=actor
        )
        said = STILL_BROKEN
        answer = f"Ticket #{number} is open again. Tell us in this thread what still goes wrong."
    if change is not None:
        messages.ticket_changed(
            session,
            organization=organization,
            ticket=ticket,
            actor=member,
            actor_name=member.name,
            changes=[change],
            said=said,
        )
    if fixed and change is not None:
        survey = csat_flows.survey_on_close(
            session, organization=organization, ticket=ticket, said=answer
        )
        if survey is not None:
            return Verdict(f"{answer} {survey_text(number)}", survey)
    return Verdict(answer)


def _comment_at(
    session: Session, *, organization: Organization, channel: str, ts: str
) -> tuple[SlackCommentRef, TicketComment] | None:
    ref = session.exec(
        select(SlackCommentRef).where(
            SlackCommentRef.organization_id == organization.id,
            SlackCommentRef.channel_id == channel,
            SlackCommentRef.ts == ts,
        )
    ).first()
    if ref is None:
        return None
    comment = session.get(TicketComment, ref.comment_id)
    return (ref, comment) if comment else None


def edit_from_slack(
    session: Session,
    *,
    organization: Organization,
    actor: Actor,
    channel: str,
    ts: str,
    text: str,
) -> TicketComment | None:
    """Someone edited a message that is a comment: the comment follows."""
    found = _comment_at(session, organization=organization, channel=channel, ts=ts)
    if found is None or not text.strip():
        return None
    ref, comment = found
    if not _written_there(session, ref):
        return None  # a copy Ticketbot posted: people do not edit those
    edited = comment_service.edit_comment(session, comment=comment, actor=actor, content=text)
    _copies_follow(session, organization, ref, edited, deleted=False)
    return edited


def delete_from_slack(
    session: Session, *, organization: Organization, channel: str, ts: str
) -> bool:
    """A message that is a comment was deleted in Slack: the comment goes too."""
    found = _comment_at(session, organization=organization, channel=channel, ts=ts)
    if found is None:
        return False
    ref, comment = found
    if not _written_there(session, ref):
        # Someone (a workspace admin) deleted Ticketbot's copy: the comment stays.
        session.delete(ref)
        session.flush()
        return False
    copies = _copies_follow(session, organization, ref, comment, deleted=True)
    for message in (ref, *copies):
        session.delete(message)
    session.flush()
    session.delete(comment)
    session.flush()
    return True


def _written_there(session: Session, ref: SlackCommentRef) -> bool:
    """Whether `ref` is the message the comment was written as (its first), not a copy."""
    first = session.exec(
        select(SlackCommentRef.id)
        .where(SlackCommentRef.comment_id == ref.comment_id)
        .order_by(SlackCommentRef.id)  # type: ignore[arg-type]
    ).first()
    return first == ref.id


def _copies_follow(
    session: Session,
    organization: Organization,
    ref: SlackCommentRef,
    comment: TicketComment,
    *,
    deleted: bool,
) -> list[SlackCommentRef]:
    """Other Slack messages of the comment (its copy in the staff thread) follow an edit or
    a deletion of the one the person wrote; returns them."""
    ticket = session.get(Ticket, comment.ticket_id)
    if ticket is None:
        return []
    return messages.comment_copies_follow(
        session,
        organization=organization,
        ticket=ticket,
        comment=comment,
        written_as=ref,
        deleted=deleted,
    )


def files_in_thread(
    session: Session,
    *,
    organization: Organization,
    thread: ThreadOf,
    uploader: Member,
    uploader_is_staff: bool,
    files: list[dict[str, Any]],
    channel: str,
    thread_ts: str | None,
) -> bool:
    """Files shared in a ticket's thread become attachments, once per file however many
    events announce them: in the card's thread, staff files are internal; in the DM thread,
    the requester's files are public and shown to the staff."""
    if thread.role == MessageRole.STAFF_CARD:
        if not uploader_is_staff:
            return False
        internal, share_to = True, None
    elif thread.ticket.requester_id == uploader.id:
        internal, share_to = False, attachments.SHARE_TO_STAFF
    else:
        return False
    return bool(
        attachments.enqueue_fetch(
            session,
            organization=organization,
            ticket=thread.ticket,
            files=files,
            uploader=uploader,
            uploader_is_staff=uploader_is_staff,
            is_internal=internal,
            share_to=share_to,
            notify_channel=channel,
            notify_thread_ts=thread_ts,
        )
    )


def file_shared_in_threads(
    session: Session, *, organization: Organization, uploader: Actor, file: dict[str, Any]
) -> None:
    """A Slack file (as `files.info` describes it) shared somewhere: in each ticket thread
    it was shared in, it becomes an attachment (see `files_in_thread`)."""
    assert uploader.member is not None
    places = [
        (channel, entry.get("thread_ts"))
        for by_channel in (file.get("shares") or {}).values()
        for channel, entries in by_channel.items()
        for entry in entries
        if entry.get("thread_ts")
    ]
    for channel, thread_ts in places:
        thread = thread_of(session, organization=organization, channel=channel, thread_ts=thread_ts)
        if thread is not None:
            files_in_thread(
                session,
                organization=organization,
                thread=thread,
                uploader=uploader.member,
                uploader_is_staff=uploader.is_staff,
                files=[file],
                channel=channel,
                thread_ts=thread_ts,
            )


def send_to_requester(
    session: Session,
    *,
    organization: Organization,
    actor: Actor,
    channel: str,
    message: dict[str, Any],
) -> int:
    """ "Send to requester" on a message of a card's thread: its text becomes a public reply
    and its files are published to the requester. Returns the ticket's number."""
    if not actor.is_staff or actor.member is None:
        raise PermissionDenied("Only the IT team can send messages to requesters.")
    thread = thread_of(
        session, organization=organization, channel=channel, thread_ts=message.get("thread_ts")
    )
    if thread is None or thread.role != MessageRole.STAFF_CARD:
        raise InvalidInput("Use this on a message in a ticket card's thread.")
    if message.get("bot_id") or message.get("subtype") == "bot_message":
        raise InvalidInput(
            "That is one of Ticketbot's own lines. To write to the requester, use "
            "*Reply to requester* on the card, or send a message of yours."
        )
    where = f"{channel}:{message.get('ts')}"
    session.refresh(thread.ticket, with_for_update=True)  # one send at a time (PostgreSQL)
    if ticket_service.was_sent_to_requester(session, ticket=thread.ticket, message=where):
        raise InvalidInput(
            f"That message was already sent to the requester of ticket "
            f"#{thread.ticket.ticket_number}."
        )
    ticket_service.record_sent_to_requester(
        session, ticket=thread.ticket, actor=actor, message=where
    )
    if (message.get("text") or "").strip() or not message.get("files"):
        ticket_flows.add_comment(
            session,
            organization=organization,
            ticket=thread.ticket,
            actor=actor,
            content=from_slack(message.get("text")),
            comment_type=CommentType.PUBLIC_REPLY,
            already_in_staff_thread=True,
        )
    messages.mark_message(
        session,
        organization=organization,
        ticket=thread.ticket,
        channel=channel,
        ts=str(message.get("ts")),
        reaction=Reaction.SENT_TO_REQUESTER,
    )
    attachments.publish_files(
        session,
        organization=organization,
        ticket=thread.ticket,
        files=ticket_flows.source_files(message),
        uploader=actor.member,
        notify_channel=channel,
        notify_thread_ts=message.get("thread_ts"),
    )
    return thread.ticket.ticket_number


def add_dm_to_ticket(
    session: Session,
    *,
    organization: Organization,
    member: Member,
    ticket_id: int,
    message: dict[str, Any],
) -> int:
    """ "Add to #N" under a DM: the message becomes the requester's reply on ticket N.

    The offer lists the sender's own tickets: they add to it as its requester, so the
    message is a requester reply even when the sender is staff. Returns the number."""
    ticket = ticket_service.get_ticket(
        session, organization_id=organization.id, ticket_id=ticket_id
    )
    ticket_flows.add_comment(
        session,
        organization=organization,
        ticket=ticket,
        actor=Actor.for_member(member, is_staff=False),
        content=from_slack(message.get("text")),
        comment_type=CommentType.PUBLIC_REPLY,
    )
    return ticket.ticket_number


def comment_from_card(
    session: Session,
    *,
    organization: Organization,
    actor: Actor,
    ticket_id: int | None,
    content: str,
    internal: bool,
    then: str | None = None,
    is_staff: StaffCheck,
) -> TicketComment:
    """A note or a reply written in the card's modals; after a reply, `then` may set the
    ticket Pending (waiting for the requester's answer) or resolve it, in the same unit of
    work (the requester reads the reply before the notice that follows it)."""
    if not actor.is_staff:
        raise PermissionDenied("Only the IT team can do that.")
    if ticket_id is None:
        raise NotFound("I lost track of which ticket this was for; please try again.")
    ticket = ticket_service.get_ticket(
        session, organization_id=organization.id, ticket_id=ticket_id
    )
    comment = ticket_flows.add_comment(
        session,
        organization=organization,
        ticket=ticket,
        actor=actor,
        content=content,
        comment_type=CommentType.INTERNAL_NOTE if internal else CommentType.PUBLIC_REPLY,
    )
    if not internal and then in (ReplyThen.PENDING, ReplyThen.RESOLVED):
        ticket_flows.change_ticket(
            session,
            organization=organization,
            ticket=ticket,
            actor=actor,
            changes={"status": then},
            is_staff=is_staff,
        )
    return comment
