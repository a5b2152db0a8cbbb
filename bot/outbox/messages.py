"""Which Slack messages a domain change causes, and their words.

Nothing here talks to Slack: each function writes outbox rows (see `rows`) in the caller's
unit of work; the worker sends them after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.blocks.conversation import verdict_notice
from bot.blocks.sla import breach_text, warning_text
from bot.blocks.text import MESSAGE_TEXT_MAX, escape, truncate
from bot.blocks.tickets import (
    STATUS_EMOJI,
    change_line,
    describe_change,
)
from bot.ids import Reaction
from bot.outbox.render import ticket_view
from bot.outbox.rows import (
    CARD_LINK,
    LINK_CARD,
    NAMES,
    RECORD_COMMENT,
    RENDER,
    STAFF_CHANNEL,
    Lane,
    Rendered,
    enqueue,
    person,
)
from bot.services import comments, preferences
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
    utcnow,
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
    if source and source.get("channel") and source.get("offer_ts"):
        # Filed from Ticketbot's "Should I file this as a ticket?" offer: the offer itself
        # becomes the confirmation (its buttons go).
        enqueue(
            session,
            organization=organization,
            ticket=ticket,
            method="chat.update",
            payload={
                "channel": source["channel"],
                "ts": str(source["offer_ts"]),
                "blocks": [],
                RENDER: Rendered.FILED_NOTICE,
            },
            lane=Lane.SOURCE,
        )
    elif source and source.get("channel") and source.get("ts"):
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


def refresh_card(session: Session, *, organization: Organization, ticket: Ticket) -> int | None:
    """Redraw the card in place (something it shows changed).

    Coalesced: the card is drawn when its row is delivered, so while a redraw (or the
    card's first post) waits unclaimed in the outbox, it will show this change too and no
    second row is written; a burst of comments costs Slack one `chat.update`. The waiting
    row is locked (PostgreSQL) so a worker cannot claim it until this change commits."""
    now = utcnow()
    waiting = session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.ticket_id == ticket.id,
            OutboxMessage.lane == Lane.STAFF,
            OutboxMessage.status == OutboxStatus.PENDING,
            or_(
                col(OutboxMessage.claimed_until).is_(None),
                col(OutboxMessage.claimed_until) < now,
            ),
        )
        .order_by(col(OutboxMessage.id))  # locked in one order by every writer: no deadlock
        .with_for_update()
    ).all()
    if any(row.payload.get(RENDER) == Rendered.TICKET_CARD for row in waiting):
        return None
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
    said: str | None = None,
    tell_requester: bool = True,
) -> None:
    """Update the card in place and add one line for the changes in its thread: `said`
    when given (a line with "{who}" for the actor), else what changed. The requester hears
    of a status change unless they made it, muted such news, or the caller tells them in
    its own words (`tell_requester` False)."""
    if not changes:
        return
    refresh_card(session, organization=organization, ticket=ticket)
    actor_id = actor.id if actor else None
    who = _named(actor_id, actor_name)
    if said is not None:
        text = said.replace("{who}", who)
    else:
        text = change_line(
            who,
            [
                describe_change(
                    change.field,
                    _label(session, change.field, change.new),
                    to_actor=change.new is not None and change.new == actor_id,
                )
                for change in changes
            ],
        )
    _to_staff_thread(session, organization, ticket, text, names=_ids(actor_id, changes))
    for change in changes:
        if (
            change.field == "status"
            and tell_requester
            and ticket.requester_id != actor_id
            and wants(session, ticket.requester_id, Notice.STATUS_CHANGE)
        ):
            notice = _status_notice(ticket, change, _who(session, actor_id, actor_name))
            if change.new == TicketStatus.PENDING and not _staff_spoke_last(session, ticket):
                notice = None  # nobody asked the requester anything: nothing to wait for
            if notice:
                requester_notice(
                    session,
                    organization=organization,
                    ticket=ticket,
                    text=notice,
                    verdict=_Verdict() if change.new == TicketStatus.RESOLVED else None,
                )
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
                    f"{CARD_LINK}{_priority_words(ticket)}: {escape(ticket.title)}",
                )


REOPENED_FROM = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def wants(session: Session, member_id: int | None, notice: Notice) -> bool:
    """Whether the member gets DMs of this kind (their App Home switches)."""
    return member_id is not None and notice not in preferences.muted(session, member_id=member_id)


def _priority_words(ticket: Ticket) -> str:
    """A ticket's priority in a notification when it asks for haste: " (urgent)"."""
    priority = TicketPriority(ticket.priority)
    if priority in (TicketPriority.HIGH, TicketPriority.URGENT):
        return f" ({priority.label.lower()} priority)"
    return ""


def _staff_spoke_last(session: Session, ticket: Ticket) -> bool:
    """Whether the ticket's latest public comment is the IT team's (a question or an
    answer the requester has to act on)."""
    last = comments.last_public_author_type(session, ticket_id=ticket.id)
    return last == AuthorType.STAFF


def _named(member_id: int | None, name: str) -> str:
    """A person in a staff-thread line: their first name, filled in at delivery (no
    mention); someone who is not a member (a REST token) by their whole name."""
    return person(member_id) if member_id else escape(name)


def _ids(actor_id: int | None, changes: Sequence[Change]) -> list[int]:
    ids = [c.new for c in changes if c.field == "assigned_staff_id" and c.new is not None]
    return [i for i in (actor_id, *ids) if i is not None]


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
            f":hourglass_flowing_sand: Ticket #{number} is waiting for your answer to the "
            "IT team's message above: reply in this thread."
        )
    if new == TicketStatus.RESOLVED:
        return f":white_check_mark: Ticket #{number} is resolved. Is it fixed for you?"
    if new == TicketStatus.CLOSED:
        return f"{STATUS_EMOJI[TicketStatus.CLOSED]} Ticket #{number} is closed."
    return None


