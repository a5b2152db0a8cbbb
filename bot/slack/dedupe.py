"""Once-only processing of Slack Events API deliveries and modal submissions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.core.db import Database
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
    return _claim(
        session, str(event_id), body.get("team_id"), (body.get("event") or {}).get("type")
    )


def claim_submission(session: Session, body: dict[str, Any]) -> bool:
    """Take up a modal's submission inside the caller's transaction: True the first time a
    view (its id and hash: what Slack showed when Submit was pressed) is submitted, False
    for the same submission again (a double click, two tabs, a retry), whether it arrives
    after the first or at the same moment. A submission that failed leaves no receipt."""
    view = body.get("view") or {}
    view_id, view_hash = view.get("id"), view.get("hash")
    if not view_id:
        return True
    team_id = (body.get("team") or {}).get("id") if isinstance(body.get("team"), dict) else None
    key = f"view:{view_id}:{view_hash or ''}"
    return _claim(session, key, team_id, "view_submission")


class AlreadySubmitted(Exception):
    """This very submission of a modal took effect already (see `submission`)."""


@contextmanager
def submission(db: Database, body: dict[str, Any]) -> Iterator[Session]:
    """The unit of work of a modal's submission, taken up once: the same submission again
    raises AlreadySubmitted (answered like the first: the modal closes) and everything it
    did is rolled back.

    The claim comes last, so that the unit of work takes SQLite's write lock only when it
    first writes (a first look-up of the staff list may read the database on its own
    meanwhile); on PostgreSQL a copy running at the same moment waits on the first one's
    receipt there and then rolls back."""
    with db.session() as session:
        yield session
        if not claim_submission(session, body):
            raise AlreadySubmitted((body.get("view") or {}).get("id"))


def _claim(session: Session, key: str, team_id: Any, kind: Any) -> bool:
    key = key[:64]
    if session.get(SlackEventReceipt, key) is not None:
        return False
    receipt = SlackEventReceipt(
        event_id=key,
        team_id=team_id if isinstance(team_id, str) else None,
        event_type=str(kind)[:64] if kind else None,
    )
    try:
        with session.begin_nested():
            session.add(receipt)
            session.flush()
    except IntegrityError:
        return False
    return True
