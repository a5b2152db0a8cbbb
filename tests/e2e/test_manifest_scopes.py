"""The manifest's bot scopes against what a full run of the app really calls."""

from __future__ import annotations

import json

from bot.ids import Callback
from tests.e2e.conftest import World
from tests.test_manifest import MANIFEST, SPECS, needs_specs


@needs_specs
def test_scopes_cover_every_method_called_and_nothing_more(world: World):
    """Run every intake path and card action, then compare Slack's scope data with ours."""
    from bot.ids import Action

    world.file_ticket(world.alice, "Scopes")
    screenshot = world.sim.add_file(world.team, world.bob, "error.png", b"png", "image/png", "png")
    message = world.sim.post_user_message(
        world.team, world.general, world.bob, "From a message", files=[screenshot]
    )
    world.driver.message_shortcut(
        world.team, world.tech, Callback.CREATE_TICKET_FROM_MESSAGE, world.general, message["ts"]
    )
    world.driver.submit_view(world.team, world.tech, world.open_modal(world.tech)["id"], {})
    reacted = world.sim.post_user_message(world.team, world.general, world.bob, "Reacted")
    world.driver.event(
        world.team,
        world.driver.reaction_added(
            world.team, world.alice, "ticket", world.general, reacted["ts"]
        ),
    )
    world.deliver()
    card = world.cards()[0]
    world.driver.block_action(
        world.team,
        world.tech,
        Action.ASSIGN_TO_ME,
        channel_id=world.staff_channel,
        message_ts=card["ts"],
    )
    # A technician's message in the card's thread: saved as a note, marked with a reaction.
    world.driver.event(
        world.team,
        world.driver.message_event(
            world.team, world.staff_channel, world.tech, "Noted", thread_ts=card["ts"]
        ),
    )
    world.deliver()

    granted = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    needed: set[str] = {"commands"}  # slash commands and shortcuts
    # The simulator also records response_url posts and response_actions: not Web API methods.
    for method in {call.method for call in world.sim.calls if "." in call.method}:
        spec = json.loads((SPECS / "docs-slack-dev" / "methods" / f"{method}.json").read_text())
        options = set((spec.get("scope") or {}).get("bot", []))
        if not options:
            continue
        assert options & granted, f"{method} needs one of {sorted(options)}"
        needed |= options & granted
    catalog = json.loads((SPECS / "docs-slack-dev" / "events" / "events.json").read_text())
    event_scopes = {e["name"]: set(e.get("scopes") or []) for e in catalog}
    for event in MANIFEST["settings"]["event_subscriptions"]["bot_events"]:
        assert event_scopes[event] <= granted, event
        needed |= event_scopes[event]
    # users.info only returns profile.email with this scope; staff lists read private
    # channels; team.info names the client company of a Slack Connect requester.
    needed |= {"users:read.email", "groups:read", "team:read"}
    assert granted == needed
