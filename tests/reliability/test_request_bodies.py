"""What reaches /slack/events before Bolt: bodies too large to be Slack's are refused with
413 before they are read, and signed bodies Slack would never send (nested too deep, not
UTF-8, an interaction missing what every one of its kind has) get a 400, not a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from bot.web import MAX_SLACK_BODY_BYTES
from tests.reliability.conftest import World
from tests.reliability.test_hostile_input import answering_driver, counts, interaction

FORM = "application/x-www-form-urlencoded"


def test_a_body_over_one_megabyte_is_refused_by_its_length(world: World):
    body = json.dumps({"type": "event_callback", "pad": "x" * MAX_SLACK_BODY_BYTES}).encode()
    response = answering_driver(world).raw(body, {"Content-Type": "application/json"})
    assert response.status == 413


def test_a_chunked_body_over_one_megabyte_is_refused_while_it_streams(world: World):
    def chunks() -> Iterator[bytes]:
        for _ in range(40):  # 40 chunks of 64 KiB: 2.5 MiB in all, with no Content-Length
            yield b"x" * 65536

    response = world.http.post(
        "/slack/events",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "content-length" not in {k.lower() for k in response.request.headers}


def test_a_body_just_under_the_limit_is_still_read(world: World):
    # (Unsigned, so refused as such: the point is it was read, not refused for its size.)
    body = b"{" + b" " * (MAX_SLACK_BODY_BYTES - 2) + b"}"
    response = answering_driver(world).raw(body, {"Content-Type": "application/json"}, sign=False)
    assert response.status == 401


def deeply_nested(depth: int) -> bytes:
    return b'{"type": "event_callback", "event": ' + b"[" * depth + b"]" * depth + b"}"


def signed_bodies(world: World) -> dict[str, tuple[bytes, str]]:
    no_type_view = interaction(
        world,
        "view_submission",
        view={"id": "V0NOTYPE", "callback_id": "new_ticket_modal", "state": {"values": {}}},
    )
    broken_text = interaction(
        world,
        "block_actions",
        actions=[{"action_id": "ticket_assign_to_me", "block_id": "b", "value": "\udcff"}],
    )
    return {
        "JSON nested 100,000 deep": (deeply_nested(100_000), "application/json"),
        "JSON nested 70 deep": (deeply_nested(70), "application/json"),
        "form payload nested 100,000 deep": (
            b"payload=" + deeply_nested(100_000).replace(b" ", b""),
            FORM,
        ),
        "JSON body not UTF-8": (b'{"type": "event_callback", "x": "\xff\xfe"}', "application/json"),
        "form payload not UTF-8": (b"payload=%7B%22type%22%3A%22%FF%22%7D", FORM),
        "a lone surrogate escaped in JSON": (
            urlencode({"payload": json.dumps(broken_text)}).encode(),
            FORM,
        ),
        "a view without type": (urlencode({"payload": json.dumps(no_type_view)}).encode(), FORM),
    }


NAMES = [
    "JSON nested 100,000 deep",
    "JSON nested 70 deep",
    "form payload nested 100,000 deep",
    "JSON body not UTF-8",
    "form payload not UTF-8",
    "a lone surrogate escaped in JSON",
    "a view without type",
]


@pytest.mark.parametrize("name", NAMES)
def test_a_signed_malformed_body_is_a_400(world: World, name: str):
    world.file_ticket(world.alice, "Warm-up")
    world.deliver()
    before = counts(world)
    body, content_type = signed_bodies(world)[name]
    response = answering_driver(world).raw(body, {"Content-Type": content_type})
    assert response.status == 400, (response.status, response.text[:300])
    world.deliver()
    assert counts(world) == before


def test_a_real_replacement_character_in_a_form_is_not_taken_for_a_bad_byte(world: World):
    """Bolt reads a form's escapes leniently (a bad byte becomes U+FFFD); the check tells a
    U+FFFD that was sent (its UTF-8 escaped: %EF%BF%BD) from one that replaced a bad byte."""
    world.file_ticket(world.alice, "Warm-up")
    world.deliver()
    body = interaction(
        world,
        "block_actions",
        actions=[{"action_id": "ticket_assign_to_me", "block_id": "b", "value": "\ufffd ok"}],
    )
    form = urlencode({"payload": json.dumps(body, ensure_ascii=False)}).encode()
    assert b"%EF%BF%BD" in form
    response = answering_driver(world).raw(form, {"Content-Type": FORM})
    assert response.status == 200, (response.status, response.text[:300])
