"""Block Kit for finding tickets: a page of results, saving a view, the views list and
App Home's views. Pure functions; the caller passes only what the viewer may see."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.blocks.text import SECTION_TEXT_MAX, age, escape, escape_truncated, truncate
from bot.blocks.tickets import PRIORITY_EMOJI, STATUS_EMOJI, TicketView
from bot.ids import Action, Block, Callback, Field

PAGE_SIZE = 10
BUTTON_VALUE_MAX = 2000


@dataclass(frozen=True)
class PageRef:
    """What a Next/Previous/Open button carries: the query, the page, the view's name."""

    query: str
    page: int = 0
    view: str | None = None

    def value(self) -> str:
        return json.dumps({"q": self.query, "p": self.page, "v": self.view})[:BUTTON_VALUE_MAX]

    @classmethod
    def read(cls, value: str | None) -> PageRef:
        try:
            data = json.loads(value or "{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        page = data.get("p")
        view = data.get("v")
        return cls(
            query=str(data.get("q") or ""),
            page=page if isinstance(page, int) and page >= 0 else 0,
            view=view if isinstance(view, str) else None,
        )


@dataclass(frozen=True)
class ViewLine:
    """One saved view as listed: its name, query and count, or why it is broken."""

    name: str
    query: str
    count: int | None
    broken: str | None = None
    shared: bool = False


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, 150), "emoji": True}


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX)}}


def ticket_line(ticket: TicketView, now: datetime) -> str:
    who = f" · {escape(ticket.assignee.name)}" if ticket.assignee else " · unassigned"
    return (
        f"{STATUS_EMOJI[ticket.status]} *#{ticket.number}* "
        f"{escape_truncated(ticket.title, 120)}\n"
        f"{ticket.status.label} · {PRIORITY_EMOJI[ticket.priority]} {ticket.priority.label}"
        f"{who} · opened {age(ticket.created_at, now)} ago"
    )


def results_blocks(
    *,
    headline: str,
    tickets: Sequence[TicketView],
    ref: PageRef,
    total: int,
    now: datetime,
    can_save: bool,
) -> list[dict[str, Any]]:
    """A page of a search: the query as understood, the tickets, and the buttons."""
    title = f"*{escape(ref.view)}*: " if ref.view else ""
    blocks: list[dict[str, Any]] = [_mrkdwn_section(f"{title}{escape(headline)}")]
    for ticket in tickets:
        blocks.append(_mrkdwn_section(ticket_line(ticket, now)))
    pages = max(1, -(-total // PAGE_SIZE))
    if pages > 1:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Page {ref.page + 1} of {pages}"}],
            }
        )
    buttons: list[dict[str, Any]] = []
    if ref.page > 0:
        previous = PageRef(ref.query, ref.page - 1, ref.view)
        buttons.append(_button("Previous", Action.SEARCH_PAGE, previous.value(), "prev"))
    if ref.page + 1 < pages:
        following = PageRef(ref.query, ref.page + 1, ref.view)
        buttons.append(_button("Next", Action.SEARCH_PAGE, following.value(), "next"))
    if can_save and ref.query.strip() and ref.view is None:
        buttons.append(_button("Save as view", Action.SAVE_VIEW, ref.value(), "save"))
    if buttons:
        blocks.append({"type": "actions", "block_id": "search_actions", "elements": buttons})
    return blocks


def _button(text: str, action: str, value: str, suffix: str) -> dict[str, Any]:
    # Each button its own action_id (Slack wants them unique within a block).
    return {
        "type": "button",
        "text": _plain(text),
        "action_id": f"{action}:{suffix}",
        "value": value,
    }


def query_error_blocks(message: str, query: str) -> list[dict[str, Any]]:
    return [
        _mrkdwn_section(f":warning: {escape(message)}"),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": truncate(
                        f"You searched for `{escape(query)}`. Try e.g. `status:open "
                        'priority:>=high assignee:me client:"Acme Corp" created:>7d printer`.',
                        2000,
                    ),
                }
            ],
        },
    ]


def save_view_modal(query: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": Callback.SAVE_VIEW_MODAL,
        "private_metadata": query[:3000],
        "title": _plain("Save as view"),
        "submit": _plain("Save"),
        "close": _plain("Cancel"),
        "blocks": [
            _mrkdwn_section(f"Query: `{escape(truncate(query, 2000))}`"),
            {
                "type": "input",
                "block_id": Block.VIEW_NAME,
                "label": _plain("Name"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": Field.VALUE,
                    "max_length": 80,
                    "placeholder": _plain("e.g. Acme open tickets"),
                },
            },
        ],
    }


def view_saved_modal(name: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": _plain("Save as view"),
        "close": _plain("Done"),
        "blocks": [
            _mrkdwn_section(
                f":white_check_mark: Saved as *{escape(name)}*. Open it with "
                f"`/ticket view {escape(name)}` or from the Home tab."
            )
        ],
    }


def view_results_modal(name: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": Callback.VIEW_RESULTS_MODAL,
        "title": _plain(truncate(name, 24)),
        "close": _plain("Close"),
        "blocks": blocks[:100],
    }


def _view_text(line: ViewLine) -> str:
    shared = " (shared)" if line.shared else ""
    if line.broken is not None:
        return (
            f"*{escape(line.name)}*{shared} — broken: {escape(line.broken)}\n`{escape(line.query)}`"
        )
    count = "" if line.count is None else f" — {line.count:,}"
    return f"*{escape(line.name)}*{shared}{count}\n`{escape(line.query)}`"


def view_list_blocks(lines: Sequence[ViewLine]) -> list[dict[str, Any]]:
    if not lines:
        return [
            _mrkdwn_section(
                "You have no saved views. Save one with `/ticket view save <name> <query>`, "
                "or with *Save as view* under `/ticket find`."
            )
        ]
    text = "\n".join(_view_text(line) for line in lines)
    return [_mrkdwn_section("*Your views*"), _mrkdwn_section(text)]


def home_views_blocks(
    builtin: Sequence[ViewLine], saved: Sequence[ViewLine]
) -> list[dict[str, Any]]:
    """App Home's views: built-in, shared and personal, each with its count and Open."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain("Views")}]
    for index, line in enumerate([*builtin, *saved][:20]):
        if line.broken is not None:
            blocks.append(_mrkdwn_section(_view_text(line)))
            continue
        shared = " (shared)" if line.shared else ""
        count = "" if line.count is None else f" — {line.count:,}"
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{escape(line.name)}*{shared}{count}"},
                "accessory": {
                    "type": "button",
                    "text": _plain("Open"),
                    "action_id": f"{Action.OPEN_VIEW}:{index}",
                    "value": PageRef(line.query, 0, line.name).value(),
                },
            }
        )
    blocks.append({"type": "divider"})
    return blocks
