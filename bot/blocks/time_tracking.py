"""Block Kit and words of time tracking: thread lines, the card's timer line, the Log time
modal, the /ticket time answers, App Home's timer section. Pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.text import escape, truncate
from bot.ids import Action, Block, Callback, Field
from bot.services.time_tracking import format_minutes
from models import Member, TimeEntry, WorkType

NOTE_PREVIEW = 200


def entry_line(entry: TimeEntry, *, verb: str | None = "logged") -> str:
    """ "logged 45 min (billable) — note" (the actor's name goes before it)."""
    billable = "billable" if entry.billable else "not billable"
    text = f"{format_minutes(entry.actual_minutes)} ({billable})"
    if verb:
        text = f"{verb} {text}"
    if entry.note:
        text += f" — {escape(truncate(entry.note, NOTE_PREVIEW))}"
    return text


def timing_line(running: Sequence[tuple[TimeEntry, Member]], zone: ZoneInfo) -> str | None:
    """ "⏱ Tom since 10:05, Tia since 11:20" for the card, or None when nobody is timing."""
    if not running:
        return None
    people = ", ".join(
        f"{escape(member.name)} since {entry.started_at.astimezone(zone):%H:%M}"
        for entry, member in running
    )
    return f":stopwatch: {people}"


def log_time_modal(
    *,
    ticket_id: int,
    ticket_number: int,
    work_types: Sequence[WorkType],
    private_metadata: str = "",
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": Block.DURATION,
            "label": {"type": "plain_text", "text": "Duration"},
            "hint": {"type": "plain_text", "text": "Like 45m, 1h30m, 1.5h or 90 (minutes)."},
            "element": {
                "type": "plain_text_input",
                "action_id": Field.VALUE,
                "max_length": 20,
            },
        }
    ]
    if work_types:
        blocks.append(
            {
                "type": "input",
                "block_id": Block.WORK_TYPE,
                "optional": True,
                "label": {"type": "plain_text", "text": "Work type"},
                "element": {
                    "type": "static_select",
                    "action_id": Field.VALUE,
                    "options": [
                        {
                            "text": {"type": "plain_text", "text": truncate(w.name, 75)},
                            "value": str(w.id),
                        }
                        for w in work_types[:100]
                    ],
                },
            }
        )
    blocks += [
        {
            "type": "input",
            "block_id": Block.BILLABLE,
            "optional": True,
            "label": {"type": "plain_text", "text": "Billable"},
            "element": {
                "type": "radio_buttons",
                "action_id": Field.VALUE,
                "options": [
                    {"text": {"type": "plain_text", "text": t}, "value": v}
                    for t, v in (
                        ("As the work type says", "default"),
                        ("Billable", "yes"),
                        ("Not billable", "no"),
                    )
                ],
            },
        },
        {
            "type": "input",
            "block_id": Block.TIME_NOTE,
            "optional": True,
            "label": {"type": "plain_text", "text": "Note"},
            "hint": {"type": "plain_text", "text": "The client may read it on a report."},
            "element": {
                "type": "plain_text_input",
                "action_id": Field.VALUE,
                "multiline": True,
                "max_length": 2000,
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": Callback.LOG_TIME_MODAL,
        "private_metadata": private_metadata or str(ticket_id),
        "title": {"type": "plain_text", "text": f"Log time on #{ticket_number}"[:24]},
        "submit": {"type": "plain_text", "text": "Log"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def log_time_input(optional: bool = True) -> dict[str, Any]:
    """The "Log time" field added to the reply and internal note modals."""
    return {
        "type": "input",
        "block_id": Block.LOG_TIME,
        "optional": optional,
        "label": {"type": "plain_text", "text": "Log time"},
        "hint": {"type": "plain_text", "text": "Optional: like 45m, 1h30m or 1.5h."},
        "element": {
            "type": "plain_text_input",
            "action_id": Field.VALUE,
            "max_length": 20,
        },
    }


def status_text(
    *, running: TimeEntry | None, ticket_number: int | None, today_minutes: int, zone: ZoneInfo
) -> str:
    """The answer to `/ticket time`: my running timer and today's total."""
    if running is not None and ticket_number is not None:
        since = running.started_at.astimezone(zone)
        first = f"Your timer on #{ticket_number} is running since {since:%H:%M}."
    else:
        first = "You have no timer running."
    return f"{first} Today: {format_minutes(today_minutes)}."


def home_timer_blocks(
    *, running: TimeEntry | None, ticket_number: int | None, today_minutes: int, zone: ZoneInfo
) -> list[dict[str, Any]]:
    """App Home's time section for staff: the running timer with a Stop button, today's total."""
    text = status_text(
        running=running, ticket_number=ticket_number, today_minutes=today_minutes, zone=zone
    )
    section: dict[str, Any] = {
        "type": "section",
        "block_id": Block.HOME_TIMER,
        "text": {"type": "mrkdwn", "text": f"*Time*\n{text}"},
    }
    if running is not None:
        section["accessory"] = {
            "type": "button",
            "action_id": Action.HOME_STOP_TIMER,
            "text": {"type": "plain_text", "text": "Stop timer"},
            "value": str(running.id),
        }
    return [section]


def overlap_warning(count: int) -> str:
    if not count:
        return ""
    entries = "entry" if count == 1 else "entries"
    return f" It overlaps {count} other {entries} of yours."


TIME_USAGE = (
    "Time tracking:\n"
    "• `/ticket time` — your running timer and today's total\n"
    "• `/ticket time start 42` — start a timer on ticket #42 (stops the one running)\n"
    "• `/ticket time stop [note]` — stop your timer\n"
    "• `/ticket time log 42 45m [note]` — log time (45m, 1h30m, 1.5h or 90)\n"
    "• `/ticket time report <client> [YYYY-MM]` — the month's report as a file in your DM"
)


def logged_notice_modal(text: str) -> dict[str, Any]:
    """What the Log time modal turns into when there is something to say (an overlap)."""
    return {
        "type": "modal",
        "callback_id": Callback.LOG_TIME_MODAL,
        "title": {"type": "plain_text", "text": "Time logged"},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": escape(text)}}],
    }
