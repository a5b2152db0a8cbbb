"""Satisfaction survey: asked on resolve in the requester's DM thread, answered with
Good / Bad (changeable for 7 days) and a comment; shown in the card's thread and on the
card; sampling and per-requester cooldown; the monthly score over REST."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot import jobs
from bot.api import tokens
from bot.ids import Action, Block
from bot.services import automation_settings, csat, preferences
from models import CsatResponse, Notice, Organization, utcnow
from tests.e2e.conftest import World, organization_of

QUESTION = "How did we do?"


@pytest.fixture
def ticket(world: World) -> World:
    world.file_ticket(world.alice, "Monitor flickers")
    world.deliver()
    return world


def card_of(world: World, number: int = 1) -> dict[str, Any]:
    return next(c for c in world.cards() if c["text"].startswith(f"Ticket #{number}:"))


def set_status(world: World, status: str, number: int = 1, user: str | None = None) -> None:
    response = world.driver.block_action(
        world.team,
        user or world.tech,
        Action.STATUS,
        channel_id=world.staff_channel,
        message_ts=card_of(world, number)["ts"],
        selected_option_value=status,
    )
    assert response.status == 200, response.text
    world.deliver()


def surveys(world: World, user: str) -> list[dict[str, Any]]:
    return [m for m in world.dm(user) if QUESTION in m.get("text", "")]


def confirm(world: World, number: int = 1, user: str | None = None) -> None:
    """The requester presses **It's fixed** under the "resolved" notice of ticket #number."""
    user = user or world.alice
    notice = [m for m in world.dm(user) if f"Ticket #{number} is resolved" in m.get("text", "")][-1]
    response = world.driver.block_action(
        world.team,
        user,
        Action.REQUESTER_FIXED,
        channel_id=world.sim.dm_channel(world.team, user),
        message_ts=notice["ts"],
    )
    assert response.status == 200, response.text
    world.deliver()


def resolve(world: World, number: int = 1) -> None:
    """Staff resolve ticket #number and its requester confirms it is fixed."""
    set_status(world, "resolved", number=number)
    confirm(world, number)


def staff_thread(world: World, number: int = 1) -> list[str]:
    card = card_of(world, number)
    return [m["text"] for m in world.sim.thread(world.staff_channel, card["ts"])[1:]]


def click(world: World, user: str, action: str, survey: dict[str, Any]):
    dm = world.sim.dm_channel(world.team, world.alice)
    response = world.driver.block_action(
        world.team, user, action, channel_id=dm, message_ts=survey["ts"]
    )
    assert response.status == 200, response.text
    world.deliver()
    return response


def configure(world: World, **settings: Any) -> None:
    with world.db.session() as session:
        organization = session.get(Organization, organization_of(world).id)
        assert organization is not None
        automation_settings.update_lifecycle_settings(organization, settings)
        session.add(organization)


def test_resolve_asks_in_the_dm_thread_and_the_answer_reaches_the_card(ticket: World):
    world = ticket
    resolve(world)
    (survey,) = surveys(world, world.alice)
    dm = world.sim.dm_channel(world.team, world.alice)
    root = next(m for m in world.dm(world.alice) if m["text"].startswith("Ticket #1 received"))
    assert survey["thread_ts"] == root["ts"]  # in the ticket's DM thread
    labels = [e["text"]["text"] for e in survey["blocks"][1]["elements"]]
    assert labels == ["Good", "Bad", "Add a comment"]
    # Nobody else is asked; the staff see nothing yet.
    assert surveys(world, world.tech) == []
    assert not any("rated" in t for t in staff_thread(world))

    click(world, world.alice, Action.CSAT_GOOD, survey)
    assert staff_thread(world)[-1] == ":bar_chart: Alice rated the support *Good*."
    assert "satisfaction: Good" in str(card_of(world)["blocks"])
    (shown,) = [m for m in world.sim.messages(dm) if m["ts"] == survey["ts"]]
    assert "You answered *Good*. Thank you!" in shown["blocks"][0]["text"]["text"]
    # A second click changes the answer; the same answer again says nothing new.
    click(world, world.alice, Action.CSAT_BAD, survey)
    click(world, world.alice, Action.CSAT_BAD, survey)
    lines = [t for t in staff_thread(world) if t.startswith(":bar_chart:")]
    assert lines == [
        ":bar_chart: Alice rated the support *Good*.",
        ":bar_chart: Alice changed their rating to *Bad*.",
    ]
    assert "satisfaction: Bad" in str(card_of(world)["blocks"])
    with world.db.session() as session:
        (row,) = session.exec(select(CsatResponse)).all()
        assert row.rating == "bad"


