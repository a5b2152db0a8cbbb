"""Scheduled jobs: plain idempotent functions registered under stable ids (APScheduler 3)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import delete
from sqlmodel import col

from bot.db import Database
from models import SlackEventReceipt, utcnow
from models.api import IdempotencyKey

if TYPE_CHECKING:
    from bot.runtime import Runtime

# Slack retries an event for about an hour at most; receipts are kept well beyond that.
EVENT_RECEIPT_RETENTION = timedelta(days=2)
# A client retrying a POST with the same Idempotency-Key does so within minutes or hours.
IDEMPOTENCY_KEY_RETENTION = timedelta(days=7)


def purge_event_receipts(db: Database) -> int:
    """Forget processed Slack event ids older than the retention; returns how many."""
    cutoff = utcnow() - EVENT_RECEIPT_RETENTION
    with db.session() as session:
        result = session.execute(
            delete(SlackEventReceipt).where(col(SlackEventReceipt.received_at) < cutoff)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_idempotency_keys(db: Database) -> int:
    """Forget REST API idempotency keys older than the retention; returns how many."""
    cutoff = utcnow() - IDEMPOTENCY_KEY_RETENTION
    with db.session() as session:
        result = session.execute(
            delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < cutoff)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def optimize_database(db: Database) -> None:
    """Keep SQLite's query planner informed (PostgreSQL's autovacuum does this itself).

    Without statistics SQLite may walk a whole organization's index for a short list;
    `analysis_limit` keeps ANALYZE quick on a large database.
    """
    if not db.is_sqlite:
        return
    with db.engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA analysis_limit=400")
        connection.exec_driver_sql("ANALYZE")


def register(scheduler: BaseScheduler, runtime: Runtime) -> None:
    scheduler.add_job(
        purge_event_receipts,
        "interval",
        hours=1,
        id="purge_event_receipts",
        replace_existing=True,
        args=[runtime.db],
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        purge_idempotency_keys,
        "interval",
        hours=6,
        id="purge_idempotency_keys",
        replace_existing=True,
        args=[runtime.db],
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        optimize_database,
        "interval",
        hours=24,
        id="optimize_database",
        replace_existing=True,
        args=[runtime.db],
        coalesce=True,
        max_instances=1,
        next_run_time=utcnow() + timedelta(seconds=30),
    )
    # The worker also wakes on every commit; this catches rows whose backoff has passed.
    scheduler.add_job(
        runtime.delivery.wake,
        "interval",
        seconds=5,
        id="outbox_wake",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
