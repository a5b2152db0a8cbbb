"""Requests to /slack/events that Slack did not sign, or signed for something else, are
refused with 401 before anything happens: no organization, member, ticket, comment, event
receipt or outbox row, and no Slack call made on their behalf."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bot.slacksim import DriverResponse, SlackDriver, compute_signature
from tests.reliability.conftest import SIGNING_SECRET, World, row_counts

STALE_SECONDS = 5 * 60 + 1  # Slack's rule: refuse requests older than five minutes


@dataclass(frozen=True)
class Captured:
    body: bytes
    headers: dict[str, str]

    @property
    def content_type(self) -> str:
        return self.headers["Content-Type"]


def capture(world: World, build: Callable[[SlackDriver], object]) -> Captured:
    """The exact request the driver would send (body and headers), without sending it."""
    sent: list[Captured] = []

    def keep(body: bytes, headers: dict[str, str]) -> DriverResponse:
        sent.append(Captured(body, dict(headers)))
        return DriverResponse(200)

    build(SlackDriver(world.sim, SIGNING_SECRET, keep))
    (request,) = sent
    return request


def tampered(world: World, request: Captured, other: Captured) -> dict[str, DriverResponse]:
    """Send `request` unsigned, forged, stale and with `other`'s signature."""
    raw = world.driver.raw
    now = int(time.time())
    content = {"Content-Type": request.content_type}
    stale = now - STALE_SECONDS
    other_ts = other.headers["X-Slack-Request-Timestamp"]
    return {
        "missing": raw(request.body, content, sign=False),
        "signature only": raw(
            request.body,
            {**content, "X-Slack-Signature": compute_signature(SIGNING_SECRET, str(now), b"")},
            sign=False,
        ),
        "forged": raw(
            request.body,
            content,
            signature=compute_signature("not-the-signing-secret", str(now), request.body),
            timestamp=now,
        ),
        # Signed with the right secret, but five minutes and a second ago: a replay.
        "stale": raw(
            request.body,
            content,
            signature=compute_signature(SIGNING_SECRET, str(stale), request.body),
            timestamp=stale,
        ),
        # A genuine signature and timestamp, taken from another request's body.
        "body-swapped": raw(
            request.body,
            content,
            signature=other.headers["X-Slack-Signature"],
            timestamp=other_ts,
        ),
        # The body changed by one character after signing.
        "tampered": raw(
            request.body.replace(b"T", b"U", 1),
            content,
            signature=request.headers["X-Slack-Signature"],
            timestamp=request.headers["X-Slack-Request-Timestamp"],
        ),
    }


def assert_refused_without_effect(world: World, request: Captured, other: Captured) -> None:
    world.deliver()  # settle what earlier, genuine requests caused
    before_rows = row_counts(world.db)
    before_calls = len(world.sim.calls)
    answers = tampered(world, request, other)
    assert {name: r.status for name, r in answers.items()} == dict.fromkeys(answers, 401)
    world.deliver()
    assert row_counts(world.db) == before_rows
    assert world.sim.calls[before_calls:] == []
    # The very same request, properly signed, is accepted: the refusals were the signature.
    accepted = world.driver.raw(request.body, {"Content-Type": request.content_type})
    assert accepted.status == 200, accepted.text


def test_slash_command_with_a_bad_signature_creates_nothing(world: World):
    command = capture(world, lambda d: d.slash_command(world.team, world.alice, text="VPN down"))
    other = capture(world, lambda d: d.slash_command(world.team, world.bob, text="help"))
    # A first contact: a refused request must not even create the organization or member.
    assert row_counts(world.db)["organization"] == 0
    assert_refused_without_effect(world, command, other)
    assert world.open_modal(world.alice)["blocks"][0]["element"]["initial_value"] == "VPN down"


def test_view_submission_with_a_bad_signature_files_nothing(world: World):
    world.driver.slash_command(world.team, world.alice, text="")
    modal = world.open_modal(world.alice)
    submission = capture(
        world,
        lambda d: d.submit_view(world.team, world.alice, modal["id"], {"title": "Laptop fan"}),
    )
    world.driver.slash_command(world.team, world.bob, text="")
    other_modal = world.open_modal(world.bob)
    other = capture(
        world, lambda d: d.submit_view(world.team, world.bob, other_modal["id"], {"title": "x"})
    )
    assert_refused_without_effect(world, submission, other)
    assert [t.title for t in world.tickets()] == ["Laptop fan"]


def test_event_with_a_bad_signature_files_nothing(world: World):
    message = world.sim.post_user_message(world.team, world.general, world.alice, "Wifi is down")
    reaction = world.driver.reaction_added(
        world.team, world.tech, "ticket", world.general, message["ts"]
    )
    event = capture(world, lambda d: d.event(world.team, reaction))
    other = capture(world, lambda d: d.url_verification("a-challenge"))
    assert_refused_without_effect(world, event, other)
    world.deliver()  # the genuine delivery queued a filing job; the worker files it
    assert [t.title for t in world.tickets()] == ["Wifi is down"]


@pytest.mark.parametrize("retry_num", [1, 3])
def test_a_retry_header_does_not_excuse_a_bad_signature(world: World, retry_num: int):
    message = world.sim.post_user_message(world.team, world.general, world.bob, "Disk full")
    reaction = world.driver.reaction_added(
        world.team, world.tech, "ticket", world.general, message["ts"]
    )
    event = capture(world, lambda d: d.event(world.team, reaction))
    before = row_counts(world.db)
    response = world.driver.raw(
        event.body,
        {
            "Content-Type": event.content_type,
            "X-Slack-Retry-Num": str(retry_num),
            "X-Slack-Retry-Reason": "http_timeout",
        },
        signature=compute_signature("not-the-signing-secret", "1", event.body),
    )
    assert response.status == 401
    assert row_counts(world.db) == before
