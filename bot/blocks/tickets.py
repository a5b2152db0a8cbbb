"""Block Kit for tickets: the staff card, the new-ticket modal, thread lines, DMs.

Pure functions of plain data; unit-tested without Slack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.blocks.sla import SlaLineView, sla_line_block
from bot.blocks.text import (
    FIELD_TEXT_MAX,
    HEADER_TEXT_MAX,
    MESSAGE_TEXT_MAX,
    SECTION_TEXT_MAX,
    card_ago,
    escape,
    escape_truncated,
    first_name,
    mention,
    truncate,
)
from bot.ids import Action, Block, Callback, CardMore, Field
from models import TicketPriority, TicketStatus
from models.ticket import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH

PRIORITY_EMOJI = {
    TicketPriority.LOW: ":white_circle:",
    TicketPriority.MEDIUM: ":large_blue_circle:",
    TicketPriority.HIGH: ":large_orange_circle:",
    TicketPriority.URGENT: ":red_circle:",
}
STATUS_EMOJI = {
    TicketStatus.OPEN: ":inbox_tray:",
    TicketStatus.IN_PROGRESS: ":hammer_and_wrench:",
    TicketStatus.PENDING: ":hourglass_flowing_sand:",
    TicketStatus.RESOLVED: ":white_check_mark:",
    TicketStatus.CLOSED: ":checkered_flag:",  # (:lock: means internal, nothing else)
}


@dataclass(frozen=True)
class PersonView:
    name: str
    slack_user_id: str | None = None


@dataclass(frozen=True)
class Activity:
    """The latest thing someone said on a ticket: "Alice replied", "Tom added a note"."""

    who: str
    internal: bool
    at: datetime


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
    # The most urgent SLA clock (the card's SLA line); None: no SLA.
    sla: SlaLineView | None = None
    # Who is timing the ticket ("⏱ Tom since 10:05"), or None; only the card shows it.
    timing: str | None = None
    # The organization's categories, offered on the card's category menu.
    category_options: tuple[str, ...] = ()
    # The latest comment, for the card's activity line.
    last_activity: Activity | None = None
    # Unresolved, and the last public word is IT's: the requester has the next move.
    waiting_on_requester: bool = False
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = None
    # A follow-up of a closed ticket: the number of the ticket it follows.
    follows_number: int | None = None
    # The requester's answer to the satisfaction survey ("Good", "Bad"), if any.
    satisfaction: str | None = None


def _plain(text: str, limit: int | None = None) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) if limit else text, "emoji": True}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(truncate(text, 75)), "value": value}


def ticket_fallback_text(ticket: TicketView) -> str:
    """The notification text of a card: shown in push notifications and screen readers.
    A high or urgent ticket says so in words (not only by the colour of an emoji)."""
    text = f"Ticket #{ticket.number}: {escape(ticket.title)}"
    if ticket.priority in (TicketPriority.HIGH, TicketPriority.URGENT):
        text += f" · {TicketPriority(ticket.priority).label} priority"
    return truncate(text, MESSAGE_TEXT_MAX)


def card_actions_block_id(ticket_id: int) -> str:
    return f"{Block.CARD_ACTIONS}:{ticket_id}"


def card_menus_block_id(ticket_id: int) -> str:
    return f"{Block.CARD_MENUS}:{ticket_id}"


def ticket_id_from_block_id(block_id: str | None) -> int | None:
    """The ticket id encoded in a card's actions or menus block_id, or None."""
    for prefix in (f"{Block.CARD_ACTIONS}:", f"{Block.CARD_MENUS}:"):
        if block_id and block_id.startswith(prefix):
            raw = block_id[len(prefix) :]
            return int(raw) if raw.isdigit() and len(raw) < 19 else None
    return None


def status_options() -> list[dict[str, Any]]:
    return [_option(status.label, status.value) for status in TicketStatus]


def priority_options() -> list[dict[str, Any]]:
    return [_option(f"{p.label}", p.value) for p in TicketPriority]


RESOLVED_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def _card_fields(ticket: TicketView) -> list[str]:
    """The card's facts; a fact with nothing to say is left out."""
    status, priority = TicketStatus(ticket.status), TicketPriority(ticket.priority)
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
    fields = [f"*Requester*\n{requester}"]
    if ticket.company:
        fields.append(f"*Client*\n{escape_truncated(ticket.company, 200)}")
    elif ticket.company_options:
        fields.append("*Client*\n:warning: _not matched: choose below_")
    fields += [
        f"*Priority*\n{PRIORITY_EMOJI[priority]} {priority.label}",
        f"*Status*\n{STATUS_EMOJI[status]} {status.label}",
    ]
    if ticket.category:
        fields.append(f"*Category*\n{escape_truncated(ticket.category, 100)}")
    fields.append(f"*Assignee*\n{assignee}")
    return fields


