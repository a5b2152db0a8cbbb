"""Words and blocks for SLAs: the card's SLA line, warnings, breaches. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.text import escape, truncate

METRIC_WORDS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


@dataclass(frozen=True)
class SlaLineView:
    """The clock a card shows (the most urgent one), as plain data."""

    metric: str
    status: str  # running | paused | met | breached
    due_at: datetime | None
    timezone: str = "UTC"  # where "Mon 12:30" is read
    # Nothing runs any more (the ticket is resolved or closed): the outcome, told plainly.
    finished: bool = False
    also_breached: tuple[str, ...] = ()  # the other metrics that breached, when finished


def duration(delta: timedelta) -> str:
    """ "1 h 20 m", "2 d 3 h", "45 m", "under 1 m"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under 1 m"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} m" if minutes else f"{hours} h"
    return f"{minutes} m"


def local_label(instant: datetime, timezone: str) -> str:
    """ "Mon 12:30" in the given zone."""
    try:
        zone = ZoneInfo(timezone)
    except Exception:  # an unknown zone was refused when saved; be safe when drawing
        zone = ZoneInfo("UTC")
    return instant.astimezone(UTC).astimezone(zone).strftime("%a %H:%M")


def _metric(metric: str, *, capital: bool) -> str:
    words = METRIC_WORDS.get(metric, metric.replace("_", " "))
    return words[:1].upper() + words[1:] if capital else words


def sla_line(view: SlaLineView, *, now: datetime) -> str:
    """The card's one SLA line, in plain words."""
    what = _metric(view.metric, capital=True)
    if view.finished:
        outcome = f"{what} {'breached' if view.status == 'breached' else 'met'}"
        others = [_metric(m, capital=False) for m in view.also_breached]
        return f"{outcome} · {' and '.join(others)} breached" if others else outcome
    if view.status == "paused":
        return f"{what} paused"
    if view.status == "met":
        return f"{what} met"
    if view.status == "breached" or (view.due_at is not None and view.due_at <= now):
        return f":red_circle: *{what} breached*"
    if view.due_at is None:
        return f"{what} running"
    return (
        f"{what} due in {duration(view.due_at - now)} · {local_label(view.due_at, view.timezone)}"
    )


def sla_line_block(view: SlaLineView, *, now: datetime) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": sla_line(view, now=now)}]}


def warning_text(
    *,
    number: int,
    title: str,
    metric: str,
    percent: int,
    due_at: datetime,
    now: datetime,
    timezone: str,
) -> str:
    """A 75 % or 90 % warning."""
    return truncate(
        f":warning: Ticket #{number} ({escape(title)}): {_metric(metric, capital=False)} due in "
        f"{duration(due_at - now)} ({local_label(due_at, timezone)}); {percent}% of the time "
        "is used.",
        3000,
    )


def breach_text(
    *, number: int, title: str, metric: str, due_at: datetime | None, timezone: str
) -> str:
    due = f" It was due {local_label(due_at, timezone)}." if due_at else ""
    return truncate(
        f":red_circle: Ticket #{number} ({escape(title)}): {_metric(metric, capital=False)} "
        f"breached.{due}",
        3000,
    )
