"""Is a signed body one Slack could have sent? Checked after Bolt parses it and before it
dispatches it, so that a body Slack never sends is a 400 rather than an error inside Bolt."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

# Slack's payloads (a view's state, blocks in blocks) nest a dozen levels or so.
MAX_DEPTH = 64
# Interactivity payload types and what Bolt reads of them unchecked.
VIEW_TYPES = frozenset({"view_submission", "view_closed"})


def well_formed(parsed: Any, raw: str, content_type: str) -> bool:
    """Could Slack have sent `raw`, which Bolt parsed into `parsed`? JSON nested at most
    MAX_DEPTH deep, no lone surrogate in its strings, and (in a form) UTF-8 throughout its
    percent-escapes.

    One walk over what Bolt already parsed, instead of parsing the body again: Bolt reads
    a form's escapes leniently (a malformed byte becomes U+FFFD), so only a body whose
    strings hold U+FFFD is decoded again strictly to tell a real U+FFFD from a bad byte."""
    deepest = 0
    replaced = False
    stack = [(parsed, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii():  # cheap for ASCII, which almost every string is
                if not _encodable(item):
                    return False  # a lone surrogate, escaped in the JSON
                replaced = replaced or "\ufffd" in item
            continue
        if isinstance(item, dict):
            children: Any = (*item.keys(), *item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return False
        stack.extend((child, depth + 1) for child in children)
    if replaced and "application/x-www-form-urlencoded" in content_type:
        try:
            parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict")
        except UnicodeError:
            return False
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
