"""Issue 18, "A good first day in Slack": what requesters, technicians and admins see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.core.db import Database
from bot.ids import Action
from bot.slacksim import SlackSimulator
from models import ClientCompany
from tests.e2e.conftest import World, make_world
from tests.e2e.test_workspaces import MultiWorld, add_workspace
from tests.e2e.test_workspaces import multi as multi  # the OAuth world's fixture


@pytest.fixture
def filed(world: World) -> World:
    """Ticket #1 from Alice ("Monitor flickers"), its card and her DM delivered."""
    world.file_ticket(world.alice, "Monitor flickers")
    world.deliver()
    return world


def card(world: World, number: int = 1) -> dict[str, Any]:
    return next(c for c in world.cards() if c["text"].startswith(f"Ticket #{number}:"))


def press_card(world: World, user: str, action_id: str, **kwargs: Any) -> None:
    world.driver.block_action(
        world.team,
        user,
        action_id,
        channel_id=world.staff_channel,
        message_ts=card(world)["ts"],
        **kwargs,
    )
    world.deliver()


def staff_thread(world: World, number: int = 1) -> list[str]:
    return [m["text"] for m in world.sim.thread(world.staff_channel, card(world, number)["ts"])]


def dm_thread(world: World, user: str) -> list[dict[str, Any]]:
    """The messages of `user`'s DM thread of ticket #1 (its "received" root first)."""
    dm = world.sim.dm_channel(world.team, user)
    root = next(m for m in world.dm(user) if "Ticket #1 received" in m.get("text", ""))
    return world.sim.thread(dm, root["ts"])


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["text"]["text"]
        for b in message.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "button"
    ]


def notices(world: World, user: str) -> list[dict[str, Any]]:
    """The DM thread without the satisfaction survey that follows a resolve."""
    return [m for m in dm_thread(world, user) if not m["text"].startswith("How did we do?")]


def say_in_dm_thread(world: World, user: str, text: str) -> None:
    dm = world.sim.dm_channel(world.team, user)
    root = dm_thread(world, user)[0]
    world.driver.event(
        world.team, world.driver.message_event(world.team, dm, user, text, thread_ts=root["ts"])
    )
    world.deliver()


def press_in_dm(world: World, user: str, message: dict[str, Any], action_id: str) -> None:
    dm = world.sim.dm_channel(world.team, user)
    response = world.driver.block_action(
        world.team, user, action_id, channel_id=dm, message_ts=message["ts"]
    )
    assert response.status == 200, response.text
    world.deliver()


# -- requesters --------------------------------------------------------------------------


def test_the_resolved_notice_asks_whether_it_is_fixed(filed: World):
    world = filed
    press_card(world, world.tech, Action.STATUS, selected_option_value="resolved")
    notice = notices(world, world.alice)[-1]
    assert notice["text"] == ":white_check_mark: Ticket #1 is resolved. Is it fixed for you?"
    assert "reply here and it reopens" not in str(notice)
    assert buttons(notice) == ["It's fixed", "Still broken"]

    press_in_dm(world, world.alice, notice, Action.REQUESTER_STILL_BROKEN)
    assert world.tickets()[0].status == "open"
    replaced = notices(world, world.alice)[-1]
    assert replaced["ts"] == notice["ts"]  # the notice itself now says what happened
    assert replaced["text"] == (
        "Ticket #1 is open again. Tell us in this thread what still goes wrong."
    )
    assert buttons(replaced) == []
    assert staff_thread(world)[-1] == "Reopened: Alice says it's still broken"

    press_card(world, world.tech, Action.STATUS, selected_option_value="resolved")
    notice = notices(world, world.alice)[-1]
    press_in_dm(world, world.alice, notice, Action.REQUESTER_FIXED)
    assert world.tickets()[0].status == "closed"
    # One conversation: the notice itself now asks how it went.
    (survey,) = [m for m in dm_thread(world, world.alice) if m["ts"] == notice["ts"]]
    assert survey["text"] == (
        "Glad it's fixed! Ticket #1 is closed. How did we do? Tell us how ticket #1 went."
    )
    assert buttons(survey) == ["Good", "Bad", "Add a comment"]
    assert dm_thread(world, world.alice)[-1]["ts"] == notice["ts"]  # nothing new after it
    assert staff_thread(world)[-1] == "Alice confirmed it's fixed: closed"
    assert "<@" not in staff_thread(world)[-1]


