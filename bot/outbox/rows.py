"""Outbox rows: the one way a change asks for a Slack message.

Rows are written in the caller's unit of work and sent by the worker after commit.
References to messages that may not exist yet (the card's ts, the DM thread) are symbolic
and resolved at delivery time, in order per ticket and lane.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from bot.core.db import Database
from models import (
    MessageRole,
    Organization,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    table_of,
    utcnow,
)

# Symbolic channel: the organization's staff channel, looked up when the row is delivered.
STAFF_CHANNEL = "staff_channel"
# Marks a unit of work that wrote outbox rows (or made some due): its commit wakes the worker.
ROWS_WRITTEN = "ticketbot_outbox_rows_written"


class Lane:
    STAFF = "staff"  # the card and its thread
    REQUESTER = "requester"  # the requester's DM thread
    SOURCE = "source"  # the thread of the message a ticket was filed from
    NOTIFY = "notify"  # DMs to staff about a ticket


def enqueue(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket | None,
    method: str,
    payload: dict[str, Any],
    lane: str = Lane.STAFF,
    channel_ref: str | None = None,
    ts_ref: str | None = None,
    thread_ref: str | None = None,
    record_as: MessageRole | None = None,
) -> int:
    """Write one outbox row in the unit of work; returns its id.

    A Core INSERT, run now: ids ascend in the order rows are written, which is the order
    the worker keeps per ticket and lane, and every Slack message costs one cheap
    statement instead of an ORM object and its share of a flush.
    """
    if ticket is not None and ticket.id is None:
        session.flush()  # the ticket's row must exist before rows that point at it
    now = utcnow()
    result = session.connection().execute(
        _INSERT_ROW,
        {
            "organization_id": organization.id,
            "ticket_id": ticket.id if ticket else None,
            "lane": lane,
            "method": method,
            "payload": payload,
            "channel_ref": channel_ref,
            "ts_ref": ts_ref,
            "thread_ref": thread_ref,
            "record_as": record_as,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    Database.mark(session, ROWS_WRITTEN)
    inserted = result.inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


_INSERT_ROW = insert(table_of(OutboxMessage))


# Payload key naming what the worker renders when it delivers the row (see `render`).
RENDER = "render"
# Payload key: the posted message is also recorded as a message of this comment.
RECORD_COMMENT = "record_comment"
# Payload key: the text names people by `person(member_id)` placeholders, filled in with
# their names when the row is delivered (a name learnt meanwhile from Slack is used; no
# mention, so nobody is pinged).
NAMES = "names"


# Payload key: `CARD_LINK` in the text becomes a link to the ticket's card at delivery
# ("ticket #N", linked to the card's permalink once the card is posted).
LINK_CARD = "link_card"
CARD_LINK = "⟪card⟫"


def person(member_id: int) -> str:
    """A placeholder for a member's name in a row's text (see `NAMES`)."""
    return f"⟪{member_id}⟫"


class Rendered:
    """Messages drawn from the ticket as it is when they are delivered, not when they were
    written: the filing transaction stays short (no card rendering while the
    organization's ticket counter is held), and a card posted after an outage shows the
    ticket as it is now."""

    TICKET_CARD = "ticket_card"
    REQUESTER_RECEIVED = "requester_received"
    FILED_NOTICE = "filed_notice"  # the reply under a message that was filed