def card_ages(
    *,
    created_at: datetime,
    last_activity_at: datetime | None,
    resolved_at: datetime | None,
    now: datetime,
) -> tuple[str, ...]:
    """What of the card's activity line changes with time alone (a closed card does not
    age): the line reads differently at two moments exactly when these differ."""
    ages = [card_ago(created_at, now)]
    if last_activity_at is not None:
        ages.append(card_ago(last_activity_at, now))
    if resolved_at is not None:
        ages.append(card_ago(resolved_at, now))
    return tuple(ages)


def card_activity_line(ticket: TicketView, *, now: datetime) -> str:
    """ "Opened 2 d ago · Alice replied 5 m ago · waiting on IT": the card's age and turn."""
    status = TicketStatus(ticket.status)
    parts = [f"Opened {card_ago(ticket.created_at, now)}"]
    if ticket.last_activity is not None:
        did = "added a note" if ticket.last_activity.internal else "replied"
        parts.append(f"{ticket.last_activity.who} {did} {card_ago(ticket.last_activity.at, now)}")
    if status == TicketStatus.CLOSED:
        parts.append(f"closed {card_ago(ticket.closed_at, now)}" if ticket.closed_at else "closed")
    elif status == TicketStatus.RESOLVED:
        parts.append(
            f"resolved {card_ago(ticket.resolved_at, now)}" if ticket.resolved_at else "resolved"
        )
    elif status == TicketStatus.PENDING or ticket.waiting_on_requester:
        who = first_name(ticket.requester.name) if ticket.requester else "the requester"
        parts.append(f"waiting on {who}")
    else:
        parts.append("waiting on IT")
    if ticket.follows_number is not None:
        parts.append(f"follow-up to #{ticket.follows_number}")
    if ticket.satisfaction:
        parts.append(f"satisfaction: {ticket.satisfaction}")
    if ticket.source_permalink:
        parts.append(f"<{ticket.source_permalink}|Original message>")
    return " · ".join(parts)


def _button(action_id: str, text: str, value: str, *, primary: bool = False) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": _plain(text),
        "value": value,
    }
    if primary:
        button["style"] = "primary"
    return button


def _card_buttons(ticket: TicketView) -> list[dict[str, Any]]:
    """The card's buttons: the next step for this state first (primary), rare ones in ⋯."""
    status, value = TicketStatus(ticket.status), str(ticket.id)
    reply = _button(Action.REPLY_TO_REQUESTER, "Reply to requester", value)
    more = [(CardMore.NOTE, "Add internal note")]
    if status in RESOLVED_STATUSES:
        buttons = [_button(Action.REOPEN, "Reopen", value)]
        if status == TicketStatus.RESOLVED:
            buttons.append(reply)
            more.append((CardMore.CLOSE, "Close ticket"))
    elif ticket.assignee is None:
        buttons = [_button(Action.ASSIGN_TO_ME, "Assign to me", value, primary=True), reply]
    else:
        buttons = [{**reply, "style": "primary"}]
        more += [(CardMore.ASSIGN_TO_ME, "Assign to me"), (CardMore.UNASSIGN, "Unassign")]
    if ticket.assignee is not None and status in RESOLVED_STATUSES:
        more.append((CardMore.UNASSIGN, "Unassign"))
    overflow = {
        "type": "overflow",
        "action_id": Action.CARD_MORE,
        "options": [_option(text, option) for option, text in more[:5]],
    }
    return [*buttons, overflow] if len(more) > 1 else [*buttons, _note_button(value)]


def _note_button(value: str) -> dict[str, Any]:
    return _button(Action.ADD_INTERNAL_NOTE, "Add internal note", value)


def _card_menus(ticket: TicketView) -> list[dict[str, Any]]:
    """Assignee, status, priority, category and client menus, showing the current values."""
    status, priority = TicketStatus(ticket.status), TicketPriority(ticket.priority)
    assignee_select: dict[str, Any] = {
        "type": "users_select",
        "action_id": Action.ASSIGNEE,
        "placeholder": _plain("Assign to…"),
    }
    if ticket.assignee and ticket.assignee.slack_user_id:
        assignee_select["initial_user"] = ticket.assignee.slack_user_id
    menus: list[dict[str, Any]] = [
        assignee_select,
        {
            "type": "static_select",
            "action_id": Action.STATUS,
            "placeholder": _plain("Status"),
            "options": status_options(),
            "initial_option": _option(status.label, status.value),
        },
        {
            "type": "static_select",
            "action_id": Action.PRIORITY,
            "placeholder": _plain("Priority"),
            "options": priority_options(),
            "initial_option": _option(priority.label, priority.value),
        },
    ]
    if ticket.category_options:
        menus.append(
            _select(
                Action.CATEGORY,
                "Category",
                [(c, category_label(c)) for c in ticket.category_options],
                ticket.category,
            )
        )
    if ticket.company_options:
        menus.append(
            _select(
                Action.CLIENT_COMPANY,
                "Client company",
                [(str(cid), name) for cid, name in ticket.company_options],
                str(ticket.company_id) if ticket.company_id else None,
            )
        )
    return menus


