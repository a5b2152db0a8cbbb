"""SLA clocks through the flows: E21's follow-up from Slack, the minute job's alerts (each
once, even with two processes claiming at once), and engine rules the API tests do not reach."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.core.db import Database
from bot.flows import conversation
from bot.flows import sla as sla_flows
from bot.flows import tickets as ticket_flows
from bot.services import sla_admin
from bot.services.actors import Actor
from bot.services.business_time import Calendar, add_business_time
from models import ClockStatus, OutboxMessage, SlaClock, Ticket
from models.ticket import TicketCreate
from tests.services.factories import Workspace, make_workspace
from tests.sla_fixtures import calendar_config, example, instant

START = datetime(2026, 3, 16, 13, tzinfo=UTC)


def policy(db: Database, ws: Workspace, calendar: str | None, targets, **values) -> int:
    with db.session() as session:
        calendar_id = None
        if calendar:
            row = sla_admin.save_calendar(
                session,
                organization=ws.organization,
                values={"name": calendar, **calendar_config(calendar)},
            )
            calendar_id = row.id
        saved = sla_admin.save_policy(
            session,
            organization=ws.organization,
            values={"name": "P", "calendar_id": calendar_id, "is_default": True, **values},
            targets=[sla_admin.TargetInput(*t) for t in targets],
        )
        return saved.id  # type: ignore[return-value]


@pytest.fixture
def ws(db: Database) -> Workspace:
    with db.session() as session:
        return make_workspace(session)


def file(db: Database, ws: Workspace) -> int:
    with db.session() as session:
        ticket = ticket_flows.file_ticket(
            session,
            organization=ws.organization,
            filer=Actor.for_member(ws.alice),
            requester=ws.alice,
            request=TicketCreate(title="VPN down"),
        )
        return ticket.id  # type: ignore[return-value]


def clocks(db: Database, ticket_id: int) -> list[SlaClock]:
    with db.session() as session:
        return list(
            session.exec(
                select(SlaClock)
                .where(SlaClock.ticket_id == ticket_id)
                .order_by(col(SlaClock.metric), col(SlaClock.cycle))
            ).all()
        )


def change(db: Database, ws: Workspace, ticket_id: int, **changes) -> None:
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        ticket_flows.change_ticket(
            session,
            organization=ws.organization,
            ticket=ticket,
            actor=Actor.for_member(ws.tech),
            changes=changes,
            is_staff=lambda m: True,
        )


def test_e21_a_reply_to_a_closed_ticket_opens_a_follow_up_with_fresh_clocks(db, ws, clock):
    ex = example("E21")
    cal = ex["calendar"]
    policy(
        db,
        ws,
        cal,
        [("medium", "first_response", 60, True), ("medium", "resolution", 480, True)],
    )
    clock.set(instant(ex["created"], cal))
    first = file(db, ws)
    for when, status in ex["status_changes"]:
        clock.set(instant(when, cal))
        change(db, ws, first, status=status)
    reply_at = instant(ex["end_user_comments"][0], cal)
    clock.set(reply_at)
    with db.session() as session:
        ticket = session.get(Ticket, first)
        outcome = conversation.reply_from_requester(
            session,
            organization=ws.organization,
            ticket=ticket,
            requester=ws.alice,
            message=conversation.IncomingMessage(
                channel="D1", ts="1.1", user=ws.alice.slack_user_id or "", text="Broken again"
            ),
        )
        follow_up_id = outcome.ticket.id
        assert outcome.follow_up_of is not None
        assert outcome.ticket.parent_ticket_id == first
    old = {(c.metric, c.cycle): c.status for c in clocks(db, first)}
    assert old == {("first_response", 1): "cancelled", ("resolution", 1): "met"}
    fresh = {c.metric: c for c in clocks(db, follow_up_id)}
    assert set(fresh) == {"first_response", "resolution"}
    calendar = Calendar.build(**calendar_config(cal))
    for metric, minutes in (("first_response", 60), ("resolution", 480)):
        assert fresh[metric].started_at == reply_at
        assert fresh[metric].status == ClockStatus.RUNNING
        assert fresh[metric].due_at == add_business_time(
            calendar, reply_at, timedelta(minutes=minutes)
        )


def test_pending_pauses_resolution_but_not_first_response(db, ws, clock):
    policy(
        db,
        ws,
        None,
        [("medium", "first_response", 60, False), ("medium", "resolution", 240, False)],
    )
    clock.set(START)
    ticket_id = file(db, ws)
    clock.set(START + timedelta(minutes=10))
    change(db, ws, ticket_id, status="pending")
    by_metric = {c.metric: c for c in clocks(db, ticket_id)}
    assert by_metric["resolution"].status == "paused"
    assert by_metric["resolution"].due_at is None
    assert by_metric["first_response"].status == "running"
    clock.set(START + timedelta(minutes=70))
    change(db, ws, ticket_id, status="open")
    resolution = {c.metric: c for c in clocks(db, ticket_id)}["resolution"]
    assert resolution.excluded_seconds == 60 * 60
    assert resolution.due_at == START + timedelta(minutes=240 + 60)


def test_internal_notes_do_not_meet_the_first_response(db, ws, clock):
    policy(db, ws, None, [("medium", "first_response", 60, False)])
    clock.set(START)
    ticket_id = file(db, ws)
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        ticket_flows.add_comment(
            session,
            organization=ws.organization,
            ticket=ticket,
            actor=Actor.for_member(ws.tech),
            content="Looking",
            comment_type="internal_note",
        )
    assert clocks(db, ticket_id)[0].status == "running"
    clock.set(START + timedelta(minutes=5))
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        ticket_flows.add_comment(
            session,
            organization=ws.organization,
            ticket=ticket,
            actor=Actor.for_member(ws.tech),
            content="On it",
            comment_type="public_reply",
        )
        # The card's SLA line changed: a drawing of the card is waiting to be delivered (the
        # outbox coalesces redraws into the card's pending post).
        cards = [
            row
            for row in session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.ticket_id == ticket_id, OutboxMessage.status == "pending"
                )
            ).all()
            if row.payload.get("render") == "ticket_card"
        ]
        assert cards
    (first,) = clocks(db, ticket_id)
    assert (first.status, first.fulfilled_at) == ("met", START + timedelta(minutes=5))


def alerts(db: Database, now: datetime) -> list[tuple[int, int]]:
    with db.session() as session:
        return sla_flows.send_due_alerts(session, now=now)


def test_each_alert_fires_once_per_cycle(db, ws, clock):
    policy(db, ws, None, [("medium", "resolution", 100, False)])
    clock.set(START)
    ticket_id = file(db, ws)
    (clock_row,) = clocks(db, ticket_id)
    assert alerts(db, START + timedelta(minutes=74)) == []
    assert alerts(db, START + timedelta(minutes=75)) == [(clock_row.id, 75)]
    assert alerts(db, START + timedelta(minutes=80)) == []
    assert alerts(db, START + timedelta(minutes=95)) == [(clock_row.id, 90)]
    assert alerts(db, START + timedelta(minutes=101)) == [(clock_row.id, 100)]
    assert alerts(db, START + timedelta(minutes=200)) == []
    (breached,) = clocks(db, ticket_id)
    assert breached.breached_at == START + timedelta(minutes=100)


def test_a_late_job_sends_only_the_breach(db, ws, clock):
    policy(db, ws, None, [("medium", "resolution", 100, False)])
    clock.set(START)
    ticket_id = file(db, ws)
    (clock_row,) = clocks(db, ticket_id)
    assert alerts(db, START + timedelta(hours=5)) == [(clock_row.id, 100)]
    assert alerts(db, START + timedelta(hours=6)) == []


def test_paused_clocks_do_not_fire(db, ws, clock):
    policy(db, ws, None, [("medium", "resolution", 100, False)])
    clock.set(START)
    ticket_id = file(db, ws)
    clock.set(START + timedelta(minutes=10))
    change(db, ws, ticket_id, status="pending")
    assert alerts(db, START + timedelta(hours=5)) == []


@pytest.mark.postgres
def test_two_processes_claiming_at_once_send_each_alert_once(postgres_engine, clock):
    from tests.conftest import truncate_all

    db = Database(postgres_engine)
    truncate_all(db)
    with db.session() as session:
        ws = make_workspace(session)
    policy(
        db,
        ws,
        None,
        [("medium", "first_response", 60, False), ("medium", "resolution", 100, False)],
    )
    clock.set(START)
    ids = [file(db, ws) for _ in range(30)]
    results: list[list[tuple[int, int]]] = []
    barrier = threading.Barrier(4)

    def run(now: datetime) -> None:
        barrier.wait()
        results.append(alerts(db, now))

    for minute in (46, 55, 61, 76, 91, 101):
        results.clear()
        threads = [
            threading.Thread(target=run, args=(START + timedelta(minutes=minute),))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        claimed = [item for result in results for item in result]
        assert len(claimed) == len(set(claimed))
    with db.session() as session:
        every = session.exec(select(SlaClock).where(col(SlaClock.ticket_id).in_(ids))).all()
        assert all(c.status == "breached" for c in every)
        posts = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.ticket_id).in_(ids))
        ).all()
    # Per ticket: card + DM at filing; per metric 75 % (staff channel), 90 % (channel +
    # thread) and the breach (thread; its card redraw joins the card's post still waiting
    # in the outbox): 2 + 2 * 4 rows, none twice.
    per_ticket = {i: 0 for i in ids}
    for row in posts:
        per_ticket[row.ticket_id] += 1
    assert set(per_ticket.values()) == {2 + 2 * 4}
