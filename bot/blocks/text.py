"""Text helpers for Block Kit: mrkdwn escaping and length limits."""

from __future__ import annotations

from datetime import datetime, timedelta

# Slack's own limits (../shared/slack-specs/limits/block_kit_limits.json).
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
OPTION_TEXT_MAX = 75
MESSAGE_TEXT_MAX = 4000
PLAIN_INPUT_MAX = 3000


def escape(text: str | None) -> str:
    """Escape user text for mrkdwn so that it renders literally and pings nobody.

    Slack's rule: only `&`, `<` and `>` are control characters; with them escaped,
    `<!channel>` or `<@U123>` cannot form a mention or a link.
    """
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def escape_truncated(text: str | None, limit: int) -> str:
    """Escape, then fit into `limit` without cutting an escape sequence in half."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def mention(slack_user_id: str | None, fallback: str | None = None) -> str:
    if slack_user_id:
        return f"<@{slack_user_id}>"
    return escape(fallback) if fallback else "_nobody_"


def age(since: datetime, now: datetime) -> str:
    """A short human age: "just now", "5 m", "3 h", "2 d"."""
    delta = now - since
    if delta < timedelta(minutes=1):
        return "just now"
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)} m"
    if delta < timedelta(days=1):
        return f"{int(delta.total_seconds() // 3600)} h"
    return f"{delta.days} d"


def ago(since: datetime, now: datetime) -> str:
    """When something happened: "just now", "5 m ago", "2 d ago"."""
    short = age(since, now)
    return short if short == "just now" else f"{short} ago"


# The card's ages move in steps (minutes: 5, 10, 15, 30, 45; then hours; then days), so a
# card left alone is redrawn a few times an hour at first and once a day later.
CARD_MINUTE_STEPS = (5, 10, 15, 30, 45)


def card_ago(since: datetime, now: datetime) -> str:
    """When something happened, as the ticket card says it: "just now" (under 5 minutes),
    "15 m ago" (steps of CARD_MINUTE_STEPS), "3 h ago", "2 d ago"."""
    delta = now - since
    if delta < timedelta(minutes=CARD_MINUTE_STEPS[0]):
        return "just now"
    if delta < timedelta(hours=1):
        minutes = int(delta.total_seconds() // 60)
        return f"{max(m for m in CARD_MINUTE_STEPS if m <= minutes)} m ago"
    return ago(since, now)


def first_name(name: str | None) -> str:
    """How a card names a person in passing: the first word of their name, escaped."""
    words = (name or "").split()
    if not words:
        return "Someone"
    return escape(words[0][:1].upper() + words[0][1:])
