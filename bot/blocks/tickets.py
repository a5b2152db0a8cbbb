"""Block Kit for tickets: the staff card, the new-ticket modal, thread lines, DMs.

Pure functions of plain data; unit-tested without Slack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.blocks.text import (
    FIELD_TEXT_MAX,
    HEADER_TEXT_MAX,
    MESSAGE_TEXT_MAX,
    SECTION_TEXT_MAX,
    age,
    escape,
    escape_truncated,
    mention,
    truncate,
)
from bot.ids import Action, Block, Callback, Field
from models import TicketPriority, TicketStatus
from models.ticket import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH

PRIORITY_EMOJI = {
    TicketPriority.LOW: ":white_circle:",
    TicketPriority.MEDIUM: ":large_blue_circle:",
    TicketPriority.HIGH: ":large_orange_circle:",
    TicketPriority.URGENT: ":red_circle:",
}
STATUS_EMOJI = {
    TicketStatus.OPEN: ":new:",
    TicketStatus.IN_PROGRESS: ":hammer_and_wrench:",
    TicketStatus.PENDING: ":hourglass_flowing_sand:",
    TicketStatus.RESOLVED: ":white_check_mark:",
    TicketStatus.CLOSED: ":lock:",
}


@dataclass(frozen=True)
class PersonView:
    name: str
    slack_user_id: str | None = None


@dataclass(frozen=True)
class TicketView:
    """What a card shows of a ticket, resolved to names."""

    id: int
    number: int
    title: str
    description: str
    status: TicketStatus
    priority: TicketPriority
    category: str | None
    requester: PersonView | None
    assignee: PersonView | None
    company: str | None
    created_at: datetime
    source_permalink: str | None = None
    company_id: int | None = None
    # The organization's client companies (id, name), offered on the card's company menu.
    company_options: tuple[tuple[int, str], ...] = ()
    # The requester's answer to the satisfaction survey ("Good", "Bad"), if any.
    satisfaction: str | None = None


def _plain(text: str, limit: int | None = None) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) if limit else text, "emoji": True}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(truncate(text, 75)), "value": value}


def ticket_fallback_text(ticket: TicketView) -> str:
    """The notification text of a card: shown in push notifications and screen readers."""
    return truncate(f"Ticket #{ticket.number}: {escape(ticket.title)}", MESSAGE_TEXT_MAX)


def card_actions_block_id(ticket_id: int) -> str:
    return f"{Block.CARD_ACTIONS}:{ticket_id}"


def ticket_id_from_block_id(block_id: str | None) -> int | None:
    """The ticket id encoded in a card's actions block_id, or None for anything else."""
    prefix = f"{Block.CARD_ACTIONS}:"
    if not block_id or not block_id.startswith(prefix):
        return None
    raw = block_id[len(prefix) :]
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def status_options() -> list[dict[str, Any]]:
    return [_option(status.label, status.value) for status in TicketStatus]


def priority_options() -> list[dict[str, Any]]:
    return [_option(f"{p.label}", p.value) for p in TicketPriority]


