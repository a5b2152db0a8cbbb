"""The staff card: every action, refusals, escaping, updates in place."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import col, select

from bot.ids import Action
from models import Member, MemberRole, TicketEvent
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
    assert thread_lines(world) == [f"<@{world.tech}> assigned the ticket to <@{world.tech}>"]
    assert events(world) == [("assigned_staff_id", None, str(ticket.assigned_staff_id))]
    assert len(world.sim.calls_to("chat.update")) == 1
    assert len(world.cards()) == 1  # updated in place, not reposted


def test_a_double_click_takes_effect_once(carded: World):
    world = carded
    press(world, world.tech, Action.ASSIGN_TO_ME)
    press(world, world.tech, Action.ASSIGN_TO_ME)
    assert len(thread_lines(world)) == 1
    assert len(events(world)) == 1


def test_status_menu_changes_status_and_stamps_times(carded: World):
    world = carded
    press(world, world.tech, Action.STATUS, selected_option_value="pending")
    assert world.tickets()[0].status == "pending"
    assert "Pending" in card_field(world, "Status")
    assert thread_lines(world) == [f"<@{world.tech}> set status to *Pending*"]
    press(world, world.tech, Action.STATUS, selected_option_value="resolved")
    assert world.tickets()[0].resolved_at is not None
    assert events(world) == [("status", "open", "pending"), ("status", "pending", "resolved")]


def test_priority_menu(carded: World):
    world = carded
    press(world, world.tech2, Action.PRIORITY, selected_option_value="urgent")
    assert world.tickets()[0].priority == "urgent"
    assert "Urgent" in card_field(world, "Priority")
    assert thread_lines(world) == [f"<@{world.tech2}> set priority to *Urgent*"]


def test_assignee_picker_assigns_another_technician(carded: World):
    world = carded
    press(world, world.tech, Action.ASSIGNEE, selected_user=world.tech2)
    assert world.tickets()[0].assigned_staff_id == world.member(world.tech2).id
    assert thread_lines(world) == [f"<@{world.tech}> assigned the ticket to <@{world.tech2}>"]


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
