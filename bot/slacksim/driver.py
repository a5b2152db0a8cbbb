"""``SlackDriver``: sends an app what Slack sends to its Request URL, signed like Slack.

Each method builds a payload of Slack's real shape (see ``slack-specs/payloads/``) from the
simulator's state -- real team/user/channel ids and names, messages and views that exist,
fresh trigger_ids and response_urls the simulator will honour -- signs it with the app's
signing secret (v0 HMAC-SHA256, see ``protocol/request_signing.json``) and hands it to a
transport: real HTTP (``over_http``) or an ASGI test client (``with_client``).

The driver also applies what Slack itself does after the app answers a view submission
(closing, updating or pushing the modal according to ``response_action``), so the
simulator's view stack stays what the user would see.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from . import elements
from .blockkit import validate_view
from .records import APP_ID, Channel, RecordedCall, SlackError, Team

if TYPE_CHECKING:
    from .server import SlackSimulator

SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


@dataclass(frozen=True)
class DriverResponse:
    """What the app answered.  Header names are lower-case."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def json(self) -> Any:
        """The body parsed as JSON; None for an empty body (a plain ack)."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise ValueError(f"response body is not JSON: {self.text[:200]!r}") from None


Transport = Callable[[bytes, dict[str, str]], DriverResponse]


class _PostClient(Protocol):
    """The part of Starlette's/httpx's TestClient the driver uses."""

    def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> Any: ...


def compute_signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """Slack's ``X-Slack-Signature``: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    basestring = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), basestring, hashlib.sha256).hexdigest()
    return f"v0={digest}"


