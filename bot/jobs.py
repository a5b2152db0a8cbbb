"""Scheduled jobs: plain idempotent functions registered under stable ids (APScheduler 3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import delete
from sqlmodel import col

from bot.core.db import Database
from bot.flows import card_age
from bot.flows import digest as digest_flows
from bot.flows import lifecycle as lifecycle_flows
from bot.flows import sla as sla_flows
from bot.services import lifecycle
from bot.services import organizations as orgs
from bot.services.automation_settings import lifecycle_settings
from models import Organization, SlackEventReceipt, utcnow
from models.api import IdempotencyKey

if TYPE_CHECKING:
    from bot.runtime import Runtime

# Slack retries an event for about an hour at most; receipts are kept well beyond that.
EVENT_RECEIPT_RETENTION = timedelta(days=2)
# A client retrying a POST with the same Idempotency-Key does so within minutes or hours.
IDEMPOTENCY_KEY_RETENTION = timedelta(days=7)


def _purge(db: Database, created: Any, retention: timedelta) -> int:
    """Delete the rows whose timestamp column `created` is older than `retention`."""
    cutoff = utcnow() - retention
    with db.session() as session:
        result = session.execute(delete(created.class_).where(created < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_event_receipts(db: Database) -> int:
    """Forget processed Slack event ids older than the retention; returns how many."""
    return _purge(db, col(SlackEventReceipt.received_at), EVENT_RECEIPT_RETENTION)


def purge_idempotency_keys(db: Database) -> int:
    """Forget REST API idempotency keys older than the retention; returns how many."""
    return _purge(db, col(IdempotencyKey.created_at), IDEMPOTENCY_KEY_RETENTION)


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
    # A SQLite connection reads the statistics once, when it opens: pooled connections
    # would go on planning without them. Connections in use are closed when returned.
    db.engine.dispose()


def send_sla_alerts(db: Database) -> int:
    """SLA warnings and breaches that came due; returns how many were sent."""
    with db.session() as session:
        return len(sla_flows.send_due_alerts(session, now=utcnow()))


def remind_long_timers(db: Database) -> int:
    """One DM to each technician whose timer has run past 10 hours (each timer once)."""
    from bot.flows.time_tracking import remind_long_timers as remind

    with db.session() as session:
        return remind(session)


def _organization_ids(db: Database) -> list[int]:
    with db.read_session() as session:
        return [o.id for o in orgs.connected_organizations(session) if o.id is not None]


def run_lifecycle(db: Database, now: datetime | None = None) -> int:
    """Close resolved tickets nobody replied to, remind requesters of pending tickets and
    resolve those they left unanswered; returns how many tickets were acted on.

    One unit of work per ticket, each claimed: several processes may run this at once."""
    now = now or utcnow()
    acted = 0
    for organization_id in _organization_ids(db):
        with db.read_session() as session:
            organization = session.get(Organization, organization_id)
            assert organization is not None
            settings = lifecycle_settings(organization)
            closing = lifecycle.tickets_to_close(
                session, organization=organization, settings=settings, now=now
            )
            steps = lifecycle.pending_steps(
                session,
                organization=organization,
                settings=settings,
                now=now,
            )
        for ticket in closing:
            with db.session() as session:
                organization = session.get(Organization, organization_id)
                assert organization is not None
                acted += lifecycle_flows.auto_close(
                    session, organization=organization, ticket=ticket, now=now
                )
        for step in steps:
            with db.session() as session:
                organization = session.get(Organization, organization_id)
                assert organization is not None
                acted += lifecycle_flows.pending_step(
                    session, organization=organization, step=step, settings=settings
                )
    return acted


def send_digests(db: Database, now: datetime | None = None) -> int:
    """Daily digests due now (each person's time zone, the staff channel's in the
    organization's); returns how many were sent. Safe to run in several processes."""
    now = now or utcnow()
    sent = 0
    for organization_id in _organization_ids(db):
        with db.session() as session:
            organization = session.get(Organization, organization_id)
            assert organization is not None
            sent += digest_flows.send_digests(session, organization=organization, now=now)
    return sent


def age_cards(db: Database, now: datetime | None = None) -> int:
    """Redraw the cards whose "Opened 2 d ago · Alice replied 5 m ago" line would read
    differently now (see `bot.flows.card_age`); returns how many were queued. Safe to run
    in several processes (each redraw is claimed)."""
    now = now or utcnow()
    queued = 0
    for organization_id in _organization_ids(db):
        with db.session() as session:
            organization = session.get(Organization, organization_id)
            assert organization is not None
            queued += card_age.redraw_aged_cards(session, organization=organization, now=now)
    return queued


def register(scheduler: BaseScheduler, runtime: Runtime) -> None:
    def every(job: Callable[..., Any], job_id: str, *args: Any, **interval: Any) -> None:
        # Stable ids replace a job registered before; a late run is run once, not many times.
        scheduler.add_job(
            job,
            "interval",
            id=job_id,
            replace_existing=True,
            args=list(args),
            coalesce=True,
            max_instances=1,
            **interval,
        )

    every(purge_event_receipts, "purge_event_receipts", runtime.db, hours=1)
    every(purge_idempotency_keys, "purge_idempotency_keys", runtime.db, hours=6)
    every(
        optimize_database,
        "optimize_database",
        runtime.db,
        hours=24,
        next_run_time=utcnow() + timedelta(seconds=30),
    )
    # Workspaces paused by a refusal from Slack come back as soon as their token works.
    every(runtime.check_disconnected, "check_disconnected", minutes=2)
    every(send_sla_alerts, "sla_alerts", runtime.db, minutes=1)
    every(remind_long_timers, "remind_long_timers", runtime.db, minutes=5)
    every(run_lifecycle, "lifecycle", runtime.db, minutes=1)
    every(send_digests, "digests", runtime.db, minutes=1)
    every(age_cards, "card_age", runtime.db, minutes=1)
    # The worker also wakes on every commit; this catches rows whose backoff has passed.
    every(runtime.delivery.wake, "outbox_wake", seconds=5)
