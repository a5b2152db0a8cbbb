"""Business-time arithmetic for SLAs (DESIGN §8). Pure: no database, no Slack.

Each local day's open intervals are built in the calendar's zone and converted to UTC one
by one, so 09:00-17:00 stays 09:00-17:00 across a DST change and a 24x7 calendar counts real
hours. A target that ends exactly at closing is due at closing, not the next morning.
Excluded periods (a paused clock, a resolved spell before a reopen) are cut out of the open
intervals before counting.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
# How far ahead a computation may look for open time before giving up (holidays could, in
# principle, close a calendar for good).
_HORIZON_DAYS = 3660
_DAYS_REMEMBERED = 1024  # per calendar

Interval = tuple[datetime, datetime]


class CalendarError(ValueError):
    """A calendar that cannot be used; the message says why, in plain words."""


def _minutes(text: str, *, what: str) -> int:
    match = _CLOCK.match(text) if isinstance(text, str) else None
    if not match:
        raise CalendarError(f"{what}: {text!r} is not a time like 09:00")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and minutes:
        raise CalendarError(f"{what}: {text!r} is past 24:00")
    return hours * 60 + minutes


def zone(name: str) -> ZoneInfo:
    """The IANA zone of that name, or a CalendarError saying it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise CalendarError(
            f"Unknown time zone {name!r}; use an IANA name like Europe/London"
        ) from error


