"""Block Kit of the daily digest: a technician's DM and the staff channel's queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.blocks.text import SECTION_TEXT_MAX, escape_truncated, truncate
from models import TicketPriority, TicketStatus

LISTED = 15  # tickets listed per part; the rest are counted


@dataclass(frozen=True)
class DigestLine:
    number: int
    title: str
    status: TicketStatus
    priority: TicketPriority


@dataclass(frozen=True)
class ReminderLine:
    number: int
    title: str
    at: datetime  # in the reader's zone
    resolves: bool  # the automatic resolution rather than a reminder


def _ticket_lines(lines: Sequence[DigestLine]) -> str:
    shown = [
        f"• #{line.number} {escape_truncated(line.title, 120)} · "
        f"{TicketStatus(line.status).label} · {TicketPriority(line.priority).label}"
        for line in lines[:LISTED]
    ]
    if len(lines) > LISTED:
        shown.append(f"…and {len(lines) - LISTED} more")
    return "\n".join(shown)


def _section(title: str, body: str) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(f"*{title}*\n{body}", SECTION_TEXT_MAX)},
    }


def technician_digest(
    *, day: date, open_tickets: Sequence[DigestLine], reminders: Sequence[ReminderLine]
) -> tuple[str, list[dict[str, Any]]]:
    """The DM: the reader's open tickets, and what the automations do today."""
    text = f"Your tickets for {day:%A %-d %B}: {len(open_tickets)} open"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Good morning: {day:%A %-d %B}"}}
    ]
    if open_tickets:
        blocks.append(
            _section(f"Your open tickets ({len(open_tickets)})", _ticket_lines(open_tickets))
        )
    if reminders:
        lines = [
            f"• #{r.number} {escape_truncated(r.title, 120)}: "
            f"{'resolved automatically' if r.resolves else 'the requester is reminded'} "
            f"at {r.at:%H:%M}"
            for r in reminders[:LISTED]
        ]
        blocks.append(_section("Waiting on the requester: due today", "\n".join(lines)))
    return text, blocks


def staff_digest(
    *, day: date, unassigned: Sequence[DigestLine]
) -> tuple[str, list[dict[str, Any]]]:
    """The staff channel's morning message: the tickets nobody owns."""
    text = f"{len(unassigned)} open ticket{'s' if len(unassigned) != 1 else ''} without an owner"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Queue for {day:%A %-d %B}"}},
        _section(f"Unassigned ({len(unassigned)})", _ticket_lines(unassigned)),
    ]
    return text, blocks
