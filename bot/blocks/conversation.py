"""Block Kit for the conversation: note and reply modals, the DM offer, ticket views and
App Home. Pure functions; requester-facing builders take only public material."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.blocks.text import (
    SECTION_TEXT_MAX,
    ago,
    escape,
    escape_truncated,
    first_name,
    mention,
    truncate,
)
from bot.blocks.tickets import PRIORITY_EMOJI, STATUS_EMOJI, TicketView
from bot.ids import Action, Block, Callback, Field, ReplyThen
from models import TicketPriority, TicketStatus

COMMENT_INPUT_MAX = 3000
HOME_TICKETS_PER_LIST = 10


@dataclass(frozen=True)
class CommentView:
    author: str
    content: str
    created_at: datetime
    internal: bool = False
    from_staff: bool = False


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _ticket_metadata(ticket_id: int) -> str:
    return json.dumps({"ticket_id": ticket_id})


def ticket_id_from_metadata(private_metadata: str | None) -> int | None:
    try:
        value = json.loads(private_metadata or "{}").get("ticket_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def _summary(ticket: TicketView) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": truncate(f"*#{ticket.number}* {escape(ticket.title)}", SECTION_TEXT_MAX),
        },
    }


def internal_note_modal(ticket: TicketView) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": Callback.INTERNAL_NOTE_MODAL,
        "title": _plain("Internal note"),
        "submit": _plain("Add note"),
        "close": _plain("Cancel"),
        "private_metadata": _ticket_metadata(ticket.id),
        "blocks": [
            _summary(ticket),
            {
                "type": "input",
                "block_id": Block.NOTE,
                "label": _plain("Note"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": Field.VALUE,
                    "multiline": True,
                    "max_length": COMMENT_INPUT_MAX,
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": ":lock: Staff only: posted in the card's thread, never shown "
                        "to the requester.",
                    }
                ],
            },
        ],
    }


REPLY_THEN_LABELS = {
    ReplyThen.NOTHING: "Just send",
    ReplyThen.PENDING: "Send and set Pending (waiting for their answer)",
    ReplyThen.RESOLVED: "Send and resolve",
}


def reply_modal(ticket: TicketView, *, staff_name: str) -> dict[str, Any]:
    requester = ticket.requester.name if ticket.requester else "the requester"
    then_options = [
        {"text": _plain(label), "value": value} for value, label in REPLY_THEN_LABELS.items()
    ]
    return {
        "type": "modal",
        "callback_id": Callback.REPLY_MODAL,
        "title": _plain("Reply to requester"),
        "submit": _plain("Send"),
        "close": _plain("Cancel"),
        "private_metadata": _ticket_metadata(ticket.id),
        "blocks": [
            _summary(ticket),
            {
                "type": "input",
                "block_id": Block.REPLY,
                "label": _plain("Reply"),
                "hint": _plain(f"{requester} receives this as a direct message."),
                "element": {
                    "type": "plain_text_input",
                    "action_id": Field.VALUE,
                    "multiline": True,
                    "max_length": COMMENT_INPUT_MAX,
                },
            },
            {
                "type": "input",
                "block_id": Block.REPLY_THEN,
                "label": _plain("Then"),
                "optional": True,
                "element": {
                    "type": "radio_buttons",
                    "action_id": Field.VALUE,
                    "options": then_options,
                    "initial_option": then_options[0],
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": truncate(
                            f":envelope: {escape(requester)} will see: "
                            f"*{escape(staff_name)}* (IT team) on ticket #{ticket.number}: "
                            "_your reply_",
                            2000,
                        ),
                    }
                ],
            },
        ],
    }


def dm_offer(
    *, channel: str, ts: str, open_tickets: Sequence[TicketView]
) -> tuple[str, list[dict[str, Any]]]:
    """What Ticketbot answers to a DM outside any ticket thread: file it, or add it."""
    value = json.dumps({"channel": channel, "ts": ts})
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": Action.OFFER_NEW_TICKET,
            "text": _plain("File as a new ticket"),
            "style": "primary",
            "value": value,
        }
    ]
    for ticket in list(open_tickets)[:4]:
        elements.append(
            {
                "type": "button",
                "action_id": f"{Action.OFFER_ADD_TO_TICKET}:{ticket.id}",
                "text": _plain(truncate(f"Add to #{ticket.number} {ticket.title}", 75)),
                "value": value,
            }
        )
    text = "Should I file this as a ticket?"
    return text, [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": "dm_offer", "elements": elements},
    ]


def _conversation_lines(comments: Sequence[CommentView], limit: int) -> list[str]:
    lines = []
    for comment in list(comments)[-limit:]:
        marker = ":lock: " if comment.internal else ""
        who = f"{escape(comment.author)}{' (IT team)' if comment.from_staff else ''}"
        lines.append(f"{marker}*{who}*: {escape_truncated(comment.content, 300)}")
    return lines


def ticket_details(
    ticket: TicketView, comments: Sequence[CommentView], *, now: datetime, for_staff: bool
) -> list[dict[str, Any]]:
    """`/ticket 42`: staff get everything (notes marked); requesters only public material.

    Callers pass requesters only public comments; `for_staff` decides the wording."""
    status, priority = TicketStatus(ticket.status), TicketPriority(ticket.priority)
    facts = (
        f"{STATUS_EMOJI[status]} {list_facts(ticket, now)} · {PRIORITY_EMOJI[priority]} "
        f"{priority.label} · opened {ago(ticket.created_at, now)}"
    )
    if for_staff:
        requester = mention(
            ticket.requester.slack_user_id if ticket.requester else None,
            ticket.requester.name if ticket.requester else None,
        )
        assignee = (
            mention(ticket.assignee.slack_user_id, ticket.assignee.name)
            if ticket.assignee
            else "_unassigned_"
        )
        facts += f"\nRequester {requester} · Assignee {assignee}"
    blocks: list[dict[str, Any]] = [
        _summary(ticket),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(facts, 2000)}]},
    ]
    if ticket.description:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": escape_truncated(ticket.description, SECTION_TEXT_MAX),
                },
            }
        )
    lines = _conversation_lines(comments, limit=10)
    if lines:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate("\n".join(lines), SECTION_TEXT_MAX)},
            }
        )
    return blocks


def list_facts(ticket: TicketView, now: datetime) -> str:
    """A listed ticket's state in words: "Open · Tom has it · updated 5 m ago"."""
    status = TicketStatus(ticket.status)
    who = f"{first_name(ticket.assignee.name)} has it" if ticket.assignee else "not assigned yet"
    if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        who = f"by {first_name(ticket.assignee.name)}" if ticket.assignee else ""
    updated = ticket.updated_at or ticket.created_at
    parts = [status.label, who, f"updated {ago(updated, now)}"]
    return " · ".join(p for p in parts if p)