def test_a_thanks_that_reopens_says_so_and_closes_with_one_button(filed: World):
    world = filed
    press_card(world, world.tech, Action.STATUS, selected_option_value="resolved")
    say_in_dm_thread(world, world.alice, "thanks!")
    assert world.tickets()[0].status == "open"
    told = dm_thread(world, world.alice)[-1]
    assert told["text"] == (
        ":arrows_counterclockwise: I reopened ticket #1 so the IT team sees your message. "
        "If you only wanted to say thanks, press *It's fixed*."
    )
    assert buttons(told) == ["It's fixed"]
    assert staff_thread(world)[-1] == "Reopened: Alice replied"
    press_in_dm(world, world.alice, told, Action.REQUESTER_FIXED)
    assert world.tickets()[0].status == "closed"


def test_only_the_requester_answers_for_their_ticket(filed: World):
    world = filed
    press_card(world, world.tech, Action.STATUS, selected_option_value="resolved")
    notice = notices(world, world.alice)[-1]
    # Bob replays Alice's button (same ticket id) from a message of his own.
    bob_dm = world.sim.dm_channel(world.team, world.bob)
    forged = world.sim.post_user_message(world.team, bob_dm, world.bob, "hi")
    with world.sim.workspace.lock:
        stored = world.sim.workspace.find_message(
            world.sim.workspace.channel(bob_dm, world.team), forged["ts"]
        )
        stored["blocks"] = notice["blocks"]
    world.driver.block_action(
        world.team,
        world.bob,
        Action.REQUESTER_FIXED,
        channel_id=bob_dm,
        message_ts=forged["ts"],
    )
    world.deliver()
    assert world.tickets()[0].status == "resolved"


def test_a_message_filed_on_someones_behalf_says_who_filed_what_where(world: World):
    message = world.sim.post_user_message(world.team, world.general, world.bob, "VPN down again")
    world.driver.event(
        world.team,
        world.driver.reaction_added(
            world.team, world.alice, "ticket", world.general, message["ts"]
        ),
    )
    world.deliver()
    (received,) = world.dm(world.bob)
    assert received["text"] == (
        f"Alice filed your message in <#{world.general}> as ticket #1: VPN down again"
    )
    assert "<@" not in received["text"]
    # Filed with the message shortcut by a technician: the same words.
    other = world.sim.post_user_message(world.team, world.general, world.bob, "Printer jams")
    world.driver.message_shortcut(
        world.team, world.tech, "create_ticket_from_message", world.general, other["ts"]
    )
    world.driver.submit_view(world.team, world.tech, world.open_modal(world.tech)["id"], {})
    world.deliver()
    assert world.dm(world.bob)[-1]["text"] == (
        f"Tom filed your message in <#{world.general}> as ticket #2: Printer jams"
    )
    # Filing one's own message stays a plain receipt.
    own = world.sim.post_user_message(world.team, world.general, world.alice, "Mouse broken")
    world.driver.event(
        world.team,
        world.driver.reaction_added(world.team, world.alice, "ticket", world.general, own["ts"]),
    )
    world.deliver()
    assert world.dm(world.alice)[-1]["text"] == "Ticket #3 received: Mouse broken"