def ticket_card(ticket: TicketView, *, now: datetime) -> list[dict[str, Any]]:
    """The staff card: what the ticket is, and every triage action."""
    status, priority = TicketStatus(ticket.status), TicketPriority(ticket.priority)
    header = truncate(f"#{ticket.number} {ticket.title}", HEADER_TEXT_MAX)
    requester = (
        mention(ticket.requester.slack_user_id, ticket.requester.name)
        if ticket.requester
        else "_unknown_"
    )
    assignee = (
        mention(ticket.assignee.slack_user_id, ticket.assignee.name)
        if ticket.assignee
        else "_Unassigned_"
    )
    if ticket.company:
        client = escape_truncated(ticket.company, 200)
    elif ticket.company_options:
        client = ":warning: _not matched: choose below_"
    else:
        client = "_none_"
    fields = [
        f"*Requester*\n{requester}",
        f"*Client*\n{client}",
        f"*Priority*\n{PRIORITY_EMOJI[priority]} {priority.label}",
        f"*Status*\n{STATUS_EMOJI[status]} {status.label}",
        f"*Category*\n{escape_truncated(ticket.category, 100) if ticket.category else '_none_'}",
        f"*Assignee*\n{assignee}",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(header)},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": truncate(f, FIELD_TEXT_MAX)} for f in fields],
        },
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
    opened = age(ticket.created_at, now)
    context = ["Opened just now" if opened == "just now" else f"Opened {opened} ago"]
    if ticket.source_permalink:
        context.append(f"<{ticket.source_permalink}|Original message>")
    if ticket.satisfaction:
        context.append(f"Satisfaction: {ticket.satisfaction}")
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
    )
    assignee_select: dict[str, Any] = {
        "type": "users_select",
        "action_id": Action.ASSIGNEE,
        "placeholder": _plain("Assign to…"),
    }
    if ticket.assignee and ticket.assignee.slack_user_id:
        assignee_select["initial_user"] = ticket.assignee.slack_user_id
    status_select = {
        "type": "static_select",
        "action_id": Action.STATUS,
        "placeholder": _plain("Status"),
        "options": status_options(),
        "initial_option": _option(status.label, status.value),
    }
    priority_select = {
        "type": "static_select",
        "action_id": Action.PRIORITY,
        "placeholder": _plain("Priority"),
        "options": priority_options(),
        "initial_option": _option(priority.label, priority.value),
    }
    value = str(ticket.id)
    company_select: list[dict[str, Any]] = []
    if ticket.company_options:
        options = [_option(name, str(cid)) for cid, name in ticket.company_options[:100]]
        select: dict[str, Any] = {
            "type": "static_select",
            "action_id": Action.CLIENT_COMPANY,
            "placeholder": _plain("Client company"),
            "options": options,
        }
        current = next((o for o in options if o["value"] == str(ticket.company_id)), None)
        if current is not None:
            select["initial_option"] = current
        company_select.append(select)
    blocks.append(
        {
            "type": "actions",
            "block_id": card_actions_block_id(ticket.id),
            "elements": [
                {
                    "type": "button",
                    "action_id": Action.ASSIGN_TO_ME,
                    "text": _plain("Assign to me"),
                    "value": value,
                    "style": "primary",
                },
                assignee_select,
                status_select,
                priority_select,
                *company_select,
                {
                    "type": "button",
                    "action_id": Action.REPLY_TO_REQUESTER,
                    "text": _plain("Reply to requester"),
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": Action.ADD_INTERNAL_NOTE,
                    "text": _plain("Add internal note"),
                    "value": value,
                },
            ],
        }
    )
    return blocks


def change_line(actor_slack_id: str | None, actor_name: str, what: str) -> str:
    """One line in the card's thread: "<@U1> set status to *Pending*"."""
    return truncate(f"{mention(actor_slack_id, actor_name)} {what}", MESSAGE_TEXT_MAX)


def describe_change(field_name: str, new_label: str | None) -> str:
    """The `what` of a change line, with user text escaped."""
    if field_name == "assigned_staff_id":
        return f"assigned the ticket to {new_label}" if new_label else "unassigned the ticket"
    label = FIELD_LABELS.get(field_name, field_name.replace("_", " "))
    return f"set {label} to *{escape(new_label) if new_label else 'none'}*"


FIELD_LABELS = {"client_company_id": "client company", "device_id": "device"}


def requester_received_text(ticket: TicketView) -> str:
    return truncate(f"Ticket #{ticket.number} received: {escape(ticket.title)}", MESSAGE_TEXT_MAX)


def requester_received_blocks(ticket: TicketView) -> list[dict[str, Any]]:
    """The DM that acknowledges a ticket; its thread is the requester's conversation."""
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": truncate(
                    f":ticket: *Ticket #{ticket.number} received*\n"
                    f"{escape_truncated(ticket.title, TITLE_MAX_LENGTH * 5)}",
                    SECTION_TEXT_MAX,
                ),
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Our team will get back to you here. "
                    "Reply in this thread to add details.",
                }
            ],
        },
    ]


@dataclass
class ModalPrefill:
    """What the new-ticket modal starts with, and what it remembers until submission."""

    title: str = ""
    description: str = ""
    priority: str | None = None
    category: str | None = None
    requester_slack_id: str | None = None
    # Remembered in private_metadata: where a ticket filed from a message came from.
    source: dict[str, Any] = field(default_factory=dict)
    # The channel a /ticket command was typed in (its client company may apply).
    channel: str | None = None


