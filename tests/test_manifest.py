"""manifest.yml: valid for Slack, and exactly what the app handles and calls."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.ids import Callback, Command
from handlers import actions, commands, events, shortcuts, views

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO.parent / "shared" / "slack-specs"
MANIFEST = yaml.safe_load((REPO / "manifest.yml").read_text())

needs_specs = pytest.mark.skipif(
    not SPECS.is_dir(), reason="Slack's specs are not beside the checkout (../shared/slack-specs)"
)


class RecordingApp:
    """Stands in for a Bolt App and records what each handler module registers."""

    def __init__(self) -> None:
        self.registered: dict[str, set[str]] = defaultdict(set)

    def _recorder(self, kind: str):
        def register(key: Any, *args: Any, **kwargs: Any):
            self.registered[kind].add(str(key))
            return lambda function: function

        return register

    def __getattr__(self, kind: str):
        return self._recorder(kind)


def registered() -> dict[str, set[str]]:
    app = RecordingApp()
    for module in (commands, shortcuts, views, actions, events):
        module.register(app)
    return app.registered


@needs_specs
def test_manifest_is_valid_against_slacks_schema():
    schema = json.loads((SPECS / "manifest" / "manifest.schema.1.0.0.json").read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(MANIFEST), key=lambda e: e.path)
    assert [e.message for e in errors] == []


@needs_specs
def test_the_schema_catches_a_broken_manifest():
    schema = json.loads((SPECS / "manifest" / "manifest.schema.1.0.0.json").read_text())
    broken = {**MANIFEST, "features": {**MANIFEST["features"], "slash_commands": [{"command": 1}]}}
    assert list(Draft7Validator(schema).iter_errors(broken))


def test_slash_commands_match_the_handlers():
    declared = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert declared == registered()["command"] == {Command.TICKET}


def test_shortcuts_match_the_handlers():
    declared = {(s["type"], s["callback_id"]) for s in MANIFEST["features"]["shortcuts"]}
    assert declared == {
        ("global", Callback.NEW_TICKET_SHORTCUT),
        ("message", Callback.CREATE_TICKET_FROM_MESSAGE),
        ("message", Callback.SEND_TO_REQUESTER),
    }
    assert {callback for _, callback in declared} == registered()["shortcut"]
    names = {s["callback_id"]: s["name"] for s in MANIFEST["features"]["shortcuts"]}
    assert names == {
        "new_ticket": "New ticket",
        "create_ticket_from_message": "Create ticket",
        "send_to_requester": "Send to requester",
    }


def test_events_match_the_handlers():
    declared = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    handled = registered()["event"]
    # A `message` listener is subscribed per conversation type (message.channels, …).
    expected = {e for e in handled if e != "message"}
    if "message" in handled:
        expected |= {"message.channels", "message.groups", "message.im"}
    assert declared == expected


def test_interactivity_is_on_because_actions_and_views_are_handled():
    found = registered()
    assert found["action"] and found["view"]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_bot_scopes_are_the_ones_the_oauth_install_asks_for():
    from bot.ids import BOT_SCOPES

    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
