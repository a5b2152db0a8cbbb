"""What Ticketbot must not take on trust from a request: that an admin belongs to this
organization's workspace (Slack Connect brings other workspaces' admins in), and that an
offer button's value points at the clicker's own DM."""

from __future__ import annotations

import json

from sqlmodel import col, select

from bot.ids import Action
from models import Member, TicketComment
from tests.e2e.conftest import World

CLIENT_TEAM = "T0CLIENT1"


def test_an_admin_of_another_workspace_cannot_run_setup(world: World):
    guest_admin = world.sim.add_user(
        world.team, name="theirboss", real_name="Their Boss", is_admin=True,
        home_team_id=CLIENT_TEAM,
    )["id"]  # fmt: skip
    world.driver.slash_command(world.team, guest_admin, text="setup")
    assert world.sim.open_views(guest_admin) == []
    (refusal,) = world.sim.ephemerals(guest_admin)
    assert "Only workspace admins and owners" in refusal["text"]
    with world.db.session() as session:
        member = session.exec(select(Member).where(Member.slack_user_id == guest_admin)).one()
    assert member.slack_is_admin is False


def test_an_admin_of_the_organizations_own_workspace_still_can(world: World):
    boss = world.sim.add_user(world.team, name="boss", real_name="Bea Boss", is_admin=True)["id"]
    world.driver.slash_command(world.team, boss, text="setup")
    (modal,) = world.sim.open_views(boss)
    assert modal["blocks"][0]["label"]["text"] == "Staff channel"


def test_an_offer_value_pointing_at_the_staff_channel_does_not_publish_it(world: World):
    """A requester who is also staff (say) forges the offer's value to point at a message
    in the staff channel: clicking "Add to #N" must not make it a public reply on their
    ticket, nor "File as a new ticket" prefill a form with it."""
    world.file_ticket(world.tech, "Laptop fan loud")  # the tech's own ticket
    world.deliver()
    staff_talk = world.sim.post_user_message(
        world.team, world.staff_channel, world.tech2, "SECRET admin password is hunter2"
    )
    dm = world.sim.dm_channel(world.team, world.tech)
    question = world.driver.message_event(world.team, dm, world.tech, "Any news?")
    world.driver.event(world.team, question)
    world.deliver()
    offer = world.sim.thread(dm, question["ts"])[1]
    forged = json.dumps({"channel": world.staff_channel, "ts": staff_talk["ts"]})
    ticket_id = world.tickets()[0].id
    for action in (Action.OFFER_NEW_TICKET, f"{Action.OFFER_ADD_TO_TICKET}:{ticket_id}"):
        world.driver.block_action(
            world.team, world.tech, action, value=forged, channel_id=dm, message_ts=offer["ts"]
        )
    world.deliver()
    assert comments(world) == []
    assert world.sim.open_views(world.tech) == []  # no form prefilled with it
    assert all("hunter2" not in m["text"] for m in world.dm(world.tech))
    # Nor a DM of the clicker's that someone else wrote (the bot's own offer, say).
    not_theirs = json.dumps({"channel": dm, "ts": offer["ts"]})
    world.driver.block_action(
        world.team,
        world.tech,
        f"{Action.OFFER_ADD_TO_TICKET}:{ticket_id}",
        value=not_theirs,
        channel_id=dm,
        message_ts=offer["ts"],
    )
    assert comments(world) == []
    # The button's own value still works.
    world.driver.block_action(
        world.team,
        world.tech,
        f"{Action.OFFER_ADD_TO_TICKET}:{ticket_id}",
        channel_id=dm,
        message_ts=offer["ts"],
    )
    assert comments(world) == [("public_reply", "Any news?")]


def comments(world: World) -> list[tuple[str, str]]:
    with world.db.session() as session:
        rows = session.exec(select(TicketComment).order_by(col(TicketComment.id))).all()
        return [(c.comment_type, c.content) for c in rows]