def new_ticket_modal(
    *,
    prefill: ModalPrefill,
    categories: list[str],
    default_priority: TicketPriority,
    show_requester: bool,
    companies: tuple[tuple[int, str], ...] = (),
) -> dict[str, Any]:
    """The "New ticket" modal: Title, Description, Priority, Category (+ Requester for staff)."""
    priority = TicketPriority(prefill.priority or default_priority)
    category_options = [_option(c.title() if c.islower() else c, c) for c in categories[:100]]
    category_element: dict[str, Any] = {
        "type": "static_select",
        "action_id": Field.VALUE,
        "placeholder": _plain("Choose a category"),
        "options": category_options,
    }
    if prefill.category in categories:
        category_element["initial_option"] = next(
            o for o in category_options if o["value"] == prefill.category
        )
    title_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": Field.VALUE,
        "max_length": TITLE_MAX_LENGTH,
        "placeholder": _plain("e.g. Outlook keeps asking for my password"),
    }
    if prefill.title:
        title_element["initial_value"] = truncate(prefill.title, TITLE_MAX_LENGTH)
    description_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": Field.VALUE,
        "multiline": True,
        "max_length": 3000,
        "placeholder": _plain("What happened, what you expected, what you already tried"),
    }
    if prefill.description:
        description_element["initial_value"] = truncate(prefill.description, 3000)
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": Block.TITLE,
            "label": _plain("Title"),
            "element": title_element,
        },
        {
            "type": "input",
            "block_id": Block.DESCRIPTION,
            "label": _plain("Description"),
            "optional": True,
            "element": description_element,
        },
        {
            "type": "input",
            "block_id": Block.PRIORITY,
            "label": _plain("Priority"),
            "element": {
                "type": "static_select",
                "action_id": Field.VALUE,
                "options": priority_options(),
                "initial_option": _option(priority.label, priority.value),
            },
        },
        {
            "type": "input",
            "block_id": Block.CATEGORY,
            "label": _plain("Category"),
            "optional": True,
            "element": category_element,
        },
    ]
    if show_requester:
        requester_element: dict[str, Any] = {
            "type": "users_select",
            "action_id": Field.VALUE,
            "placeholder": _plain("Yourself, unless you pick someone"),
        }
        if prefill.requester_slack_id:
            requester_element["initial_user"] = prefill.requester_slack_id
        blocks.append(
            {
                "type": "input",
                "block_id": Block.REQUESTER,
                "label": _plain("Requester"),
                "optional": True,
                "hint": _plain("File the ticket on someone's behalf."),
                "element": requester_element,
            }
        )
    if show_requester and companies:
        blocks.append(
            {
                "type": "input",
                "block_id": Block.CLIENT_COMPANY,
                "label": _plain("Client company"),
                "optional": True,
                "hint": _plain("Leave empty to use the requester's company."),
                "element": {
                    "type": "static_select",
                    "action_id": Field.VALUE,
                    "placeholder": _plain("The requester's company"),
                    "options": [_option(name, str(cid)) for cid, name in companies[:100]],
                },
            }
        )
    remembered: dict[str, Any] = {}
    if prefill.source:
        remembered["source"] = prefill.source
    if prefill.channel:
        remembered["channel"] = prefill.channel
    metadata = json.dumps(remembered)
    return {
        "type": "modal",
        "callback_id": Callback.NEW_TICKET_MODAL,
        "title": _plain("New ticket"),
        "submit": _plain("File ticket"),
        "close": _plain("Cancel"),
        "private_metadata": metadata if len(metadata) <= 3000 else "{}",
        "blocks": blocks,
    }


USAGE = (
    "*Ticketbot* — IT help, right here in Slack.\n"
    "• `/ticket` — open the new-ticket form\n"
    "• `/ticket &lt;what's wrong&gt;` — open the form with that as the title\n"
    "• `/ticket new &lt;title&gt;` — the same, for a one-word title\n"
    "• `/ticket mine` — the tickets you asked for\n"
    "• `/ticket 42` — show ticket #42\n"
    "• `/ticket report [YYYY-MM] [client]` — the monthly report in your DM (IT team)\n"
    "• `/ticket help` — this message\n"
    "You can also use the *Create ticket* shortcut on any message, "
    "or react to a message with :ticket:."
)


def usage_text(unknown: str | None = None) -> str:
    if unknown:
        return f"I don't know `{escape(truncate(unknown, 50))}`.\n\n{USAGE}"
    return USAGE


__all__ = [
    "DESCRIPTION_MAX_LENGTH",
    "ModalPrefill",
    "PersonView",
    "TicketView",
    "card_actions_block_id",
    "change_line",
    "describe_change",
    "new_ticket_modal",
    "requester_received_blocks",
    "requester_received_text",
    "ticket_card",
    "ticket_fallback_text",
    "ticket_id_from_block_id",
    "usage_text",
]