@dataclass(frozen=True)
class Calendar:
    """A validated business calendar: a zone, weekly open intervals, holidays."""

    tz: ZoneInfo
    # Per weekday (0 = Monday): sorted, non-overlapping (start, end) minutes of the local day.
    week: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = field(default_factory=frozenset)
    # Local day → its open intervals in UTC: a burst of new tickets walks the same days, and
    # each day's conversion through the zone is most of a walk's cost.
    _days: dict[date, tuple[Interval, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def build(
        cls,
        *,
        timezone: str,
        hours: Mapping[str, Sequence[Sequence[str]]],
        holidays: Iterable[str] = (),
    ) -> Calendar:
        tz = zone(timezone)
        if not isinstance(hours, Mapping):
            raise CalendarError("hours must map weekdays (mon … sun) to lists of intervals")
        unknown = sorted(set(hours) - set(WEEKDAYS))
        if unknown:
            raise CalendarError(f"Unknown weekday {unknown[0]!r}; use mon, tue, … sun")
        week: list[tuple[tuple[int, int], ...]] = []
        for day in WEEKDAYS:
            intervals: list[tuple[int, int]] = []
            for interval in hours.get(day) or []:
                if not isinstance(interval, Sequence) or len(interval) != 2:
                    raise CalendarError(f'{day}: each interval is a pair like ["09:00", "17:00"]')
                start = _minutes(interval[0], what=day)
                end = _minutes(interval[1], what=day)
                if end <= start:
                    raise CalendarError(f"{day}: {interval[1]} ends before {interval[0]} starts")
                intervals.append((start, end))
            intervals.sort()
            for (_, end), (start, _) in itertools.pairwise(intervals):
                if start < end:
                    raise CalendarError(f"{day}: open intervals overlap")
            week.append(tuple(intervals))
        if not any(week):
            raise CalendarError("The calendar has no open interval; add opening hours")
        days: set[date] = set()
        for holiday in holidays:
            try:
                days.add(date.fromisoformat(holiday))
            except (TypeError, ValueError) as error:
                raise CalendarError(f"Holiday {holiday!r} is not a date like 2026-12-25") from error
        return cls(tz=tz, week=tuple(week), holidays=frozenset(days))

    def open_intervals(self, start: datetime) -> Iterator[Interval]:
        """Open intervals in UTC, in order, from `start` on (the first one clipped to it)."""
        start = start.astimezone(UTC)
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        for _ in range(_HORIZON_DAYS):
            for opens, closes in self._open_on(day):
                if closes > start:
                    yield max(opens, start), closes
            day += timedelta(days=1)
        raise CalendarError("No open time in the next ten years; check the holidays")

    def _open_on(self, day: date) -> tuple[Interval, ...]:
        found = self._days.get(day)
        if found is None:
            found = ()
            if day not in self.holidays:
                found = tuple(
                    (opens, closes)
                    for opens, closes in (
                        (_local(day, a, self.tz), _local(day, b, self.tz))
                        for a, b in self.week[day.weekday()]
                    )
                    if closes > opens  # a local time that a DST change skips
                )
            if len(self._days) >= _DAYS_REMEMBERED:
                self._days.clear()
            self._days[day] = found
        return found


def _local(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of `minute` past local midnight of `day` (24:00 = next midnight)."""
    if minute == 24 * 60:
        day, minute = day + timedelta(days=1), 0
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return local.astimezone(UTC)


ALWAYS = Calendar(
    tz=ZoneInfo("UTC"), week=tuple(((0, 24 * 60),) for _ in WEEKDAYS), holidays=frozenset()
)
"""Calendar time: every instant counts (targets with business_hours false)."""


def _without(intervals: Iterable[Interval], excluded: Sequence[Interval]) -> Iterator[Interval]:
    """`intervals` (ordered) with the excluded periods cut out."""
    cuts = sorted((a.astimezone(UTC), b.astimezone(UTC)) for a, b in excluded if b > a)
    for opens, closes in intervals:
        pieces = [(opens, closes)]
        for cut_start, cut_end in cuts:
            if cut_start >= closes:
                break
            next_pieces: list[Interval] = []
            for a, b in pieces:
                if cut_end <= a or cut_start >= b:
                    next_pieces.append((a, b))
                    continue
                if a < cut_start:
                    next_pieces.append((a, cut_start))
                if cut_end < b:
                    next_pieces.append((cut_end, b))
            pieces = next_pieces
        yield from pieces


def add_business_time(
    calendar: Calendar,
    start: datetime,
    amount: timedelta,
    *,
    excluded: Sequence[Interval] = (),
) -> datetime:
    """The instant at which `amount` of open time (not excluded) has passed since `start`."""
    if amount < timedelta(0):
        raise ValueError("amount must not be negative")
    remaining = amount
    start = start.astimezone(UTC)
    if remaining == timedelta(0):
        return start
    for opens, closes in _without(calendar.open_intervals(start), excluded):
        length = closes - opens
        if remaining <= length:
            return opens + remaining
        remaining -= length
    raise AssertionError("open_intervals is unbounded until its horizon")  # pragma: no cover


def add_business_times(
    calendar: Calendar, start: datetime, amounts: Sequence[timedelta]
) -> list[datetime]:
    """`add_business_time` for several amounts from one start, in one walk of the calendar
    (a clock's 75 %, 90 % and due instants)."""
    start = start.astimezone(UTC)
    order = sorted(range(len(amounts)), key=lambda i: amounts[i])
    if any(amount < timedelta(0) for amount in amounts):
        raise ValueError("amounts must not be negative")
    found: list[datetime | None] = [None] * len(amounts)
    pending = [i for i in order if amounts[i] > timedelta(0)]
    for i in order:
        if amounts[i] == timedelta(0):
            found[i] = start
    counted = timedelta(0)
    if pending:
        for opens, closes in calendar.open_intervals(start):
            length = closes - opens
            while pending and amounts[pending[0]] - counted <= length:
                found[pending[0]] = opens + (amounts[pending[0]] - counted)
                pending.pop(0)
            if not pending:
                break
            counted += length
    return [instant for instant in found if instant is not None]


def business_time_between(
    calendar: Calendar,
    start: datetime,
    end: datetime,
    *,
    excluded: Sequence[Interval] = (),
) -> timedelta:
    """Open time (not excluded) between two instants; zero if `end` is not after `start`."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in _without(calendar.open_intervals(start), excluded):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def is_open(calendar: Calendar, instant: datetime) -> bool:
    """Whether `instant` lies inside an open interval (closing instants are not open)."""
    for opens, closes in calendar.open_intervals(instant):
        return opens <= instant.astimezone(UTC) < closes
    return False  # pragma: no cover
