"""Lifecycle automations with a controlled clock: auto-close of resolved tickets and
reminders on pending tickets, through the job function, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot import jobs
from bot.core.db import Database
from bot.ids import Action
from bot.services import automation_settings, sla_admin
from models import Organization, Ticket, TicketEvent
from tests.e2e.conftest import World, organization_of


@pytest.fixture
def ticket(world: World) -> World:
    """Ticket #1 filed by Alice, its card and DM posted."""
    world.file_ticket(world.alice, "Monitor flickers")
    world.deliver()
    return world


def set_status(world: World, status: str, user: str | None = None) -> None:
    (card, *_) = world.cards()
    response = world.driver.block_action(
        world.team,
        user or world.tech,
        Action.STATUS,
        channel_id=world.staff_channel,
        message_ts=card["ts"],
        selected_option_value=status,
    )
    assert response.status == 200, response.text
    world.deliver()


def configure(world: World, **settings: Any) -> None:
    with world.db.session() as session:
        organization = session.get(Organization, organization_of(world).id)
        assert organization is not None
        automation_settings.update_lifecycle_settings(organization, settings)
        session.add(organization)


def dm_thread(world: World, user: str) -> list[str]:
    dm = world.sim.dm_channel(world.team, user)
    root = next(m for m in world.dm(user) if m.get("text", "").startswith("Ticket #1 received"))
    return [m["text"] for m in world.sim.thread(dm, root["ts"])[1:]]


def staff_thread(world: World) -> list[str]:
    (card, *_) = world.cards()
    return [m["text"] for m in world.sim.thread(world.staff_channel, card["ts"])[1:]]


def run(world: World, now: datetime) -> int:
    acted = jobs.run_lifecycle(world.db, now=now)
    world.deliver()
    return acted


def resolved_at(world: World) -> datetime:
    (found,) = world.tickets()
    assert found.resolved_at is not None
    return found.resolved_at


CLOSED_NOTICE = "is now closed: there was no reply for 4 days"


# --- auto-close -----------------------------------------------------------------------


def test_a_resolved_ticket_closes_after_n_days_and_the_requester_is_told_once(ticket: World):
    world = ticket
    set_status(world, "resolved")
    at = resolved_at(world)
    assert run(world, at + timedelta(days=4) - timedelta(seconds=1)) == 0
    assert world.tickets()[0].status == "resolved"
    assert run(world, at + timedelta(days=4)) == 1
    assert world.tickets()[0].status == "closed"
    assert run(world, at + timedelta(days=5)) == 0  # once
    told = [t for t in dm_thread(world, world.alice) if CLOSED_NOTICE in t]
    assert told == [
        ":checkered_flag: Ticket #1 is now closed: there was no reply for 4 days after it was "
        "resolved. "
        "If you still need help, reply here and a new ticket will be opened. "
        "How did we do? Tell us how ticket #1 went."  # she never said: the survey is here
    ]
    # No second, generic "is closed" notice; the staff thread says who closed it.
    assert not any(
        t.startswith(":checkered_flag: Ticket #1 is closed") for t in dm_thread(world, world.alice)
    )
    assert staff_thread(world)[-1] == "Ticketbot set status to *Closed*"
    # A reply after that opens a linked follow-up ticket.
    dm = world.sim.dm_channel(world.team, world.alice)
    root = next(m for m in world.dm(world.alice) if m["text"].startswith("Ticket #1 received"))
    world.driver.event(
        world.team,
        world.driver.message_event(
            world.team, dm, world.alice, "Broken again", thread_ts=root["ts"]
        ),
    )
    world.deliver()
    first, follow_up = world.tickets()
    assert (first.status, follow_up.parent_ticket_id) == ("closed", first.id)


def test_fractional_days_and_a_reply_that_reopens_stops_the_close(ticket: World):
    world = ticket
    configure(world, auto_close_days=0.5)
    set_status(world, "resolved")
    at = resolved_at(world)
    dm = world.sim.dm_channel(world.team, world.alice)
    root = next(m for m in world.dm(world.alice) if m["text"].startswith("Ticket #1 received"))
    world.driver.event(
        world.team,
        world.driver.message_event(world.team, dm, world.alice, "Not fixed", thread_ts=root["ts"]),
    )
    world.deliver()
    assert world.tickets()[0].status == "open"
    assert run(world, at + timedelta(days=30)) == 0
    set_status(world, "resolved")
    again = resolved_at(world)
    assert run(world, again + timedelta(hours=11, minutes=59)) == 0
    assert run(world, again + timedelta(hours=12)) == 1
    assert world.tickets()[0].status == "closed"


