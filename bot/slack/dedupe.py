"""Once-only processing of Slack Events API deliveries and modal submissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from bot.core.db import Database
from models import SlackEventReceipt
from models.base import table_of, utcnow

T = TypeVar("T")


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
    """This very submission of a modal took effect already (see `submit_once`)."""


def submit_once(db: Database, body: dict[str, Any], work: Callable[[Session], T]) -> T:
    """`work(session)` for a modal's submission, taken up once and committed before this
    returns (with other submissions queued at the same moment: `Database.grouped`). The
    same submission again raises AlreadySubmitted (answered like the first: the modal
    closes) and does nothing.

    Other requests' work waits while `work` runs: it must not call Slack (decide who is
    staff before: `Actor.decided`, `SlackDirectory.staff_snapshot`).

    The receipt is claimed first, with one INSERT that does nothing when it exists, so a
    copy costs one statement; on PostgreSQL a copy running at the same moment in another
    process waits on the first one's receipt there until that commits, and then does
    nothing."""

    def once(session: Session) -> T:
        if not claim_submission(session, body):
            raise AlreadySubmitted((body.get("view") or {}).get("id"))
        return work(session)

    return db.grouped(once)


def _claim(session: Session, key: str, team_id: Any, kind: Any) -> bool:
    """Insert the receipt unless it exists: one statement, no savepoint, no read first."""
    connection = session.connection()
    result = connection.execute(
        _INSERT_RECEIPT_UNLESS_TAKEN[connection.dialect.name == "postgresql"],
        {
            "event_id": key[:64],
            "team_id": team_id if isinstance(team_id, str) else None,
            "event_type": str(kind)[:64] if kind else None,
            "received_at": utcnow(),
        },
    )
    return result.first() is not None  # a row comes back only if it was inserted


# Built once (by dialect: is it PostgreSQL?); ON CONFLICT DO NOTHING is spelt alike by both.
# RETURNING says whether the row went in: rowcount does not, through every driver (psycopg
# gives -1 for this statement).
_RECEIPTS = table_of(SlackEventReceipt)
_INSERT_RECEIPT_UNLESS_TAKEN = {
    True: postgresql_insert(_RECEIPTS).on_conflict_do_nothing().returning(_RECEIPTS.c.event_id),
    False: sqlite_insert(_RECEIPTS).on_conflict_do_nothing().returning(_RECEIPTS.c.event_id),
}
