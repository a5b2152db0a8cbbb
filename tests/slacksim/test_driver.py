"""SlackDriver: signed deliveries of Slack's payload shapes, checked with slack_sdk and Bolt."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.slacksim import DriverResponse, SlackDriver, SlackSimulator, compute_signature
from bot.slacksim.specs import default_spec_dir

SECRET = "test-signing-secret"
SPEC_DIR = default_spec_dir()
needs_specs = pytest.mark.skipif(SPEC_DIR is None, reason="../shared/slack-specs not present")


@dataclass
class Capture:
    """A transport that records what the driver sends and answers with canned responses."""

    requests: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    answers: list[DriverResponse] = field(default_factory=list)

    def __call__(self, body: bytes, headers: dict[str, str]) -> DriverResponse:
        self.requests.append((body, headers))
        return self.answers.pop(0) if self.answers else DriverResponse(200, {}, b"")

    def answer(self, status: int = 200, payload: Any = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.answers.append(DriverResponse(status, {"content-type": "application/json"}, body))

    @property
    def last_body(self) -> bytes:
        return self.requests[-1][0]

    @property
    def last_headers(self) -> dict[str, str]:
        return self.requests[-1][1]

    def last_payload(self) -> dict[str, Any]:
        """The decoded JSON of the last interactivity (payload=...) or event delivery."""
        body = self.last_body
        if body.startswith(b"{"):
            return json.loads(body)
        return json.loads(dict(parse_qsl(body.decode()))["payload"])


@dataclass
class World:
    sim: SlackSimulator
    driver: SlackDriver
    capture: Capture
    client: WebClient
    bot_user_id: str
    alice: str
    bob: str
    staff: str
    private: str
    dm: str


@pytest.fixture
def sim() -> Iterator[SlackSimulator]:
    with SlackSimulator() as simulator:
        yield simulator


@pytest.fixture
def world(sim: SlackSimulator) -> World:
    team = sim.add_team("T0ACME", name="Acme IT", domain="acme-it")
    alice = sim.add_user("T0ACME", name="alice", email="alice@acme.test")["id"]
    bob = sim.add_user("T0ACME", name="bob")["id"]
    staff = sim.add_channel("T0ACME", name="it-staff", members=[team.bot_user_id, alice, bob])
    private = sim.add_channel(
        "T0ACME", name="vip", members=[team.bot_user_id, alice], is_private=True
    )
    capture = Capture()
    return World(
        sim=sim,
        driver=SlackDriver(sim, SECRET, capture),
        capture=capture,
        client=WebClient(token=team.bot_token, base_url=sim.api_url, timeout=5),
        bot_user_id=team.bot_user_id,
        alice=alice,
        bob=bob,
        staff=staff["id"],
        private=private["id"],
        dm=sim.dm_channel("T0ACME", alice),
    )


def open_modal(world: World, view: dict[str, Any], user: str | None = None) -> str:
    trigger = world.sim.new_trigger_id("T0ACME", user or world.alice)
    return str(world.client.views_open(trigger_id=trigger, view=view)["view"]["id"])


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def input_block(block_id: str, label: str, element: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": "value", **element},
        **extra,
    }


PRIORITIES = [option("Low", "low"), option("High", "high")]
TICKET_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "new_ticket",
    "title": {"type": "plain_text", "text": "New ticket"},
    "submit": {"type": "plain_text", "text": "Create"},
    "blocks": [
        input_block("title", "Title", {"type": "plain_text_input"}),
        input_block(
            "description",
            "Description",
            {"type": "plain_text_input", "multiline": True, "initial_value": "It broke"},
        ),
        input_block("priority", "Priority", {"type": "static_select", "options": PRIORITIES}),
        input_block("assignee", "Assignee", {"type": "users_select"}, optional=True),
        input_block("watchers", "Watchers", {"type": "multi_users_select"}, optional=True),
        input_block(
            "flags",
            "Flags",
            {"type": "checkboxes", "options": [option("VIP", "vip"), option("Outage", "outage")]},
            optional=True,
        ),
        input_block("where", "Conversation", {"type": "conversations_select"}, optional=True),
        input_block("channel", "Channel", {"type": "channels_select"}, optional=True),
        input_block("due", "Due", {"type": "datepicker"}, optional=True),
    ],
}


# -- signing --------------------------------------------------------------------------------


def test_signature_matches_slacks_official_test_vector() -> None:
    vector = {
        "signing_secret": "8f742231b10e8888abcd99yyyzzz85a5",
        "timestamp": "1531420618",
        "body": "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
        "expected_signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    if SPEC_DIR is not None:  # prefer the file's copy of Slack's vector when present
        spec = json.loads((SPEC_DIR / "protocol" / "request_signing.json").read_text())
        assert spec["official_test_vector"]["expected_signature"] == vector["expected_signature"]
        vector = spec["official_test_vector"]
    signature = compute_signature(
        vector["signing_secret"], vector["timestamp"], vector["body"].encode()
    )
    assert signature == vector["expected_signature"]


def test_every_delivery_passes_slack_sdks_signature_verifier(world: World) -> None:
    verifier = SignatureVerifier(SECRET)
    world.driver.slash_command("T0ACME", world.alice, "printer")
    world.driver.global_shortcut("T0ACME", world.alice, "new_ticket")
    world.driver.event("T0ACME", world.driver.app_home_opened("T0ACME", world.alice))
    world.driver.url_verification()
    assert len(world.capture.requests) == 4
    for body, headers in world.capture.requests:
        assert verifier.is_valid_request(body, headers)
        assert headers["User-Agent"].startswith("Slackbot")


def test_raw_requests_for_forged_stale_tampered_and_unsigned(world: World) -> None:
    verifier = SignatureVerifier(SECRET)
    body = b'{"type":"event_callback"}'
    world.driver.raw(body, signature="v0=" + "0" * 64)
    assert not verifier.is_valid_request(*world.capture.requests[-1])

    world.driver.raw(body, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(*world.capture.requests[-1])

    now = str(int(time.time()))
    signed_for_other_body = compute_signature(SECRET, now, b'{"type":"other"}')
    world.driver.raw(body, timestamp=now, signature=signed_for_other_body)
    assert not verifier.is_valid_request(*world.capture.requests[-1])

    world.driver.raw(body, sign=False)
    assert "X-Slack-Signature" not in world.capture.last_headers
    assert world.capture.last_headers["Content-Type"] == "application/json"

    world.driver.raw(body)
    assert verifier.is_valid_request(*world.capture.requests[-1])


# -- slash commands and shortcuts -----------------------------------------------------------


def test_slash_command_form_fields(world: World) -> None:
    world.driver.slash_command("T0ACME", world.alice, "printer on fire", channel_id=world.staff)
    assert world.capture.last_headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = dict(parse_qsl(world.capture.last_body.decode(), keep_blank_values=True))
    assert fields["team_id"] == "T0ACME" and fields["team_domain"] == "acme-it"
    assert fields["channel_id"] == world.staff and fields["channel_name"] == "it-staff"
    assert fields["user_id"] == world.alice and fields["user_name"] == "alice"
    assert fields["command"] == "/ticket" and fields["text"] == "printer on fire"
    assert fields["api_app_id"] == "A0TICKETBOT" and fields["is_enterprise_install"] == "false"
    assert "enterprise_id" not in fields

    # The trigger_id opens a modal for alice; the response_url answers her.
    world.client.views_open(trigger_id=fields["trigger_id"], view=TICKET_MODAL)
    assert world.sim.open_views(world.alice)
    request = urllib.request.Request(
        fields["response_url"],
        data=json.dumps({"text": "Ticket #1 created"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.read() == b"ok"
    assert world.sim.ephemerals(world.alice)[-1]["channel"] == world.staff

    world.driver.slash_command("T0ACME", world.bob)
    fields = dict(parse_qsl(world.capture.last_body.decode(), keep_blank_values=True))
    assert fields["channel_id"] == world.sim.dm_channel("T0ACME", world.bob)
    assert fields["channel_name"] == "directmessage" and fields["text"] == ""


@needs_specs
def test_slash_command_fields_cover_slacks_example(world: World) -> None:
    assert SPEC_DIR is not None
    example = json.loads((SPEC_DIR / "payloads" / "slash_command.json").read_text())
    official = set(example["examples"][0]["form_fields"])
    world.driver.slash_command("T0ACME", world.alice)
    sent = dict(parse_qsl(world.capture.last_body.decode(), keep_blank_values=True))
    assert official <= set(sent)


def test_enterprise_fields(sim: SlackSimulator) -> None:
    team = sim.add_team("T0GRID", enterprise_id="E0GRID", enterprise_name="Grid Org")
    user = sim.add_user("T0GRID", name="gina")["id"]
    capture = Capture()
    driver = SlackDriver(sim, SECRET, capture)
    driver.global_shortcut("T0GRID", user, "new_ticket")
    payload = capture.last_payload()
    assert payload["enterprise"] == {"id": "E0GRID", "name": "Grid Org"}
    assert payload["team"]["enterprise_id"] == "E0GRID"
    driver.event("T0GRID", driver.app_home_opened("T0GRID", user))
    envelope = capture.last_payload()
    assert envelope["enterprise_id"] == "E0GRID"
    assert envelope["authorizations"][0]["enterprise_id"] == "E0GRID"
    assert envelope["authorizations"][0]["user_id"] == team.bot_user_id


def test_global_and_message_shortcut_payloads(world: World) -> None:
    world.driver.global_shortcut("T0ACME", world.alice, "new_ticket")
    shortcut = world.capture.last_payload()
    assert shortcut["type"] == "shortcut" and shortcut["callback_id"] == "new_ticket"
    assert shortcut["user"] == {
        "id": world.alice,
        "username": "alice",
        "name": "alice",
        "team_id": "T0ACME",
    }
    assert shortcut["team"] == {"id": "T0ACME", "domain": "acme-it"}
    assert shortcut["enterprise"] is None and shortcut["is_enterprise_install"] is False
    assert "response_url" not in shortcut and "channel" not in shortcut

    message = world.sim.post_user_message("T0ACME", world.staff, world.bob, "VPN is down")
    world.driver.message_shortcut(
        "T0ACME", world.alice, "ticket_from_message", world.staff, message["ts"]
    )
    action = world.capture.last_payload()
    assert action["type"] == "message_action" and action["message_ts"] == message["ts"]
    assert action["message"]["text"] == "VPN is down" and action["message"]["user"] == world.bob
    assert action["channel"] == {"id": world.staff, "name": "it-staff"}
    assert action["response_url"].startswith(world.sim.base_url)
    with pytest.raises(KeyError):
        world.driver.message_shortcut("T0ACME", world.alice, "x", world.staff, "1.000000")


@needs_specs
@pytest.mark.parametrize(
    ("example", "kind"),
    [
        ("global_shortcut", "shortcut"),
        ("message_shortcut", "message_action"),
        ("block_actions_button", "block_actions"),
        ("view_submission", "view_submission"),
        ("event_message_im", "event"),
    ],
)
def test_payloads_carry_every_field_of_slacks_examples(
    world: World, example: str, kind: str
) -> None:
    assert SPEC_DIR is not None
    official = json.loads((SPEC_DIR / "payloads" / f"{example}.json").read_text())
    official_payload = official["examples"][0]["payload"]
    driver = world.driver
    card = world.client.chat_postMessage(
        channel=world.staff,
        text="card",
        blocks=[
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "a",
                        "text": {"type": "plain_text", "text": "B"},
                    }
                ],
            }
        ],
    )
    if kind == "shortcut":
        driver.global_shortcut("T0ACME", world.alice, "cb")
    elif kind == "message_action":
        driver.message_shortcut("T0ACME", world.alice, "cb", world.staff, card["ts"])
    elif kind == "block_actions":
        driver.block_action(
            "T0ACME", world.alice, "a", channel_id=world.staff, message_ts=card["ts"]
        )
    elif kind == "view_submission":
        driver.submit_view("T0ACME", world.alice, open_modal(world, TICKET_MODAL), {})
    else:
        driver.event("T0ACME", driver.message_event("T0ACME", world.dm, world.alice, "hi"))
    sent = world.capture.last_payload()
    assert set(official_payload) <= set(sent)
    if kind == "event":
        assert set(official_payload["event"]) <= set(sent["event"])
    if "view" in official_payload:
        assert set(official_payload["view"]) <= set(sent["view"])


# -- block actions --------------------------------------------------------------------------


def test_block_action_in_a_message(world: World) -> None:
    card = world.client.chat_postMessage(
        channel=world.staff,
        text="Ticket #7",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "*#7* Printer"}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "assign_to_me",
                        "text": {"type": "plain_text", "text": "Assign to me"},
                        "value": "7",
                    },
                    {"type": "static_select", "action_id": "set_priority", "options": PRIORITIES},
                ],
            },
        ],
    )
    block_id = card["message"]["blocks"][1]["block_id"]  # generated by the simulator
    world.driver.block_action(
        "T0ACME", world.alice, "assign_to_me", channel_id=world.staff, message_ts=card["ts"]
    )
    payload = world.capture.last_payload()
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": card["ts"],
        "channel_id": world.staff,
        "is_ephemeral": False,
    }
    assert payload["channel"] == {"id": world.staff, "name": "it-staff"}
    assert payload["message"]["ts"] == card["ts"] and payload["trigger_id"]
    [action] = payload["actions"]
    assert action["action_id"] == "assign_to_me" and action["block_id"] == block_id
    assert action["type"] == "button" and action["value"] == "7"
    assert action["text"]["text"] == "Assign to me"
    assert payload["state"]["values"][block_id]["set_priority"] == {
        "type": "static_select",
        "selected_option": None,
    }

    world.driver.block_action(
        "T0ACME",
        world.alice,
        "set_priority",
        channel_id=world.staff,
        message_ts=card["ts"],
        selected_option_value="high",
    )
    action = world.capture.last_payload()["actions"][0]
    assert action["selected_option"] == option("High", "high")

    # replace_original through the payload's response_url rewrites the card.
    response_url = world.capture.last_payload()["response_url"]
    request = urllib.request.Request(
        response_url,
        data=json.dumps({"replace_original": True, "text": "Assigned"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.read() == b"ok"
    assert world.sim.messages(world.staff)[0]["text"] == "Assigned"


def test_block_action_on_an_ephemeral_message(world: World) -> None:
    world.client.chat_postEphemeral(
        channel=world.staff,
        user=world.alice,
        text="Confirm?",
        blocks=[
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "confirm",
                        "text": {"type": "plain_text", "text": "Y"},
                    }
                ],
            }
        ],
    )
    ephemeral_ts = world.sim.ephemerals(world.alice)[0]["ts"]
    world.driver.block_action(
        "T0ACME", world.alice, "confirm", channel_id=world.staff, message_ts=ephemeral_ts
    )
    payload = world.capture.last_payload()
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload


def test_block_action_in_a_view_updates_view_state(world: World) -> None:
    view = {
        **TICKET_MODAL,
        "blocks": [
            *TICKET_MODAL["blocks"][:1],
            {
                "type": "actions",
                "block_id": "tools",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "category",
                        "options": [option("Hardware", "hw"), option("Software", "sw")],
                    },
                ],
            },
        ],
    }
    view_id = open_modal(world, view)
    world.driver.block_action(
        "T0ACME", world.alice, "category", view_id=view_id, selected_option_value="sw"
    )
    payload = world.capture.last_payload()
    assert payload["container"] == {"type": "view", "view_id": view_id}
    assert payload["view"]["id"] == view_id and payload["actions"][0]["block_id"] == "tools"
    selected = {"type": "static_select", "selected_option": option("Software", "sw")}
    assert payload["view"]["state"]["values"]["tools"]["category"] == selected
    assert world.sim.view(view_id)["state"]["values"]["tools"]["category"] == selected

    with pytest.raises(KeyError, match="no element with action_id"):
        world.driver.block_action("T0ACME", world.alice, "nope", view_id=view_id)
    world.driver.submit_view("T0ACME", world.alice, view_id, {"Title": "Laptop"})
    submitted = world.capture.last_payload()["view"]["state"]["values"]
    assert submitted["tools"]["category"] == selected  # earlier input is kept


# -- view submissions -------------------------------------------------------------------------


def test_submit_view_builds_slacks_state_shapes(world: World) -> None:
    view_id = open_modal(world, TICKET_MODAL)
    world.driver.submit_view(
        "T0ACME",
        world.alice,
        view_id,
        {
            "Title": "Printer on fire",  # by label
            "priority": "high",  # by block_id
            "assignee": world.bob,
            "watchers": [world.alice, world.bob],
            "flags": ["vip"],
            "where": world.staff,
            "channel": world.staff,
            "due": "2026-12-01",
        },
    )
    payload = world.capture.last_payload()
    assert payload["type"] == "view_submission" and payload["response_urls"] == []
    assert payload["view"]["callback_id"] == "new_ticket" and payload["trigger_id"]
    values = payload["view"]["state"]["values"]
    assert values == {
        "title": {"value": {"type": "plain_text_input", "value": "Printer on fire"}},
        "description": {"value": {"type": "plain_text_input", "value": "It broke"}},
        "priority": {"value": {"type": "static_select", "selected_option": option("High", "high")}},
        "assignee": {"value": {"type": "users_select", "selected_user": world.bob}},
        "watchers": {
            "value": {"type": "multi_users_select", "selected_users": [world.alice, world.bob]}
        },
        "flags": {"value": {"type": "checkboxes", "selected_options": [option("VIP", "vip")]}},
        "where": {"value": {"type": "conversations_select", "selected_conversation": world.staff}},
        "channel": {"value": {"type": "channels_select", "selected_channel": world.staff}},
        "due": {"value": {"type": "datepicker", "selected_date": "2026-12-01"}},
    }


def test_submit_view_empty_shapes_and_mistakes(world: World) -> None:
    view_id = open_modal(world, TICKET_MODAL)
    # The app answers with field errors, so the modal stays open for the next attempts.
    for _ in range(2):
        world.capture.answer(200, {"response_action": "errors", "errors": {"title": "Required"}})
    world.driver.submit_view("T0ACME", world.alice, view_id, {"Description": None})
    values = world.capture.last_payload()["view"]["state"]["values"]
    assert values["title"]["value"] == {"type": "plain_text_input", "value": None}
    assert values["description"]["value"] == {"type": "plain_text_input", "value": None}
    assert values["priority"]["value"] == {"type": "static_select", "selected_option": None}
    assert values["assignee"]["value"] == {"type": "users_select", "selected_user": None}
    assert values["watchers"]["value"] == {"type": "multi_users_select", "selected_users": []}
    assert values["flags"]["value"] == {"type": "checkboxes", "selected_options": []}

    world.driver.submit_view("T0ACME", world.alice, view_id, {})
    assert world.capture.last_payload()["view"]["state"]["values"]["description"]["value"] == {
        "type": "plain_text_input",
        "value": None,  # what the user cleared stays cleared
    }
    with pytest.raises(KeyError, match="no input 'Severity'"):
        world.driver.submit_view("T0ACME", world.alice, view_id, {"Severity": "1"})
    with pytest.raises(ValueError, match="no option with value 'urgent'"):
        world.driver.submit_view("T0ACME", world.alice, view_id, {"Priority": "urgent"})
    with pytest.raises(ValueError, match="not shown to"):
        world.driver.submit_view("T0ACME", world.bob, view_id, {})


def test_submit_view_follows_response_action(world: World) -> None:
    view_id = open_modal(world, TICKET_MODAL)

    world.capture.answer(200, {"response_action": "errors", "errors": {"title": "Too short"}})
    response = world.driver.submit_view("T0ACME", world.alice, view_id, {"Title": "x"})
    assert response.json == {"response_action": "errors", "errors": {"title": "Too short"}}
    assert [v["id"] for v in world.sim.open_views(world.alice)] == [view_id]
    assert world.sim.calls_to("response_action")[-1].ok

    # Errors keyed by an action_id instead of the input's block_id never reach the user.
    world.capture.answer(200, {"response_action": "errors", "errors": {"value": "Too short"}})
    world.driver.submit_view("T0ACME", world.alice, view_id, {"Title": "x"})
    bad = world.sim.calls_to("response_action")[-1]
    assert not bad.ok and "'value' is not the block_id" in bad.response["problems"][0]

    world.capture.answer(500)
    world.driver.submit_view("T0ACME", world.alice, view_id, {"Title": "x"})
    assert len(world.sim.open_views(world.alice)) == 1

    updated = {**TICKET_MODAL, "title": {"type": "plain_text", "text": "Check details"}}
    world.capture.answer(200, {"response_action": "update", "view": updated})
    world.driver.submit_view("T0ACME", world.alice, view_id, {"Title": "Printer"})
    [current] = world.sim.open_views(world.alice)
    assert current["id"] == view_id and current["title"]["text"] == "Check details"

    world.capture.answer(200, {"response_action": "push", "view": TICKET_MODAL})
    world.driver.submit_view("T0ACME", world.alice, view_id, {"Title": "Printer"})
    stack = world.sim.open_views(world.alice)
    assert len(stack) == 2 and stack[1]["previous_view_id"] == view_id

    world.capture.answer(200, {"response_action": "push", "view": TICKET_MODAL})
    world.driver.submit_view("T0ACME", world.alice, stack[1]["id"], {"Title": "Printer"})
    world.capture.answer(200, {"response_action": "push", "view": TICKET_MODAL})
    world.driver.submit_view("T0ACME", world.alice, stack[1]["id"], {"Title": "Printer"})
    too_deep = world.sim.calls_to("response_action")[-1]
    assert not too_deep.ok and too_deep.response["problems"] == ["push_limit_reached"]
    assert len(world.sim.open_views(world.alice)) == 3

    world.driver.submit_view("T0ACME", world.alice, stack[1]["id"], {"Title": "Printer"})
    assert [v["id"] for v in world.sim.open_views(world.alice)] == [view_id]  # plain ack pops

    world.capture.answer(200, {"response_action": "clear"})
    world.driver.submit_view("T0ACME", world.alice, view_id, {"Title": "Printer"})
    assert world.sim.open_views(world.alice) == []
    with pytest.raises(ValueError, match="closed"):
        world.driver.submit_view("T0ACME", world.alice, view_id, {})


def test_close_view_notifies_only_when_asked(world: World) -> None:
    quiet = open_modal(world, TICKET_MODAL)
    assert world.driver.close_view("T0ACME", world.alice, quiet) is None
    assert world.sim.open_views(world.alice) == [] and world.capture.requests == []

    loud = open_modal(world, {**TICKET_MODAL, "notify_on_close": True})
    response = world.driver.close_view("T0ACME", world.alice, loud)
    assert response is not None and response.status == 200
    payload = world.capture.last_payload()
    assert payload["type"] == "view_closed" and payload["is_cleared"] is False
    assert payload["view"]["id"] == loud and world.sim.open_views(world.alice) == []


# -- Events API -----------------------------------------------------------------------------


def test_event_envelope_and_retry_headers(world: World) -> None:
    event = world.driver.app_home_opened("T0ACME", world.alice)
    world.driver.event(
        "T0ACME",
        event,
        event_id="Ev0RETRY",
        event_time=1700000000,
        retry_num=1,
        retry_reason="http_timeout",
    )
    headers = world.capture.last_headers
    assert headers["X-Slack-Retry-Num"] == "1" and headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert headers["Content-Type"] == "application/json"
    envelope = world.capture.last_payload()
    assert envelope["type"] == "event_callback" and envelope["event"] == event
    assert envelope["event_id"] == "Ev0RETRY" and envelope["event_time"] == 1700000000
    assert envelope["team_id"] == "T0ACME" and envelope["api_app_id"] == "A0TICKETBOT"
    assert envelope["authorizations"] == [
        {
            "enterprise_id": None,
            "team_id": "T0ACME",
            "user_id": world.bot_user_id,
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ]
    assert envelope["event_context"]

    world.driver.event("T0ACME", event)
    assert "X-Slack-Retry-Num" not in world.capture.last_headers
    assert world.capture.last_payload()["event_id"].startswith("Ev")


def test_message_events_are_recorded_with_the_right_channel_type(world: World) -> None:
    driver = world.driver
    dm_event = driver.message_event("T0ACME", world.dm, world.alice, "my laptop died")
    assert dm_event["channel_type"] == "im" and dm_event["channel"] == world.dm
    assert dm_event["user"] == world.alice and dm_event["event_ts"] == dm_event["ts"]
    assert dm_event["type"] == "message" and "subtype" not in dm_event
    assert driver.message_event("T0ACME", world.staff, world.bob, "x")["channel_type"] == "channel"
    assert (
        driver.message_event("T0ACME", world.private, world.alice, "x")["channel_type"] == "group"
    )

    parent = world.client.chat_postMessage(channel=world.staff, text="Ticket #7")["ts"]
    reply = driver.message_event("T0ACME", world.staff, world.bob, "any update?", thread_ts=parent)
    assert reply["thread_ts"] == parent and reply["parent_user_id"] == world.bot_user_id
    replies = world.client.conversations_replies(channel=world.staff, ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["Ticket #7", "any update?"]

    shot = world.sim.add_file("T0ACME", world.alice, "error.png", b"png")
    with_file = driver.message_event("T0ACME", world.dm, world.alice, "see", files=[shot["id"]])
    assert with_file["subtype"] == "file_share" and with_file["files"][0]["id"] == shot["id"]
    assert world.client.files_info(file=shot["id"])["file"]["ims"] == [world.dm]


def test_reaction_file_home_edit_and_delete_events(world: World) -> None:
    driver = world.driver
    message = world.sim.post_user_message("T0ACME", world.staff, world.bob, "VPN down")
    reaction = driver.reaction_added("T0ACME", world.alice, "ticket", world.staff, message["ts"])
    assert reaction["item"] == {"type": "message", "channel": world.staff, "ts": message["ts"]}
    assert reaction["item_user"] == world.bob and reaction["reaction"] == "ticket"
    assert world.sim.messages(world.staff)[0]["reactions"][0]["users"] == [world.alice]

    shot = world.sim.add_file("T0ACME", world.alice, "a.png", b"png")
    shared = driver.file_shared("T0ACME", world.alice, shot["id"], world.dm)
    assert shared["file"] == {"id": shot["id"]} and shared["channel_id"] == world.dm

    assert "view" not in driver.app_home_opened("T0ACME", world.alice)
    world.client.views_publish(user_id=world.alice, view={"type": "home", "blocks": []})
    opened = driver.app_home_opened("T0ACME", world.alice)
    assert opened["view"]["type"] == "home" and opened["channel"] == world.dm

    changed = driver.message_changed("T0ACME", world.staff, message["ts"], "VPN back up")
    assert changed["subtype"] == "message_changed" and changed["hidden"] is True
    assert changed["message"]["text"] == "VPN back up"
    assert changed["previous_message"]["text"] == "VPN down"
    assert world.sim.messages(world.staff)[0]["text"] == "VPN back up"

    deleted = driver.message_deleted("T0ACME", world.staff, message["ts"])
    assert deleted["subtype"] == "message_deleted" and deleted["deleted_ts"] == message["ts"]
    assert world.sim.messages(world.staff) == []


# -- transports ----------------------------------------------------------------------------


def test_over_http_posts_to_a_real_server(world: World) -> None:
    verifier = SignatureVerifier(SECRET)
    received: list[dict[str, Any]] = []

    class App(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = verifier.is_valid_request(body, dict(self.headers.items()))
            received.append(json.loads(body))
            answer = json.dumps({"verified": ok}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), App)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        driver = SlackDriver.over_http(world.sim, SECRET, url)
        response = driver.url_verification("c-123")
        assert response.status == 200 and response.json == {"verified": True}
        assert response.headers["content-type"] == "application/json"
        assert received[-1]["challenge"] == "c-123"
        forged = driver.raw(b'{"type":"x"}', signature="v0=bad")
        assert forged.status == 401 and forged.json == {"verified": False}
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.filterwarnings("ignore::DeprecationWarning:starlette.*")
def test_bolt_app_accepts_the_driver_end_to_end(world: World) -> None:
    """A real Bolt app behind Starlette's TestClient: signature, parsing and routing."""
    from slack_bolt import App
    from slack_bolt.adapter.starlette import SlackRequestHandler
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route
    from starlette.testclient import TestClient

    team = world.sim.team("T0ACME")
    # process_before_response: listeners finish before the HTTP answer, so no polling.
    app = App(
        signing_secret=SECRET,
        client=world.client,
        token_verification_enabled=False,
        process_before_response=True,
    )
    seen: dict[str, Any] = {}

    @app.command("/ticket")
    def on_command(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=TICKET_MODAL)

    @app.view("new_ticket")
    def on_submit(ack: Any, view: dict[str, Any]) -> None:
        seen["title"] = view["state"]["values"]["title"]["value"]["value"]
        ack()

    @app.event("message")
    def on_message(event: dict[str, Any], say: Any) -> None:
        say(text="Got it", thread_ts=event["ts"])
        seen["message"] = event["text"]

    handler = SlackRequestHandler(app)

    async def endpoint(request: Request) -> Any:
        return await handler.handle(request)

    asgi = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
    driver = SlackDriver.with_client(world.sim, SECRET, TestClient(asgi))

    assert driver.slash_command("T0ACME", world.alice, "new").status == 200
    [modal] = world.sim.open_views(world.alice)
    assert (
        driver.submit_view("T0ACME", world.alice, modal["id"], {"Title": "Printer"}).status == 200
    )
    assert seen["title"] == "Printer" and world.sim.open_views(world.alice) == []

    inbound = driver.message_event("T0ACME", world.dm, world.alice, "hello")
    assert driver.event("T0ACME", inbound).status == 200
    assert world.sim.messages(world.dm)[1]["text"] == "Got it"
    assert world.sim.messages(world.dm)[1]["user"] == team.bot_user_id

    forged = driver.raw(b'{"type":"event_callback"}', signature="v0=" + "1" * 64)
    assert forged.status == 401
