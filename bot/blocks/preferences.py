"""Block Kit of the notification switches in the App Home."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from bot.ids import Action
from models import Notice

LABELS = {
    Notice.ASSIGNMENT: "When a ticket is assigned to me",
    Notice.REQUESTER_REPLY: "When a requester replies on my ticket",
    Notice.SLA_WARNING: "SLA warnings on my tickets",
    Notice.DIGEST: "Daily digest",
    Notice.STATUS_CHANGE: "Status updates on my tickets",
}


def notification_blocks(
    offered: Sequence[Notice], muted: Collection[Notice]
) -> list[dict[str, Any]]:
    """A header and one checkbox per kind of DM, ticked when it is on."""

    def option(notice: Notice) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": LABELS[notice]}, "value": notice.value}

    checkboxes: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": Action.NOTIFICATIONS,
        "options": [option(n) for n in offered],
    }
    enabled = [option(n) for n in offered if n not in muted]
    if enabled:
        checkboxes["initial_options"] = enabled
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Direct messages I get"}},
        {"type": "actions", "elements": [checkboxes]},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Replies written to you always reach you; you never get a "
                    "message about your own changes.",
                }
            ],
        },
    ]
