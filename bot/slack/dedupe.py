"""Once-only processing of Slack Events API deliveries."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models import SlackEventReceipt


def claim_event(session: Session, body: dict[str, Any]) -> bool:
    """Take up event `body["event_id"]` inside the caller's transaction.

    True the first time; False if it was already taken up. Because the receipt commits
    with the event's effects, a delivery whose processing failed leaves no receipt and the
    next retry does the work; a retry of a delivery that succeeded does nothing; and two
    deliveries in flight at once serialise on the receipt's primary key, so one wins.
    Retries are never ignored just for being retries: an event that only ever arrives as a
    retry still takes effect.
    """
    event_id = body.get("event_id")
    if not event_id:
        return True  # not an Events API delivery; nothing to de-duplicate by
    if session.get(SlackEventReceipt, event_id) is not None:
        return False
    receipt = SlackEventReceipt(
        event_id=str(event_id)[:64],
        team_id=body.get("team_id"),
        event_type=(body.get("event") or {}).get("type"),
    )
    try:
        with session.begin_nested():
            session.add(receipt)
    except IntegrityError:
        return False
    return True