def reopened_by_reply(
    session: Session, *, organization: Organization, ticket: Ticket, requester: Member
) -> None:
    """The requester's reply reopened their resolved ticket: the staff thread says why,
    and the requester hears it (a "thanks!" closes it again with one button)."""
    number = ticket.ticket_number
    requester_notice(
        session,
        organization=organization,
        ticket=ticket,
        text=f":arrows_counterclockwise: I reopened ticket #{number} so the IT team sees "
        "your message. If you only wanted to say thanks, press *It's fixed*.",
        verdict=_Verdict(still_broken=False),
    )


@dataclass(frozen=True)
class _Verdict:
    """Buttons under a notice: It's fixed, and Still broken unless `still_broken` is off."""

    still_broken: bool = True


def requester_notice(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    text: str,
    verdict: _Verdict | None = None,
    blocks: list[dict[str, Any]] | None = None,
) -> int | None:
    """A message from Ticketbot to the requester in the ticket's DM thread; with `verdict`,
    the **It's fixed** / **Still broken** buttons under it; with `blocks`, drawn so."""
    requester = session.get(Member, ticket.requester_id) if ticket.requester_id else None
    if requester is None or not requester.slack_user_id:
        return None
    payload: dict[str, Any] = {
        "dm_user": requester.slack_user_id,
        "text": truncate(text, MESSAGE_TEXT_MAX),
        "thread_optional": True,
    }
    if verdict is not None:
        payload["blocks"] = verdict_notice(
            text,
            ticket.id,  # type: ignore[arg-type]
            still_broken=verdict.still_broken,
        )
    elif blocks is not None:
        payload["blocks"] = blocks
    return enqueue(
        session,
        organization=organization,
        ticket=ticket,
        method="chat.postMessage",
        payload=payload,
        lane=Lane.REQUESTER,
        thread_ref=MessageRole.REQUESTER_DM,
    )


def _direct_message(
    session: Session,
    organization: Organization,
    ticket: Ticket,
    slack_user_id: str,
    text: str,
    *,
    lane: str = Lane.NOTIFY,
) -> int:
    """A DM to a staff member about a ticket (not threaded); `CARD_LINK` in `text` becomes
    a link to the card, once it is posted ("ticket #N" before)."""
    return enqueue(
        session,
        organization=organization,
        ticket=ticket,
        method="chat.postMessage",
        payload={
            "dm_user": slack_user_id,
            "text": truncate(text, MESSAGE_TEXT_MAX),
            LINK_CARD: True,
        },
        lane=lane,
    )


def _label(session: Session, field: str, value: Any) -> str | None:
    if value is None:
        return None
    if field == "status":
        return TicketStatus(value).label
    if field == "priority":
        return TicketPriority(value).label
    if field == "assigned_staff_id":
        return person(value)
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
    The card is redrawn for its activity line (coalesced, see `refresh_card`).
    """
    refresh_card(session, organization=organization, ticket=ticket)
    author = _who(session, comment.author_id, comment.author_name)
    named = _named(comment.author_id, comment.author_name)  # staff lines: a name, no ping
    content = escape(comment.content)
    if comment.comment_type == CommentType.INTERNAL_NOTE:
        if not already_in_staff_thread:
            _to_staff_thread(
                session,
                organization,
                ticket,
                truncate(f":lock: *Internal note* from {named}:\n{content}", MESSAGE_TEXT_MAX),
                names=[comment.author_id] if comment.author_id else (),
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
                    f":outbox_tray: *Sent to the requester* by {named}:\n{content}",
                    MESSAGE_TEXT_MAX,
                ),
                names=[comment.author_id] if comment.author_id else (),
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
            f":speech_balloon: {author} replied on {CARD_LINK}{_priority_words(ticket)} "
            f"({escape(ticket.title)}):\n{content}",
        )


def requester_reply_text(author: str, content: str) -> str:
    """How a requester's reply shows in the staff thread (`author` and `content` escaped)."""
    return truncate(
        f":speech_balloon: *{author}* (requester) replied:\n{content}", MESSAGE_TEXT_MAX
    )


