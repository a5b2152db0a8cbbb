"""Scheduled jobs: idempotent clean-ups registered under stable ids."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import update
from sqlmodel import select

from bot import jobs
from bot.core.db import Database
from bot.services import organizations as orgs
from bot.services import tickets as ticket_service
from bot.services.actors import Actor
from models import SlackEventReceipt, Ticket, utcnow
from models.api import IdempotencyKey
from models.ticket import TicketCreate


def test_purges_forget_only_old_rows_and_can_run_twice(db: Database):
    old, new = utcnow() - timedelta(days=30), utcnow()
    with db.session() as session:
        org = orgs.get_or_create_organization(session, team_id="T0JOBS")
        session.add(SlackEventReceipt(event_id="Ev0OLD", received_at=old))
        session.add(SlackEventReceipt(event_id="Ev0NEW", received_at=new))
        for key, at in (("old", old), ("new", new)):
            session.add(
                IdempotencyKey(
                    organization_id=org.id, key=key, request_fingerprint="f" * 64, created_at=at
                )
            )
    assert jobs.purge_event_receipts(db) == 1
    assert jobs.purge_idempotency_keys(db) == 1
    assert jobs.purge_event_receipts(db) == 0  # idempotent
    assert jobs.purge_idempotency_keys(db) == 0
    with db.session() as session:
        assert [r.event_id for r in session.exec(select(SlackEventReceipt)).all()] == ["Ev0NEW"]
        assert [k.key for k in session.exec(select(IdempotencyKey)).all()] == ["new"]


def test_jobs_register_under_stable_ids(sqlite_db: Database):
    class FakeRuntime:
        db = sqlite_db

        @staticmethod
        def check_disconnected() -> int:
            return 0

        class delivery:
            @staticmethod
            def wake() -> None:
                pass

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    try:
        jobs.register(scheduler, FakeRuntime())  # type: ignore[arg-type]
        jobs.register(scheduler, FakeRuntime())  # type: ignore[arg-type] # replaces, no copies
        assert sorted(job.id for job in scheduler.get_jobs()) == [
            "card_age",
            "check_disconnected",
            "digests",
            "lifecycle",
            "optimize_database",
            "outbox_wake",
            "purge_event_receipts",
            "purge_idempotency_keys",
            "remind_long_timers",
            "sla_alerts",
        ]
    finally:
        scheduler.shutdown(wait=False)


def test_optimize_gives_sqlite_statistics(sqlite_db: Database):
    with sqlite_db.session() as session:
        org = orgs.get_or_create_organization(session, team_id="T0STATS")
        orgs.create_member(session, organization=org, name="Someone")
    jobs.optimize_database(sqlite_db)
    jobs.optimize_database(sqlite_db)  # idempotent
    with sqlite_db.engine.connect() as connection:
        tables = {row[0] for row in connection.exec_driver_sql("SELECT tbl FROM sqlite_stat1")}
    assert {"organization", "member"} <= tables


def test_pooled_connections_plan_with_the_new_statistics(sqlite_db: Database):
    """Without statistics SQLite walks an organization's whole history for someone's
    tickets in some statuses (ones the partial index of open tickets does not cover);
    after the job, every connection the pool hands out uses the assignee index."""
    with sqlite_db.session() as session:
        org = orgs.get_or_create_organization(session, team_id="T0PLAN")
        techs = [orgs.create_member(session, organization=org, name=f"T{n}") for n in range(50)]
        tech = techs[0]
        people = [orgs.create_member(session, organization=org, name=f"P{n}") for n in range(20)]
        for n in range(1000):
            ticket = ticket_service.create_ticket(
                session,
                organization=org,
                requester=people[n % 20],
                actor=Actor.integration("seed"),
                request=TicketCreate(title=f"Closed {n}"),
            )
            ticket.assigned_staff_id = techs[n % 50].id
        session.flush()
        session.execute(update(Ticket).values(status="closed"))
        for n in range(3):
            ticket = ticket_service.create_ticket(
                session,
                organization=org,
                requester=people[n],
                actor=Actor.integration("seed"),
                request=TicketCreate(title=f"Open {n}"),
            )
            ticket.assigned_staff_id = tech.id
        org_id, tech_id = org.id, tech.id
    my_open = (
        "EXPLAIN QUERY PLAN SELECT id FROM ticket WHERE organization_id = ? "
        "AND assigned_staff_id = ? AND status IN ('open', 'pending') "
        "ORDER BY updated_at DESC LIMIT 50"
    )

    def plans(connections: int) -> list[str]:
        """The plan as seen by `connections` pooled connections at once."""
        with contextlib.ExitStack() as stack:
            sessions = [stack.enter_context(sqlite_db.read_session()) for _ in range(connections)]
            return [
                " / ".join(
                    row[3]
                    for row in session.connection().exec_driver_sql(my_open, (org_id, tech_id))
                )
                for session in sessions
            ]

    # No statistics: the organization's whole index, on every connection the pool holds.
    assert all("ix_ticket_org_updated" in plan for plan in plans(3))
    jobs.optimize_database(sqlite_db)
    assert all("ix_ticket_org_assignee_status" in plan for plan in plans(3))
