"""Invariant 2: internal notes and internal files never reach a non-staff person.

A whole story is played with a unique marker in every internal note and internal file;
afterwards nothing a requester (or any non-staff channel) received or can read contains
any marker.
"""

from __future__ import annotations

import json
from typing import Any

from bot.ids import Action, Callback
from bot.slacksim import RecordedCall
from tests.e2e.conftest import World

MARKERS = [f"ZZINTERNAL{n}ZZ" for n in range(1, 9)]


def _has_marker(value: Any) -> list[str]:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return [m for m in MARKERS if m in text]


def _destination(call: RecordedCall) -> str | None:
    args = call.args
    return args.get("channel") or args.get("channel_id") or call.channel_id


def play_story(world: World) -> None:
    w, team, staff = world, world.team, world.staff_channel
    w.file_ticket(w.alice, "Laptop overheats", description="It gets very hot")
    w.deliver()
    card = w.cards()[0]["ts"]
    dm = w.sim.dm_channel(team, w.alice)
    dm_root = w.dm(w.alice)[0]["ts"]

    def press(user: str, action_id: str, **kwargs: Any) -> None:
        w.driver.block_action(team, user, action_id, channel_id=staff, message_ts=card, **kwargs)
        w.deliver()

    def modal_submit(user: str, text: str) -> None:
        modal = w.open_modal(user)
        w.driver.submit_view(team, user, modal["id"], {modal["blocks"][1]["block_id"]: text})
        w.deliver()

    press(w.tech, Action.ASSIGN_TO_ME)
    press(w.tech, Action.CARD_MORE, selected_option_value="note")
    modal_submit(w.tech, f"{MARKERS[0]} customer is on the old BIOS")
    note = w.driver.message_event(
        team, staff, w.tech, f"{MARKERS[1]} checking warranty", thread_ts=card
    )
    w.driver.event(team, note)
    w.driver.event(team, w.driver.message_changed(team, staff, note["ts"], f"{MARKERS[2]} edited"))
    secret_file = w.sim.add_file(
        team, w.tech, f"{MARKERS[3]}.png", MARKERS[4].encode(), "image/png", "png"
    )
    w.driver.event(
        team,
        w.driver.message_event(
            team, staff, w.tech2, f"{MARKERS[5]} see file", thread_ts=card, files=[secret_file]
        ),
    )
    w.deliver()
    press(w.tech, Action.STATUS, selected_option_value="in_progress")
    press(w.tech, Action.REPLY_TO_REQUESTER)
    modal_submit(w.tech, "Please update the BIOS, steps attached soon")
    w.driver.event(
        team, w.driver.message_event(team, dm, w.alice, "Done, still hot", thread_ts=dm_root)
    )
    w.deliver()
    press(w.tech, Action.STATUS, selected_option_value="pending")
    public_file = w.sim.add_file(team, w.alice, "thermal.png", b"public", "image/png", "png")
    w.driver.event(
        team,
        w.driver.message_event(team, dm, w.alice, "photo", thread_ts=dm_root, files=[public_file]),
    )
    w.deliver()
    press(w.tech2, Action.ASSIGNEE, selected_user=w.tech2)
    press(w.tech, Action.STATUS, selected_option_value="resolved")
    w.driver.event(team, w.driver.message_event(team, dm, w.alice, "Thanks!"))
    w.deliver()
    # Everything a requester can ask to see.
    w.driver.event(team, w.driver.app_home_opened(team, w.alice))
    for text in ("1", "mine", "#1"):
        response = w.driver.slash_command(team, w.alice, text=text)
        assert not _has_marker(response.text), text
    w.driver.slash_command(team, w.bob, text="1")  # someone else's ticket: refused
    w.driver.event(team, w.driver.app_home_opened(team, w.tech))  # staff: may see notes
    staff_view = w.driver.slash_command(team, w.tech, text="1")
    assert MARKERS[0] in staff_view.text  # the markers are really there for staff
    # Bob (not staff) presses card controls and tries to publish a note: refused.
    press(w.bob, Action.CARD_MORE, selected_option_value="note")
    w.driver.message_shortcut(team, w.bob, Callback.SEND_TO_REQUESTER, staff, note["ts"])
    w.deliver()


def test_no_internal_material_reaches_anyone_but_staff(world: World):
    play_story(world)
    staff_users = {world.tech, world.tech2, world.bot_user}
    leaks = []
    for call in world.sim.calls:
        destination = _destination(call)
        to_user = call.args.get("user") or call.args.get("user_id") or call.user_id
        outside = (destination and destination != world.staff_channel) or (
            call.method in ("views.publish", "response_url", "chat.postEphemeral")
            and to_user not in staff_users
        )
        if outside and (found := _has_marker(call.args)):
            leaks.append((call.method, destination, to_user, found))
    assert leaks == []

    for person in (world.alice, world.bob):
        dm = world.sim.dm_channel(world.team, person)
        for message in world.sim.messages(dm):
            assert not _has_marker(message), message
            for file in message.get("files") or []:
                assert not _has_marker(world.sim.file_content(file["id"]).decode(errors="replace"))
        assert not _has_marker(world.sim.home_view(world.team, person) or {})
        assert not _has_marker(world.sim.ephemerals(person))
        assert not _has_marker(world.sim.open_views(person))
    for message in world.sim.messages(world.general):
        assert not _has_marker(message)

    # The story did reach the requester: the public reply, notices and the public file.
    alice_dm = json.dumps(world.sim.messages(world.sim.dm_channel(world.team, world.alice)))
    assert "Please update the BIOS" in alice_dm
    assert "is resolved" in alice_dm
    # And the staff really had the internal material.
    staff_text = json.dumps(world.sim.messages(world.staff_channel))
    assert MARKERS[0] in staff_text and MARKERS[5] in staff_text
    assert "thermal.png" in staff_text