def test_the_dm_offer_becomes_the_confirmation(filed: World):
    world = filed
    dm = world.sim.dm_channel(world.team, world.alice)
    said = world.driver.message_event(world.team, dm, world.alice, "Need a second monitor")
    world.driver.event(world.team, said)
    world.deliver()
    (offer,) = world.sim.thread(dm, said["ts"])[1:]
    assert offer["text"] == "Should I file this as a ticket?"
    world.driver.block_action(
        world.team, world.alice, Action.OFFER_NEW_TICKET, channel_id=dm, message_ts=offer["ts"]
    )
    world.driver.submit_view(world.team, world.alice, world.open_modal(world.alice)["id"], {})
    world.deliver()
    (answer,) = world.sim.thread(dm, said["ts"])[1:]  # no second message under hers
    assert answer["ts"] == offer["ts"]
    assert answer["text"] == ":ticket: Filed as ticket #2. The IT team will follow up."
    assert buttons(answer) == []
    # "Add to #N" on another offer also replaces it.
    again = world.driver.message_event(world.team, dm, world.alice, "It also hums")
    world.driver.event(world.team, again)
    world.deliver()
    (offer,) = world.sim.thread(dm, again["ts"])[1:]
    world.driver.block_action(
        world.team,
        world.alice,
        f"{Action.OFFER_ADD_TO_TICKET}:{world.tickets()[0].id}",
        channel_id=dm,
        message_ts=offer["ts"],
    )
    world.deliver()
    (answer,) = world.sim.thread(dm, again["ts"])[1:]
    assert answer["text"] == ":white_check_mark: Added to ticket #1."
    assert buttons(answer) == []


# -- technicians -------------------------------------------------------------------------


def reactions(world: World, ts: str) -> list[str]:
    message = next(m for m in world.staff_messages() if m["ts"] == ts)
    return [r["name"] for r in message.get("reactions") or []]


def test_thread_messages_are_marked_saved_then_sent_once(filed: World):
    world = filed
    note = world.driver.message_event(
        world.team,
        world.staff_channel,
        world.tech,
        "New cable ordered, arrives Monday",
        thread_ts=card(world)["ts"],
    )
    world.driver.event(world.team, note)
    world.deliver()
    assert reactions(world, note["ts"]) == ["lock"]  # 🔒 saved as an internal note
    assert staff_thread(world)[1:] == ["New cable ordered, arrives Monday"]  # no echo
    assert dm_thread(world, world.alice)[1:] == []

    for _ in range(2):  # sent once, however many times the shortcut is used
        world.driver.message_shortcut(
            world.team, world.tech, "send_to_requester", world.staff_channel, note["ts"]
        )
        world.deliver()
    assert [m["text"] for m in dm_thread(world, world.alice)[1:]] == [
        f"*<@{world.tech}>* (IT team) on ticket #1:\nNew cable ordered, arrives Monday"
    ]
    assert reactions(world, note["ts"]) == ["lock", "outbox_tray"]  # 📤 sent
    assert staff_thread(world)[1:] == ["New cable ordered, arrives Monday"]
    sent, refused = world.sim.ephemerals(world.tech)
    assert sent["text"] == ":outbox_tray: Sent to the requester of ticket #1."
    assert "already sent" in refused["text"]


def test_ticketbots_own_lines_are_not_sent_to_the_requester(filed: World):
    world = filed
    press_card(world, world.tech, Action.STATUS, selected_option_value="in_progress")
    dm_before = len(dm_thread(world, world.alice))
    line = world.sim.thread(world.staff_channel, card(world)["ts"])[-1]
    assert line["text"] == "Tom set status to *In progress*"
    world.driver.message_shortcut(
        world.team, world.tech, "send_to_requester", world.staff_channel, line["ts"]
    )
    world.deliver()
    assert len(dm_thread(world, world.alice)) == dm_before
    (refused,) = world.sim.ephemerals(world.tech)
    assert "Ticketbot's own lines" in refused["text"]


def reply_from_card(world: World, text: str, then: str | None = None) -> None:
    press_card(world, world.tech, Action.REPLY_TO_REQUESTER)
    modal = world.open_modal(world.tech)
    values: dict[str, Any] = {"Reply": text}
    if then:
        values["Then"] = then
    world.driver.submit_view(world.team, world.tech, modal["id"], values)
    world.deliver()


