"""The card ages between redraws: a scheduled job redraws an open ticket's card when its
"Opened … · Alice replied …" line would read differently now, and only then."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot import jobs
from bot.core.db import Database
from bot.flows import card_age
from bot.ids import Action
from models import Organization
from models.base import Clock
from tests.e2e.conftest import World

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def carded(world: World, clock: Clock) -> World:
    """Ticket #1 from Alice, filed at T0, its card posted."""
    clock.set(T0)
    world.file_ticket(world.alice, "Monitor flickers")
    world.deliver()
    return world


def activity(world: World, number: int = 1) -> str:
    card = next(c for c in world.cards() if c["text"].startswith(f"Ticket #{number}:"))
    (context,) = [b for b in card["blocks"] if b["type"] == "context"]
    return str(context["elements"][0]["text"])


def card_updates(world: World) -> int:
    return len(world.sim.calls_to("chat.update"))


def age(world: World) -> int:
    queued = jobs.age_cards(world.db)
    world.deliver()
    return queued


def test_a_quiet_card_ages_in_steps_and_costs_nothing_in_between(carded: World, clock: Clock):
    world = carded
    assert activity(world) == "Opened just now · waiting on IT"
    before = card_updates(world)
    clock.set(T0 + timedelta(minutes=3))
    assert age(world) == 0  # still "just now": no call to Slack
    clock.set(T0 + timedelta(minutes=5, seconds=30))
    assert age(world) == 1
    assert activity(world) == "Opened 5 m ago · waiting on IT"
    assert age(world) == 0  # drawn: once per step
    clock.set(T0 + timedelta(minutes=9))
    assert age(world) == 0
    clock.set(T0 + timedelta(days=2, hours=1))
    assert age(world) == 1
    assert activity(world) == "Opened 2 d ago · waiting on IT"
    assert card_updates(world) == before + 2
    clock.set(T0 + timedelta(days=2, hours=5))
    assert age(world) == 0  # days: once a day


def test_the_last_reply_ages_too_and_a_closed_card_is_left_alone(carded: World, clock: Clock):
    world = carded
    clock.set(T0 + timedelta(hours=3))
    dm = world.sim.dm_channel(world.team, world.alice)
    root = next(m for m in world.dm(world.alice) if "received" in m.get("text", ""))
    world.driver.event(
        world.team,
        world.driver.message_event(world.team, dm, world.alice, "Any news?", thread_ts=root["ts"]),
    )
    world.deliver()
    assert activity(world) == "Opened 3 h ago · Alice replied just now · waiting on IT"
    clock.set(T0 + timedelta(hours=3, minutes=16))
    assert age(world) == 1
    assert activity(world) == "Opened 3 h ago · Alice replied 15 m ago · waiting on IT"
    card = world.cards()[0]
    world.driver.block_action(
        world.team,
        world.tech,
        Action.STATUS,
        channel_id=world.staff_channel,
        message_ts=card["ts"],
        selected_option_value="closed",
    )
    world.deliver()
    before = card_updates(world)
    clock.set(T0 + timedelta(days=3))
    assert age(world) == 0
    assert card_updates(world) == before


def test_two_processes_running_the_job_at_once_redraw_once(carded: World, clock: Clock):
    world = carded
    clock.set(T0 + timedelta(hours=2))
    before = card_updates(world)
    others = [Database.from_url(str(world.db.engine.url)) for _ in range(2)]
    results: list[int] = []
    barrier = threading.Barrier(len(others))

    def process(database: Database) -> None:
        barrier.wait()
        results.append(jobs.age_cards(database))

    threads = [threading.Thread(target=process, args=(d,)) for d in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in others:
        database.dispose()
    world.deliver()
    assert sorted(results) == [0, 1]
    assert card_updates(world) == before + 1
    assert activity(world) == "Opened 2 h ago · waiting on IT"


def test_redraws_per_run_are_capped_oldest_first(carded: World, clock: Clock):
    world = carded
    clock.set(T0 + timedelta(minutes=1))
    world.file_ticket(world.bob, "Printer jams")
    world.deliver()
    clock.set(T0 + timedelta(hours=1, minutes=30))
    with world.db.session() as session:
        organization = session.exec(select(Organization)).one()
        assert (
            card_age.redraw_aged_cards(session, organization=organization, now=clock.now(), limit=1)
            == 1
        )
    world.deliver()
    assert activity(world, 1) == "Opened 1 h ago · waiting on IT"  # drawn first, redrawn first
    assert activity(world, 2).startswith("Opened just now")
    assert age(world) == 1  # the next minute's run takes the other
    assert activity(world, 2) == "Opened 1 h ago · waiting on IT"
