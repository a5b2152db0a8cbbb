"""Is a signed body one Slack could have sent? Checked before Bolt sees it, so that a body
Slack never sends is a 400 rather than an error inside Bolt."""

from __future__ import annotations

import json
from typing import Any

# Slack's payloads (a view's state, blocks in blocks) nest a dozen levels or so.
MAX_DEPTH = 64
# Interactivity payload types and what Bolt reads of them unchecked.
VIEW_TYPES = frozenset({"view_submission", "view_closed"})


def json_ok(text: str) -> bool:
    """JSON nested at most MAX_DEPTH deep, with no lone surrogate escaped in its strings."""
    try:
        value = json.loads(text)  # deeper than the interpreter's recursion: RecursionError
        if _depth(value) > MAX_DEPTH:
            return False
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        return False
    return True


def _depth(value: Any) -> int:
    """How deep lists and objects nest in a parsed JSON value (without recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def acceptable(body: dict[str, Any]) -> bool:
    """The parts of an interaction that every one of its kind has, and Bolt relies on."""
    kind = body.get("type")
    if kind in VIEW_TYPES:
        view = body.get("view")
        return (
            isinstance(view, dict)
            and isinstance(view.get("type"), str)
            and isinstance(view.get("id"), str)
        )
    if kind == "block_actions":
        actions = body.get("actions")
        return isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    return True
