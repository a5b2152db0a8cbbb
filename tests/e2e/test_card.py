"""The staff card: every action, refusals, escaping, updates in place."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.ids import Action, Callback
from models import Member, MemberRole, Ticket, TicketComment, TicketEvent
from tests.e2e.conftest import World


@pytest.fixture
def carded(world: World) -> World:
    """A world with ticket #1 filed by Alice and its card posted."""
    world.file_ticket(world.alice, "Monitor flickers")
    world.deliver()
    return world


def card(world: World) -> dict[str, Any]:
    (first,) = world.cards()
    return first


def press(world: World, user: str, action_id: str, **kwargs: Any):
    message = card(world)
    response = world.driver.block_action(
        world.team,
        user,
        action_id,
        channel_id=world.staff_channel,
        message_ts=message["ts"],
        **kwargs,
    )
    assert response.status == 200, response.text
    world.deliver()
    return response


def thread_lines(world: World) -> list[str]:
    return [m["text"] for m in world.sim.thread(world.staff_channel, card(world)["ts"])[1:]]


def events(world: World) -> list[tuple[str, str | None, str | None]]:
    with world.db.session() as session:
        rows = session.exec(
            select(TicketEvent).where(TicketEvent.field != "created").order_by(col(TicketEvent.id))
        ).all()
        return [(e.field, e.old_value, e.new_value) for e in rows]


def card_field(world: World, name: str) -> str:
    fields = card(world)["blocks"][1]["fields"]
    return next(f["text"] for f in fields if f["text"].startswith(f"*{name}*"))


def test_assign_to_me_updates_card_thread_and_log(carded: World):
    world = carded
    press(world, world.tech, Action.ASSIGN_TO_ME)
    (ticket,) = world.tickets()
    assert ticket.assigned_staff_id == world.member(world.tech).id
    assert card_field(world, "Assignee") == f"*Assignee*\n<@{world.tech}>"
    assert thread_lines(world) == ["Tom took this"]
    assert events(world) == [("assigned_staff_id", None, str(ticket.assigned_staff_id))]
    assert len(world.sim.calls_to("chat.update")) == 1
    assert len(world.cards()) == 1  # updated in place, not reposted


def test_a_double_click_takes_effect_once(carded: World):
    world = carded
    message = card(world)
    for _ in range(2):  # both clicks on the card as it was drawn
        world.driver.block_action(
            world.team,
            world.tech,
            Action.ASSIGN_TO_ME,
            channel_id=world.staff_channel,
            message_ts=message["ts"],
        )
    world.deliver()
    assert len(thread_lines(world)) == 1
    assert len(events(world)) == 1


def test_status_menu_changes_status_and_stamps_times(carded: World):
    world = carded
    press(world, world.tech, Action.STATUS, selected_option_value="pending")
    assert world.tickets()[0].status == "pending"
    assert "Pending" in card_field(world, "Status")
    assert thread_lines(world) == ["Tom set status to *Pending*"]
    press(world, world.tech, Action.STATUS, selected_option_value="resolved")
    assert world.tickets()[0].resolved_at is not None
    assert events(world) == [("status", "open", "pending"), ("status", "pending", "resolved")]


def test_priority_menu(carded: World):
    world = carded
    press(world, world.tech2, Action.PRIORITY, selected_option_value="urgent")
    assert world.tickets()[0].priority == "urgent"
    assert "Urgent" in card_field(world, "Priority")
    assert thread_lines(world) == ["Tia set priority to *Urgent*"]


def test_assignee_picker_assigns_another_technician(carded: World):
    world = carded
    press(world, world.tech, Action.ASSIGNEE, selected_user=world.tech2)
    assert world.tickets()[0].assigned_staff_id == world.member(world.tech2).id
    assert thread_lines(world) == ["Tom assigned this to Tia"]


def test_assignee_must_be_staff(carded: World):
    world = carded
    press(world, world.tech, Action.ASSIGNEE, selected_user=world.bob)
    assert world.tickets()[0].assigned_staff_id is None
    (refusal,) = world.sim.ephemerals(world.tech)
    assert "not staff" in refusal["text"]
    assert thread_lines(world) == []


def test_non_staff_get_a_private_refusal_and_nothing_changes(carded: World):
    world = carded
    updates_before = len(world.sim.calls_to("chat.update"))
    for action_id, kwargs in (
        (Action.ASSIGN_TO_ME, {}),
        (Action.STATUS, {"selected_option_value": "closed"}),
        (Action.PRIORITY, {"selected_option_value": "low"}),
        (Action.ASSIGNEE, {"selected_user": world.alice}),
        (Action.REPLY_TO_REQUESTER, {}),
        (Action.ADD_INTERNAL_NOTE, {}),
    ):
        press(world, world.alice, action_id, **kwargs)
    refusals = world.sim.ephemerals(world.alice)
    assert len(refusals) == 6
    assert all("Only the IT team" in r["text"] for r in refusals)
    (ticket,) = world.tickets()
    assert (ticket.status, ticket.priority, ticket.assigned_staff_id) == ("open", "medium", None)
    assert events(world) == []
    assert len(world.sim.calls_to("chat.update")) == updates_before
    assert all(c.method != "chat.postEphemeral" for c in world.sim.calls)


