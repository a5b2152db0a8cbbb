"""SlackSimulator tested through a real slack_sdk WebClient, as the bot will use it."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.slacksim import SlackSimulator, validate_blocks, validate_view
from bot.slacksim.blockkit import DEFAULT_LIMITS, load_limits
from bot.slacksim.specs import FALLBACK_METHOD_SPECS, default_spec_dir, load_method_specs

SPEC_DIR = default_spec_dir()
needs_specs = pytest.mark.skipif(SPEC_DIR is None, reason="../shared/slack-specs not present")


@dataclass
class World:
    sim: SlackSimulator
    client: WebClient
    team_id: str
    token: str
    bot_user_id: str
    alice: str
    bob: str
    staff: str  # public, bot is a member
    lobby: str  # public, bot is not a member
    secret: str  # private, bot is not a member


@pytest.fixture
def sim() -> Iterator[SlackSimulator]:
    with SlackSimulator() as simulator:
        yield simulator


@pytest.fixture
def world(sim: SlackSimulator) -> World:
    team = sim.add_team("T0ACME", name="Acme IT", domain="acme-it")
    alice = sim.add_user("T0ACME", name="alice", real_name="Alice Smith", email="alice@acme.test")
    bob = sim.add_user("T0ACME", name="bob", email="bob@acme.test", tz="America/New_York")
    members = [team.bot_user_id, alice["id"], bob["id"]]
    staff = sim.add_channel("T0ACME", name="it-staff", members=members)
    lobby = sim.add_channel("T0ACME", name="lobby", members=[alice["id"]])
    secret = sim.add_channel("T0ACME", name="secret", members=[alice["id"]], is_private=True)
    client = WebClient(token=team.bot_token, base_url=sim.api_url, timeout=5)
    return World(
        sim,
        client,
        "T0ACME",
        team.bot_token,
        team.bot_user_id,
        alice["id"],
        bob["id"],
        staff["id"],
        lobby["id"],
        secret["id"],
    )


def slack_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as excinfo:
        call()
    return excinfo.value


def raw_post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def modal(title: str = "New ticket", **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "new_ticket",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Create"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
        **extra,
    }


# -- authentication and dispatch ------------------------------------------------------------


def test_auth_test_returns_slacks_shape(world: World) -> None:
    response = world.client.auth_test()
    assert response.data == {
        "ok": True,
        "url": "https://acme-it.slack.com/",
        "team": "Acme IT",
        "user": "ticketbot",
        "team_id": "T0ACME",
        "user_id": world.bot_user_id,
        "bot_id": world.sim.team("T0ACME").bot_id,
        "is_enterprise_install": False,
    }
    assert response.headers["x-oauth-scopes"].split(",")[0] == "app_mentions:read"


def test_enterprise_team_reports_enterprise_id(sim: SlackSimulator) -> None:
    team = sim.add_team("T0GRID", enterprise_id="E0GRID")
    data = WebClient(token=team.bot_token, base_url=sim.api_url).auth_test().data
    assert data["enterprise_id"] == "E0GRID"


def test_missing_and_unknown_tokens_are_rejected(world: World) -> None:
    assert slack_error(WebClient(base_url=world.sim.api_url).auth_test).response.data == {
        "ok": False,
        "error": "not_authed",
    }
    bad = WebClient(token="xoxb-nope", base_url=world.sim.api_url)
    assert slack_error(bad.auth_test).response["error"] == "invalid_auth"


def test_unknown_method_is_404_unknown_method(world: World) -> None:
    error = slack_error(lambda: world.client.api_call("tickets.explode"))
    assert error.response.status_code == 404
    assert error.response.data == {"ok": False, "error": "unknown_method"}


def test_token_may_come_as_form_field_or_query_but_not_in_json(world: World) -> None:
    url = world.sim.api_url + "auth.test"
    status, body = raw_post(url, f"token={world.token}".encode())
    assert status == 200 and json.loads(body)["ok"] is True

    with urllib.request.urlopen(f"{url}?token={world.token}", timeout=5) as response:
        assert json.loads(response.read())["team_id"] == "T0ACME"

    status, body = raw_post(
        url, json.dumps({"token": world.token}).encode(), {"Content-Type": "application/json"}
    )
    assert json.loads(body)["error"] == "not_authed"


def test_json_body_is_ignored_by_form_only_methods(world: World) -> None:
    _, body = raw_post(
        world.sim.api_url + "users.info",
        json.dumps({"user": world.alice}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {world.token}"},
    )
    answer = json.loads(body)
    assert answer["error"] == "invalid_arguments"
    assert "does not read JSON bodies" in answer["response_metadata"]["messages"][0]


def test_multipart_form_bodies_are_read(world: World) -> None:
    boundary = "slacksimboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="channel"\r\n\r\n'
        f'{world.staff}\r\n--{boundary}\r\nContent-Disposition: form-data; name="text"'
        f"\r\n\r\nfrom a multipart body\r\n--{boundary}--\r\n"
    ).encode()
    status, answer = raw_post(
        world.sim.api_url + "chat.postMessage",
        body,
        {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": f"Bearer {world.token}",
        },
    )
    assert status == 200 and json.loads(answer)["message"]["text"] == "from a multipart body"


def test_recorded_calls_never_include_the_token(world: World) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    world.client.api_call(
        "chat.postMessage",
        params={"channel": world.staff, "blocks": json.dumps(blocks), "token": world.token},
    )
    call = world.sim.calls_to("chat.postMessage")[-1]
    assert "token" not in call.args
    assert call.token == world.token and call.team_id == "T0ACME"
    assert call.args["blocks"] == blocks  # form-encoded JSON is decoded for assertions
    assert call.ok and call.http_status == 200 and call.response["ts"]


# -- chat ---------------------------------------------------------------------------------


def test_post_message_shape_and_state(world: World) -> None:
    metadata = {"event_type": "ticket_created", "event_payload": {"ticket": 7}}
    response = world.client.chat_postMessage(
        channel=world.staff,
        text="Ticket #7",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*#7*"}}],
        metadata=metadata,
    )
    message = response["message"]
    assert response["channel"] == world.staff and response["ts"] == message["ts"]
    assert message["type"] == "message"
    assert message["user"] == world.bot_user_id
    assert message["bot_id"] == world.sim.team("T0ACME").bot_id
    assert message["app_id"] == "A0TICKETBOT" and message["team"] == "T0ACME"
    assert message["text"] == "Ticket #7" and message["metadata"] == metadata
    assert message["blocks"][0]["block_id"]  # Slack fills in omitted block_ids
    assert world.sim.messages(world.staff)[0]["ts"] == response["ts"]


def test_ts_values_are_unique_and_increasing(world: World) -> None:
    stamps = [
        world.client.chat_postMessage(channel=world.staff, text=str(i))["ts"] for i in range(5)
    ]
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 5


def test_thread_replies_update_the_parent(world: World) -> None:
    parent = world.sim.post_user_message("T0ACME", world.staff, world.alice, "printer broken")
    reply = world.client.chat_postMessage(channel=world.staff, text="on it", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    thread = world.sim.thread(world.staff, parent["ts"])
    assert [m["text"] for m in thread] == ["printer broken", "on it"]
    assert thread[0]["reply_count"] == 1 and thread[0]["reply_users"] == [world.bot_user_id]
    assert thread[1]["parent_user_id"] == world.alice


def test_post_to_user_id_lands_in_their_dm(world: World) -> None:
    response = world.client.chat_postMessage(channel=world.alice, text="Your ticket was created")
    assert response["channel"] == world.sim.dm_channel("T0ACME", world.alice)


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        ("lobby", "not_in_channel"),
        ("secret", "channel_not_found"),
        ("C0MISSING", "channel_not_found"),
    ],
)
def test_post_message_channel_errors(world: World, channel: str, error: str) -> None:
    channel_id = getattr(world, channel, channel)
    failure = slack_error(lambda: world.client.chat_postMessage(channel=channel_id, text="x"))
    assert failure.response.data == {"ok": False, "error": error}
    assert world.sim.calls[-1].ok is False and world.sim.calls[-1].error == error


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
def test_post_message_argument_errors(world: World) -> None:
    post = world.client.chat_postMessage
    assert slack_error(lambda: post(channel=world.staff)).response["error"] == "no_text"
    assert (
        slack_error(lambda: post(channel=world.staff, text="x" * 40_001)).response["error"]
        == "msg_too_long"
    )

    missing = slack_error(lambda: world.client.api_call("chat.postMessage", json={"text": "x"}))
    assert missing.response.data == {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {"messages": ["[ERROR] missing required field: channel"]},
    }
    not_bool = slack_error(
        lambda: world.client.api_call(
            "chat.postMessage",
            params={"channel": world.staff, "text": "x", "reply_broadcast": "maybe"},
        )
    )
    assert not_bool.response["error"] == "invalid_arguments"
    assert "reply_broadcast" in not_bool.response["response_metadata"]["messages"][0]

    broken = slack_error(
        lambda: world.client.api_call(
            "chat.postMessage", params={"channel": world.staff, "blocks": "[{not json"}
        )
    )
    # Slack's documented code for undecodable blocks (docs-slack-dev chat.postMessage errors).
    assert broken.response["error"] == "invalid_blocks_format"

    conflict = slack_error(lambda: post(channel=world.staff, text="a", markdown_text="*b*"))
    assert conflict.response["error"] == "markdown_text_conflict"


def test_block_kit_limits_reject_with_invalid_blocks(world: World) -> None:
    too_long = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]
    failure = slack_error(
        lambda: world.client.chat_postMessage(channel=world.staff, text="t", blocks=too_long)
    )
    assert failure.response["error"] == "invalid_blocks"
    assert failure.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]"
    ]
    too_many = [{"type": "divider"}] * 51
    failure = slack_error(
        lambda: world.client.chat_postMessage(channel=world.staff, text="t", blocks=too_many)
    )
    assert "no more than 50 items allowed" in failure.response["response_metadata"]["messages"][0]


def test_chat_update_shape_and_rules(world: World) -> None:
    posted = world.client.chat_postMessage(
        channel=world.staff,
        text="open",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "open"}}],
    )
    updated = world.client.chat_update(channel=world.staff, ts=posted["ts"], text="closed")
    assert updated.data["ok"] and updated["channel"] == world.staff
    assert updated["ts"] == posted["ts"] and updated["text"] == "closed"
    assert updated["message"]["text"] == "closed"
    assert updated["message"]["blocks"] == posted["message"]["blocks"]  # omitted -> kept
    assert updated["message"]["edited"]["user"] == world.bot_user_id

    cleared = world.client.chat_update(channel=world.staff, ts=posted["ts"], text="x", blocks=[])
    assert "blocks" not in cleared["message"]

    unknown = slack_error(lambda: world.client.chat_update(channel=world.staff, ts="1.2", text="x"))
    assert unknown.response["error"] == "message_not_found"
    human = world.sim.post_user_message("T0ACME", world.staff, world.alice, "mine")
    foreign = slack_error(
        lambda: world.client.chat_update(channel=world.staff, ts=human["ts"], text="x")
    )
    assert foreign.response["error"] == "cant_update_message"


def test_post_ephemeral_is_visible_to_one_user(world: World) -> None:
    response = world.client.chat_postEphemeral(channel=world.staff, user=world.alice, text="psst")
    assert set(response.data) == {"ok", "message_ts"}
    [ephemeral] = world.sim.ephemerals(world.alice)
    assert ephemeral["text"] == "psst" and ephemeral["channel"] == world.staff
    assert world.sim.ephemerals(world.bob) == []
    outsider = world.sim.add_user("T0ACME", name="carol")["id"]
    failure = slack_error(
        lambda: world.client.chat_postEphemeral(channel=world.staff, user=outsider, text="x")
    )
    assert failure.response["error"] == "user_not_in_channel"


def test_delete_and_permalink(world: World) -> None:
    parent = world.client.chat_postMessage(channel=world.staff, text="parent")["ts"]
    reply = world.client.chat_postMessage(channel=world.staff, text="r", thread_ts=parent)["ts"]
    link = world.client.chat_getPermalink(channel=world.staff, message_ts=parent)
    assert link["permalink"] == (
        f"https://acme-it.slack.com/archives/{world.staff}/p{parent.replace('.', '')}"
    )
    reply_link = world.client.chat_getPermalink(channel=world.staff, message_ts=reply)["permalink"]
    assert reply_link.endswith(f"?thread_ts={parent}&cid={world.staff}")

    deleted = world.client.chat_delete(channel=world.staff, ts=reply)
    assert deleted.data == {"ok": True, "channel": world.staff, "ts": reply}
    assert [m["ts"] for m in world.sim.messages(world.staff)] == [parent]
    again = slack_error(lambda: world.client.chat_delete(channel=world.staff, ts=reply))
    assert again.response["error"] == "message_not_found"


# -- conversations --------------------------------------------------------------------------


def test_conversations_open_is_stable_per_user(world: World) -> None:
    first = world.client.conversations_open(users=world.alice)
    assert first.data == {"ok": True, "channel": {"id": first["channel"]["id"]}}
    assert first["channel"]["id"].startswith("D")
    assert world.client.conversations_open(users=world.alice)["channel"] == first["channel"]
    assert world.sim.dm_channel("T0ACME", world.alice) == first["channel"]["id"]
    full = world.client.conversations_open(users=world.alice, return_im=True)
    assert full["channel"]["is_im"] is True and full["channel"]["user"] == world.alice

    assert (
        slack_error(lambda: world.client.conversations_open(users="U0NOBODY")).response["error"]
        == "user_not_found"
    )
    nobody = slack_error(lambda: world.client.api_call("conversations.open"))
    assert nobody.response["error"] == "users_list_not_supplied"


def test_conversations_info(world: World) -> None:
    info = world.client.conversations_info(channel=world.staff, include_num_members=True)
    channel = info["channel"]
    assert channel["id"] == world.staff and channel["name"] == "it-staff"
    assert channel["is_channel"] and not channel["is_private"] and channel["is_member"]
    assert channel["num_members"] == 3
    assert world.client.conversations_info(channel=world.lobby)["channel"]["is_member"] is False
    hidden = slack_error(lambda: world.client.conversations_info(channel=world.secret))
    assert hidden.response["error"] == "channel_not_found"


def test_conversations_members_paginates(world: World) -> None:
    extra = [world.sim.add_user("T0ACME", name=f"tech{i}")["id"] for i in range(3)]
    everyone = [world.bot_user_id, world.alice, world.bob, *extra]
    world.sim.set_channel_members("T0ACME", world.staff, everyone)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = world.client.conversations_members(channel=world.staff, limit=2, cursor=cursor)
        seen += page["members"]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert seen == everyone and pages == 3
    bad = slack_error(lambda: world.client.conversations_members(channel=world.staff, cursor="!"))
    assert bad.response["error"] == "invalid_cursor"


def test_conversations_history_and_replies(world: World) -> None:
    metadata = {"event_type": "ticket", "event_payload": {"id": 1}}
    first = world.client.chat_postMessage(channel=world.staff, text="one", metadata=metadata)["ts"]
    second = world.client.chat_postMessage(channel=world.staff, text="two")["ts"]
    world.client.chat_postMessage(channel=world.staff, text="reply", thread_ts=first)
    third = world.client.chat_postMessage(channel=world.staff, text="three")["ts"]

    history = world.client.conversations_history(channel=world.staff)
    assert [m["text"] for m in history["messages"]] == ["three", "two", "one"]
    assert history["has_more"] is False and "metadata" not in history["messages"][2]
    with_meta = world.client.conversations_history(channel=world.staff, include_all_metadata=True)
    assert with_meta["messages"][2]["metadata"] == metadata

    window = world.client.conversations_history(channel=world.staff, oldest=first, latest=third)
    assert [m["ts"] for m in window["messages"]] == [second]
    limited = world.client.conversations_history(channel=world.staff, limit=2)
    assert limited["has_more"] is True and limited["response_metadata"]["next_cursor"]

    replies = world.client.conversations_replies(channel=world.staff, ts=first)
    assert [m["text"] for m in replies["messages"]] == ["one", "reply"]
    assert replies["messages"][0]["reply_count"] == 1 and replies["has_more"] is False
    missing = slack_error(lambda: world.client.conversations_replies(channel=world.staff, ts="1.1"))
    assert missing.response["error"] == "thread_not_found"
    outside = slack_error(lambda: world.client.conversations_history(channel=world.lobby))
    assert outside.response["error"] == "not_in_channel"


# -- views --------------------------------------------------------------------------------


def test_views_open_shape_and_trigger_rules(world: World) -> None:
    trigger = world.sim.new_trigger_id("T0ACME", world.alice)
    view = world.client.views_open(trigger_id=trigger, view=modal(private_metadata="42"))["view"]
    assert view["id"].startswith("V") and view["team_id"] == "T0ACME"
    assert view["type"] == "modal" and view["callback_id"] == "new_ticket"
    assert view["private_metadata"] == "42" and view["state"] == {"values": {}}
    assert view["root_view_id"] == view["id"] and view["previous_view_id"] is None
    assert view["app_id"] == "A0TICKETBOT" and view["hash"]
    assert view["bot_id"] == world.sim.team("T0ACME").bot_id
    assert [v["id"] for v in world.sim.open_views(world.alice)] == [view["id"]]
    assert world.sim.view(view["id"])["title"]["text"] == "New ticket"

    reused = slack_error(lambda: world.client.views_open(trigger_id=trigger, view=modal()))
    assert reused.response["error"] == "exchanged_trigger_id"
    forged = slack_error(lambda: world.client.views_open(trigger_id="1.2.abc", view=modal()))
    assert forged.response["error"] == "invalid_trigger_id"


def test_expired_trigger(sim: SlackSimulator, world: World) -> None:
    sim.workspace.trigger_ttl = 0.0
    trigger = sim.new_trigger_id("T0ACME", world.alice)
    time.sleep(0.01)
    failure = slack_error(lambda: world.client.views_open(trigger_id=trigger, view=modal()))
    assert failure.response["error"] == "expired_trigger_id"


def test_views_validation_errors(world: World) -> None:
    def open_with(view: dict[str, Any]) -> SlackApiError:
        trigger = world.sim.new_trigger_id("T0ACME", world.alice)
        return slack_error(lambda: world.client.views_open(trigger_id=trigger, view=view))

    long_title = open_with(modal(title="A title longer than twenty-four"))
    assert long_title.response["error"] == "invalid_arguments"
    assert long_title.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    no_submit = modal()
    del no_submit["submit"]
    assert "submit" in open_with(no_submit).response["response_metadata"]["messages"][0]
    too_much = open_with(modal(private_metadata="x" * 3001, callback_id="c" * 256))
    assert len(too_much.response["response_metadata"]["messages"]) == 2
    missing_trigger = slack_error(
        lambda: world.client.api_call("views.open", json={"view": modal()})
    )
    assert missing_trigger.response["error"] == "invalid_arguments"


def test_views_push_update_and_hash(world: World) -> None:
    root = world.client.views_open(
        trigger_id=world.sim.new_trigger_id("T0ACME", world.alice), view=modal()
    )["view"]
    pushed = world.client.views_push(
        trigger_id=world.sim.new_trigger_id("T0ACME", world.alice),
        view=modal(title="Details", external_id="details-1"),
    )["view"]
    assert pushed["previous_view_id"] == root["id"] and pushed["root_view_id"] == root["id"]
    assert [v["id"] for v in world.sim.open_views(world.alice)] == [root["id"], pushed["id"]]

    updated = world.client.views_update(
        external_id="details-1", view=modal(title="Details v2"), hash=pushed["hash"]
    )["view"]
    assert updated["id"] == pushed["id"] and updated["title"]["text"] == "Details v2"
    assert updated["hash"] != pushed["hash"]
    stale = slack_error(
        lambda: world.client.views_update(view_id=pushed["id"], view=modal(), hash=pushed["hash"])
    )
    assert stale.response["error"] == "hash_conflict"
    unknown = slack_error(lambda: world.client.views_update(view_id="V0NOPE", view=modal()))
    assert unknown.response["error"] == "not_found"

    world.client.views_push(
        trigger_id=world.sim.new_trigger_id("T0ACME", world.alice), view=modal()
    )
    limit = slack_error(
        lambda: world.client.views_push(
            trigger_id=world.sim.new_trigger_id("T0ACME", world.alice), view=modal()
        )
    )
    assert limit.response["error"] == "push_limit_reached"


def test_views_publish_home_tab(world: World) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Your tickets"}}],
    }
    first = world.client.views_publish(user_id=world.alice, view=home)["view"]
    assert first["type"] == "home" and first["close"] is None and first["submit"] is None
    again = world.client.views_publish(user_id=world.alice, view=home, hash=first["hash"])["view"]
    assert again["id"] == first["id"]
    assert world.sim.home_view("T0ACME", world.alice)["hash"] == again["hash"]
    assert world.sim.home_view("T0ACME", world.bob) is None
    stale = slack_error(
        lambda: world.client.views_publish(user_id=world.alice, view=home, hash=first["hash"])
    )
    assert stale.response["error"] == "hash_conflict"
    nobody = slack_error(lambda: world.client.views_publish(user_id="U0NOBODY", view=home))
    assert nobody.response["response_metadata"]["messages"] == ["[ERROR] invalid `user_id`"]
    huge = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    assert (
        slack_error(lambda: world.client.views_publish(user_id=world.alice, view=huge)).response[
            "error"
        ]
        == "invalid_arguments"
    )


# -- users --------------------------------------------------------------------------------


def test_users_info_and_lookup(world: World) -> None:
    user = world.client.users_info(user=world.alice)["user"]
    assert user["id"] == world.alice and user["team_id"] == "T0ACME" and user["name"] == "alice"
    assert user["profile"]["email"] == "alice@acme.test"
    assert user["profile"]["real_name"] == "Alice Smith"
    assert user["profile"]["display_name"] == "alice"
    assert user["tz"] == "Europe/London" and isinstance(user["tz_offset"], int)
    assert user["is_admin"] is False and user["is_owner"] is False and user["is_bot"] is False
    bob = world.client.users_info(user=world.bob)["user"]
    assert bob["tz_offset"] in (-18000, -14400)  # New York, with or without DST
    assert world.client.users_info(user=world.bot_user_id)["user"]["is_bot"] is True

    found = world.client.users_lookupByEmail(email="BOB@acme.test")["user"]
    assert found["id"] == world.bob
    assert (
        slack_error(lambda: world.client.users_info(user="U0NOBODY")).response["error"]
        == "user_not_found"
    )
    assert (
        slack_error(lambda: world.client.users_lookupByEmail(email="x@y.z")).response["error"]
        == "users_not_found"
    )


def test_users_of_other_workspaces_are_invisible(sim: SlackSimulator, world: World) -> None:
    other = sim.add_team("T0OTHER", domain="other")
    stranger = sim.add_user("T0OTHER", name="mallory")["id"]
    assert (
        slack_error(lambda: world.client.users_info(user=stranger)).response["error"]
        == "user_not_found"
    )
    channel = sim.add_channel("T0OTHER", name="x", members=[other.bot_user_id])["id"]
    assert (
        slack_error(lambda: world.client.chat_postMessage(channel=channel, text="x")).response[
            "error"
        ]
        == "channel_not_found"
    )


# -- files --------------------------------------------------------------------------------


def test_files_info_and_download_requires_bot_token(world: World) -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    added = world.sim.add_file("T0ACME", world.alice, "screen shot.png", png)
    info = world.client.files_info(file=added["id"])["file"]
    assert info == added
    assert info["name"] == "screen shot.png" and info["mimetype"] == "image/png"
    assert info["size"] == len(png) and info["is_external"] is False
    assert info["url_private_download"].startswith(world.sim.base_url + "/files-pri/T0ACME-")

    url = info["url_private_download"]
    authorized = urllib.request.Request(url, headers={"Authorization": f"Bearer {world.token}"})
    with urllib.request.urlopen(authorized, timeout=5) as response:
        assert response.read() == png and response.headers["Content-Type"] == "image/png"
    with urllib.request.urlopen(url, timeout=5) as response:  # no token: Slack's login page
        assert response.headers["Content-Type"].startswith("text/html")
        assert b"Sign in" in response.read()
    download = world.sim.calls_to("file_download")
    assert [c.ok for c in download] == [True, False]

    assert (
        slack_error(lambda: world.client.files_info(file="F0NOPE")).response["error"]
        == "file_not_found"
    )


def test_upload_flow_shares_into_thread(world: World) -> None:
    parent = world.client.chat_postMessage(channel=world.staff, text="ticket #1")["ts"]
    result = world.client.files_upload_v2(
        channel=world.staff,
        thread_ts=parent,
        content=b"log line 1\nlog line 2\n",
        filename="install.log",
        title="Install log",
        initial_comment="Attached the log",
    )
    file_id = result["file"]["id"]
    assert result["file"]["title"] == "Install log"
    reply = world.sim.thread(world.staff, parent)[1]
    assert reply["text"] == "Attached the log" and reply["files"][0]["id"] == file_id
    assert world.sim.file_content(file_id) == b"log line 1\nlog line 2\n"
    assert [c.method for c in world.sim.calls][-3:] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]
    never_uploaded = world.client.files_getUploadURLExternal(filename="a.txt", length=3)
    failure = slack_error(
        lambda: world.client.files_completeUploadExternal(
            files=[{"id": never_uploaded["file_id"]}], channel_id=world.staff
        )
    )
    assert failure.response["error"] == "file_not_found"


# -- reactions, oauth ---------------------------------------------------------------------


def test_reactions_add(world: World) -> None:
    message = world.sim.post_user_message("T0ACME", world.staff, world.alice, "help")
    assert world.client.reactions_add(channel=world.staff, timestamp=message["ts"], name="eyes")
    assert world.sim.messages(world.staff)[0]["reactions"] == [
        {"name": "eyes", "users": [world.bot_user_id], "count": 1}
    ]
    again = slack_error(
        lambda: world.client.reactions_add(
            channel=world.staff, timestamp=message["ts"], name="eyes"
        )
    )
    assert again.response["error"] == "already_reacted"


def test_oauth_v2_access(sim: SlackSimulator, world: World) -> None:
    sim.register_oauth_app("111.222", "shh")
    code = sim.new_oauth_code("T0ACME")
    client = WebClient(base_url=sim.api_url)
    data = client.oauth_v2_access(client_id="111.222", client_secret="shh", code=code).data
    assert data["access_token"] == world.token and data["token_type"] == "bot"
    assert data["bot_user_id"] == world.bot_user_id and data["app_id"] == "A0TICKETBOT"
    assert data["team"] == {"id": "T0ACME", "name": "Acme IT"} and data["enterprise"] is None
    assert data["is_enterprise_install"] is False and data["authed_user"] == {"id": world.alice}
    assert "chat:write" in data["scope"].split(",")
    assert sim.calls_to("oauth.v2.access")[-1].args.get("client_secret") in (None, "(redacted)")

    reused = slack_error(
        lambda: client.oauth_v2_access(client_id="111.222", client_secret="shh", code=code)
    )
    assert reused.response["error"] == "invalid_code"
    wrong = slack_error(
        lambda: client.oauth_v2_access(
            client_id="111.222", client_secret="nope", code=sim.new_oauth_code("T0ACME")
        )
    )
    assert wrong.response["error"] == "bad_client_secret"
    grid = sim.new_oauth_code("T0ACME", enterprise_id="E0GRID")
    data = client.oauth_v2_access(client_id="111.222", client_secret="shh", code=grid).data
    assert data["enterprise"]["id"] == "E0GRID"


# -- response_url -------------------------------------------------------------------------


def test_response_url_records_and_delivers(world: World) -> None:
    url = world.sim.new_response_url("T0ACME", world.staff, world.alice)
    status, body = raw_post(url, json.dumps({"text": "Only you can see this"}).encode())
    assert (status, body) == (200, b"ok")
    call = world.sim.calls_to("response_url")[-1]
    assert call.args == {"text": "Only you can see this"}
    assert (call.channel_id, call.user_id, call.token) == (world.staff, world.alice, None)
    assert world.sim.ephemerals(world.alice)[-1]["text"] == "Only you can see this"

    raw_post(url, json.dumps({"text": "Everyone", "response_type": "in_channel"}).encode())
    assert world.sim.messages(world.staff)[-1]["text"] == "Everyone"

    card = world.client.chat_postMessage(channel=world.staff, text="card")["ts"]
    replace_url = world.sim.new_response_url("T0ACME", world.staff, world.alice, card)
    raw_post(replace_url, json.dumps({"replace_original": True, "text": "card v2"}).encode())
    assert [m["text"] for m in world.sim.messages(world.staff) if m["ts"] == card] == ["card v2"]

    status, _ = raw_post(world.sim.base_url + "/response_url/T0ACME/nope/nope", b"{}")
    assert status == 404
    status, body = raw_post(url, json.dumps({"blocks": [{"type": "nope"}]}).encode())
    assert status == 400 and body.startswith(b"invalid_blocks")


# -- fault injection ----------------------------------------------------------------------


def test_fail_next_targets_method_and_count(world: World) -> None:
    world.sim.fail_next("chat.postMessage", error="fatal_error", count=2)
    assert world.client.auth_test()["ok"]
    for _ in range(2):
        failure = slack_error(lambda: world.client.chat_postMessage(channel=world.staff, text="x"))
        assert failure.response.status_code == 200
        assert failure.response.data == {"ok": False, "error": "fatal_error"}
    assert world.client.chat_postMessage(channel=world.staff, text="x")["ok"]
    failed = [c for c in world.sim.calls_to("chat.postMessage") if not c.ok]
    assert len(failed) == 2 and failed[0].args == {"channel": world.staff, "text": "x"}

    world.sim.fail_next()
    assert slack_error(world.client.auth_test).response["error"] == "internal_error"

    # A fault for one channel leaves calls naming other channels alone.
    world.sim.fail_next("chat.postMessage", error="fatal_error", channel=world.staff)
    other = world.client.conversations_open(users=world.alice)["channel"]["id"]
    assert world.client.chat_postMessage(channel=other, text="x")["ok"]
    assert (
        slack_error(lambda: world.client.chat_postMessage(channel=world.staff, text="x")).response[
            "error"
        ]
        == "fatal_error"
    )


def test_rate_limit_honoured_by_sdk_retry_handler(world: World) -> None:
    world.sim.rate_limit_next("chat.postMessage", retry_after=1)
    plain = slack_error(lambda: world.client.chat_postMessage(channel=world.staff, text="x"))
    assert plain.response.status_code == 429 and plain.response.headers["retry-after"] == "1"
    assert plain.response["error"] == "ratelimited"

    world.sim.rate_limit_next("chat.postMessage", retry_after=1)
    retrying = WebClient(
        token=world.token,
        base_url=world.sim.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    started = time.monotonic()
    assert retrying.chat_postMessage(channel=world.staff, text="x")["ok"]
    assert time.monotonic() - started >= 1.0
    attempts = world.sim.calls_to("chat.postMessage")[-2:]
    assert [(c.http_status, c.error) for c in attempts] == [(429, "ratelimited"), (200, None)]
    assert attempts[1].at - attempts[0].at >= 1.0


def test_outage_error_mode(world: World) -> None:
    world.sim.set_outage("error", http_status=500)
    failure = slack_error(world.client.auth_test)
    assert failure.response.status_code == 500
    assert failure.response.data == {"ok": False, "error": "internal_error"}
    assert world.sim.calls[-1].http_status == 500 and not world.sim.calls[-1].ok
    world.sim.set_outage(None)
    assert world.client.auth_test()["ok"]


def test_outage_timeout_mode_makes_the_client_time_out(world: World) -> None:
    world.sim.timeout_sleep = 2
    world.sim.set_outage("timeout")
    impatient = WebClient(token=world.token, base_url=world.sim.api_url, timeout=0.5)
    started = time.monotonic()
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        impatient.auth_test()
    assert time.monotonic() - started < 2
    assert world.sim.calls[-1].error == "timeout"
    world.sim.set_outage(None)
    assert impatient.auth_test()["ok"]


def test_outage_refuse_mode_and_recovery_on_same_port(world: World) -> None:
    port = world.sim.port
    world.sim.set_outage("refuse")
    # No retry handlers: slack_sdk's default one would retry the refused connection once.
    no_retry = WebClient(token=world.token, base_url=world.sim.api_url, retry_handlers=[])
    with pytest.raises(urllib.error.URLError) as excinfo:
        no_retry.auth_test()
    assert isinstance(excinfo.value.reason, ConnectionRefusedError)
    world.sim.set_outage(None)
    assert world.sim.port == port
    assert world.client.auth_test()["ok"]


def test_concurrent_calls_keep_state_consistent(world: World) -> None:
    def post(worker: int) -> None:
        client = WebClient(token=world.token, base_url=world.sim.api_url, timeout=5)
        for i in range(10):
            client.chat_postMessage(channel=world.staff, text=f"{worker}-{i}")

    threads = [threading.Thread(target=post, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps = [m["ts"] for m in world.sim.messages(world.staff)]
    assert len(stamps) == 50 and len(set(stamps)) == 50
    assert stamps == sorted(stamps, key=float)  # posting order == ts order
    assert len(world.sim.calls_to("chat.postMessage")) == 50


def test_latency_delays_every_call(world: World) -> None:
    world.sim.latency = 0.05
    started = time.monotonic()
    world.client.auth_test()
    assert time.monotonic() - started >= 0.05


# -- Block Kit validation and spec fidelity ---------------------------------------------------


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": "go",
        "text": {"type": "plain_text", "text": "Go"},
        **overrides,
    }


def _select(options: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": "pick",
        "placeholder": {"type": "plain_text", "text": "Pick"},
        "options": options,
    }


def _option(text: str = "A", value: str = "a") -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


@pytest.mark.parametrize(
    ("blocks", "fragment"),
    [
        ([_section("x" * 3001)], "/blocks/0/text/text"),
        ([_section("")], "must be more than 0 characters"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "/fields"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "/fields/0"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "151"),
        ([{**_section("x"), "block_id": "b" * 256}], "/block_id"),
        ([{**_section("x"), "block_id": "same"}, {"type": "divider", "block_id": "same"}], "dup"),
        ([{"type": "actions", "elements": [_button(action_id=f"a{i}") for i in range(26)]}], "25"),
        ([{"type": "actions", "elements": [_button(action_id="a" * 256)]}], "/action_id"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "10"),
        (
            [
                {
                    "type": "actions",
                    "elements": [_button(text={"type": "plain_text", "text": "t" * 76})],
                }
            ],
            "76",
        ),
        ([{"type": "actions", "elements": [_button(value="v" * 2001)]}], "/value"),
        ([{"type": "actions", "elements": [_select([_option("o" * 76)])]}], "/options/0/text/text"),
        (
            [{"type": "actions", "elements": [_select([_option(value="v" * 151)])]}],
            "/options/0/value",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [_select([_option(value=str(i)) for i in range(101)])],
                }
            ],
            "100",
        ),
        ([{"type": "divider"}] * 51, "no more than 50"),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "overflow",
                            "action_id": "more",
                            "options": [_option(value=str(i)) for i in range(6)],
                        }
                    ],
                }
            ],
            "/options",
        ),
        ([{"type": "mystery"}], "unsupported block type"),
    ],
)
def test_validate_blocks_limits(blocks: list[dict[str, Any]], fragment: str) -> None:
    problems = validate_blocks(blocks, "message")
    assert problems and any(fragment in p for p in problems), problems


def test_validate_blocks_accepts_valid_payloads_and_surface_limits() -> None:
    good = [
        {"type": "header", "text": {"type": "plain_text", "text": "Ticket #7"}},
        _section("*Printer* on fire"),
        {"type": "actions", "elements": [_button(value="7"), _select([_option()])]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "opened by <@U1>"}]},
        {"type": "divider"},
    ]
    assert validate_blocks(good, "message") == []
    assert validate_blocks([{"type": "divider"}] * 100, "modal") == []
    assert validate_blocks([{"type": "divider"}] * 101, "home") != []


def test_validate_view_rules() -> None:
    assert validate_view(modal()) == []
    text_input = {"type": "plain_text_input", "action_id": "v", "max_length": 3001}
    broken = modal(
        close={"type": "plain_text", "text": "c" * 25},
        private_metadata="m" * 3001,
        callback_id="c" * 256,
        blocks=[
            {"type": "input", "label": {"type": "plain_text", "text": "T"}, "element": text_input}
        ],
    )
    problems = validate_view(broken)
    for fragment in ("/view/close/text", "/private_metadata", "/callback_id", "/max_length"):
        assert any(fragment in p for p in problems), (fragment, problems)


@needs_specs
def test_limit_constants_equal_the_spec_file() -> None:
    assert SPEC_DIR is not None
    assert load_limits(SPEC_DIR) == DEFAULT_LIMITS
    raw = json.loads((SPEC_DIR / "limits" / "block_kit_limits.json").read_text())["limits"]
    assert (
        raw["message.blocks[] (chat.postMessage / chat.update / chat.postEphemeral)"]["limit"]
        == DEFAULT_LIMITS.message_blocks
    )
    assert raw["modal.title.text"]["limit"] == DEFAULT_LIMITS.modal_title


@needs_specs
def test_method_constants_equal_the_spec_files() -> None:
    assert load_method_specs(SPEC_DIR) == FALLBACK_METHOD_SPECS


def test_simulator_works_without_the_spec_folder(tmp_path: Path) -> None:
    with SlackSimulator(spec_dir=tmp_path) as sim:
        assert sim.method_specs == FALLBACK_METHOD_SPECS
        assert sim.workspace.limits == DEFAULT_LIMITS
        team = sim.add_team("T0DEMO")
        assert WebClient(token=team.bot_token, base_url=sim.api_url).auth_test()["ok"]


def test_basic_auth_header_is_parsed_for_oauth(sim: SlackSimulator) -> None:
    sim.add_team("T0ACME")
    sim.register_oauth_app("cid", "secret")
    code = sim.new_oauth_code("T0ACME")
    credentials = base64.b64encode(b"cid:secret").decode()
    status, body = raw_post(
        sim.api_url + "oauth.v2.access",
        f"code={code}".encode(),
        {"Authorization": f"Basic {credentials}"},
    )
    assert status == 200 and json.loads(body)["ok"] is True
