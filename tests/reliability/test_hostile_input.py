"""Hostile input, generated: whatever people type (empty, huge, control characters,
right-to-left marks, emoji, mrkdwn and mention syntax) and whatever arrives at the endpoint
(malformed payloads, unknown action and callback ids) never gets a 5xx, never leaves half a
submission behind, and never renders user text as live mrkdwn (no ping, no link)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from bot.api import tokens
from bot.ids import Action, Block, Callback
from bot.services import organizations as orgs
from bot.slacksim import SlackDriver
from models import OutboxMessage, Ticket, TicketComment
from tests.e2e.conftest import SIGNING_SECRET as WORLD_SIGNING_SECRET
from tests.reliability.conftest import World

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
GENERIC_ERROR = "Sorry, something went wrong"

SPECIAL = [
    "",
    " ",
    "\t\n \r\n",
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C123>",
    "<!subteam^S0123>",
    "<https://evil.example|click me>",
    "&lt;",
    "&amp;",
    "&lt;!channel&gt;",
    "*bold* _it_ ~strike~ `code` ```block```",
    "> quoted",
    "\u202eevil\u202c",  # right-to-left override
    "\u200f\u200e\u2067",  # right-to-left and left-to-right marks, isolate
    "\x00",
    "\x01\x07\x1b[31m\x7f",
    "\ufeff\u200b",
    "🔥💻👩\u200d👩\u200d👧\u200d👦🏳️\u200d🌈",
    "مرحبا بالعالم",
    "Ticket #1",
]


def hostile_text(huge: int = 20_000, *, nul: bool = True) -> st.SearchStrategy[str]:
    """Mixed fragments, or one fragment repeated to `huge` characters. Any text Slack
    could carry: no lone surrogates; NUL only when `nul` (see the NUL test below). (Far
    more than Slack carries, yet a request stays under the 1 MB Ticketbot reads.)"""
    specials = [s for s in SPECIAL if nul or "\x00" not in s]
    fragment = st.one_of(
        st.sampled_from(specials),
        st.text(
            st.characters(exclude_categories=["Cs"], exclude_characters="" if nul else "\x00"),
            max_size=30,
        ),
    )
    return st.one_of(
        st.lists(fragment, max_size=6).map("".join),
        st.sampled_from([s for s in specials if s]).map(
            lambda s: (s * (huge // len(s) + 1))[:huge]
        ),
    )


# -- checks ---------------------------------------------------------------------------------


def counts(world: World) -> tuple[int, int, int]:
    with world.db.session() as session:
        return tuple(  # type: ignore[return-value]
            int(session.exec(select(func.count()).select_from(model)).one())
            for model in (Ticket, OutboxMessage, TicketComment)
        )


def mrkdwn_texts(value: Any, *, top: bool = True) -> Iterator[str]:
    """Every string Slack renders as mrkdwn in a message's arguments: `text`, and each
    mrkdwn text object of its blocks (plain_text is shown literally and is skipped)."""
    if top and isinstance(value, dict) and isinstance(value.get("text"), str):
        yield value["text"]
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            yield value["text"]
        for key, item in value.items():
            if key != "text" or not isinstance(item, str):
                yield from mrkdwn_texts(item, top=False)
    elif isinstance(value, list):
        for item in value:
            yield from mrkdwn_texts(item, top=False)


SLACK_LINK = re.compile(r"<https://[a-z0-9-]+\.slack\.com/[^<>|\s]*(\|[^<>]*)?>")


def assert_escaped(world: World, texts: Iterator[str], where: str) -> None:
    """Each `<` in mrkdwn the app wrote opens a mention of a real person or channel, or a
    link Slack made: user text can only show up as `&lt;`."""
    people = {world.tech, world.tech2, world.alice, world.bob, world.bot_user}
    mention = rf"<@({'|'.join(people)})>"
    channel = rf"<#({world.staff_channel}|{world.general})>"
    allowed = re.compile("|".join([mention, channel, SLACK_LINK.pattern]))
    for text in texts:
        for match in re.finditer("<", text):
            assert allowed.match(text, match.start()), (
                f"{where} renders user text live: "
                f"{text[max(0, match.start() - 40) : match.start() + 60]!r}"
            )


def assert_nothing_renders_live(world: World, since: int) -> None:
    """...in every message, update and response_url post the app sent since call `since`."""
    for call in world.sim.calls[since:]:
        if call.method in ("chat.postMessage", "chat.update", "response_url"):
            assert_escaped(world, mrkdwn_texts(call.args), call.method)


def assert_clear_refusal(response: Any) -> None:
    """A refused modal says what is wrong with the input, on an input of the modal."""
    body = response.json
    assert body["response_action"] == "errors", body
    for message in body["errors"].values():
        assert GENERIC_ERROR not in message, body


def close_modals(world: World, user: str) -> None:
    for view in reversed(world.sim.open_views(user, world.team)):
        world.driver.close_view(world.team, user, view["id"])


@pytest.fixture
def api_headers(world: World) -> dict[str, str]:
    """An API token of the world's organization (created here, before its first request)."""
    with world.db.session() as session:
        organization = orgs.get_or_create_organization(session, team_id=world.team)
        token = tokens.create_api_token(session, organization=organization, name="fuzz")
    return {"Authorization": f"Bearer {token.secret}"}