def test_user_text_is_escaped_in_every_message(world: World):
    hostile = "<!channel> <@U0BOSS> & <https://evil.example|win>"
    world.file_ticket(world.alice, hostile, description=hostile, category="network")
    world.deliver()
    press(world, world.tech, Action.STATUS, selected_option_value="in_progress")
    for call in world.sim.calls:
        if call.method not in ("chat.postMessage", "chat.update"):
            continue
        assert "<!channel>" not in call.args.get("text", "")
        for block in call.args.get("blocks") or []:
            texts = [block.get("text"), *(block.get("fields") or [])]
            texts += [e for e in block.get("elements") or [] if e.get("type") == "mrkdwn"]
            for text in texts:
                if text and text.get("type") == "mrkdwn":
                    assert "<!channel>" not in text["text"]
                    assert "<@U0BOSS>" not in text["text"]
    assert "&lt;!channel&gt;" in card(world)["text"]


def test_an_action_from_another_workspace_cannot_touch_this_ticket(world: World):
    world.file_ticket(world.alice, "Ours")
    world.deliver()
    other = "T0OTHER01"
    world.sim.add_team(other, name="Other", domain="other")
    mallory = world.sim.add_user(other, name="mallory", real_name="Mallory")["id"]
    channel = world.sim.add_channel(other, name="x", members=[mallory])["id"]
    # Mallory is staff in her own workspace, and her workspace gets a message carrying our
    # card's blocks (with our ticket's id in them).
    world.driver.slash_command(other, mallory, text="help")
    with world.db.session() as session:
        member = session.exec(select(Member).where(Member.slack_user_id == mallory)).one()
        member.role = MemberRole.TECHNICIAN
        session.add(member)
    forged = world.sim.post_user_message(other, channel, mallory, "copy")
    with world.sim.workspace.lock:
        stored = world.sim.workspace.find_message(
            world.sim.workspace.channel(channel, other), forged["ts"]
        )
        stored["blocks"] = json.loads(json.dumps(card(world)["blocks"]))
    response = world.driver.block_action(
        other,
        mallory,
        Action.STATUS,
        selected_option_value="closed",
        channel_id=channel,
        message_ts=forged["ts"],
    )
    assert response.status == 200
    (ticket,) = world.tickets()
    assert ticket.status == "open"
    (refusal,) = world.sim.ephemerals(mallory)
    assert "doesn't exist" in refusal["text"] or "no ticket" in refusal["text"]


def buttons(world: World) -> list[tuple[str, str | None]]:
    """The card's buttons as (label, style), then its ⋯ menu's entries as ("⋯ label", None)."""
    (row,) = [b for b in card(world)["blocks"] if b["block_id"].startswith("ticket_actions:")]
    found: list[tuple[str, str | None]] = []
    for element in row["elements"]:
        if element["type"] == "button":
            found.append((element["text"]["text"], element.get("style")))
        elif element["type"] == "overflow":
            found += [(f"⋯ {o['text']['text']}", None) for o in element["options"]]
    return found


def activity(world: World) -> str:
    (context,) = [b for b in card(world)["blocks"] if b["type"] == "context"]
    return context["elements"][0]["text"]


def menus(world: World) -> list[str]:
    (row,) = [b for b in card(world)["blocks"] if b["block_id"].startswith("ticket_menus:")]
    return [e["action_id"] for e in row["elements"]]


def test_a_new_card_leads_with_assign_to_me_and_hides_empty_facts(carded: World):
    world = carded
    fields = [f["text"].split("\n")[0] for f in card(world)["blocks"][1]["fields"]]
    # No client companies in this MSP and no category chosen: neither is shown as "none".
    assert fields == ["*Requester*", "*Priority*", "*Status*", "*Assignee*"]
    assert "none" not in json.dumps(card(world)["blocks"][1])
    assert buttons(world) == [
        ("Assign to me", "primary"),
        ("Reply to requester", None),
        ("Add internal note", None),
    ]
    assert menus(world) == [Action.ASSIGNEE, Action.STATUS, Action.PRIORITY, Action.CATEGORY]
    assert activity(world) == "Opened just now · waiting on IT"