def category_label(category: str) -> str:
    return category.title() if category.islower() else category


def _select(
    action_id: str, placeholder: str, choices: list[tuple[str, str]], current: str | None
) -> dict[str, Any]:
    options = [_option(text, value) for value, text in choices[:100]]
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": _plain(placeholder),
        "options": options,
    }
    chosen = next((o for o in options if o["value"] == current), None)
    if chosen is not None:
        select["initial_option"] = chosen
    return select


def ticket_card(ticket: TicketView, *, now: datetime) -> list[dict[str, Any]]:
    """The staff card: what the ticket is, how old, whose turn, and the triage controls."""
    header = truncate(f"#{ticket.number} {ticket.title}", HEADER_TEXT_MAX)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(header)},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": truncate(f, FIELD_TEXT_MAX)}
                for f in _card_fields(ticket)
            ],
        },
    ]
    if ticket.sla is not None:
        blocks.append(sla_line_block(ticket.sla, now=now))
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
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": card_activity_line(ticket, now=now)}],
        }
    )
    blocks.append(
        {
            "type": "actions",
            "block_id": card_actions_block_id(ticket.id),
            "elements": _card_buttons(ticket),
        }
    )
    blocks.append(
        {
            "type": "actions",
            "block_id": card_menus_block_id(ticket.id),
            "elements": _card_menus(ticket),
        }
    )
    blocks += timer_blocks(ticket)
    return blocks


def timer_blocks(ticket: TicketView) -> list[dict[str, Any]]:
    """The card's time tracking: who is timing, Start timer, Stop timer (while anyone is
    timing; each button acts for whoever presses it) and Log time."""
    value = str(ticket.id)
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": Action.START_TIMER,
            "text": _plain("Start timer"),
            "value": value,
        }
    ]
    if ticket.timing:
        buttons.append(
            {
                "type": "button",
                "action_id": Action.STOP_TIMER,
                "text": _plain("Stop timer"),
                "value": value,
            }
        )
    buttons.append(
        {"type": "button", "action_id": Action.LOG_TIME, "text": _plain("Log time"), "value": value}
    )
    blocks: list[dict[str, Any]] = []
    if ticket.timing:
        blocks.append(
            {
                "type": "context",
                "block_id": f"{Block.TIMER}:{ticket.id}",
                "elements": [{"type": "mrkdwn", "text": truncate(ticket.timing, 3000)}],
            }
        )
    blocks.append(
        {"type": "actions", "block_id": f"{Block.TIMER}_actions:{ticket.id}", "elements": buttons}
    )
    return blocks


def change_line(who: str, whats: Sequence[str]) -> str:
    """One line in the card's thread for changes made together, naming people without a
    mention: "Tom took this and set priority to *High*". `who` is ready mrkdwn."""
    said = whats[0] if len(whats) == 1 else ", ".join(whats[:-1]) + " and " + whats[-1]
    return truncate(f"{who} {said}", MESSAGE_TEXT_MAX)


def describe_change(field_name: str, new_label: str | None, *, to_actor: bool = False) -> str:
    """The `what` of a change line. User text is escaped here, except an assignee's
    `new_label`, which is a ready name; `to_actor`: the actor took the ticket themselves."""
    if field_name == "assigned_staff_id":
        if to_actor:
            return "took this"
        return f"assigned this to {new_label}" if new_label else "unassigned this"
    label = FIELD_LABELS.get(field_name, field_name.replace("_", " "))
    return f"set {label} to *{escape(new_label) if new_label else 'none'}*"


# Thread lines for status changes a requester causes ("{who}" is the requester).
REOPENED_BY_REPLY = "Reopened: {who} replied"
ANSWERED = "{who} answered: back to *Open*"
CONFIRMED_FIXED = "{who} confirmed it's fixed: closed"
STILL_BROKEN = "Reopened: {who} says it's still broken"


FIELD_LABELS = {"client_company_id": "client company", "device_id": "device"}