class SlackDriver:
    """Plays Slack's side of Events API, slash command and interactivity deliveries."""

    API_APP_ID = APP_ID

    def __init__(
        self,
        sim: SlackSimulator,
        signing_secret: str,
        send: Transport,
        *,
        verification_token: str = "slacksim-verification-token",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sim = sim
        self.signing_secret = signing_secret
        self.send = send
        # Deprecated by Slack but still sent in every payload; apps must not rely on it.
        self.verification_token = verification_token
        self.clock = clock
        #: The payload of the most recent delivery (decoded), for debugging failed tests.
        self.last_payload: Any = None

    @classmethod
    def over_http(
        cls, sim: SlackSimulator, signing_secret: str, url: str, *, timeout: float = 10.0
    ) -> SlackDriver:
        """Deliver with real HTTP POSTs to ``url`` (e.g. http://127.0.0.1:3000/slack/events)."""

        def send(body: bytes, headers: dict[str, str]) -> DriverResponse:
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    return DriverResponse(
                        response.status, _lower_keys(response.headers.items()), response.read()
                    )
            except urllib.error.HTTPError as error:  # 4xx/5xx still carry the app's answer
                return DriverResponse(error.code, _lower_keys(error.headers.items()), error.read())

        return cls(sim, signing_secret, send)

    @classmethod
    def with_client(
        cls,
        sim: SlackSimulator,
        signing_secret: str,
        client: _PostClient,
        path: str = "/slack/events",
    ) -> SlackDriver:
        """Deliver through a Starlette/httpx ``TestClient`` (no sockets)."""

        def send(body: bytes, headers: dict[str, str]) -> DriverResponse:
            response = client.post(path, content=body, headers=headers)
            return DriverResponse(
                response.status_code, _lower_keys(response.headers.items()), response.content
            )

        return cls(sim, signing_secret, send)

    # -- transport ----------------------------------------------------------------------

    def raw(
        self,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        sign: bool = True,
        timestamp: str | int | None = None,
        signature: str | None = None,
    ) -> DriverResponse:
        """Send ``body`` as-is: for forged (``signature``), stale (``timestamp``), unsigned
        (``sign=False``) or tampered requests.  Content-Type is guessed unless given."""
        final: dict[str, str] = {
            "Content-Type": "application/json"
            if body.lstrip().startswith(b"{")
            else "application/x-www-form-urlencoded",
            "User-Agent": SLACK_USER_AGENT,
        }
        if sign:
            ts = str(timestamp if timestamp is not None else int(self.clock()))
            final["X-Slack-Request-Timestamp"] = ts
            final["X-Slack-Signature"] = signature or compute_signature(
                self.signing_secret, ts, body
            )
        final.update(headers or {})
        return self.send(body, final)

    def _post_form(self, fields: list[tuple[str, str]]) -> DriverResponse:
        self.last_payload = dict(fields)
        return self.raw(
            urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

    def _post_interactive(self, payload: dict[str, Any]) -> DriverResponse:
        # Interactivity arrives as one form field, ``payload``, holding the JSON.
        response = self.raw(
            urlencode({"payload": json.dumps(payload)}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        self.last_payload = payload
        return response

    # -- shared payload pieces ----------------------------------------------------------

    def _team(self, team_id: str) -> Team:
        return self.sim.workspace.team(team_id)

    def _user_name(self, team_id: str, user_id: str) -> str:
        return str(self.sim.workspace.require_user(team_id, user_id)["name"])

    @staticmethod
    def _team_object(team: Team) -> dict[str, Any]:
        obj: dict[str, Any] = {"id": team.id, "domain": team.domain}
        if team.enterprise_id:
            obj["enterprise_id"] = team.enterprise_id
            obj["enterprise_name"] = team.enterprise_name
        return obj

    def _user_object(self, team: Team, user_id: str) -> dict[str, Any]:
        name = self._user_name(team.id, user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": team.id}

    def _action_ts(self) -> str:
        return f"{self.clock():.6f}"

    def _interaction_base(self, kind: str, team: Team, user_id: str) -> dict[str, Any]:
        return {
            "type": kind,
            "team": self._team_object(team),
            "user": self._user_object(team, user_id),
            "api_app_id": APP_ID,
            "token": self.verification_token,
            "is_enterprise_install": False,
            "enterprise": team.enterprise(),
        }

    def _channel(self, team_id: str, channel_id: str) -> Channel:
        return self.sim.workspace.channel(channel_id, team_id)

    # -- slash commands and shortcuts ---------------------------------------------------

    def slash_command(
        self,
        team_id: str,
        user_id: str,
        text: str = "",
        command: str = "/ticket",
        channel_id: str | None = None,
    ) -> DriverResponse:
        """The user typed ``command text`` in ``channel_id`` (default: their DM with the bot)."""
        team = self._team(team_id)
        channel = (
            self._channel(team_id, channel_id)
            if channel_id
            else self.sim.workspace.dm_channel(team_id, user_id)
        )
        fields = [
            ("token", self.verification_token),
            ("team_id", team.id),
            ("team_domain", team.domain),
        ]
        if team.enterprise_id:
            fields += [
                ("enterprise_id", team.enterprise_id),
                ("enterprise_name", team.enterprise_name or ""),
            ]
        fields += [
            ("channel_id", channel.id),
            ("channel_name", channel.display_name),
            ("user_id", user_id),
            ("user_name", self._user_name(team_id, user_id)),
            ("command", command),
            ("text", text),
            ("api_app_id", APP_ID),
            ("is_enterprise_install", "false"),
            ("response_url", self.sim.new_response_url(team_id, channel.id, user_id)),
            ("trigger_id", self.sim.new_trigger_id(team_id, user_id)),
        ]
        return self._post_form(fields)

    def global_shortcut(self, team_id: str, user_id: str, callback_id: str) -> DriverResponse:
        team = self._team(team_id)
        payload = self._interaction_base("shortcut", team, user_id)
        payload.update(
            callback_id=callback_id,
            trigger_id=self.sim.new_trigger_id(team_id, user_id),
            action_ts=self._action_ts(),
        )
        return self._post_interactive(payload)

    def message_shortcut(
        self, team_id: str, user_id: str, callback_id: str, channel_id: str, message_ts: str
    ) -> DriverResponse:
        """The user chose the message shortcut on an existing message."""
        team = self._team(team_id)
        channel = self._channel(team_id, channel_id)
        message = self._message(channel, message_ts)
        payload = self._interaction_base("message_action", team, user_id)
        payload.update(
            callback_id=callback_id,
            trigger_id=self.sim.new_trigger_id(team_id, user_id),
            action_ts=self._action_ts(),
            channel={"id": channel.id, "name": channel.display_name},
            message_ts=message_ts,
            message=message,
            response_url=self.sim.new_response_url(team_id, channel.id, user_id, message_ts),
        )
        return self._post_interactive(payload)

    def _message(self, channel: Channel, ts: str) -> dict[str, Any]:
        message = self.sim.workspace.find_message(channel, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel.id}")
        return copy.deepcopy(message)

    # -- block actions ------------------------------------------------------------------

    def block_action(
        self,
        team_id: str,
        user_id: str,
        action_id: str,
        block_id: str | None = None,
        value: Any = None,
        selected_option_value: str | None = None,
        selected_user: str | None = None,
        channel_id: str | None = None,
        message_ts: str | None = None,
        view_id: str | None = None,
    ) -> DriverResponse:
        """The user clicked/selected ``action_id`` in a message (channel_id + message_ts)
        or in a view (view_id).  ``value`` overrides a button's value; for other elements it
        is the input (like ``submit_view`` values), as are selected_option_value/_user."""
        team = self._team(team_id)
        user_input = next(
            (v for v in (selected_option_value, selected_user, value) if v is not None), None
        )
        payload = self._interaction_base("block_actions", team, user_id)
        payload["trigger_id"] = self.sim.new_trigger_id(team_id, user_id)
        if view_id is not None:
            payload.update(
                self._view_action(team, user_id, view_id, action_id, block_id, user_input)
            )
        elif channel_id is not None and message_ts is not None:
            payload.update(
                self._message_action(
                    team, user_id, channel_id, message_ts, action_id, block_id, user_input
                )
            )
        else:
            raise ValueError("block_action needs view_id, or channel_id and message_ts")
        return self._post_interactive(payload)

    def _view_action(
        self,
        team: Team,
        user_id: str,
        view_id: str,
        action_id: str,
        block_id: str | None,
        user_input: Any,
    ) -> dict[str, Any]:
        ws = self.sim.workspace
        with ws.lock:
            view = self._owned_view(team.id, user_id, view_id)
            block, element = elements.find_element(view["blocks"], action_id, block_id)
            action = elements.action_payload(block, element, user_input, self._action_ts())
            if element.get("type") in elements.STATEFUL_TYPES:
                ws.set_view_state(
                    view_id,
                    block["block_id"],
                    action_id,
                    elements.state_for_input(element, user_input),
                )
            view_payload = self._view_with_state(view_id, {})
        return {
            "container": {"type": "view", "view_id": view_id},
            "view": view_payload,
            "actions": [action],
        }

    def _message_action(
        self,
        team: Team,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        block_id: str | None,
        user_input: Any,
    ) -> dict[str, Any]:
        ws = self.sim.workspace
        with ws.lock:
            channel = self._channel(team.id, channel_id)
            message = ws.find_message(channel, message_ts)
            ephemeral = None if message else ws.find_ephemeral(user_id, message_ts)
            source = message or ephemeral
            if source is None:
                raise KeyError(f"no message or ephemeral {message_ts} in {channel_id}")
            blocks = source.get("blocks") or []
            block, element = elements.find_element(blocks, action_id, block_id)
            action = elements.action_payload(block, element, user_input, self._action_ts())
            state = elements.default_state_values(blocks)
            if element.get("type") in elements.STATEFUL_TYPES:
                state.setdefault(block["block_id"], {})[action_id] = elements.state_for_input(
                    element, user_input
                )
            container: dict[str, Any] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel.id,
                "is_ephemeral": ephemeral is not None,
            }
            if source.get("thread_ts"):
                container["thread_ts"] = source["thread_ts"]
            result: dict[str, Any] = {
                "container": container,
                "channel": {"id": channel.id, "name": channel.display_name},
                "state": {"values": state},
                "response_url": self.sim.new_response_url(team.id, channel.id, user_id, message_ts),
                "actions": [action],
            }
            if message is not None:  # Slack omits the message for ephemeral sources
                result["message"] = copy.deepcopy(message)
            return result

    # -- views --------------------------------------------------------------------------

    def _owned_view(self, team_id: str, user_id: str, view_id: str) -> dict[str, Any]:
        ws = self.sim.workspace
        view = ws.views.get(view_id)
        if view is None:
            raise KeyError(f"unknown view {view_id!r}")
        if ws.view_owner.get(view_id) != (team_id, user_id):
            raise ValueError(f"view {view_id} is not shown to {user_id} in {team_id}")
        if not ws.is_view_open(view_id):
            raise ValueError(f"view {view_id} is closed; a user cannot interact with it")
        return view

    def _view_with_state(
        self, view_id: str, overrides: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """The view as Slack sends it: state = initial values < entered values < overrides."""
        view = copy.deepcopy(self.sim.workspace.views[view_id])
        values = elements.default_state_values(view["blocks"])
        for source in (view.get("state", {}).get("values", {}), overrides):
            for block_id, entries in source.items():
                values.setdefault(block_id, {}).update(copy.deepcopy(entries))
        view["state"] = {"values": values}
        return view

    def submit_view(
        self, team_id: str, user_id: str, view_id: str, values: Mapping[str, Any] | None = None
    ) -> DriverResponse:
        """The user pressed Submit after entering ``values``.

        Keys are block_ids, input labels (e.g. "Title") or action_ids; values are what the
        user entered: text, an option value (list for multi-selects/checkboxes), a user or
        channel id (list for multi pickers), or None to leave a field empty.  Inputs not
        mentioned keep what the user entered earlier or their initial value.  Afterwards the
        simulator's modal stack follows the app's ``response_action`` like Slack's does.
        """
        team = self._team(team_id)
        ws = self.sim.workspace
        with ws.lock:
            view = self._owned_view(team_id, user_id, view_id)
            overrides: dict[str, dict[str, Any]] = {}
            for key, value in (values or {}).items():
                block, element = _resolve_input(view["blocks"], key)
                overrides.setdefault(block["block_id"], {})[element["action_id"]] = (
                    elements.state_for_input(element, value)
                )
            view_payload = self._view_with_state(view_id, overrides)
            for block_id, entries in overrides.items():
                for action_id, entry in entries.items():
                    ws.set_view_state(view_id, block_id, action_id, entry)
        payload = self._interaction_base("view_submission", team, user_id)
        payload.update(
            trigger_id=self.sim.new_trigger_id(team_id, user_id),
            view=view_payload,
            response_urls=[],
        )
        response = self._post_interactive(payload)
        self._apply_response_action(team, user_id, view_payload, response)
        return response

    def _apply_response_action(
        self, team: Team, user_id: str, view: dict[str, Any], response: DriverResponse
    ) -> None:
        """What Slack does with the app's answer to a view_submission."""
        if not 200 <= response.status < 300:
            return  # Slack shows "We had some trouble connecting" and keeps the modal open
        try:
            body = response.json
        except ValueError:
            body = None
        ws = self.sim.workspace
        action = body.get("response_action") if isinstance(body, dict) else None
        error: str | None = None
        problems: list[str] = []
        with ws.lock:
            if action is None:
                ws.close_modal(view["id"])
            elif action == "clear":
                ws.clear_modals(team.id, user_id)
            elif action == "errors":
                errors = body.get("errors") if isinstance(body, dict) else None
                input_ids = {b.get("block_id") for b in view["blocks"] if b.get("type") == "input"}
                if not isinstance(errors, dict) or not errors:
                    problems = ["`errors` must be an object of block_id -> message"]
                else:
                    # Slack only shows errors keyed by an input block's block_id.
                    problems = [
                        f"{key!r} is not the block_id of an input block"
                        for key in errors
                        if key not in input_ids
                    ]
            elif action in ("update", "push"):
                new_view = body.get("view") if isinstance(body, dict) else None
                problems = validate_view(new_view, limits=ws.limits)
                if isinstance(new_view, dict) and new_view.get("type") != "modal":
                    problems.append('must be "modal" [json-pointer:/view/type]')
                if not problems and isinstance(new_view, dict):
                    try:
                        ws.replace_view_from_response(view["id"], new_view, push=action == "push")
                    except SlackError as exc:  # e.g. push_limit_reached
                        problems = [exc.error]
            else:
                problems = [f"unknown response_action {action!r}"]
            if problems:
                error = "invalid_arguments"
            ws.record(
                RecordedCall(
                    method="response_action",
                    args=copy.deepcopy(body) if isinstance(body, dict) else {},
                    team_id=team.id,
                    token=None,
                    http_status=response.status,
                    ok=error is None,
                    error=error,
                    at=time.monotonic(),
                    response={"ok": error is None, "problems": problems} if problems else None,
                    user_id=user_id,
                )
            )

    def close_view(
        self, team_id: str, user_id: str, view_id: str, is_cleared: bool = False
    ) -> DriverResponse | None:
        """The user closed the modal.  Slack only tells the app (view_closed) when the view
        was opened with ``notify_on_close: true``; otherwise this returns None."""
        team = self._team(team_id)
        ws = self.sim.workspace
        with ws.lock:
            view = copy.deepcopy(self._owned_view(team_id, user_id, view_id))
            if is_cleared:
                ws.clear_modals(team_id, user_id)
            else:
                ws.close_modal(view_id)
        if not view.get("notify_on_close"):
            return None
        payload = self._interaction_base("view_closed", team, user_id)
        payload.update(view=view, is_cleared=is_cleared)
        return self._post_interactive(payload)

    # -- Events API ---------------------------------------------------------------------

    def event(
        self,
        team_id: str,
        event: dict[str, Any],
        event_id: str | None = None,
        event_time: int | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> DriverResponse:
        """Deliver ``event`` in the event_callback envelope (a retry when retry_num is set;
        pass the first delivery's ``event_id`` to simulate Slack's retries)."""
        team = self._team(team_id)
        event_id = event_id or self.sim.workspace.ids.event_id()
        envelope: dict[str, Any] = {
            "token": self.verification_token,
            "team_id": team.id,
        }
        if team.enterprise_id:
            envelope["enterprise_id"] = team.enterprise_id
        envelope.update(
            context_team_id=team.id,
            context_enterprise_id=team.enterprise_id,
            api_app_id=APP_ID,
            event=event,
            type="event_callback",
            event_id=event_id,
            event_time=event_time if event_time is not None else int(self.clock()),
            authorizations=[
                {
                    "enterprise_id": team.enterprise_id,
                    "team_id": team.id,
                    "user_id": team.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            is_ext_shared_channel=False,
            event_context=f"4-{self.sim.workspace.ids.opaque(30)}",
        )
        headers = {"Content-Type": "application/json"}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        response = self.raw(json.dumps(envelope).encode(), headers)
        self.last_payload = envelope
        return response

    def url_verification(self, challenge: str = "slacksim-challenge") -> DriverResponse:
        payload = {
            "token": self.verification_token,
            "challenge": challenge,
            "type": "url_verification",
        }
        response = self.raw(json.dumps(payload).encode(), {"Content-Type": "application/json"})
        self.last_payload = payload
        return response

    # Builders below return the inner event (pass it to ``event``).  Those describing a
    # change (a message, an edit, a deletion, a reaction) also apply it to the simulator,
    # because Slack's state has changed by the time the event arrives.

    def message_event(
        self,
        team_id: str,
        channel_id: str,
        user_id: str,
        text: str,
        thread_ts: str | None = None,
        files: list[Any] | None = None,
        subtype: str | None = None,
    ) -> dict[str, Any]:
        """A person's message (stored in the simulator first) as a ``message`` event."""
        message = self.sim.post_user_message(team_id, channel_id, user_id, text, thread_ts, files)
        channel = self._channel(team_id, channel_id)
        if subtype:
            with self.sim.workspace.lock:
                stored = self.sim.workspace.find_message(channel, message["ts"])
                if stored is not None:
                    stored["subtype"] = subtype
            message["subtype"] = subtype
        event = {key: value for key, value in message.items() if key != "team"}
        event.update(
            channel=channel.id,
            event_ts=message["ts"],
            channel_type=channel.channel_type,
            team=team_id,
        )
        return event

    def reaction_added(
        self, team_id: str, user_id: str, reaction: str, channel_id: str, ts: str
    ) -> dict[str, Any]:
        ws = self.sim.workspace
        with ws.lock:
            channel = self._channel(team_id, channel_id)
            message = ws.find_message(channel, ts)
            if message is None:
                raise KeyError(f"no message {ts} in {channel_id}")
            reactions = message.setdefault("reactions", [])
            entry = next((r for r in reactions if r["name"] == reaction), None)
            if entry is None:
                entry = {"name": reaction, "users": [], "count": 0}
                reactions.append(entry)
            if user_id not in entry["users"]:
                entry["users"].append(user_id)
                entry["count"] = len(entry["users"])
            event: dict[str, Any] = {
                "type": "reaction_added",
                "user": user_id,
                "reaction": reaction,
            }
            if message.get("user"):
                event["item_user"] = message["user"]
            event["item"] = {"type": "message", "channel": channel.id, "ts": ts}
            event["event_ts"] = ws.ids.next_ts()
            return event

    def file_shared(
        self, team_id: str, user_id: str, file_id: str, channel_id: str
    ) -> dict[str, Any]:
        ws = self.sim.workspace
        with ws.lock:
            stored = ws.lookup_file(file_id, team_id)
            ws.share_file(stored, self._channel(team_id, channel_id))
            return {
                "type": "file_shared",
                "channel_id": channel_id,
                "file_id": stored.id,
                "user_id": user_id,
                "file": {"id": stored.id},
                "event_ts": ws.ids.next_ts(),
            }

    def app_home_opened(self, team_id: str, user_id: str, tab: str = "home") -> dict[str, Any]:
        ws = self.sim.workspace
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": ws.dm_channel(team_id, user_id).id,
            "tab": tab,
            "event_ts": ws.ids.next_ts(),
        }
        home = self.sim.home_view(team_id, user_id)
        if home is not None:  # only present once a Home view was published
            event["view"] = home
        return event

    def message_changed(self, team_id: str, channel_id: str, ts: str, text: str) -> dict[str, Any]:
        """The author edited message ``ts`` to ``text``."""
        ws = self.sim.workspace
        with ws.lock:
            channel = self._channel(team_id, channel_id)
            message = ws.find_message(channel, ts)
            if message is None:
                raise KeyError(f"no message {ts} in {channel_id}")
            previous = copy.deepcopy(message)
            event_ts = ws.ids.next_ts()
            message["text"] = text
            if (
                "blocks" in message
                and message["blocks"]
                and message["blocks"][0].get("type") == "rich_text"
            ):
                message["blocks"] = [
                    {
                        **elements.rich_text_from_string(text),
                        "block_id": message["blocks"][0]["block_id"],
                    }
                ]
            message["edited"] = {"user": message.get("user"), "ts": event_ts}
            return {
                "type": "message",
                "subtype": "message_changed",
                "hidden": True,
                "channel": channel.id,
                "channel_type": channel.channel_type,
                "message": copy.deepcopy(message),
                "previous_message": previous,
                "ts": event_ts,
                "event_ts": event_ts,
            }

    def message_deleted(self, team_id: str, channel_id: str, ts: str) -> dict[str, Any]:
        """Someone deleted message ``ts``."""
        ws = self.sim.workspace
        with ws.lock:
            channel = self._channel(team_id, channel_id)
            message = ws.find_message(channel, ts)
            if message is None:
                raise KeyError(f"no message {ts} in {channel_id}")
            previous = copy.deepcopy(message)
            ws.delete_message(channel, message)
            event_ts = ws.ids.next_ts()
            return {
                "type": "message",
                "subtype": "message_deleted",
                "hidden": True,
                "channel": channel.id,
                "channel_type": channel.channel_type,
                "ts": event_ts,
                "deleted_ts": ts,
                "event_ts": event_ts,
                "previous_message": previous,
            }


def _lower_keys(items: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


def _resolve_input(blocks: list[dict[str, Any]], key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stateful element a ``submit_view`` key names: block_id, input label or action_id."""
    stateful = [
        (block, element)
        for block, element in elements.iter_elements(blocks)
        if element.get("type") in elements.STATEFUL_TYPES
    ]
    by_block = [(b, e) for b, e in stateful if b.get("block_id") == key]
    if len(by_block) > 1:
        raise ValueError(f"block {key!r} has several inputs; name one by its action_id")
    matches = (
        by_block
        or [
            (b, e)
            for b, e in stateful
            if b.get("type") == "input" and elements.input_label(b) == key
        ]
        or [(b, e) for b, e in stateful if e.get("action_id") == key]
    )
    if not matches:
        known = sorted(
            {str(b.get("block_id")) for b, _ in stateful}
            | {label for b, _ in stateful if (label := elements.input_label(b))}
        )
        raise KeyError(f"no input {key!r} in the view; block_ids and labels: {known}")
    return matches[0]
