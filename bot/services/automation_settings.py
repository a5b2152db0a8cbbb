"""The organization's lifecycle settings: its time zone and the automations' knobs.

Stored in `Organization.settings` (JSON) under these names. A number may be fractional;
0 or null turns its automation off. Every value is checked before anything is written.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.errors import InvalidInput
from models import Organization

_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

# Upper bounds: beyond them a value is a typo, not a policy.
MAX_DAYS = 365
MAX_REMINDERS = 20
MAX_COOLDOWN_HOURS = 24 * 365


@dataclass(frozen=True)
class LifecycleSettings:
    timezone: str = "UTC"
    auto_close_days: float | None = 4
    pending_reminder_business_days: float | None = 2
    pending_reminders_before_resolve: int | None = 2
    csat_enabled: bool = True
    csat_sample_percent: float | None = 100
    csat_cooldown_hours: float | None = 24
    digest_time: str | None = "08:30"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def digest_at(self) -> time | None:
        if not self.digest_time:
            return None
        hours, minutes = self.digest_time.split(":")
        return time(int(hours), int(minutes))

    @property
    def csat_on(self) -> bool:
        return self.csat_enabled and bool(self.csat_sample_percent)


DEFAULTS = LifecycleSettings()
FIELDS = tuple(DEFAULTS.as_dict())


def lifecycle_settings(organization: Organization) -> LifecycleSettings:
    """The organization's settings, defaults for what it never set."""
    stored = organization.settings
    values: dict[str, Any] = {}
    for name in FIELDS:
        if name in stored:
            values[name] = stored[name]
    values["timezone"] = stored.get("timezone") or DEFAULTS.timezone
    return LifecycleSettings(**values)


def _number(name: str, value: Any, *, maximum: float, whole: bool = False) -> float | int | None:
    """A non-negative number (0 and null mean off, stored as null)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a number, or null to turn it off.", field=name)
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{name} must be 0 or more.", field=name)
    if value > maximum:
        raise InvalidInput(f"{name} can be at most {maximum:g}.", field=name)
    if whole and value != int(value):
        raise InvalidInput(f"{name} must be a whole number.", field=name)
    if value == 0:
        return None
    if whole or value == int(value):
        return int(value)
    return float(value)


def check_timezone(value: Any, *, field: str = "timezone") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("timezone must be an IANA time zone such as Europe/Paris.", field=field)
    name = value.strip()
    if name not in available_timezones() and name != "UTC":
        raise InvalidInput(
            f"{name!r} is not a time zone; use an IANA name such as Europe/Paris.", field=field
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed zones load
        raise InvalidInput(f"{name!r} is not a time zone.", field=field) from None
    return name


def _clean(name: str, value: Any) -> Any:
    if name == "timezone":
        return check_timezone(value)
    if name == "csat_enabled":
        if not isinstance(value, bool):
            raise InvalidInput("csat_enabled must be true or false.", field=name)
        return value
    if name == "digest_time":
        if value is None or value == "":
            return None
        match = _HH_MM.match(value) if isinstance(value, str) else None
        if match is None:
            raise InvalidInput(
                "digest_time must be a time of day like 08:30 (24-hour), or null.", field=name
            )
        return f"{int(match.group(1)):02d}:{match.group(2)}"
    if name == "pending_reminders_before_resolve":
        return _number(name, value, maximum=MAX_REMINDERS, whole=True)
    if name == "csat_sample_percent":
        return _number(name, value, maximum=100)
    if name == "csat_cooldown_hours":
        return _number(name, value, maximum=MAX_COOLDOWN_HOURS)
    return _number(name, value, maximum=MAX_DAYS)


def update_lifecycle_settings(
    organization: Organization, changes: dict[str, Any]
) -> LifecycleSettings:
    """Apply `changes` (a partial settings object) to the organization (the caller's unit
    of work saves it). Unknown names and bad values are refused before anything changes."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise InvalidInput(
            f"Unknown setting {unknown[0]!r}; the settings are {', '.join(FIELDS)}.",
            field=unknown[0],
        )
    cleaned = {name: _clean(name, value) for name, value in changes.items()}
    settings = dict(organization.settings)
    settings.update(cleaned)
    organization.settings = settings
    return lifecycle_settings(organization)
