"""The same modal submitted twice (a double click, a second tab, Slack sending it again)
takes effect once: one ticket from the new-ticket form, one reply (and one DM) from the
reply form; whether the copies arrive one after the other or at the same moment."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlmodel import col, select

from bot.ids import Action
from bot.slacksim import DriverResponse
from models import TicketComment
from tests.reliability.conftest import World


def submission(world: World, user: str, values: dict[str, Any]) -> bytes:
    """The body Slack sends when `user` presses Submit on their open modal."""
    driver = world.driver
    (view,) = world.sim.open_views(user)
    with world.sim.workspace.lock:
        overrides: dict[str, dict[str, Any]] = {}
        for block_id, text in values.items():
            block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
            element = block["element"]
            overrides[block_id] = {element["action_id"]: {"type": element["type"], "value": text}}
        view_payload = driver._view_with_state(view["id"], overrides)
    payload = driver._interaction_base("view_submission", driver._team(world.team), user)
    payload.update(
        trigger_id=world.sim.new_trigger_id(world.team, user), view=view_payload, response_urls=[]
    )
    return urlencode({"payload": json.dumps(payload)}).encode()


def send(world: World, body: bytes) -> DriverResponse:
    return world.driver.raw(body, {"Content-Type": "application/x-www-form-urlencoded"})


def twice(world: World, body: bytes, *, at_once: bool) -> list[DriverResponse]:
    if not at_once:
        return [send(world, body), send(world, body)]
    barrier = threading.Barrier(2)
    answers: list[DriverResponse] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            answers.append(send(world, body))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return answers


@pytest.mark.parametrize("at_once", [False, True], ids=["one after the other", "at once"])
def test_the_new_ticket_form_submitted_twice_files_one_ticket(world: World, at_once: bool):
    assert world.driver.slash_command(world.team, world.alice).status == 200
    (view,) = world.sim.open_views(world.alice)
    title_block = view["blocks"][0]["block_id"]
    answers = twice(
        world, submission(world, world.alice, {title_block: "Printer jam"}), at_once=at_once
    )
    assert [a.status for a in answers] == [200, 200]
    world.deliver()
    assert [t.title for t in world.tickets()] == ["Printer jam"]
    assert [c["text"] for c in world.cards()] == ["Ticket #1: Printer jam"]
    assert [m["text"] for m in world.dm(world.alice)] == ["Ticket #1 received: Printer jam"]


@pytest.mark.parametrize("at_once", [False, True], ids=["one after the other", "at once"])
def test_the_reply_form_submitted_twice_sends_one_reply(world: World, at_once: bool):
    world.file_ticket(world.alice, "VPN drops")
    world.deliver()
    (card,) = world.cards()
    world.driver.block_action(
        world.team,
        world.tech,
        Action.REPLY_TO_REQUESTER,
        channel_id=world.staff_channel,
        message_ts=card["ts"],
    )
    (view,) = world.sim.open_views(world.tech)
    reply_block = view["blocks"][1]["block_id"]
    body = submission(world, world.tech, {reply_block: "Try the new profile"})
    answers = twice(world, body, at_once=at_once)
    assert [a.status for a in answers] == [200, 200]
    world.deliver()
    with world.db.session() as session:
        replies = session.exec(select(TicketComment).order_by(col(TicketComment.id))).all()
    assert [r.content for r in replies] == ["Try the new profile"]
    dm_root = world.dm(world.alice)[0]
    thread = world.sim.thread(world.sim.dm_channel(world.team, world.alice), dm_root["ts"])[1:]
    assert len([m for m in thread if "Try the new profile" in m["text"]]) == 1
