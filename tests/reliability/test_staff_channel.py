"""Slack refuses posts to the staff channel (Ticketbot was removed from it, it was archived
or deleted). Nothing meant for it is lost: its messages wait, in order; /healthz says why;
the admins are told once; and everything goes out once the channel works again (Ticketbot
invited back, a retry later, or another channel chosen in /ticket setup)."""

from __future__ import annotations

from datetime import timedelta

from bot.ids import Block
from models import Member, MemberRole, OutboxStatus
from tests.e2e.conftest import organization_of
from tests.e2e.test_delivery import use_clock
from tests.reliability.conftest import World

ADMIN_NOTICE = "I cannot post in the staff channel"


def make_admin(world: World, user: str) -> None:
    """`user` becomes a Ticketbot admin (as the app's installer does)."""
    organization = organization_of(world)
    with world.db.session() as session:
        member = world.runtime.directory.member_for(session, organization, user)
        stored = session.get(Member, member.id)
        assert stored is not None
        stored.role = MemberRole.ADMIN
        session.add(stored)


def notices(world: World, user: str) -> list[str]:
    return [m["text"] for m in world.dm(user) if m["text"].startswith(ADMIN_NOTICE)]


def staff_members(world: World, *, with_bot: bool) -> None:
    members = [world.tech, world.tech2] + ([world.bot_user] if with_bot else [])
    world.sim.set_channel_members(world.team, world.staff_channel, members)


def card_titles(world: World, channel: str) -> list[str]:
    return [
        m["text"]
        for m in world.sim.messages(channel)
        if not m.get("thread_ts") or m["thread_ts"] == m["ts"]
    ]


def park(world: World) -> None:
    """Ticket 1 has its card; then Ticketbot is removed from the staff channel and
    tickets 2 and 3 are filed, and ticket 1 is assigned."""
    world.file_ticket(world.alice, "First")
    world.deliver()
    make_admin(world, world.tech)
    staff_members(world, with_bot=False)
    world.file_ticket(world.bob, "Second")
    world.file_ticket(world.alice, "Third")
    world.deliver()


def assert_parked(world: World, error: str = "not_in_channel") -> None:
    assert card_titles(world, world.staff_channel) == ["Ticket #1: First"]
    rows = world.outbox()
    assert OutboxStatus.FAILED not in {r.status for r in rows}
    waiting = [r for r in rows if r.status == OutboxStatus.PENDING]
    assert len(waiting) >= 2 and all("staff channel unreachable" in r.last_error for r in waiting)
    health = world.http.get("/healthz").json()
    (problem,) = health["unreachable_staff_channels"]
    assert (problem["team"], problem["channel"], problem["error"]) == (
        world.team,
        world.staff_channel,
        error,
    )
    # The requesters heard from Ticketbot all the same (their DMs are not in that channel).
    assert [m["text"] for m in world.dm(world.bob)] == ["Ticket #2 received: Second"]
    (notice,) = notices(world, world.tech)
    assert f"<#{world.staff_channel}>" in notice and "/ticket setup" in notice


def test_cards_wait_while_ticketbot_is_out_of_the_staff_channel_and_follow_a_reinvite(
    world: World,
):
    park(world)
    assert_parked(world)
    # More work meanwhile: it waits too, and the admins are not told twice.
    world.file_ticket(world.bob, "Fourth")
    world.deliver()
    assert card_titles(world, world.staff_channel) == ["Ticket #1: First"]
    assert len(notices(world, world.tech)) == 1

    staff_members(world, with_bot=True)
    joined = world.driver.event(
        world.team,
        {
            "type": "member_joined_channel",
            "user": world.bot_user,
            "channel": world.staff_channel,
            "channel_type": "C",
            "team": world.team,
            "inviter": world.tech,
            "event_ts": "1700000000.000100",
        },
    )
    assert joined.status == 200
    world.deliver()
    assert card_titles(world, world.staff_channel) == [
        "Ticket #1: First",
        "Ticket #2: Second",
        "Ticket #3: Third",
        "Ticket #4: Fourth",
    ]
    assert {r.status for r in world.outbox()} == {OutboxStatus.SENT}
    health = world.http.get("/healthz").json()
    assert health["unreachable_staff_channels"] == []
    assert len(notices(world, world.tech)) == 1


def test_an_archived_staff_channel_is_tried_again_later_by_itself(world: World):
    clock = use_clock(world)
    world.file_ticket(world.alice, "First")
    world.deliver()
    make_admin(world, world.tech)
    world.sim.fail_next("chat.postMessage", error="is_archived", channel=world.staff_channel)
    world.file_ticket(world.bob, "Second")
    world.file_ticket(world.alice, "Third")
    world.deliver()
    assert_parked(world, "is_archived")
    # Unarchived meanwhile; nobody tells Ticketbot. A minute later it still waits...
    clock.advance(60)
    world.deliver()
    assert card_titles(world, world.staff_channel) == ["Ticket #1: First"]
    # ...and at its next try everything goes out, in order.
    clock.advance(DELAY.total_seconds())
    world.deliver()
    assert card_titles(world, world.staff_channel) == [
        "Ticket #1: First",
        "Ticket #2: Second",
        "Ticket #3: Third",
    ]
    assert {r.status for r in world.outbox()} == {OutboxStatus.SENT}


def test_a_new_staff_channel_chosen_in_setup_gets_the_waiting_cards(world: World):
    park(world)
    assert_parked(world)
    boss = world.sim.add_user(world.team, name="boss", real_name="Bea Boss", is_admin=True)["id"]
    helpdesk = world.sim.add_channel(
        world.team, name="helpdesk", members=[boss, world.tech, world.bot_user]
    )["id"]
    world.driver.slash_command(world.team, boss, text="setup")
    modal = world.sim.open_views(boss)[-1]
    answer = world.driver.submit_view(
        world.team, boss, modal["id"], {Block.STAFF_CHANNEL: helpdesk}
    )
    assert answer.status == 200 and not answer.text, answer.text
    world.deliver()
    assert card_titles(world, helpdesk) == ["Ticket #2: Second", "Ticket #3: Third"]
    assert world.http.get("/healthz").json()["unreachable_staff_channels"] == []


DELAY = timedelta(minutes=5)