def test_auto_close_switched_off(ticket: World):
    world = ticket
    configure(world, auto_close_days=0)
    set_status(world, "resolved")
    assert run(world, resolved_at(world) + timedelta(days=400)) == 0
    assert world.tickets()[0].status == "resolved"


def test_two_processes_running_the_job_at_once_close_and_tell_once(ticket: World):
    world = ticket
    set_status(world, "resolved")
    now = resolved_at(world) + timedelta(days=4)
    # Each "process" has its own engine and connection pool on the same database.
    others = [Database.from_url(str(world.db.engine.url)) for _ in range(2)]
    results: list[int] = []
    barrier = threading.Barrier(len(others))

    def process(database: Database) -> None:
        barrier.wait()
        results.append(jobs.run_lifecycle(database, now=now))

    threads = [threading.Thread(target=process, args=(d,)) for d in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in others:
        database.dispose()
    world.deliver()
    assert sorted(results) == [0, 1]
    assert len([t for t in dm_thread(world, world.alice) if CLOSED_NOTICE in t]) == 1
    assert staff_thread(world).count("Ticketbot set status to *Closed*") == 1


# --- pending reminders ----------------------------------------------------------------


def became_pending_at(world: World, at: datetime) -> None:
    """Move the ticket's last "pending" event to `at` (when staff set it)."""
    with world.db.session() as session:
        event = session.exec(
            select(TicketEvent)
            .where(TicketEvent.new_value == "pending")
            .order_by(col(TicketEvent.id).desc())
        ).first()
        assert event is not None
        session.execute(
            update(TicketEvent).where(col(TicketEvent.id) == event.id).values(created_at=at)
        )


REMINDER = "Reminder: ticket #1 (Monitor flickers) is waiting for your reply"


def reminders(world: World) -> int:
    return len([t for t in dm_thread(world, world.alice) if REMINDER in t])


def test_pending_reminders_count_business_days_in_the_organizations_zone(ticket: World):
    world = ticket
    configure(world, timezone="Europe/Paris")
    set_status(world, "pending")
    # Friday 4 Dec 2026, 17:00 in Paris (16:00 UTC): 2 business days later is Tuesday
    # 17:00 Paris, not Sunday.
    became_pending_at(world, datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
    assert run(world, datetime(2026, 12, 8, 15, 59, tzinfo=UTC)) == 0
    assert reminders(world) == 0
    assert run(world, datetime(2026, 12, 8, 16, 0, tzinfo=UTC)) == 1
    assert reminders(world) == 1
    assert run(world, datetime(2026, 12, 9, 16, 0, tzinfo=UTC)) == 0  # once
    # Second reminder: Thursday 17:00 Paris.
    assert run(world, datetime(2026, 12, 10, 16, 0, tzinfo=UTC)) == 1
    assert reminders(world) == 2
    assert world.tickets()[0].status == "pending"
    # After two reminders without a reply, resolved two business days later (Monday).
    assert run(world, datetime(2026, 12, 13, 16, 0, tzinfo=UTC)) == 0
    assert run(world, datetime(2026, 12, 14, 16, 0, tzinfo=UTC)) == 1
    assert world.tickets()[0].status == "resolved"
    assert staff_thread(world)[-2:] == [
        "Ticketbot set status to *Resolved*",
        ":robot_face: Resolved automatically: the requester did not reply after 2 reminders.",
    ]
    assert dm_thread(world, world.alice)[-1].startswith(
        ":white_check_mark: Ticket #1 is resolved, as we did not hear back from you."
    )
    run(world, datetime(2026, 12, 20, 16, 0, tzinfo=UTC))
    assert reminders(world) == 2
    assert sum("Resolved automatically" in t for t in staff_thread(world)) == 1


def use_sla_calendar(world: World, *, timezone: str, hours: dict[str, Any], holidays: list[str]):
    """Make the organization's default SLA policy count on this calendar."""
    with world.db.session() as session:
        organization = session.get(Organization, organization_of(world).id)
        assert organization is not None
        calendar = sla_admin.save_calendar(
            session,
            organization=organization,
            values={
                "name": "Support hours",
                "timezone": timezone,
                "hours": hours,
                "holidays": holidays,
            },
        )
        sla_admin.save_policy(
            session,
            organization=organization,
            values={"name": "Standard", "is_default": True, "calendar_id": calendar.id},
            targets=[sla_admin.TargetInput("medium", "resolution", 480, True)],
        )


WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def test_pending_reminders_count_the_sla_calendars_days_in_its_zone(ticket: World):
    world = ticket
    # The organization says Paris; the SLA calendar (New York, closed on Monday 7 Dec)
    # decides which days are business days and where they start.
    configure(world, timezone="Europe/Paris")
    use_sla_calendar(
        world, timezone="America/New_York", hours=WEEKDAYS_9_TO_5, holidays=["2026-12-07"]
    )
    set_status(world, "pending")
    # Friday 4 Dec, 16:00 in New York (21:00 UTC). Two business days on: Tuesday 8 (the
    # Monday is a holiday), then Wednesday 9, 16:00 New York = 21:00 UTC.
    became_pending_at(world, datetime(2026, 12, 4, 21, 0, tzinfo=UTC))
    assert run(world, datetime(2026, 12, 8, 21, 0, tzinfo=UTC)) == 0
    assert run(world, datetime(2026, 12, 9, 20, 59, tzinfo=UTC)) == 0
    assert reminders(world) == 0
    assert run(world, datetime(2026, 12, 9, 21, 0, tzinfo=UTC)) == 1
    assert reminders(world) == 1


def test_a_calendar_open_on_saturdays_counts_them(ticket: World):
    world = ticket
    hours = {**WEEKDAYS_9_TO_5, "sat": [["10:00", "14:00"]]}
    use_sla_calendar(world, timezone="UTC", hours=hours, holidays=[])
    configure(world, pending_reminder_business_days=1)
    set_status(world, "pending")
    became_pending_at(world, datetime(2026, 12, 4, 12, 0, tzinfo=UTC))  # Friday noon
    assert run(world, datetime(2026, 12, 5, 12, 0, tzinfo=UTC)) == 1  # Saturday counts
    assert run(world, datetime(2026, 12, 6, 12, 0, tzinfo=UTC)) == 0  # Sunday does not
    assert run(world, datetime(2026, 12, 7, 12, 0, tzinfo=UTC)) == 1
    assert reminders(world) == 2


def test_a_reply_stops_the_reminders_and_a_new_pending_period_starts_afresh(ticket: World):
    world = ticket
    set_status(world, "pending")
    became_pending_at(world, datetime(2026, 12, 7, 9, 0, tzinfo=UTC))  # Monday
    assert run(world, datetime(2026, 12, 9, 9, 0, tzinfo=UTC)) == 1
    dm = world.sim.dm_channel(world.team, world.alice)
    root = next(m for m in world.dm(world.alice) if m["text"].startswith("Ticket #1 received"))
    world.driver.event(
        world.team,
        world.driver.message_event(world.team, dm, world.alice, "Here it is", thread_ts=root["ts"]),
    )
    world.deliver()
    assert world.tickets()[0].status == "open"
    assert run(world, datetime(2026, 12, 30, 9, 0, tzinfo=UTC)) == 0
    set_status(world, "pending")
    became_pending_at(world, datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    assert run(world, datetime(2026, 12, 16, 9, 0, tzinfo=UTC)) == 1
    assert reminders(world) == 2


def test_pending_reminders_switched_off(ticket: World):
    world = ticket
    configure(world, pending_reminder_business_days=None)
    set_status(world, "pending")
    became_pending_at(world, datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    assert run(world, datetime(2027, 3, 1, 9, 0, tzinfo=UTC)) == 0
    assert reminders(world) == 0


def test_without_a_resolve_count_reminders_go_on_and_nothing_is_resolved(ticket: World):
    world = ticket
    configure(world, pending_reminders_before_resolve=0, pending_reminder_business_days=1)
    set_status(world, "pending")
    became_pending_at(world, datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    for day in (8, 9, 10, 11, 14):  # Tuesday … Friday, then Monday
        assert run(world, datetime(2026, 12, day, 9, 0, tzinfo=UTC)) == 1
    assert reminders(world) == 5
    assert world.tickets()[0].status == "pending"


def test_two_processes_send_one_reminder(ticket: World):
    world = ticket
    set_status(world, "pending")
    became_pending_at(world, datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    others = [Database.from_url(str(world.db.engine.url)) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[int] = []

    def process(database: Database) -> None:
        barrier.wait()
        results.append(jobs.run_lifecycle(database, now=datetime(2026, 12, 9, 9, tzinfo=UTC)))

    threads = [threading.Thread(target=process, args=(d,)) for d in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in others:
        database.dispose()
    world.deliver()
    assert sorted(results) == [0, 1]
    assert reminders(world) == 1


def test_tickets_of_other_organizations_are_left_alone(ticket: World):
    world = ticket
    set_status(world, "resolved")
    with world.db.session() as session:
        session.execute(update(Organization).values(slack_disconnected_at=datetime.now(UTC)))
    assert run(world, resolved_at(world) + timedelta(days=10)) == 0
    with world.db.session() as session:
        assert session.exec(select(Ticket)).one().status == "resolved"