def staff_thread_note(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    text: str,
    names: Sequence[int] = (),
) -> int:
    """A line from Ticketbot in the card's thread (staff only; `text` already escaped,
    people in it as `rows.person(id)`, listed in `names`)."""
    return _to_staff_thread(
        session, organization, ticket, truncate(text, MESSAGE_TEXT_MAX), names=names
    )


def _to_staff_thread(
    session: Session,
    organization: Organization,
    ticket: Ticket,
    text: str,
    *,
    mirrors: TicketComment | None = None,
    names: Sequence[int] = (),
) -> int:
    payload: dict[str, Any] = {"text": text}
    if names:
        payload[NAMES] = sorted(set(names))
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


def sla_alert(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    metric: str,
    percent: int,
    due_at: datetime | None,
    timezone: str,
    now: datetime,
) -> None:
    """An SLA warning (75 %, 90 %) or breach (100 %).

    75 %: a DM to the assignee unless they switched SLA warnings off (the staff channel if
    nobody is assigned); 90 %: that and the card's thread; breach: the card's thread and
    the card's SLA line."""
    if percent >= 100:
        _to_staff_thread(
            session,
            organization,
            ticket,
            breach_text(
                number=ticket.ticket_number,
                title=ticket.title,
                metric=metric,
                due_at=due_at,
                timezone=timezone,
            ),
        )
        refresh_card(session, organization=organization, ticket=ticket)
        return
    if due_at is None:
        return
    text = warning_text(
        number=ticket.ticket_number,
        title=ticket.title,
        metric=metric,
        percent=percent,
        due_at=due_at,
        now=now,
        timezone=timezone,
    )
    assignee = session.get(Member, ticket.assigned_staff_id) if ticket.assigned_staff_id else None
    if assignee is not None and assignee.slack_user_id:
        # An assignee who switched SLA warnings off gets no DM; the 90 % line still
        # reaches the card's thread below.
        if wants(session, assignee.id, Notice.SLA_WARNING):
            _direct_message(session, organization, ticket, assignee.slack_user_id, text)
    else:
        enqueue(
            session,
            organization=organization,
            ticket=ticket,
            method="chat.postMessage",
            payload={"text": text},
            lane=Lane.STAFF,
            channel_ref=STAFF_CHANNEL,
        )
    if percent >= 90:
        _to_staff_thread(session, organization, ticket, text)


def staff_dm(
    session: Session, *, organization: Organization, ticket: Ticket, slack_user_id: str, text: str
) -> int:
    """A DM to a staff member about a ticket (time tracking's reminders)."""
    return _direct_message(session, organization, ticket, slack_user_id, text)


def mark_message(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    channel: str,
    ts: str,
    reaction: Reaction,
) -> int:
    """Ticketbot reacts to a person's message in the card's thread, so staff see what
    became of it (🔒 saved as an internal note, 📤 sent to the requester)."""
    return enqueue(
        session,
        organization=organization,
        ticket=ticket,
        method="reactions.add",
        payload={"channel": channel, "timestamp": ts, "name": reaction.value},
        lane=Lane.STAFF,
    )


def follow_up_opened(
    session: Session, *, organization: Organization, parent: Ticket, follow_up: Ticket
) -> None:
    """A reply to a closed ticket opened `follow_up`: the closed card's thread points to
    it, and the assignee it inherited hears about it."""
    requester_id = follow_up.requester_id
    requester = session.get(Member, requester_id) if requester_id else None
    name = requester.name if requester else "The requester"
    who = _named(requester_id, name)
    _to_staff_thread(
        session,
        organization,
        parent,
        f"{who} wrote again after this closed: follow-up ticket #{follow_up.ticket_number}",
        names=[requester_id] if requester_id else (),
    )
    assignee = (
        session.get(Member, follow_up.assigned_staff_id) if follow_up.assigned_staff_id else None
    )
    if assignee is not None and assignee.slack_user_id:
        _direct_message(
            session,
            organization,
            follow_up,
            assignee.slack_user_id,
            f":arrows_counterclockwise: {_who(session, requester_id, name)} wrote again about "
            f"closed ticket #{parent.ticket_number}: follow-up {CARD_LINK}"
            f"{_priority_words(follow_up)} is yours ({escape(follow_up.title)}).",
            lane=Lane.STAFF,  # after the new card is posted, so that it links to it
        )


def setup_saved(
    session: Session, *, organization: Organization, slack_user_id: str, text: str
) -> int:
    """Tell the admin who saved `/ticket setup` what is now in effect (a DM)."""
    return enqueue(
        session,
        organization=organization,
        ticket=None,
        method="chat.postMessage",
        payload={"dm_user": slack_user_id, "text": truncate(text, MESSAGE_TEXT_MAX)},
        lane=Lane.NOTIFY,
    )


def staff_thread_line(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    actor_id: int | None,
    actor_name: str,
    what: str,
) -> int:
    """ "Tom logged 45 min (billable)" in the card's thread (time tracking's lines); `what`
    is ready mrkdwn."""
    text = change_line(_named(actor_id, actor_name), [what])
    names = [actor_id] if actor_id is not None else []
    return _to_staff_thread(session, organization, ticket, text, names=names)
