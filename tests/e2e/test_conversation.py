"""A ticket as a conversation: notes, replies, both threads, edits, the requester's side."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from bot.ids import Action, Callback
from models import SlackMessageRef, Ticket, TicketComment
from tests.e2e.conftest import World


@pytest.fixture
def ticket(world: World) -> World:
    """Ticket #1 from Alice, card posted, DM sent."""
    world.file_ticket(world.alice, "Outlook asks for my password")
    world.deliver()
    return world


def card(world: World, number: int = 1) -> dict[str, Any]:
    return next(c for c in world.cards() if c["text"].startswith(f"Ticket #{number}:"))


def staff_thread(world: World, number: int = 1) -> list[str]:
    return [m["text"] for m in world.sim.thread(world.staff_channel, card(world, number)["ts"])[1:]]


def dm_root(world: World, user: str, number: int = 1) -> dict[str, Any]:
    return next(
        m for m in world.dm(user) if m.get("text", "").startswith(f"Ticket #{number} received")
    )


def dm_thread(world: World, user: str, number: int = 1) -> list[str]:
    root = dm_root(world, user, number)
    dm = world.sim.dm_channel(world.team, user)
    return [m["text"] for m in world.sim.thread(dm, root["ts"])[1:]]


def comments(world: World) -> list[TicketComment]:
    with world.db.session() as session:
        return list(session.exec(select(TicketComment).order_by(col(TicketComment.id))).all())


def press_card(world: World, user: str, action_id: str, **kwargs: Any):
    """Press a control on card #1; then let the background catch up (profiles, outbox)."""
    response = world.driver.block_action(
        world.team,
        user,
        action_id,
        channel_id=world.staff_channel,
        message_ts=card(world)["ts"],
        **kwargs,
    )
    world.deliver()
    return response


def submit_modal(world: World, user: str, text: str):
    modal = world.open_modal(user)
    response = world.driver.submit_view(
        world.team, user, modal["id"], {modal["blocks"][1]["block_id"]: text}
    )
    world.deliver()
    return response


def test_internal_note_from_the_card_stays_in_the_staff_thread(ticket: World):
    world = ticket
    press_card(world, world.tech, Action.ADD_INTERNAL_NOTE)
    modal = world.open_modal(world.tech)
    assert modal["callback_id"] == Callback.INTERNAL_NOTE_MODAL
    submit_modal(world, world.tech, "Probably the MFA token expired")
    (note,) = comments(world)
    assert (note.comment_type, note.author_type, note.content) == (
        "internal_note",
        "staff",
        "Probably the MFA token expired",
    )
    assert staff_thread(world) == [
        ":lock: *Internal note* from Tom:\nProbably the MFA token expired"
    ]
    assert dm_thread(world, world.alice) == []


def test_reply_to_requester_goes_by_dm_and_is_mirrored(ticket: World):
    world = ticket
    press_card(world, world.tech, Action.REPLY_TO_REQUESTER)
    modal = world.open_modal(world.tech)
    assert modal["callback_id"] == Callback.REPLY_MODAL
    assert modal["blocks"][1]["label"]["text"] == "Reply"
    submit_modal(world, world.tech, "Please sign out and in again")
    (reply,) = comments(world)
    assert (reply.comment_type, reply.author_type) == ("public_reply", "staff")
    assert dm_thread(world, world.alice) == [
        f"*<@{world.tech}>* (IT team) on ticket #1:\nPlease sign out and in again"
    ]
    assert staff_thread(world) == [
        ":outbox_tray: *Sent to the requester* by Tom:\nPlease sign out and in again"
    ]
    (stamped,) = world.tickets()
    assert stamped.first_response_at is not None


def test_staff_thread_messages_are_notes_and_follow_edits_and_deletions(ticket: World):
    world = ticket
    root = card(world)["ts"]
    event = world.driver.message_event(
        world.team, world.staff_channel, world.tech, "Checked the logs", thread_ts=root
    )
    world.driver.event(world.team, event)
    world.deliver()
    (note,) = comments(world)
    assert (note.comment_type, note.content) == ("internal_note", "Checked the logs")
    assert staff_thread(world) == ["Checked the logs"]  # not echoed by the bot
    world.driver.event(
        world.team,
        world.driver.message_changed(
            world.team, world.staff_channel, event["ts"], "Checked the logs: MFA"
        ),
    )
    assert comments(world)[0].content == "Checked the logs: MFA"
    world.driver.event(
        world.team, world.driver.message_deleted(world.team, world.staff_channel, event["ts"])
    )
    assert comments(world) == []
    assert dm_thread(world, world.alice) == []


