"""Block Kit of the satisfaction survey: the question in the requester's DM thread, its
answered state, and the comment modal."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from bot.ids import Action, Block, Callback, Field
from models import CsatRating

QUESTION = "How did we do?"
RATING_LABELS = {CsatRating.GOOD: "Good", CsatRating.BAD: "Bad"}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def survey_text(number: int) -> str:
    return f"{QUESTION} Tell us how ticket #{number} went."


def survey_blocks(
    *,
    ticket_id: int,
    number: int,
    rating: CsatRating | None = None,
    until: date | None = None,
    preface: str | None = None,
) -> list[dict[str, Any]]:
    """The question with Good / Bad / Add a comment, after `preface` (what the message
    said before: "Glad it's fixed! …"); once answered, it says so (and the buttons stay, to
    change the answer)."""
    value = str(ticket_id)
    lines = [preface] if preface else []
    lines.append(f"*{QUESTION}* Tell us how ticket #{number} went.")
    if rating is not None:
        lines.append(f"You answered *{RATING_LABELS[rating]}*. Thank you!")
        if until is not None:
            lines.append(f"You can change your answer until {until:%a %-d %b}.")
    buttons: list[dict[str, Any]] = []
    for action, choice in ((Action.CSAT_GOOD, CsatRating.GOOD), (Action.CSAT_BAD, CsatRating.BAD)):
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action,
            "text": _plain(RATING_LABELS[choice]),
            "value": value,
        }
        if rating == choice:
            button["style"] = "primary"
        buttons.append(button)
    buttons.append(
        {
            "type": "button",
            "action_id": Action.CSAT_COMMENT,
            "text": _plain("Add a comment"),
            "value": value,
        }
    )
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {"type": "actions", "elements": buttons},
    ]


def survey_preface(message: dict[str, Any] | None) -> str | None:
    """What a survey message said before its question ("Glad it's fixed! …"), so that its
    answered state says it too."""
    for block in (message or {}).get("blocks") or []:
        text = (block.get("text") or {}).get("text") or ""
        if block.get("type") == "section" and f"*{QUESTION}*" in text:
            return text.split(f"*{QUESTION}*", 1)[0].strip() or None
    return None


def comment_modal(*, ticket_id: int, number: int) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": Callback.CSAT_COMMENT_MODAL,
        "private_metadata": json.dumps({"ticket_id": ticket_id}),
        "title": _plain("Your comment"),
        "submit": _plain("Send"),
        "close": _plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": Block.CSAT_COMMENT,
                "label": _plain(f"How did ticket #{number} go?"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": Field.VALUE,
                    "multiline": True,
                    "max_length": 2000,
                },
            }
        ],
    }