def test_a_comment_by_modal_reaches_the_cards_thread_escaped(ticket: World):
    world = ticket
    resolve(world)
    (survey,) = surveys(world, world.alice)
    click(world, world.alice, Action.CSAT_COMMENT, survey)
    modal = world.open_modal(world.alice)
    empty = world.driver.submit_view(
        world.team, world.alice, modal["id"], {Block.CSAT_COMMENT: " "}
    )
    assert empty.json["response_action"] == "errors"
    response = world.driver.submit_view(
        world.team, world.alice, modal["id"], {Block.CSAT_COMMENT: "Quick <!channel> & kind"}
    )
    assert response.status == 200 and not response.text, response.text
    world.deliver()
    assert staff_thread(world)[-1] == (
        ":speech_balloon: Alice commented on the support:\nQuick &lt;!channel&gt; &amp; kind"
    )


def test_only_the_requester_answers_and_only_for_seven_days(ticket: World):
    world = ticket
    resolve(world)
    (survey,) = surveys(world, world.alice)
    click(world, world.bob, Action.CSAT_GOOD, survey)
    assert not any("rated" in t for t in staff_thread(world))
    assert "Only the person who asked for help" in world.sim.ephemerals(world.bob)[-1]["text"]
    with world.db.session() as session:
        session.execute(
            update(CsatResponse).values(asked_at=utcnow() - timedelta(days=7, minutes=1))
        )
    click(world, world.alice, Action.CSAT_GOOD, survey)
    assert not any("rated" in t for t in staff_thread(world))
    assert "This survey has closed" in world.sim.ephemerals(world.alice)[-1]["text"]


def test_one_survey_per_ticket_and_per_cooldown(ticket: World):
    world = ticket
    set_status(world, "resolved")
    set_status(world, "open")
    resolve(world)
    assert len(surveys(world, world.alice)) == 1  # once per ticket
    world.file_ticket(world.alice, "Mouse is dead")
    world.deliver()
    resolve(world, number=2)
    assert len(surveys(world, world.alice)) == 1  # within 24 h of the last survey
    with world.db.session() as session:
        session.execute(
            update(CsatResponse).values(asked_at=utcnow() - timedelta(hours=24, minutes=1))
        )
    world.file_ticket(world.alice, "Keyboard is dead")
    world.deliver()
    resolve(world, number=3)
    assert len(surveys(world, world.alice)) == 2


def test_switched_off_no_cooldown_and_not_for_the_actor(ticket: World):
    world = ticket
    configure(world, csat_enabled=False)
    resolve(world)
    assert surveys(world, world.alice) == []
    configure(world, csat_enabled=True, csat_cooldown_hours=0)
    world.file_ticket(world.alice, "Mouse is dead")
    world.file_ticket(world.alice, "Keyboard is dead")
    world.deliver()
    resolve(world, number=2)
    resolve(world, number=3)
    assert len(surveys(world, world.alice)) == 2
    # A technician who resolves their own ticket is not asked.
    world.file_ticket(world.tech, "My laptop")
    world.deliver()
    set_status(world, "resolved", number=4)
    assert surveys(world, world.tech) == []


def test_sampling_is_a_stable_share_of_tickets():
    picked = [csat.sampled(1, ticket_id, 25) for ticket_id in range(1, 2001)]
    assert 400 <= sum(picked) <= 600
    assert picked == [csat.sampled(1, ticket_id, 25) for ticket_id in range(1, 2001)]
    assert all(csat.sampled(1, ticket_id, 100) for ticket_id in range(1, 200))
    assert not any(csat.sampled(1, ticket_id, 0) for ticket_id in range(1, 200))


def test_sample_percent_zero_asks_nobody(ticket: World):
    world = ticket
    configure(world, csat_sample_percent=0)
    resolve(world)
    assert surveys(world, world.alice) == []