# -- people typing --------------------------------------------------------------------------


@EXAMPLES
@given(text=hostile_text())
def test_slash_command_text(world: World, text: str):
    before, since = counts(world), len(world.sim.calls)
    response = world.driver.slash_command(world.team, world.alice, text=text)
    assert response.status == 200, response.text
    assert counts(world) == before
    for view in world.sim.open_views(world.alice, world.team):
        title = view["blocks"][0]["element"].get("initial_value", "")
        assert len(title) <= 200
    if response.json:  # an answer right in the ack: usage or a ticket
        assert_escaped(world, mrkdwn_texts(response.json), "the ack")
    assert_nothing_renders_live(world, since)
    close_modals(world, world.alice)


@EXAMPLES
@given(title=hostile_text(nul=False), description=hostile_text(nul=False))
def test_modal_values(world: World, title: str, description: str):
    world.deliver()
    before, since = counts(world), len(world.sim.calls)
    world.driver.slash_command(world.team, world.bob, text="")
    modal = world.open_modal(world.bob)
    response = world.driver.submit_view(
        world.team, world.bob, modal["id"], {"Title": title, "Description": description}
    )
    assert response.status == 200, response.text
    tickets, rows, comments = counts(world)
    if response.json is None:  # filed: the ticket with its card and its DM, all of it
        assert (tickets, rows, comments) == (before[0] + 1, before[1] + 2, before[2])
        world.deliver()
        assert_nothing_renders_live(world, since)
    else:  # refused: nothing at all, and the form says why
        assert (tickets, rows, comments) == before
        assert_clear_refusal(response)
    close_modals(world, world.bob)


@pytest.mark.parametrize("field", [Block.TITLE, Block.DESCRIPTION])
def test_a_nul_character_in_the_form_is_filed_or_refused_on_its_own_field(world: World, field: str):
    values = {Block.TITLE: "Printer on fire", Block.DESCRIPTION: "Tray 2 smokes"}
    values[field] = values[field].replace(" ", "\x00", 1)
    world.driver.slash_command(world.team, world.alice, text="")
    modal = world.open_modal(world.alice)
    response = world.driver.submit_view(world.team, world.alice, modal["id"], values)
    assert response.status == 200
    if response.json is None:
        assert len(world.tickets()) == 1
    else:
        assert_clear_refusal(response)
        assert list(response.json["errors"]) == [field]
        assert world.tickets() == [] and world.outbox() == []


@EXAMPLES
@given(text=hostile_text(huge=40_000))  # Slack's own limit on a message
def test_requester_reply_in_the_dm_thread(world: World, text: str):
    if not world.tickets():
        world.file_ticket(world.alice, "Screen goes black")
    world.deliver()
    (received, *_) = [m for m in world.dm(world.alice) if m.get("bot_id")]
    before, since = counts(world), len(world.sim.calls)
    reply = world.driver.message_event(
        world.team,
        world.sim.dm_channel(world.team, world.alice),
        world.alice,
        text,
        thread_ts=received["ts"],
    )
    response = world.driver.event(world.team, reply)
    assert response.status == 200, response.text
    tickets, rows, comments = counts(world)
    assert tickets == before[0]
    # Kept (one comment, mirrored to the card's thread, the card redrawn) or refused
    # without a trace.
    assert (rows, comments) in ((before[1] + 2, before[2] + 1), before[1:])
    world.deliver()
    assert_nothing_renders_live(world, since)


@EXAMPLES
@given(title=hostile_text(), description=hostile_text(), content=hostile_text())
def test_rest_bodies(
    world: World, api_headers: dict[str, str], title: str, description: str, content: str
):
    world.deliver()
    before, since = counts(world), len(world.sim.calls)
    created = world.http.post(
        "/api/tickets",
        json={"title": title, "description": description, "requester_slack_user_id": world.alice},
        headers=api_headers,
    )
    # Filed, or refused as invalid (422) or too large (413).
    assert created.status_code in (201, 413, 422), created.text
    tickets, rows, _ = counts(world)
    if created.status_code != 201:
        assert (tickets, rows) == before[:2]
        ticket_id = world.tickets()[-1].id if world.tickets() else None
    else:
        assert (tickets, rows) == (before[0] + 1, before[1] + 2)
        ticket_id = created.json()["id"]
    if ticket_id is not None:
        middle = counts(world)
        comment = world.http.post(
            f"/api/tickets/{ticket_id}/comments",
            json={"content": content, "comment_type": "public_reply"},
            headers=api_headers,
        )
        assert comment.status_code in (201, 413, 422), comment.text
        if comment.status_code != 201:
            assert counts(world) == middle
        else:  # the comment, its DM to the requester and its line in the card's thread,
            # and a redraw of the card unless one (or its first post) is waiting already
            tickets, rows, comments = counts(world)
            assert (tickets, comments) == (middle[0], middle[2] + 1)
            assert rows in (middle[1] + 2, middle[1] + 3)
    world.deliver()
    assert_nothing_renders_live(world, since)


