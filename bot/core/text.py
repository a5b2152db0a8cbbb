"""Text as it arrives from Slack, made storable.

PostgreSQL text cannot hold NUL characters and UTF-8 cannot encode lone surrogates; both
would fail deep in the database driver. What people type in Slack is cleaned of them at
the boundary (they carry no meaning there); the services refuse them from anywhere else.
"""

from __future__ import annotations


def from_slack(value: str | None) -> str:
    """Slack text without NUL characters or lone surrogates."""
    if not value:
        return ""
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", errors="replace").decode("utf-8")
    return value


def unstorable_reason(value: str) -> str | None:
    """Why `value` cannot be stored, or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode text)"
    return None