def ticket_list(
    tickets: Sequence[TicketView], *, empty: str, now: datetime, heading: str | None = None
) -> list[dict[str, Any]]:
    if not tickets:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": empty}}]
    lines = [f"*{heading}*"] if heading else []
    for ticket in tickets[:20]:
        status = TicketStatus(ticket.status)
        lines.append(
            f"{STATUS_EMOJI[status]} *#{ticket.number}* {escape_truncated(ticket.title, 120)}"
            f" · {list_facts(ticket, now)}"
        )
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate("\n".join(lines), SECTION_TEXT_MAX)},
        }
    ]


def _home_ticket(
    ticket: TicketView, *, card_link: str | None, now: datetime
) -> list[dict[str, Any]]:
    priority = TicketPriority(ticket.priority)
    section: dict[str, Any] = {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": truncate(
                f"*#{ticket.number}* {escape_truncated(ticket.title, 150)}\n"
                f"{STATUS_EMOJI[TicketStatus(ticket.status)]} {list_facts(ticket, now)} · "
                f"{PRIORITY_EMOJI[priority]} {priority.label}",
                SECTION_TEXT_MAX,
            ),
        },
    }
    if card_link:
        section["accessory"] = {
            "type": "button",
            "action_id": f"{Action.OPEN_CARD}:{ticket.id}",
            "text": _plain("Open card"),
            "url": card_link,
        }
    return [section]


def _new_ticket_button() -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "home_actions",
        "elements": [
            {
                "type": "button",
                "action_id": Action.HOME_NEW_TICKET,
                "text": _plain("New ticket"),
                "style": "primary",
            }
        ],
    }


def staff_home(
    *,
    mine: Sequence[TicketView],
    unassigned: Sequence[TicketView],
    recent: Sequence[TicketView],
    card_links: dict[int, str],
    now: datetime,
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [_new_ticket_button()]
    for title, tickets, empty in (
        ("My open tickets", mine, "Nothing assigned to you. :tada:"),
        ("Unassigned", unassigned, "Every open ticket has an owner."),
        ("Recently updated", recent, "No tickets yet."),
    ):
        blocks.append({"type": "header", "text": _plain(title)})
        if not tickets:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": empty}]})
        for ticket in list(tickets)[:HOME_TICKETS_PER_LIST]:
            blocks += _home_ticket(ticket, card_link=card_links.get(ticket.id), now=now)
        blocks.append({"type": "divider"})
    return {"type": "home", "blocks": blocks[:100]}


def requester_home(
    *,
    tickets: Sequence[TicketView],
    conversations: dict[int, Sequence[CommentView]],
    now: datetime,
) -> dict[str, Any]:
    """A requester's Home tab: their tickets and the public conversation of each.

    `conversations` must hold public replies only; nothing internal is passed in here."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain("Your IT tickets")},
        _new_ticket_button(),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Or type `/ticket` anywhere. To add to a ticket, reply in its "
                    "direct message thread.",
                }
            ],
        },
    ]
    if not tickets:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "You have no tickets yet."}}
        )
    for ticket in list(tickets)[:HOME_TICKETS_PER_LIST]:
        blocks += _home_ticket(ticket, card_link=None, now=now)
        lines = _conversation_lines(
            [c for c in conversations.get(ticket.id, []) if not c.internal], limit=3
        )
        if lines:
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": truncate("\n".join(lines), 2000)}],
                }
            )
        blocks.append({"type": "divider"})
    return {"type": "home", "blocks": blocks[:100]}


def verdict_notice(text: str, ticket_id: int, *, still_broken: bool) -> list[dict[str, Any]]:
    """A notice to the requester with **It's fixed** (and **Still broken**) buttons: the
    "resolved" notice, and the one saying their reply reopened the ticket."""
    value = str(ticket_id)
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": Action.REQUESTER_FIXED,
            "text": _plain("It's fixed"),
            "style": "primary",
            "value": value,
        }
    ]
    if still_broken:
        buttons.append(
            {
                "type": "button",
                "action_id": Action.REQUESTER_STILL_BROKEN,
                "text": _plain("Still broken"),
                "value": value,
            }
        )
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX)}},
        {"type": "actions", "block_id": f"verdict:{ticket_id}", "elements": buttons},
    ]