def test_send_to_requester_shortcut_publishes_a_staff_thread_message(ticket: World):
    world = ticket
    event = world.driver.message_event(
        world.team,
        world.staff_channel,
        world.tech,
        "Your new password policy is live",
        thread_ts=card(world)["ts"],
    )
    world.driver.event(world.team, event)
    response = world.driver.message_shortcut(
        world.team, world.tech, Callback.SEND_TO_REQUESTER, world.staff_channel, event["ts"]
    )
    assert response.status == 200
    world.deliver()
    assert dm_thread(world, world.alice) == [
        f"*<@{world.tech}>* (IT team) on ticket #1:\nYour new password policy is live"
    ]
    kinds = [c.comment_type for c in comments(world)]
    assert kinds == ["internal_note", "public_reply"]


def test_send_to_requester_elsewhere_or_by_non_staff_is_refused(ticket: World):
    world = ticket
    loose = world.sim.post_user_message(
        world.team, world.general, world.tech, "not a ticket thread"
    )
    world.driver.message_shortcut(
        world.team, world.tech, Callback.SEND_TO_REQUESTER, world.general, loose["ts"]
    )
    assert "card's thread" in world.sim.ephemerals(world.tech)[-1]["text"]
    world.deliver()
    assert dm_thread(world, world.alice) == []
    assert comments(world) == []


def test_requester_reply_is_mirrored_and_reopens_pending(ticket: World):
    world = ticket
    press_card(world, world.tech, Action.ASSIGN_TO_ME)
    press_card(world, world.tech, Action.STATUS, selected_option_value="pending")
    world.deliver()
    dm = world.sim.dm_channel(world.team, world.alice)
    reply = world.driver.message_event(
        world.team,
        dm,
        world.alice,
        "It works on my phone",
        thread_ts=dm_root(world, world.alice)["ts"],
    )
    world.driver.event(world.team, reply)
    world.deliver()
    (ticket_row,) = world.tickets()
    assert ticket_row.status == "open"
    (comment,) = comments(world)
    assert (comment.comment_type, comment.author_type) == ("public_reply", "end_user")
    thread = staff_thread(world)
    assert (
        f":speech_balloon: *<@{world.alice}>* (requester) replied:\nIt works on my phone" in thread
    )
    assert thread[-1] == "Alice answered: back to *Open*"
    # The assignee hears about the reply.
    link = f"<{card(world)['permalink']}|ticket #1>" if "permalink" in card(world) else None
    assert any(
        f"<@{world.alice}> replied on <" in m["text"] and "|ticket #1>" in m["text"]
        for m in world.dm(world.tech)
    ), link