def test_the_reply_form_sends_then_sets_pending_or_resolves(filed: World):
    world = filed
    press_card(world, world.tech, Action.REPLY_TO_REQUESTER)
    form = world.open_modal(world.tech)
    (then,) = [b for b in form["blocks"] if b.get("block_id") == "reply_then"]
    assert [o["text"]["text"] for o in then["element"]["options"]] == [
        "Just send",
        "Send and set Pending (waiting for their answer)",
        "Send and resolve",
    ]
    world.driver.close_view(world.team, world.tech, form["id"])
    reply_from_card(world, "Which port is the cable in?", then="pending")
    assert world.tickets()[0].status == "pending"
    assert [m["text"] for m in dm_thread(world, world.alice)[1:]] == [
        f"*<@{world.tech}>* (IT team) on ticket #1:\nWhich port is the cable in?",
        ":hourglass_flowing_sand: Ticket #1 is waiting for your answer to the IT team's "
        "message above: reply in this thread.",
    ]
    say_in_dm_thread(world, world.alice, "HDMI 2")
    reply_from_card(world, "Swapped the cable, should be fine now", then="resolved")
    assert world.tickets()[0].status == "resolved"
    last_two = notices(world, world.alice)[-2:]
    assert last_two[0]["text"].endswith("Swapped the cable, should be fine now")
    assert buttons(last_two[1]) == ["It's fixed", "Still broken"]


def test_pending_without_a_question_tells_the_requester_nothing(filed: World):
    world = filed
    press_card(world, world.tech, Action.STATUS, selected_option_value="pending")
    assert dm_thread(world, world.alice)[1:] == []
    assert world.tickets()[0].status == "pending"


def block_texts(blocks: list[dict[str, Any]]) -> str:
    texts = []
    for block in blocks:
        if block.get("text"):
            texts.append(block["text"]["text"])
        for element in block.get("elements") or []:
            if element.get("type") == "mrkdwn":
                texts.append(element["text"])
    return "\n".join(texts)


def test_lists_say_who_has_it_and_when_it_last_moved(filed: World):
    world = filed
    press_card(world, world.tech, Action.ASSIGN_TO_ME)
    mine = block_texts(
        world.driver.slash_command(world.team, world.alice, text="mine").json["blocks"]
    )
    assert "#1* Monitor flickers · Open · Tom has it · updated just now" in mine
    assert "just now ago" not in mine
    world.file_ticket(world.bob, "Keyboard sticky")
    world.deliver()
    world.driver.event(world.team, world.driver.app_home_opened(world.team, world.tech))
    home = block_texts(world.sim.home_view(world.team, world.tech)["blocks"])
    assert "Open · not assigned yet · updated just now" in home  # Bob's, in Unassigned
    assert "just now ago" not in home


def test_ticket_mine_shows_a_technician_their_work(filed: World):
    world = filed
    nothing = world.driver.slash_command(world.team, world.tech, text="mine").json
    assert "You have no tickets" not in str(nothing)
    assert "Nothing open is assigned to you" in block_texts(nothing["blocks"])
    press_card(world, world.tech, Action.ASSIGN_TO_ME)
    mine = block_texts(
        world.driver.slash_command(world.team, world.tech, text="mine").json["blocks"]
    )
    assert mine.startswith("*Assigned to you*\n")
    assert "*#1* Monitor flickers · Open · Tom has it" in mine


