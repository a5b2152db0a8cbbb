"""Block Kit of the daily digest: a technician's DM and the staff channel's queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.blocks.sla import METRIC_WORDS
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
class SlaDueLine:
    number: int
    title: str
    metric: str  # first_response | next_response | resolution
    due_at: datetime  # in the reader's zone
    breached: bool


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


def _sla_lines(lines: Sequence[SlaDueLine]) -> str:
    shown = []
    for line in lines[:LISTED]:
        what = METRIC_WORDS.get(line.metric, line.metric.replace("_", " "))
        state = "breached" if line.breached else f"due at {line.due_at:%H:%M}"
        shown.append(f"• #{line.number} {escape_truncated(line.title, 120)}: {what} {state}")
    if len(lines) > LISTED:
        shown.append(f"…and {len(lines) - LISTED} more")
    return "\n".join(shown)


def _sla_section(lines: Sequence[SlaDueLine]) -> dict[str, Any]:
    return _section(f"SLA: breached or due today ({len(lines)})", _sla_lines(lines))


def _section(title: str, body: str) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(f"*{title}*\n{body}", SECTION_TEXT_MAX)},
    }


def technician_digest(
    *,
    day: date,
    open_tickets: Sequence[DigestLine],
    reminders: Sequence[ReminderLine],
    sla_due: Sequence[SlaDueLine] = (),
) -> tuple[str, list[dict[str, Any]]]:
    """The DM: the reader's SLA promises at risk today, their open tickets, and what the
    automations do today."""
    text = f"Your tickets for {day:%A %-d %B}: {len(open_tickets)} open"
    if sla_due:
        text += f", {_sla_count(sla_due)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Good morning: {day:%A %-d %B}"}}
    ]
    if sla_due:
        blocks.append(_sla_section(sla_due))
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


def _sla_count(lines: Sequence[SlaDueLine]) -> str:
    breached = sum(line.breached for line in lines)
    due = len(lines) - breached
    parts = [f"{breached} SLA breached"] if breached else []
    if due:
        parts.append(f"{due} SLA due today")
    return ", ".join(parts)


def staff_digest(
    *, day: date, unassigned: Sequence[DigestLine], sla_due: Sequence[SlaDueLine] = ()
) -> tuple[str, list[dict[str, Any]]]:
    """The staff channel's morning message: the tickets nobody owns, and the SLA promises
    breached or due today across the queue."""
    parts = []
    if unassigned:
        parts.append(
            f"{len(unassigned)} open ticket{'s' if len(unassigned) != 1 else ''} without an owner"
        )
    if sla_due:
        parts.append(_sla_count(sla_due))
    text = ", ".join(parts)
    text = text[:1].upper() + text[1:]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Queue for {day:%A %-d %B}"}},
    ]
    if unassigned:
        blocks.append(_section(f"Unassigned ({len(unassigned)})", _ticket_lines(unassigned)))
    if sla_due:
        blocks.append(_sla_section(sla_due))
    return text, blocks