def test_reply_to_resolved_reopens_and_to_closed_starts_a_follow_up(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    root = dm_root(world, world.alice)["ts"]
    press_card(world, world.tech, Action.STATUS, selected_option_value="resolved")
    world.driver.event(
        world.team,
        world.driver.message_event(world.team, dm, world.alice, "Still broken", thread_ts=root),
    )
    world.deliver()
    assert world.tickets()[0].status == "open"
    press_card(world, world.tech, Action.STATUS, selected_option_value="closed")
    world.driver.event(
        world.team,
        world.driver.message_event(world.team, dm, world.alice, "Broken again", thread_ts=root),
    )
    world.deliver()
    first, follow_up = world.tickets()
    assert first.status == "closed"
    assert (follow_up.ticket_number, follow_up.parent_ticket_id) == (2, first.id)
    assert follow_up.title == "Follow-up to #1: Outlook asks for my password"
    assert follow_up.description == "Broken again"
    assert "Ticket #1 is closed, so I opened ticket #2 for your message." in dm_thread(
        world, world.alice
    )
    assert card(world, 2)


def test_requester_hears_about_status_changes_but_not_twice(ticket: World):
    world = ticket
    for status in ("in_progress", "pending", "resolved", "closed", "open"):
        press_card(world, world.tech, Action.STATUS, selected_option_value=status)
    press_card(world, world.tech, Action.STATUS, selected_option_value="open")  # no change
    world.deliver()
    assert dm_thread(world, world.alice) == [
        f":hammer_and_wrench: <@{world.tech}> started working on ticket #1.",
        # (Pending without a question from the IT team: nothing to tell her.)
        ":white_check_mark: Ticket #1 is resolved. Is it fixed for you?",
        ":checkered_flag: Ticket #1 is closed.",
        "How did we do? Tell us how ticket #1 went.",  # the survey, once it is closed
        ":arrows_counterclockwise: Ticket #1 was reopened.",
    ]


def test_assignee_is_told_when_someone_else_assigns_them(ticket: World):
    world = ticket
    press_card(world, world.tech, Action.ASSIGN_TO_ME)
    world.deliver()
    assert world.dm(world.tech) == []  # nobody hears of their own act
    press_card(world, world.tech, Action.ASSIGNEE, selected_user=world.tech2)
    world.deliver()
    (note,) = world.dm(world.tech2)
    # The DM links to the card (its permalink, stored when the card was posted).
    with world.db.session() as session:
        permalink = session.exec(
            select(SlackMessageRef.permalink).where(SlackMessageRef.role == "staff_card")
        ).one()
    assert permalink
    assert note["text"] == (
        f":bust_in_silhouette: <@{world.tech}> assigned you <{permalink}|ticket #1>: "
        "Outlook asks for my password"
    )


def test_a_dm_outside_any_ticket_gets_an_offer(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    event = world.driver.message_event(world.team, dm, world.alice, "My mouse is broken too")
    world.driver.event(world.team, event)
    world.deliver()
    (offer,) = world.sim.thread(dm, event["ts"])[1:]
    buttons = [e["text"]["text"] for e in offer["blocks"][1]["elements"]]
    assert buttons == ["File as a new ticket", "Add to #1 Outlook asks for my password"]
    # Add it to #1: it becomes Alice's reply there.
    world.driver.block_action(
        world.team,
        world.alice,
        f"{Action.OFFER_ADD_TO_TICKET}:{world.tickets()[0].id}",
        channel_id=dm,
        message_ts=offer["ts"],
    )
    world.deliver()
    (comment,) = comments(world)
    assert (comment.content, comment.author_type) == ("My mouse is broken too", "end_user")
    # Or file another DM as a new ticket.
    second = world.driver.message_event(world.team, dm, world.alice, "Need a second monitor")
    world.driver.event(world.team, second)
    world.deliver()
    offer2 = world.sim.thread(dm, second["ts"])[1]
    world.driver.block_action(
        world.team, world.alice, Action.OFFER_NEW_TICKET, channel_id=dm, message_ts=offer2["ts"]
    )
    modal = world.open_modal(world.alice)
    assert modal["blocks"][0]["element"]["initial_value"] == "Need a second monitor"
    world.driver.submit_view(world.team, world.alice, modal["id"], {})
    assert [t.title for t in world.tickets()] == [
        "Outlook asks for my password",
        "Need a second monitor",
    ]


def test_ticket_command_shows_mine_and_one_ticket_by_viewer(ticket: World):
    world = ticket
    press_card(world, world.tech, Action.ADD_INTERNAL_NOTE)
    submit_modal(world, world.tech, "SECRET-NOTE check the VPN appliance")
    press_card(world, world.tech, Action.REPLY_TO_REQUESTER)
    submit_modal(world, world.tech, "Try again now please")
    mine = world.driver.slash_command(world.team, world.alice, text="mine").json
    assert mine["response_type"] == "ephemeral"
    assert "#1" in str(mine["blocks"]) and "Outlook" in str(mine["blocks"])
    as_requester = world.driver.slash_command(world.team, world.alice, text="1").json
    assert "Try again now please" in str(as_requester["blocks"])
    assert "SECRET-NOTE" not in str(as_requester)
    as_staff = world.driver.slash_command(world.team, world.tech, text="#1").json
    assert "SECRET-NOTE" in str(as_staff["blocks"])
    world.driver.slash_command(world.team, world.bob, text="1")
    assert "not one of yours" in world.sim.ephemerals(world.bob)[-1]["text"]
    world.driver.slash_command(world.team, world.bob, text="999")
    assert "no ticket #999" in world.sim.ephemerals(world.bob)[-1]["text"]


def test_app_home_for_requester_and_staff(ticket: World):
    world = ticket
    press_card(world, world.tech, Action.ADD_INTERNAL_NOTE)
    submit_modal(world, world.tech, "SECRET-NOTE home")
    world.driver.event(world.team, world.driver.app_home_opened(world.team, world.alice))
    home = world.sim.home_view(world.team, world.alice)
    assert "Your IT tickets" in str(home["blocks"]) and "Outlook asks" in str(home["blocks"])
    assert "SECRET-NOTE" not in str(home)
    world.driver.event(world.team, world.driver.app_home_opened(world.team, world.tech))
    staff_home = str(world.sim.home_view(world.team, world.tech)["blocks"])
    for title in ("My open tickets", "Unassigned", "Recently updated", "Open card"):
        assert title in staff_home


def test_a_requester_cannot_reply_into_someone_elses_ticket_thread(ticket: World):
    world = ticket
    # Bob writes in the staff channel card thread (he is not a member, but say he were
    # invited): not staff, so not a note.
    world.driver.event(
        world.team,
        world.driver.message_event(
            world.team, world.general, world.bob, "hi", thread_ts=card(world)["ts"]
        ),
    )
    assert comments(world) == []
    assert isinstance(world.tickets()[0], Ticket)


def alice_replies(world: World, text: str) -> dict[str, Any]:
    """Alice answers in ticket #1's DM thread; returns the message event."""
    dm = world.sim.dm_channel(world.team, world.alice)
    reply = world.driver.message_event(
        world.team, dm, world.alice, text, thread_ts=dm_root(world, world.alice)["ts"]
    )
    world.driver.event(world.team, reply)
    return reply


def test_a_requesters_edit_and_deletion_reach_the_copy_in_the_staff_thread(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    reply = alice_replies(world, "My password is <hunter2>")
    world.deliver()
    copy = f":speech_balloon: *<@{world.alice}>* (requester) replied:\n"
    assert staff_thread(world) == [copy + "My password is &lt;hunter2&gt;"]

    world.driver.event(
        world.team, world.driver.message_changed(world.team, dm, reply["ts"], "Never mind")
    )
    world.deliver()
    assert comments(world)[0].content == "Never mind"
    assert staff_thread(world) == [copy + "Never mind"]

    world.driver.event(world.team, world.driver.message_deleted(world.team, dm, reply["ts"]))
    world.deliver()
    assert comments(world) == []
    assert staff_thread(world) == []  # the copy went too


def test_a_reply_deleted_before_its_copy_was_posted_is_never_copied(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    reply = alice_replies(world, "Oops, wrong ticket")  # not delivered yet
    world.driver.event(world.team, world.driver.message_deleted(world.team, dm, reply["ts"]))
    world.deliver()
    assert comments(world) == []
    assert staff_thread(world) == []
    health = world.http.get("/healthz").json()
    assert health["outbox"] == {"pending": 0, "failed": 0}


def test_deleting_ticketbots_copy_keeps_the_requesters_reply(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    alice_replies(world, "Here is the error code")
    world.deliver()
    [copy] = world.sim.thread(world.staff_channel, card(world)["ts"])[1:]
    world.driver.event(
        world.team, world.driver.message_deleted(world.team, world.staff_channel, copy["ts"])
    )
    world.deliver()
    assert [c.content for c in comments(world)] == ["Here is the error code"]
    assert [m["text"] for m in world.sim.thread(dm, dm_root(world, world.alice)["ts"])[1:]] == [
        "Here is the error code"
    ]


def test_a_reply_edited_before_its_copy_was_posted_is_copied_as_edited(ticket: World):
    world = ticket
    dm = world.sim.dm_channel(world.team, world.alice)
    reply = alice_replies(world, "The code is 0x80")  # not delivered yet (Slack slow, say)
    world.driver.event(
        world.team, world.driver.message_changed(world.team, dm, reply["ts"], "The code is 0x81")
    )
    world.deliver()
    assert staff_thread(world) == [
        f":speech_balloon: *<@{world.alice}>* (requester) replied:\nThe code is 0x81"
    ]
