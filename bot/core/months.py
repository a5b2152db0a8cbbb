"""Calendar months as reports read them: a month `YYYY-MM` begins and ends at local
midnight in a time zone (the organization's), whatever DST does in between."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.errors import InvalidInput


def first_day(month: str) -> date:
    """The first day of `YYYY-MM`; a clear error for anything else."""
    try:
        if len(month) != 7:
            raise ValueError(month)
        return date.fromisoformat(f"{month}-01")
    except (TypeError, ValueError):
        raise InvalidInput("month must look like 2026-03.", field="month") from None


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants the month begins and ends at in `zone`."""
    first = first_day(month)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (
        datetime.combine(first, time(), tzinfo=zone).astimezone(UTC),
        datetime.combine(following, time(), tzinfo=zone).astimezone(UTC),
    )