def test_the_primary_action_follows_the_state(carded: World):
    world = carded
    press(world, world.tech, Action.ASSIGN_TO_ME)
    assert buttons(world) == [
        ("Reply to requester", "primary"),
        ("⋯ Add internal note", None),
        ("⋯ Assign to me", None),
        ("⋯ Unassign", None),
    ]
    press(world, world.tech, Action.STATUS, selected_option_value="resolved")
    assert buttons(world) == [
        ("Reopen", None),
        ("Reply to requester", None),
        ("⋯ Add internal note", None),
        ("⋯ Close ticket", None),
        ("⋯ Unassign", None),
    ]
    assert all(style is None for _, style in buttons(world))  # nothing left to push for
    assert activity(world).endswith("· resolved just now")
    press(world, world.tech, Action.CARD_MORE, selected_option_value="close")
    assert world.tickets()[0].status == "closed"
    assert buttons(world) == [
        ("Reopen", None),
        ("⋯ Add internal note", None),
        ("⋯ Unassign", None),
    ]
    press(world, world.tech2, Action.REOPEN)
    assert world.tickets()[0].status == "open"
    assert thread_lines(world)[-2:] == ["Tom set status to *Closed*", "Tia set status to *Open*"]


def test_the_overflow_menu_assigns_unassigns_and_opens_the_note_form(carded: World):
    world = carded
    press(world, world.tech, Action.ASSIGNEE, selected_user=world.tech2)
    press(world, world.tech, Action.CARD_MORE, selected_option_value="assign_to_me")
    assert world.tickets()[0].assigned_staff_id == world.member(world.tech).id
    press(world, world.tech, Action.CARD_MORE, selected_option_value="unassign")
    assert world.tickets()[0].assigned_staff_id is None
    assert thread_lines(world) == [
        "Tom assigned this to Tia",
        "Tom took this",
        "Tom unassigned this",
    ]
    press(world, world.tech, Action.ASSIGN_TO_ME)
    press(world, world.tech, Action.CARD_MORE, selected_option_value="note")
    assert world.open_modal(world.tech)["callback_id"] == Callback.INTERNAL_NOTE_MODAL


def test_category_is_edited_on_the_card(carded: World):
    world = carded
    press(world, world.tech, Action.CATEGORY, selected_option_value="network")
    assert world.tickets()[0].category == "network"
    assert card_field(world, "Category") == "*Category*\nnetwork"
    (menu,) = [
        e
        for b in card(world)["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == Action.CATEGORY
    ]
    assert menu["initial_option"]["value"] == "network"
    assert thread_lines(world) == ["Tom set category to *network*"]


def test_change_lines_name_people_without_mentions(carded: World):
    world = carded
    press(world, world.tech, Action.ASSIGNEE, selected_user=world.tech2)
    for line in thread_lines(world):
        assert "<@" not in line
    (line,) = thread_lines(world)
    assert line == "Tom assigned this to Tia"


def test_the_card_shows_its_activity_and_redraws_once_for_a_burst(carded: World):
    world = carded
    press(world, world.tech, Action.ASSIGN_TO_ME)
    dm = world.sim.dm_channel(world.team, world.alice)
    root = next(m for m in world.dm(world.alice) if "received" in m.get("text", ""))
    updates = len(world.sim.calls_to("chat.update"))
    for text in ("It flickers more when it is warm", "And it buzzes", "Photo later"):
        world.driver.event(
            world.team,
            world.driver.message_event(world.team, dm, world.alice, text, thread_ts=root["ts"]),
        )
    world.deliver()
    assert len(world.sim.calls_to("chat.update")) == updates + 1  # one redraw for three
    assert activity(world) == "Opened just now · Alice replied just now · waiting on IT"
    press(world, world.tech, Action.REPLY_TO_REQUESTER)
    modal = world.open_modal(world.tech)
    world.driver.submit_view(
        world.team, world.tech, modal["id"], {modal["blocks"][1]["block_id"]: "Which cable?"}
    )
    world.deliver()
    assert activity(world) == "Opened just now · Tom replied just now · waiting on Alice"


def test_the_activity_line_tells_age_in_days_and_minutes(carded: World):
    world = carded
    dm = world.sim.dm_channel(world.team, world.alice)
    root = next(m for m in world.dm(world.alice) if "received" in m.get("text", ""))
    world.driver.event(
        world.team,
        world.driver.message_event(
            world.team, dm, world.alice, "Still there", thread_ts=root["ts"]
        ),
    )
    world.deliver()
    with world.db.session() as session:  # the ticket was filed two days ago, the reply 5 m
        ticket = session.exec(select(Ticket)).one()
        ticket.created_at -= timedelta(days=2, minutes=1)
        comment = session.exec(select(TicketComment)).one()
        comment.created_at -= timedelta(minutes=5, seconds=10)
        session.add_all([ticket, comment])
    press(world, world.tech, Action.PRIORITY, selected_option_value="high")
    assert activity(world) == "Opened 2 d ago · Alice replied 5 m ago · waiting on IT"