@dataclass(frozen=True)
class FiledFor:
    """A ticket someone filed on the requester's behalf: who (a ready name) and, when it
    was filed from a message, the channel of that message."""

    by: str
    channel: str | None = None


def _received_headline(ticket: TicketView, filed_for: FiledFor | None) -> str:
    if filed_for is None:
        return f"Ticket #{ticket.number} received"
    if filed_for.channel:
        return (
            f"{filed_for.by} filed your message in <#{filed_for.channel}> "
            f"as ticket #{ticket.number}"
        )
    return f"{filed_for.by} filed ticket #{ticket.number} for you"


def requester_received_text(ticket: TicketView, filed_for: FiledFor | None = None) -> str:
    headline = _received_headline(ticket, filed_for)
    return truncate(f"{headline}: {escape(ticket.title)}", MESSAGE_TEXT_MAX)


AWAITING_SETUP = (
    "The IT team is still setting up Ticketbot, so nobody has seen this yet: your ticket "
    "is kept and reaches them as soon as they finish. Reply in this thread to add details."
)


def requester_received_blocks(
    ticket: TicketView, filed_for: FiledFor | None = None, *, awaiting_setup: bool = False
) -> list[dict[str, Any]]:
    """The DM that acknowledges a ticket; its thread is the requester's conversation.
    `awaiting_setup`: the organization has no staff channel yet (said honestly)."""
    context = (
        AWAITING_SETUP
        if awaiting_setup
        else "Our team will get back to you here. Reply in this thread to add details."
    )
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": truncate(
                    f":ticket: *{_received_headline(ticket, filed_for)}*\n"
                    f"{escape_truncated(ticket.title, TITLE_MAX_LENGTH * 5)}",
                    SECTION_TEXT_MAX,
                ),
            },
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": context}],
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


# Slack's limit on a view's private_metadata.
PRIVATE_METADATA_MAX = 3000
# What a message's source needs to be found again: its files are read again on submission
# when they do not fit (many long names).
SOURCE_ESSENTIALS = ("channel", "ts", "thread_ts", "author", "offer_ts")


def _remembered(prefill: ModalPrefill) -> str:
    """The modal's private_metadata: where the ticket comes from, within Slack's limit."""
    remembered: dict[str, Any] = {}
    if prefill.channel:
        remembered["channel"] = prefill.channel
    source = dict(prefill.source)
    for shrink in range(3):
        if source:
            remembered["source"] = source
        metadata = json.dumps(remembered)
        if len(metadata) <= PRIVATE_METADATA_MAX:
            return metadata
        if shrink == 0 and source.pop("files", None):
            source["files_in_message"] = True  # read again when the form is submitted
        else:
            source = {
                k: source[k] for k in (*SOURCE_ESSENTIALS, "files_in_message") if source.get(k)
            }
            remembered["channel"] = str(remembered.get("channel", ""))[:32]
    return json.dumps({k: v for k, v in remembered.items() if k != "source"})


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
    category_options = [_option(category_label(c), c) for c in categories[:100]]
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
    metadata = _remembered(prefill)
    return {
        "type": "modal",
        "callback_id": Callback.NEW_TICKET_MODAL,
        "title": _plain("New ticket"),
        "submit": _plain("File ticket"),
        "close": _plain("Cancel"),
        "private_metadata": metadata,
        "blocks": blocks,
    }


USAGE = (
    "*Ticketbot* — IT help, right here in Slack.\n"
    "• `/ticket` — open the new-ticket form\n"
    "• `/ticket &lt;what's wrong&gt;` — open the form with that as the title\n"
    "• `/ticket mine` — your tickets\n"
    "• `/ticket 42` — show ticket #42\n"
    "• `/ticket find &lt;query&gt;` — find tickets, e.g. `/ticket find status:open "
    "priority:&gt;=high assignee:me printer`\n"
    "• `/ticket view &lt;name&gt;` — open a saved view (`/ticket view list`, "
    "`/ticket view save &lt;name&gt; &lt;query&gt;`)\n"
    "• `/ticket report [YYYY-MM] [client]` — the monthly report in your DM (IT team)\n"
    "• `/ticket help` — this message\n"
    "You can also use the *Create ticket* shortcut on any message, "
    "or react to a message with :ticket:."
)


def usage_text(unknown: str | None = None) -> str:
    """The help; with `unknown`, a sub-command this installation does not offer."""
    if unknown:
        return f"`/ticket {escape(truncate(unknown, 50))}` is not available here.\n\n{USAGE}"
    return USAGE


__all__ = [
    "DESCRIPTION_MAX_LENGTH",
    "FiledFor",
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