def test_app_home_has_a_new_ticket_button(filed: World):
    world = filed
    for user in (world.alice, world.tech):
        world.driver.event(world.team, world.driver.app_home_opened(world.team, user))
        home = world.sim.home_view(world.team, user)
        (button,) = [
            e
            for b in home["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == Action.HOME_NEW_TICKET
        ]
        assert button["text"]["text"] == "New ticket"
        world.driver.block_action(world.team, user, Action.HOME_NEW_TICKET, view_id=home["id"])
        assert world.open_modal(user)["title"]["text"] == "New ticket"


def test_a_reply_to_a_closed_ticket_opens_a_follow_up_that_keeps_its_owner(filed: World):
    world = filed
    press_card(world, world.tech, Action.ASSIGN_TO_ME)
    press_card(world, world.tech, Action.PRIORITY, selected_option_value="high")
    press_card(world, world.tech, Action.CATEGORY, selected_option_value="hardware")
    press_card(world, world.tech, Action.STATUS, selected_option_value="closed")
    say_in_dm_thread(world, world.alice, "It flickers again")
    first, follow_up = world.tickets()
    assert follow_up.parent_ticket_id == first.id
    assert (follow_up.assigned_staff_id, follow_up.priority, follow_up.category) == (
        first.assigned_staff_id,
        "high",
        "hardware",
    )
    assert staff_thread(world, 1)[-1] == (
        "Alice wrote again after this closed: follow-up ticket #2"
    )
    activity = next(b for b in card(world, 2)["blocks"] if b["type"] == "context")
    assert "follow-up to #1" in activity["elements"][0]["text"]
    assert card(world, 2)["text"] == (
        "Ticket #2: Follow-up to #1: Monitor flickers · High priority"
    )
    (told,) = world.dm(world.tech)
    assert told["text"].startswith(
        f":arrows_counterclockwise: <@{world.alice}> wrote again about closed ticket #1: "
        "follow-up <"
    )
    assert (
        "|ticket #2> (high priority) is yours (Follow-up to #1: Monitor flickers)."
        in (told["text"])
    )


# -- admins ------------------------------------------------------------------------------


def run_setup(world: World, admin: str, **values: Any) -> None:
    world.driver.slash_command(world.team, admin, text="setup")
    modal = world.sim.open_views(admin)[-1]
    response = world.driver.submit_view(
        world.team, admin, modal["id"], {"staff_channel": world.staff_channel, **values}
    )
    assert response.status == 200 and not response.text, response.text
    world.deliver()


def test_saving_setup_confirms_and_matches_people_already_known(filed: World):
    world = filed
    boss = world.sim.add_user(world.team, name="boss", real_name="Bea Boss", is_admin=True)["id"]
    # Alice (alice@client.com) and her ticket are known before any company exists.
    assert world.tickets()[0].client_company_id is None
    world.driver.slash_command(world.team, boss, text="setup")
    setup = world.sim.open_views(boss)[-1]
    world.driver.block_action(world.team, boss, Action.COMPANY_ADD, view_id=setup["id"])
    company_modal = world.sim.open_views(boss)[-1]
    world.driver.submit_view(
        world.team,
        boss,
        company_modal["id"],
        {"company_name": "Client Inc", "company_domains": "client.com"},
    )
    response = world.driver.submit_view(
        world.team,
        boss,
        setup["id"],
        {"staff_channel": world.staff_channel, "request_channels": [world.general]},
    )
    assert response.status == 200 and not response.text, response.text
    world.deliver()
    with world.db.session() as session:
        company = session.exec(select(ClientCompany)).one()
    assert world.member(world.alice).client_company_id == company.id
    assert world.tickets()[0].client_company_id == company.id
    fields = [f["text"] for f in card(world)["blocks"][1]["fields"]]
    assert "*Client*\nClient Inc" in fields  # the card was redrawn
    added, saved = world.dm(boss)
    assert added["text"].startswith(":white_check_mark: Client company *Client Inc* added.")
    assert saved["text"] == (
        f":white_check_mark: Setup saved. Ticket cards go to <#{world.staff_channel}>. "
        f"1 client company. A :ticket: reaction files a message in <#{world.general}>."
    )


def test_a_ticket_reaction_outside_the_request_channels_is_explained_once(filed: World):
    world = filed
    boss = world.sim.add_user(world.team, name="boss", real_name="Bea Boss", is_admin=True)["id"]
    random = world.sim.add_channel(
        world.team, name="random", members=[world.alice, world.bob, world.bot_user]
    )["id"]
    run_setup(world, boss, request_channels=[world.general])
    for text in ("Coffee machine broken", "And the fridge"):
        message = world.sim.post_user_message(world.team, random, world.bob, text)
        world.driver.event(
            world.team,
            world.driver.reaction_added(world.team, world.alice, "ticket", random, message["ts"]),
        )
        world.deliver()
    assert len(world.tickets()) == 1  # nothing filed
    (told,) = world.sim.ephemerals(world.alice)  # once, to her alone
    assert told["text"] == (
        f"A :ticket: reaction files a ticket only in <#{world.general}>. To file this "
        "message, use *Create ticket* in its ⋯ menu (More actions)."
    )


def test_the_installer_is_welcomed_with_a_setup_button(multi: MultiWorld):
    space = add_workspace(multi.sim, "T0WELCOME", "Welcome Corp")
    assert multi.install(space.team, space.admin).status_code == 200
    multi.deliver()
    dm = multi.sim.messages(multi.sim.dm_channel(space.team, space.admin))
    (welcome,) = dm
    assert "Thanks for installing Ticketbot!" in str(welcome["blocks"])
    assert buttons(welcome) == ["Set up Ticketbot"]
    multi.driver.block_action(
        space.team,
        space.admin,
        Action.OPEN_SETUP,
        channel_id=multi.sim.dm_channel(space.team, space.admin),
        message_ts=welcome["ts"],
    )
    assert multi.sim.open_views(space.admin)[-1]["title"]["text"] == "Ticketbot setup"


def test_without_a_staff_channel_requesters_and_admins_are_told(
    db: Database, sim: SlackSimulator, tmp_path: Path
):
    world = make_world(db, sim, tmp_path / "files", staff_channel_setting=False)
    world.file_ticket(world.alice, "No staff channel yet")
    world.deliver()
    (received,) = world.dm(world.alice)
    assert "still setting up Ticketbot" in received["blocks"][1]["elements"][0]["text"]
    assert "reaches them as soon as they finish" in received["blocks"][1]["elements"][0]["text"]
    boss = world.sim.add_user(world.team, name="boss", real_name="Bea Boss", is_admin=True)["id"]
    world.driver.slash_command(world.team, boss, text="help")  # Ticketbot learns she is admin
    world.deliver()
    world.driver.event(world.team, world.driver.app_home_opened(world.team, boss))
    home = world.sim.home_view(world.team, boss)
    assert "No staff channel is set" in str(home["blocks"][0])
    world.driver.block_action(world.team, boss, Action.OPEN_SETUP, view_id=home["id"])
    assert world.sim.open_views(boss)[-1]["title"]["text"] == "Ticketbot setup"
    world.runtime.directory.close()


def test_one_ticket_says_who_has_it_and_when_it_last_moved(filed: World):
    world = filed
    press_card(world, world.tech, Action.ASSIGN_TO_ME)
    shown = block_texts(
        world.driver.slash_command(world.team, world.alice, text="1").json["blocks"]
    )
    assert "Open · Tom has it · updated just now · :large_blue_circle: Medium" in shown
    assert "just now ago" not in shown


def test_a_notification_says_when_a_ticket_is_urgent(filed: World):
    world = filed
    world.file_ticket(world.alice, "Server room is flooding", priority="urgent")
    world.deliver()
    for number, who in ((1, world.tech), (2, world.tech)):
        world.driver.block_action(
            world.team,
            world.tech2,
            Action.ASSIGNEE,
            channel_id=world.staff_channel,
            message_ts=card(world, number)["ts"],
            selected_user=who,
        )
        world.deliver()
    low, urgent = (m["text"] for m in world.dm(world.tech))
    assert "(urgent priority)" in urgent and "Server room is flooding" in urgent
    assert "priority)" not in low  # a Medium ticket's DM does not shout
    assert f"<@{world.tech}>" not in low + urgent  # nobody is pinged about themselves
