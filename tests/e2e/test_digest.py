"""Daily digest with a controlled clock: each technician's DM at digest_time in their own
Slack time zone, the staff channel's queue at the organization's; once, never empty,
not when switched off; once with two processes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot import jobs
from bot.core.db import Database
from bot.ids import Action
from bot.services import automation_settings, preferences, sla_admin
from bot.services import organizations as orgs
from models import Member, Notice, Organization, TicketEvent
from tests.e2e.conftest import World, organization_of

# Tuesday 8 December 2026. New York is UTC-5, Paris UTC+1.
TUESDAY = datetime(2026, 12, 8, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def desk(world: World) -> World:
    """Org in Paris; Tom (New York) owns #1 and #3 (pending), #2 is unassigned; Tia owns
    nothing."""
    for title in ("Monitor flickers", "Printer jams", "VPN drops"):
        world.file_ticket(world.alice, title)
    world.deliver()
    assign(world, 1, world.tech)
    assign(world, 3, world.tech)
    set_status(world, 3, "pending")
    with world.db.session() as session:
        organization = session.get(Organization, organization_of(world).id)
        assert organization is not None
        automation_settings.update_lifecycle_settings(organization, {"timezone": "Europe/Paris"})
        session.add(organization)
        session.execute(
            update(Member)
            .where(col(Member.slack_user_id) == world.tech)
            .values(timezone="America/New_York")
        )
        # #3 became pending on Monday 7 Dec 10:00 Paris: its first reminder is due
        # Wednesday 10:00 Paris (04:00 in New York).
        session.execute(
            update(TicketEvent)
            .where(col(TicketEvent.new_value) == "pending")
            .values(created_at=at(7, 9))
        )
    return world


def card(world: World, number: int) -> dict[str, Any]:
    return next(c for c in world.cards() if c["text"].startswith(f"Ticket #{number}:"))


def assign(world: World, number: int, user: str) -> None:
    world.driver.block_action(
        world.team,
        user,
        Action.ASSIGN_TO_ME,
        channel_id=world.staff_channel,
        message_ts=card(world, number)["ts"],
    )
    world.deliver()


def set_status(world: World, number: int, status: str) -> None:
    world.driver.block_action(
        world.team,
        world.tech,
        Action.STATUS,
        channel_id=world.staff_channel,
        message_ts=card(world, number)["ts"],
        selected_option_value=status,
    )
    world.deliver()


def reply_to_requester(world: World, number: int, text: str) -> None:
    world.driver.block_action(
        world.team,
        world.tech,
        Action.REPLY_TO_REQUESTER,
        channel_id=world.staff_channel,
        message_ts=card(world, number)["ts"],
    )
    modal = world.open_modal(world.tech)
    world.driver.submit_view(
        world.team, world.tech, modal["id"], {modal["blocks"][1]["block_id"]: text}
    )
    world.deliver()


def digests(world: World, user: str) -> list[dict[str, Any]]:
    return [m for m in world.dm(user) if m.get("text", "").startswith("Your tickets for")]


def queue_posts(world: World) -> list[dict[str, Any]]:
    return [m for m in world.staff_messages() if "without an owner" in m.get("text", "")]


def run(world: World, now: datetime) -> int:
    sent = jobs.send_digests(world.db, now=now)
    world.deliver()
    return sent


def test_each_technician_at_0830_in_their_own_zone_once(desk: World):
    world = desk
    assert run(world, at(8, 13, 29)) == 0  # 08:29 in New York
    assert digests(world, world.tech) == []
    assert run(world, at(8, 13, 30)) == 1
    assert run(world, at(8, 13, 45)) == 0  # once a day
    (digest,) = digests(world, world.tech)
    assert digest["text"] == "Your tickets for Tuesday 8 December: 2 open"
    body = str(digest["blocks"])
    assert "#1 Monitor flickers · Open · Medium" in body
    assert "#3 VPN drops · Pending · Medium" in body
    assert "#2 Printer jams" not in body  # not Tom's
    assert "Waiting on the requester" not in body  # no reminder due on Tuesday
    # Tia owns nothing: no empty digest.
    assert digests(world, world.tech2) == []
    # Wednesday: #3's reminder goes out at 10:00 Paris, 04:00 in New York.
    assert run(world, at(9, 13, 30)) == 1
    wednesday = digests(world, world.tech)[-1]
    assert "#3 VPN drops: the requester is reminded at 04:00" in str(wednesday["blocks"])


def test_the_staff_channel_gets_the_queue_at_the_organizations_morning(desk: World):
    world = desk
    assert run(world, at(8, 7, 29)) == 0  # 08:29 in Paris
    assert run(world, at(8, 7, 30)) == 1
    assert run(world, at(8, 8, 0)) == 0
    (queue,) = queue_posts(world)
    assert queue["text"] == "1 open ticket without an owner"
    assert "#2 Printer jams" in str(queue["blocks"])
    # Once every ticket has an owner, the channel gets nothing (never an empty digest).
    assign(world, 2, world.tech2)
    assert run(world, at(9, 7, 30)) == 0
    assert len(queue_posts(world)) == 1
    # Tia's own digest comes at 08:30 in her Slack zone (London).
    assert run(world, at(9, 8, 30)) == 1
    assert "#2 Printer jams" in str(digests(world, world.tech2)[0]["blocks"])


def test_switched_off_for_the_organization_or_by_the_person(desk: World):
    world = desk
    with world.db.session() as session:
        tom = session.exec(select(Member).where(Member.slack_user_id == world.tech)).one()
        preferences.set_enabled(
            session, member=tom, offered=preferences.STAFF_NOTICES, enabled=[Notice.ASSIGNMENT]
        )
    assert run(world, at(8, 13, 30)) == 0
    assert digests(world, world.tech) == []
    with world.db.session() as session:
        organization = session.get(Organization, organization_of(world).id)
        assert organization is not None
        automation_settings.update_lifecycle_settings(organization, {"digest_time": None})
        session.add(organization)
    assert run(world, at(8, 7, 30)) == 0
    assert queue_posts(world) == []


def test_a_late_run_does_not_send_the_mornings_digest_in_the_evening(desk: World):
    world = desk
    assert run(world, at(8, 16, 31)) == 0  # 11:31 in New York, 17:31 in Paris


def test_two_processes_send_each_digest_once(desk: World):
    world = desk
    others = [Database.from_url(str(world.db.engine.url)) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[int] = []

    def process(database: Database) -> None:
        barrier.wait()
        results.append(jobs.send_digests(database, now=at(8, 13, 30)))

    threads = [threading.Thread(target=process, args=(d,)) for d in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in others:
        database.dispose()
    world.deliver()
    assert sorted(results) == [0, 1]
    assert len(digests(world, world.tech)) == 1


def test_digests_list_the_sla_promises_breached_or_due_today(world: World, clock):
    """Calendar-time policy: first response in 30 m, resolution in 10 h. Filed Tuesday
    06:00 UTC, #1 is Tom's (New York), #2 nobody's; #3 has its first response met."""
    with world.db.session() as session:
        organization = orgs.get_or_create_organization(session, team_id=world.team, name="Acme")
        automation_settings.update_lifecycle_settings(organization, {"timezone": "Europe/Paris"})
        session.add(organization)
        sla_admin.save_policy(
            session,
            organization=organization,
            values={"name": "Calendar time", "is_default": True},
            targets=[
                sla_admin.TargetInput("medium", "first_response", 30, False),
                sla_admin.TargetInput("medium", "resolution", 600, False),
            ],
        )
    clock.set(at(8, 6))
    for title in ("Monitor flickers", "Printer jams", "VPN drops"):
        world.file_ticket(world.alice, title)
    world.deliver()
    assign(world, 1, world.tech)
    assign(world, 3, world.tech2)
    reply_to_requester(world, 3, "On it")
    with world.db.session() as session:
        session.execute(
            update(Member)
            .where(col(Member.slack_user_id) == world.tech)
            .values(timezone="America/New_York")
        )
    clock.set(at(8, 7, 30))

    assert run(world, at(8, 7, 30)) == 1  # the staff channel, 08:30 Paris
    (queue,) = [m for m in world.staff_messages() if "SLA" in m.get("text", "")]
    assert queue["text"] == ("1 open ticket without an owner, 2 SLA breached, 3 SLA due today")
    body = queue["blocks"][-1]["text"]["text"]
    assert body.splitlines() == [
        "*SLA: breached or due today (5)*",
        "• #1 Monitor flickers: first response breached",
        "• #2 Printer jams: first response breached",
        "• #1 Monitor flickers: resolution due at 17:00",
        "• #2 Printer jams: resolution due at 17:00",
        "• #3 VPN drops: resolution due at 17:00",
    ]
    assert "@" not in body and "<" not in body

    assert run(world, at(8, 13, 30)) == 1  # Tom at 08:30 in New York: only his ticket
    (digest,) = digests(world, world.tech)
    assert (
        digest["text"]
        == "Your tickets for Tuesday 8 December: 1 open, 1 SLA breached, 1 SLA due today"
    )
    assert digest["blocks"][1]["text"]["text"].splitlines() == [
        "*SLA: breached or due today (2)*",
        "• #1 Monitor flickers: first response breached",
        "• #1 Monitor flickers: resolution due at 11:00",
    ]
