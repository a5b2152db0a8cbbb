"""A modal that only tells the person something (where no other answer can be shown)."""

from __future__ import annotations

from typing import Any

from bot.blocks.text import SECTION_TEXT_MAX, escape_truncated
from bot.ids import Callback


def notice_modal(message: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": Callback.NOTICE_MODAL,
        "title": {"type": "plain_text", "text": "Ticketbot"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": escape_truncated(message, SECTION_TEXT_MAX)},
            }
        ],
    }
