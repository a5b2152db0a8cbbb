"""The database goes away while people keep working in Slack. Nothing Slack delivered in
the meantime may be acknowledged and then forgotten: an event whose handling failed is
answered with an error so that Slack sends it again (and the retry, once the database is
back, takes effect once); a command, a click or a form submitted meanwhile tells the person
to try again instead of saying nothing."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.ids import Action, Callback
from models import Ticket, TicketComment
from tests.reliability.conftest import DatabaseOutage, World

TRY_AGAIN = "try again"


def comments(world: World) -> list[tuple[str, str]]:
    with world.db.session() as session:
        rows = session.exec(select(TicketComment).order_by(col(TicketComment.id))).all()
        return [(r.comment_type, r.content) for r in rows]


def tickets(world: World) -> list[str]:
    with world.db.session() as session:
        return [t.title for t in session.exec(select(Ticket).order_by(col(Ticket.id))).all()]


def filed(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ticket from Alice, delivered: (its card, its "received" DM)."""
    world.file_ticket(world.alice, "Mail bounces")
    world.deliver()
    (card,) = world.cards()
    (received,) = world.dm(world.alice)
    return card, received


def delivered_during(
    world: World, outage: DatabaseOutage, event: dict[str, Any], event_id: str
) -> None:
    """The event arrives while the database is down (refused, so Slack keeps it), then
    Slack's retry arrives once it is back (accepted)."""
    with outage.during():
        first = world.driver.event(world.team, event, event_id=event_id)
    assert first.status >= 500, (first.status, first.text)
    retried = world.driver.event(
        world.team, event, event_id=event_id, retry_num=1, retry_reason="http_error"
    )
    assert retried.status == 200, retried.text
    # A later retry of the same delivery changes nothing.
    again = world.driver.event(
        world.team, event, event_id=event_id, retry_num=2, retry_reason="http_error"
    )
    assert again.status == 200
    world.deliver()


def test_a_requesters_reply_during_a_database_outage_is_refused_then_saved_once(
    world: World, db_outage: DatabaseOutage
):
    _, received = filed(world)
    dm = world.sim.dm_channel(world.team, world.alice)
    reply = world.driver.message_event(
        world.team, dm, world.alice, "It bounces from the CEO too", thread_ts=received["ts"]
    )
    delivered_during(world, db_outage, reply, "Ev0DBDOWN001")
    assert comments(world) == [("public_reply", "It bounces from the CEO too")]


def test_a_note_in_a_card_thread_during_a_database_outage_is_refused_then_saved_once(
    world: World, db_outage: DatabaseOutage
):
    card, _ = filed(world)
    note = world.driver.message_event(
        world.team, world.staff_channel, world.tech, "Checked the logs", thread_ts=card["ts"]
    )
    delivered_during(world, db_outage, note, "Ev0DBDOWN002")
    assert comments(world) == [("internal_note", "Checked the logs")]


def test_a_ticket_reaction_during_a_database_outage_is_refused_then_filed_once(
    world: World, db_outage: DatabaseOutage
):
    filed(world)
    message = world.sim.post_user_message(world.team, world.general, world.bob, "Badge dead")
    reaction = world.driver.reaction_added(
        world.team, world.tech, "ticket", world.general, message["ts"]
    )
    delivered_during(world, db_outage, reaction, "Ev0DBDOWN003")
    assert tickets(world) == ["Mail bounces", "Badge dead"]
    assert len(world.cards()) == 2


def test_a_command_during_a_database_outage_says_to_try_again(
    world: World, db_outage: DatabaseOutage
):
    filed(world)
    with db_outage.during():
        answer = world.driver.slash_command(world.team, world.bob, text="1")
    assert answer.status == 200
    assert TRY_AGAIN in answer.json["text"].lower()
    assert answer.json.get("response_type") == "ephemeral"


def test_a_card_button_during_a_database_outage_says_to_try_again(
    world: World, db_outage: DatabaseOutage
):
    card, _ = filed(world)
    with db_outage.during():
        answer = world.driver.block_action(
            world.team,
            world.tech,
            Action.ASSIGN_TO_ME,
            channel_id=world.staff_channel,
            message_ts=card["ts"],
        )
    assert answer.status == 200
    (shown,) = world.sim.ephemerals(world.tech)
    assert TRY_AGAIN in shown["text"].lower()


def test_a_form_submitted_during_a_database_outage_stays_open_and_says_to_try_again(
    world: World, db_outage: DatabaseOutage
):
    filed(world)
    assert world.driver.slash_command(world.team, world.bob).status == 200
    modal = world.open_modal(world.bob)
    with db_outage.during():
        answer = world.driver.submit_view(world.team, world.bob, modal["id"], {"title": "VPN"})
    assert answer.status == 200
    assert answer.json["response_action"] == "errors"
    assert any(TRY_AGAIN in e.lower() for e in answer.json["errors"].values())
    assert tickets(world) == ["Mail bounces"]
    # The form is still open: submitting it again once the database is back files it.
    again = world.driver.submit_view(world.team, world.bob, modal["id"], {"title": "VPN"})
    assert again.status == 200
    assert tickets(world) == ["Mail bounces", "VPN"]


def test_a_global_shortcut_during_a_database_outage_says_so_in_a_modal(
    world: World, db_outage: DatabaseOutage
):
    filed(world)
    with db_outage.during():
        answer = world.driver.global_shortcut(world.team, world.bob, Callback.NEW_TICKET_SHORTCUT)
    assert answer.status == 200
    (view,) = world.sim.open_views(world.bob)
    assert TRY_AGAIN in str(view["blocks"]).lower()
    assert "nothing was saved" in str(view["blocks"]).lower()
