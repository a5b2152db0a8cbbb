"""Slack answers `account_inactive` (or another "access lost" error) once. If auth.test still
works, nothing pauses; if it does not, the workspace's deliveries pause, /healthz says so,
and they resume as soon as the token works again, without waiting for someone there to use
Ticketbot."""

from __future__ import annotations

import time

from models import OutboxStatus
from tests.e2e.conftest import organization_of
from tests.e2e.test_delivery import use_clock
from tests.reliability.conftest import World


def _after_the_apps_own_auth_test(world: World) -> None:
    """The app asks auth.test once in the background as it starts (its bot identity); a
    refusal armed before that call would be spent on it instead of the one under test."""
    deadline = time.monotonic() + 10
    while not world.sim.calls_to("auth.test") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert world.sim.calls_to("auth.test"), "the app never asked auth.test for its identity"


def test_a_single_account_inactive_that_auth_test_does_not_confirm_pauses_nothing(world: World):
    clock = use_clock(world)
    world.sim.fail_next("chat.postMessage", error="account_inactive", channel=world.staff_channel)
    world.file_ticket(world.alice, "Mouse broken")
    world.deliver()
    assert organization_of(world).slack_disconnected_at is None
    assert world.http.get("/healthz").json()["disconnected_workspaces"] == []
    clock.advance(5)
    world.deliver()
    assert [c["text"] for c in world.cards()] == ["Ticket #1: Mouse broken"]
    assert {r.status for r in world.outbox()} == {OutboxStatus.SENT}


def test_a_paused_workspace_resumes_when_its_token_works_again(world: World):
    _after_the_apps_own_auth_test(world)
    world.sim.fail_next("chat.postMessage", error="account_inactive", channel=world.staff_channel)
    world.sim.fail_next("auth.test", error="account_inactive")
    world.file_ticket(world.alice, "Mouse broken")
    world.deliver()
    assert organization_of(world).slack_disconnected_at is not None
    (paused,) = world.http.get("/healthz").json()["disconnected_workspaces"]
    assert paused["team"] == world.team
    assert world.cards() == []
    # Nobody in the workspace does anything; the background check finds the token works.
    assert world.runtime.check_disconnected() == 1
    world.deliver()
    assert organization_of(world).slack_disconnected_at is None
    assert world.http.get("/healthz").json()["disconnected_workspaces"] == []
    assert [c["text"] for c in world.cards()] == ["Ticket #1: Mouse broken"]
    assert {r.status for r in world.outbox()} == {OutboxStatus.SENT}


def test_a_workspace_whose_token_is_still_refused_stays_paused(world: World):
    _after_the_apps_own_auth_test(world)
    world.sim.fail_next("chat.postMessage", error="account_inactive", channel=world.staff_channel)
    world.sim.fail_next("auth.test", error="account_inactive", count=2)
    world.file_ticket(world.alice, "Mouse broken")
    world.deliver()
    assert world.runtime.check_disconnected() == 0
    assert organization_of(world).slack_disconnected_at is not None
    assert world.cards() == []