def test_monthly_score_over_rest(ticket: World):
    world = ticket
    resolve(world)
    (survey,) = surveys(world, world.alice)
    click(world, world.alice, Action.CSAT_BAD, survey)
    with world.db.session() as session:
        organization = session.get(Organization, organization_of(world).id)
        assert organization is not None
        token = tokens.create_api_token(session, organization=organization, name="reports")
        answered_at = session.exec(select(CsatResponse)).one().answered_at
    assert answered_at is not None
    month = answered_at.strftime("%Y-%m")
    headers = {"Authorization": f"Bearer {token.secret}"}
    response = world.http.get(f"/api/reports/csat?month={month}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"good": 0, "bad": 1, "score_percent": 0.0}
    empty = world.http.get("/api/reports/csat?month=2020-01", headers=headers)
    assert empty.json() == {"good": 0, "bad": 0, "score_percent": None}
    bad = world.http.get("/api/reports/csat?month=2026-13", headers=headers)
    assert bad.status_code == 422


# --- one conversation with the "resolved" notice -----------------------------------------


def dm_thread(world: World) -> list[dict[str, Any]]:
    dm = world.sim.dm_channel(world.team, world.alice)
    root = next(m for m in world.dm(world.alice) if m["text"].startswith("Ticket #1 received"))
    return world.sim.thread(dm, root["ts"])[1:]


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["text"]["text"]
        for b in message.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def test_the_survey_follows_its_fixed_in_the_same_message(ticket: World):
    world = ticket
    set_status(world, "resolved")
    (notice,) = [m for m in dm_thread(world) if "is resolved" in m["text"]]
    assert buttons(notice) == ["It's fixed", "Still broken"]
    assert surveys(world, world.alice) == []  # one question at a time
    before = len(dm_thread(world))
    confirm(world)
    assert len(dm_thread(world)) == before  # replaced in place, nothing new
    (survey,) = [m for m in dm_thread(world) if m["ts"] == notice["ts"]]
    assert survey["text"] == (
        "Glad it's fixed! Ticket #1 is closed. How did we do? Tell us how ticket #1 went."
    )
    assert buttons(survey) == ["Good", "Bad", "Add a comment"]
    click(world, world.alice, Action.CSAT_GOOD, survey)
    (answered,) = [m for m in dm_thread(world) if m["ts"] == notice["ts"]]
    shown = answered["blocks"][0]["text"]["text"]
    assert shown.startswith("Glad it's fixed! Ticket #1 is closed.\n*How did we do?*")
    assert "You answered *Good*. Thank you!" in shown


def test_still_broken_asks_nothing(ticket: World):
    world = ticket
    set_status(world, "resolved")
    notice = [m for m in dm_thread(world) if "is resolved" in m["text"]][-1]
    dm = world.sim.dm_channel(world.team, world.alice)
    world.driver.block_action(
        world.team,
        world.alice,
        Action.REQUESTER_STILL_BROKEN,
        channel_id=dm,
        message_ts=notice["ts"],
    )
    world.deliver()
    assert surveys(world, world.alice) == []
    assert world.tickets()[0].status == "open"


def test_a_requester_who_never_answers_is_asked_with_the_closing_notice(ticket: World):
    world = ticket
    set_status(world, "resolved")
    (resolved,) = world.tickets()
    assert resolved.resolved_at is not None
    before = len(dm_thread(world))
    jobs.run_lifecycle(world.db, now=resolved.resolved_at + timedelta(days=4, minutes=1))
    world.deliver()
    (closing,) = dm_thread(world)[before:]  # one message: the close, and the question
    assert closing["text"].startswith(
        ":checkered_flag: Ticket #1 is now closed: there was no reply"
    )
    assert buttons(closing) == ["Good", "Bad", "Add a comment"]
    assert "*How did we do?* Tell us how ticket #1 went." in closing["blocks"][0]["text"]["text"]
    # It's fixed under the old notice now asks nothing more: the survey was asked.
    confirm(world)
    assert len(surveys(world, world.alice)) == 1


def test_a_requester_who_muted_status_news_is_asked_on_resolve(ticket: World):
    world = ticket
    with world.db.session() as session:
        preferences.set_enabled(
            session, member=world.member(world.alice), offered=[Notice.STATUS_CHANGE], enabled=[]
        )
    set_status(world, "resolved")
    (survey,) = surveys(world, world.alice)
    assert survey["text"] == "How did we do? Tell us how ticket #1 went."
    assert not [m for m in dm_thread(world) if "is resolved" in m["text"]]
