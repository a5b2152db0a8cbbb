"""Notification preferences in the App Home: technicians switch their DMs on and off,
requesters mute status updates (never replies written to them); the actor of a change
is never told about it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.errors import InvalidInput
from bot.ids import Action
from bot.services import preferences
from tests.e2e.conftest import World


@pytest.fixture
def ticket(world: World) -> World:
    world.file_ticket(world.alice, "Monitor flickers")
    world.deliver()
    return world


def open_home(world: World, user: str) -> dict[str, Any]:
    world.driver.event(world.team, world.driver.app_home_opened(world.team, user))
    home = world.sim.home_view(world.team, user)
    assert home is not None
    return home


def switches(home: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(offered, ticked) labels of the notification checkboxes."""
    element = next(
        e
        for b in home["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == Action.NOTIFICATIONS
    )
    offered = [o["text"]["text"] for o in element["options"]]
    ticked = [o["text"]["text"] for o in element.get("initial_options", [])]
    return offered, ticked


def tick(world: World, user: str, values: list[str]) -> None:
    home = open_home(world, user)
    response = world.driver.block_action(
        world.team, user, Action.NOTIFICATIONS, view_id=home["id"], value=values
    )
    assert response.status == 200, response.text


def press_card(world: World, user: str, action: str, **kwargs: Any) -> None:
    (card,) = world.cards()
    response = world.driver.block_action(
        world.team, user, action, channel_id=world.staff_channel, message_ts=card["ts"], **kwargs
    )
    assert response.status == 200, response.text
    world.deliver()


def dm_texts(world: World, user: str) -> list[str]:
    return [m.get("text", "") for m in world.dm(user)]


def alice_replies(world: World, text: str) -> None:
    dm = world.sim.dm_channel(world.team, world.alice)
    root = next(m for m in world.dm(world.alice) if m["text"].startswith("Ticket #1 received"))
    world.driver.event(
        world.team,
        world.driver.message_event(world.team, dm, world.alice, text, thread_ts=root["ts"]),
    )
    world.deliver()


def test_staff_home_offers_the_four_switches_all_on(world: World):
    offered, ticked = switches(open_home(world, world.tech))
    assert offered == [
        "When a ticket is assigned to me",
        "When a requester replies on my ticket",
        "SLA warnings on my tickets",
        "Daily digest",
    ]
    assert ticked == offered
    offered, ticked = switches(open_home(world, world.alice))
    assert offered == ticked == ["Status updates on my tickets"]


def test_a_technician_switches_off_assignment_and_reply_dms(ticket: World):
    world = ticket
    tick(world, world.tech, ["sla_warning", "digest"])
    assert switches(open_home(world, world.tech))[1] == [
        "SLA warnings on my tickets",
        "Daily digest",
    ]
    press_card(world, world.tech2, Action.ASSIGNEE, selected_user=world.tech)
    alice_replies(world, "Any news?")
    assert not any(
        "assigned you" in t or "replied on ticket" in t for t in dm_texts(world, world.tech)
    )
    # Switched back on, both arrive again.
    tick(world, world.tech, ["assignment", "requester_reply", "sla_warning", "digest"])
    press_card(world, world.tech2, Action.ASSIGNEE, selected_user=world.tech2)
    press_card(world, world.tech2, Action.ASSIGNEE, selected_user=world.tech)
    alice_replies(world, "Hello?")
    texts = dm_texts(world, world.tech)
    assert sum("assigned you" in t for t in texts) == 1
    assert sum(" replied on " in t for t in texts) == 1


def test_the_actor_is_never_told_of_their_own_change(ticket: World):
    world = ticket
    press_card(world, world.tech, Action.ASSIGN_TO_ME)
    assert not any("assigned you" in t for t in dm_texts(world, world.tech))


def test_a_requester_mutes_status_updates_but_still_gets_replies(ticket: World):
    world = ticket
    tick(world, world.alice, [])
    assert switches(open_home(world, world.alice))[1] == []
    press_card(world, world.tech, Action.STATUS, selected_option_value="in_progress")
    press_card(world, world.tech, Action.REPLY_TO_REQUESTER)
    modal = world.open_modal(world.tech)
    world.driver.submit_view(world.team, world.tech, modal["id"], {"Reply": "Try a reboot"})
    world.deliver()
    texts = dm_texts(world, world.alice)
    assert not any("started working on ticket #1" in t for t in texts)
    assert any("Try a reboot" in t for t in texts)


def test_a_requester_cannot_switch_staff_notices(ticket: World):
    world = ticket
    home = open_home(world, world.alice)
    response = world.driver.block_action(
        world.team, world.alice, Action.NOTIFICATIONS, view_id=home["id"], value=[]
    )
    assert response.status == 200
    # Staff kinds are not offered to a requester, so a forged value is refused.

    with world.db.session() as session:
        alice = world.member(world.alice)
        with pytest.raises(InvalidInput):
            preferences.set_enabled(
                session,
                member=alice,
                offered=preferences.REQUESTER_NOTICES,
                enabled=["assignment"],
            )
