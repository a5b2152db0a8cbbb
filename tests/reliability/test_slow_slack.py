"""Slack slower than the worker's timeout: chat.postMessage is carried out after the worker
gave up waiting for its answer. The message must still reach Slack once: the next try waits
long enough to find the late post, and a copy that lands even later is deleted."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from slack_sdk import WebClient

from bot.outbox.worker import DeliveryPolicy
from models import OutboxStatus
from tests.e2e.test_delivery import Clock, use_clock
from tests.reliability.conftest import HoldingSimulator, World, outbox_ids_posted, wait_until

# The worker's Slack client gives up after this long (10 s in production).
SHORT_TIMEOUT_SECONDS = 1
WAIT = DeliveryPolicy().uncertain_post_wait.total_seconds()


def slow_slack(world: World) -> Clock:
    """A hand-moved clock, and worker clients that give up after one second."""
    clients: dict[str, WebClient] = {}

    def client_for(organization):
        token = world.runtime.bot_token_for(organization)
        if token is None:
            return None
        if token not in clients:
            clients[token] = WebClient(
                token=token,
                base_url=world.runtime.settings.slack_api_url,
                timeout=SHORT_TIMEOUT_SECONDS,
            )
        return clients[token]

    world.runtime.delivery.client_for = client_for
    return use_clock(world)


def targets(world: World) -> dict[str, tuple[str, Callable[[], list[dict]]]]:
    return {
        "card": (world.staff_channel, world.cards),
        "dm": (world.sim.dm_channel(world.team, world.alice), lambda: world.dm(world.alice)),
    }


@pytest.mark.parametrize("target", ["card", "dm"])
def test_a_post_carried_out_after_the_timeout_is_found_and_not_posted_again(
    world: World, sim: HoldingSimulator, target: str
):
    clock = slow_slack(world)
    channel, shown = targets(world)[target]
    sim.hold_next_post(accepted=False, channel=channel)
    world.file_ticket(world.alice, "Slow Slack")
    world.deliver()  # the post is in Slack's hands; the worker gave up waiting
    assert sim.held.is_set() and shown() == []
    # A moment later the worker would try again; Slack has still not carried it out.
    clock.advance(2)
    world.deliver()
    sim.release.set()  # now Slack does
    wait_until(lambda: len(shown()) == 1, what="the late post")
    clock.advance(WAIT)
    world.deliver()
    clock.advance(WAIT)
    world.deliver()
    assert [m["text"] for m in shown()] == [
        "Ticket #1: Slow Slack" if target == "card" else "Ticket #1 received: Slow Slack"
    ]
    assert {r.status for r in world.outbox()} == {OutboxStatus.SENT}
    assert set(outbox_ids_posted(sim).values()) == {1}


@pytest.mark.parametrize("target", ["card", "dm"])
def test_a_copy_that_lands_after_the_retry_posted_is_deleted(
    world: World, sim: HoldingSimulator, target: str
):
    clock = slow_slack(world)
    channel, shown = targets(world)[target]
    sim.hold_next_post(accepted=False, channel=channel)
    world.file_ticket(world.alice, "Very slow Slack")
    world.deliver()
    assert sim.held.is_set()
    # Slack holds the first post past the worker's wait: the retry finds nothing and posts.
    clock.advance(WAIT)
    world.deliver()
    assert len(shown()) == 1
    kept = shown()[0]["ts"]
    sim.release.set()  # ...and then the first post lands too
    wait_until(lambda: len(shown()) == 2, what="the late copy")
    clock.advance(WAIT)
    world.deliver()
    assert [m["ts"] for m in shown()] == [kept]
    assert {r.status for r in world.outbox()} == {OutboxStatus.SENT}
    assert set(outbox_ids_posted(sim).values()) == {1}
    if target == "card":
        # The copy kept is the one the ticket knows: its thread gets the updates.
        (card_row,) = [r for r in world.outbox() if r.record_as == "staff_card"]
        assert card_row.result_ts == kept