# -- what arrives at the endpoint -----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=5)
KINDS = [
    "form-object",  # an interactivity form whose payload is a JSON object of any shape
    "json-object",  # an Events API body: a JSON object of any shape
    "command",  # a slash command that is not ours, or with odd fields
    "event",  # an event of an unknown type
    "action",  # a block action with an unknown action_id or a strange block_id
    "view",  # a view submission with an unknown callback_id or strange state
    "shortcut",  # a shortcut with an unknown callback_id
]
plans = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(KINDS),
        "object": json_objects,
        "junk": json_values,
        "word": st.one_of(st.text(max_size=40), st.sampled_from([*Action, *Callback])),
        "block_id": st.one_of(
            st.text(max_size=30),
            st.integers().map(lambda n: f"{Block.CARD_ACTIONS}:{n}"),
            st.text(max_size=20).map(lambda t: f"{Block.CARD_ACTIONS}:{t}"),
        ),
    }
)


def interaction(world: World, kind: str, **fields: Any) -> dict[str, Any]:
    """An interactivity payload of Slack's shape from Alice, with `fields` on top."""
    payload: dict[str, Any] = {
        "type": kind,
        "team": {"id": world.team, "domain": "acme-it"},
        "user": {"id": world.alice, "username": "alice", "name": "alice", "team_id": world.team},
        "api_app_id": "A0TICKETBOT",
        "token": "slacksim-verification-token",
        "trigger_id": world.sim.new_trigger_id(world.team, world.alice),
    }
    payload.update(fields)
    return payload


def build_request(world: World, plan: dict[str, Any]) -> tuple[bytes, str]:
    """(body, content type) of a request Slack never sends, to be signed all the same."""
    kind, junk, word = plan["kind"], plan["junk"], plan["word"]
    form = "application/x-www-form-urlencoded"
    if kind == "form-object":
        return urlencode({"payload": json.dumps(plan["object"])}).encode(), form
    if kind == "json-object":
        return json.dumps(plan["object"]).encode(), "application/json"
    if kind == "command":
        fields = {"command": word or "/x", "text": str(junk), "team_id": world.team}
        return urlencode({**fields, "user_id": world.alice}).encode(), form
    if kind == "event":
        envelope = {
            "type": "event_callback",
            "team_id": world.team,
            "api_app_id": "A0TICKETBOT",
            "event_id": f"Ev0FUZZ{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "event": {"type": word, "user": world.alice, "junk": junk},
        }
        return json.dumps(envelope).encode(), "application/json"
    if kind == "action":
        payload = interaction(
            world,
            "block_actions",
            actions=[
                {
                    "action_id": word,
                    "block_id": plan["block_id"],
                    "type": "button",
                    "value": json.dumps(junk),
                    "selected_option": {"value": str(junk)},
                    "selected_user": str(junk),
                }
            ],
            container={"type": "message", "message_ts": "1.000001", "channel_id": "C0"},
            channel={"id": world.staff_channel},
            response_url=world.sim.new_response_url(world.team, world.staff_channel, world.alice),
        )
    elif kind == "view":
        payload = interaction(
            world,
            "view_submission",
            view={
                "id": "V0FUZZ",
                "type": "modal",
                "callback_id": word,
                "private_metadata": json.dumps(junk),
                "state": {"values": plan["object"]},
            },
        )
    else:
        payload = interaction(world, "shortcut", callback_id=word)
    return urlencode({"payload": json.dumps(payload)}).encode(), form


def answering_driver(world: World) -> SlackDriver:
    """A driver whose transport reports a server error as the 500 Slack would get (the
    world's own test client raises the exception instead)."""
    return SlackDriver.with_client(
        world.sim, WORLD_SIGNING_SECRET, TestClient(world.http.app, raise_server_exceptions=False)
    )


@EXAMPLES
@given(plan=plans)
def test_malformed_payloads_and_unknown_ids(world: World, plan: dict[str, Any]):
    body, content_type = build_request(world, plan)
    before = counts(world)
    response = answering_driver(world).raw(body, {"Content-Type": content_type})
    assert response.status < 500, (response.status, response.text, body[:300])
    world.deliver()
    assert counts(world) == before


NOT_AN_OBJECT = {
    "form payload not JSON": (b"payload=%7B", "application/x-www-form-urlencoded"),
    "form payload a JSON list": (b"payload=%5B%5D", "application/x-www-form-urlencoded"),
    "form payload a JSON string": (b"payload=%22x%22", "application/x-www-form-urlencoded"),
    "JSON body cut short": (b'{"type": "event_callback", ', "application/json"),
    "JSON body a list": (b"[1, 2]", "application/json"),
    "JSON body a number": (b"5", "application/json"),
}


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("name", list(NOT_AN_OBJECT))
def test_a_body_that_is_not_an_object_is_refused_without_a_server_error(
    world: World, name: str, signed: bool
):
    body, content_type = NOT_AN_OBJECT[name]
    response = answering_driver(world).raw(body, {"Content-Type": content_type}, sign=signed)
    assert response.status in (400, 401), (response.status, response.text)
