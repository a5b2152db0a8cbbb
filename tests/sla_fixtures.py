"""The worked SLA examples (a copy of ../shared/fixtures/sla_examples.json, checked equal when
that file is beside the checkout), shared by the pure business-time, engine and REST tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

FIXTURES = Path(__file__).parent / "fixtures" / "sla_examples.json"
SHARED_FIXTURES = Path(__file__).parents[2] / "shared" / "fixtures" / "sla_examples.json"
DATA: dict[str, Any] = json.loads(FIXTURES.read_text())
CALENDARS: dict[str, dict[str, Any]] = DATA["calendars"]
EXAMPLES: list[dict[str, Any]] = DATA["examples"]


def example(example_id: str) -> dict[str, Any]:
    return next(e for e in EXAMPLES if e["id"] == example_id)


def calendar_config(name: str) -> dict[str, Any]:
    config = CALENDARS[name]
    return {
        "timezone": config["timezone"],
        "hours": config["hours"],
        "holidays": config.get("holidays", []),
    }


def instant(text: str, calendar: str) -> datetime:
    """A fixture time: UTC if it ends in Z, else local to the calendar."""
    if text.endswith("Z"):
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    zone = ZoneInfo(CALENDARS[calendar]["timezone"])
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


def ids(examples: list[dict[str, Any]]) -> list[str]:
    return [e["id"] for e in examples]
