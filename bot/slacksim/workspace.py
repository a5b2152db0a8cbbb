"""The simulated Slack world: workspaces, users, channels, messages, views, files.

Everything lives in one ``Workspace`` object guarded by one re-entrant lock, so Web API
calls (server threads), test set-up and the driver see consistent state.  Operations raise
``SlackError`` with Slack's error codes; the Web API layer turns those into responses.
Values handed out are deep copies so callers can never mutate the simulator's state.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import elements
from .blockkit import BlockKitLimits, current_limits
from .ids import IdFactory

APP_ID = "A0TICKETBOT"
DEFAULT_BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:read",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "im:read",
    "im:write",
    "reactions:read",
    "reactions:write",
    "users:read",
    "users:read.email",
)


class SlackError(Exception):
    """A Web API failure exactly as Slack reports it: ``{"ok": false, "error": code, ...}``."""

    def __init__(self, error: str, *messages: str, http_status: int = 200) -> None:
        super().__init__(error if not messages else f"{error}: {'; '.join(messages)}")
        self.error = error
        self.messages = list(messages)
        self.http_status = http_status

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


@dataclass
class Team:
    id: str
    name: str
    domain: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    bot_name: str = "ticketbot"
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    scopes: tuple[str, ...] = DEFAULT_BOT_SCOPES

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"

    def enterprise(self) -> dict[str, str] | None:
        if self.enterprise_id is None:
            return None
        return {"id": self.enterprise_id, "name": self.enterprise_name or ""}


@dataclass
class Channel:
    id: str
    team_id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    im_user: str | None = None
    members: list[str] = field(default_factory=list)
    created: int = field(default_factory=lambda: int(time.time()))
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def channel_type(self) -> str:
        """The Events API ``channel_type``: im, group (private channel) or channel."""
        if self.is_im:
            return "im"
        return "group" if self.is_private else "channel"

    @property
    def display_name(self) -> str:
        """What Slack puts in ``channel.name`` of interaction payloads."""
        return "directmessage" if self.is_im else self.name


@dataclass
class StoredFile:
    id: str
    team_id: str
    user_id: str
    name: str
    title: str
    mimetype: str
    filetype: str
    content: bytes
    created: int = field(default_factory=lambda: int(time.time()))
    channels: list[str] = field(default_factory=list)
    # Each message that shared the file: (channel id, message ts, thread ts or None).
    share_points: list[tuple[str, str, str | None]] = field(default_factory=list)
    alt_txt: str | None = None
    # The unguessable suffix of permalink_public, fixed per file like Slack's.
    public_secret: str = field(default_factory=lambda: secrets.token_hex(5))


@dataclass
class PendingUpload:
    id: str
    team_id: str
    file_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    content: bytes | None = None


@dataclass
class Trigger:
    team_id: str
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class ResponseUrl:
    team_id: str
    channel_id: str | None
    user_id: str
    message_ts: str | None = None


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


@dataclass
class OAuthCode:
    team_id: str
    enterprise_id: str | None
    user_id: str
    client_id: str | None
    used: bool = False


@dataclass(frozen=True)
class RecordedCall:
    """One request the simulator received (Web API call, response_url post, file transfer)."""

    method: str
    args: dict[str, Any]
    team_id: str | None
    token: str | None
    http_status: int
    ok: bool
    error: str | None
    at: float
    response: dict[str, Any] | None = None
    # For response_url posts: whom the response goes to.
    channel_id: str | None = None
    user_id: str | None = None


def _tz_details(tz: str) -> tuple[int, str]:
    """(offset in seconds, label) of ``tz`` now; UTC when the zone database lacks it."""
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return 0, "Coordinated Universal Time"
    offset = now.utcoffset()
    return int(offset.total_seconds()) if offset else 0, now.tzname() or tz


def is_thread_reply(message: dict[str, Any]) -> bool:
    return "thread_ts" in message and message["thread_ts"] != message["ts"]


class Workspace:
    """All simulated Slack state.  Every public method is safe to call from any thread."""

    def __init__(self, *, limits: BlockKitLimits | None = None, trigger_ttl: float = 60.0) -> None:
        self.lock = threading.RLock()
        self.ids = IdFactory()
        self.limits = limits or current_limits()
        # Slack's trigger_ids expire after ~3 s; tests on slow CI machines need slack.
        self.trigger_ttl = trigger_ttl
        self.base_url: str | None = None
        self.teams: dict[str, Team] = {}
        self.tokens: dict[str, str] = {}
        # Bot tokens revoked by an uninstall (Slack answers token_revoked for them).
        self.revoked_tokens: set[str] = set()
        self.users: dict[str, dict[str, dict[str, Any]]] = {}
        self.channels: dict[str, Channel] = {}
        self.dms: dict[tuple[str, str], str] = {}
        self.files: dict[str, StoredFile] = {}
        self.uploads: dict[str, PendingUpload] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.view_owner: dict[str, tuple[str, str]] = {}
        self.modal_stacks: dict[tuple[str, str], list[str]] = {}
        self.home_views: dict[tuple[str, str], str] = {}
        self.external_ids: dict[tuple[str, str], str] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.ephemeral_messages: list[dict[str, Any]] = []
        self.calls: list[RecordedCall] = []
        self.oauth_apps: dict[str, OAuthApp] = {}
        self.oauth_codes: dict[str, OAuthCode] = {}

    # -- server address -----------------------------------------------------------------

    def url(self, path: str) -> str:
        if self.base_url is None:
            raise RuntimeError("start the simulator first: file and response URLs need its port")
        return f"{self.base_url}{path}"

    # -- teams and users ----------------------------------------------------------------

    def add_team(
        self,
        team_id: str,
        *,
        name: str,
        domain: str,
        bot_token: str | None,
        bot_user_id: str | None,
        bot_id: str | None,
        enterprise_id: str | None,
        enterprise_name: str | None,
        bot_name: str,
        scopes: tuple[str, ...],
    ) -> Team:
        with self.lock:
            if team_id in self.teams:
                raise ValueError(f"team {team_id} already exists")
            team = Team(
                id=team_id,
                name=name,
                domain=domain,
                bot_token=bot_token or self.ids.bot_token(),
                bot_user_id=bot_user_id or self.ids.new_id("U"),
                bot_id=bot_id or self.ids.new_id("B"),
                bot_name=bot_name,
                enterprise_id=enterprise_id,
                enterprise_name=enterprise_name or (f"{name} Grid" if enterprise_id else None),
                scopes=scopes,
            )
            if team.bot_token in self.tokens:
                raise ValueError("bot token already belongs to another team")
            self.teams[team_id] = team
            self.tokens[team.bot_token] = team_id
            self.users[team_id] = {}
            self.add_user(
                team_id,
                team.bot_user_id,
                name=bot_name,
                real_name=bot_name.title(),
                tz="America/Los_Angeles",
                is_bot=True,
            )
            return copy.deepcopy(team)

    def team(self, team_id: str) -> Team:
        with self.lock:
            try:
                return self.teams[team_id]
            except KeyError:
                raise KeyError(f"unknown team {team_id!r}; add it with add_team()") from None

    def revoke_bot_token(self, team_id: str) -> str:
        """Uninstall: the team's bot token stops working; a reinstall (oauth.v2.access)
        hands out the new token returned here."""
        with self.lock:
            team = self.teams[team_id]
            self.tokens.pop(team.bot_token, None)
            self.revoked_tokens.add(team.bot_token)
            team.bot_token = (
                f"xoxb-{self.ids.opaque(12)}-{self.ids.opaque(13)}-{self.ids.opaque(24)}"
            )
            self.tokens[team.bot_token] = team_id
            return team.bot_token

    def team_for_token(self, token: str) -> Team | None:
        with self.lock:
            team_id = self.tokens.get(token)
            return self.teams[team_id] if team_id else None

    def add_user(
        self,
        team_id: str,
        user_id: str | None = None,
        *,
        name: str,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/London",
        is_bot: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
        home_team_id: str | None = None,
    ) -> dict[str, Any]:
        """A person visible in `team_id`; `home_team_id` makes them an external member of a
        Slack Connect channel, whose own workspace is another one."""
        with self.lock:
            team = self.team(team_id)
            user_id = user_id or self.ids.new_id("U")
            if user_id in self.users[team_id]:
                raise ValueError(f"user {user_id} already exists in {team_id}")
            tz_offset, tz_label = _tz_details(tz)
            real = real_name or name
            profile: dict[str, Any] = {
                "avatar_hash": "",
                "status_text": "",
                "status_emoji": "",
                "real_name": real,
                "display_name": name,
                "real_name_normalized": real,
                "display_name_normalized": name,
                "image_24": f"https://avatars.example.invalid/{user_id}_24.png",
                "image_48": f"https://avatars.example.invalid/{user_id}_48.png",
                "image_72": f"https://avatars.example.invalid/{user_id}_72.png",
                "team": home_team_id or team_id,
            }
            if email is not None:
                profile["email"] = email
            if is_bot and user_id == team.bot_user_id:
                profile["bot_id"] = team.bot_id
                profile["api_app_id"] = APP_ID
            user = {
                "id": user_id,
                "team_id": home_team_id or team_id,
                "name": name,
                "deleted": False,
                "color": "9f69e7",
                "real_name": real,
                "tz": tz,
                "tz_label": tz_label,
                "tz_offset": tz_offset,
                "profile": profile,
                "is_admin": is_admin,
                "is_owner": is_owner,
                "is_primary_owner": False,
                "is_restricted": False,
                "is_ultra_restricted": False,
                "is_bot": is_bot,
                "is_app_user": False,
                "updated": int(time.time()),
                "has_2fa": False,
            }
            self.users[team_id][user_id] = user
            return copy.deepcopy(user)

    def user(self, team_id: str, user_id: str) -> dict[str, Any] | None:
        with self.lock:
            return self.users.get(team_id, {}).get(user_id)

    def require_user(self, team_id: str, user_id: str) -> dict[str, Any]:
        user = self.user(team_id, user_id)
        if user is None:
            raise KeyError(f"unknown user {user_id!r} in team {team_id}; add it with add_user()")
        return user

    # -- channels -----------------------------------------------------------------------

    def add_channel(
        self,
        team_id: str,
        channel_id: str | None = None,
        *,
        name: str,
        members: list[str] | None = None,
        is_private: bool = False,
    ) -> Channel:
        with self.lock:
            self.team(team_id)
            channel_id = channel_id or self.ids.new_id("C")
            if channel_id in self.channels:
                raise ValueError(f"channel {channel_id} already exists")
            channel = Channel(
                id=channel_id,
                team_id=team_id,
                name=name,
                is_private=is_private,
                members=list(dict.fromkeys(members or [])),
            )
            self.channels[channel_id] = channel
            return channel

    def channel(self, channel_id: str, team_id: str | None = None) -> Channel:
        """Test-side lookup: a KeyError names the mistake instead of a Slack error code."""
        with self.lock:
            channel = self.channels.get(channel_id)
            if channel is None or (team_id is not None and channel.team_id != team_id):
                raise KeyError(f"unknown channel {channel_id!r}")
            return channel

    def dm_channel(self, team_id: str, user_id: str) -> Channel:
        """The bot's DM with ``user_id`` (created on first use, then stable)."""
        with self.lock:
            existing = self.dms.get((team_id, user_id))
            if existing:
                return self.channels[existing]
            team = self.team(team_id)
            channel = Channel(
                id=self.ids.new_id("D"),
                team_id=team_id,
                name=user_id,
                is_im=True,
                im_user=user_id,
                members=[user_id, team.bot_user_id],
            )
            self.channels[channel.id] = channel
            self.dms[(team_id, user_id)] = channel.id
            return channel

    def resolve_channel(self, team: Team, ref: str | None) -> Channel:
        """A Web API ``channel`` argument: an id, a user id (their DM), or a channel name."""
        with self.lock:
            if not ref:
                raise SlackError("channel_not_found")
            channel = self.channels.get(ref)
            if channel is not None:
                if channel.team_id != team.id:
                    raise SlackError("channel_not_found")
                return channel
            if ref[0] in "UW" and ref in self.users.get(team.id, {}):
                return self.dm_channel(team.id, ref)
            wanted = ref.removeprefix("#")
            for candidate in self.channels.values():
                if (
                    candidate.team_id == team.id
                    and not candidate.is_im
                    and candidate.name == wanted
                ):
                    return candidate
            raise SlackError("channel_not_found")

    @staticmethod
    def bot_is_member(team: Team, channel: Channel) -> bool:
        return channel.is_im or team.bot_user_id in channel.members

    def require_visible(self, team: Team, channel: Channel) -> None:
        """Private channels the bot is not in do not exist as far as the bot can tell."""
        if channel.is_private and not self.bot_is_member(team, channel):
            raise SlackError("channel_not_found")

    def require_member(self, team: Team, channel: Channel) -> None:
        """Posting and reading history need membership; public non-members get not_in_channel."""
        self.require_visible(team, channel)
        if not self.bot_is_member(team, channel):
            raise SlackError("not_in_channel")

    def channel_object(self, team: Team, channel: Channel) -> dict[str, Any]:
        if channel.is_im:
            latest = channel.messages[-1] if channel.messages else None
            return {
                "id": channel.id,
                "created": channel.created,
                "is_im": True,
                "is_org_shared": False,
                "user": channel.im_user,
                "last_read": "0000000000.000000",
                "latest": copy.deepcopy(latest),
                "unread_count": 0,
                "unread_count_display": 0,
                "is_open": True,
                "priority": 0,
                "context_team_id": team.id,
            }
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "created": channel.created,
            "is_archived": False,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": channel.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": team.id,
            "parent_conversation": None,
            "creator": channel.members[0] if channel.members else "",
            "is_ext_shared": False,
            "shared_team_ids": [team.id],
            "is_member": self.bot_is_member(team, channel),
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }

    # -- messages -----------------------------------------------------------------------

    def assign_block_ids(self, blocks: list[Any]) -> list[Any]:
        """Copy of ``blocks`` with Slack's generated block_id/action_id where they were omitted."""
        blocks = copy.deepcopy(blocks)
        for block in blocks:
            if isinstance(block, dict) and "block_id" not in block:
                block["block_id"] = self.ids.short_id(4)
        for _block, element in elements.iter_elements(blocks):
            if "action_id" not in element and element.get("type") != "image":
                element["action_id"] = self.ids.short_id(5)
        return blocks

    def find_message(self, channel: Channel, ts: str | None) -> dict[str, Any] | None:
        with self.lock:
            for message in channel.messages:
                if message["ts"] == ts:
                    return message
            return None

    def require_message(self, channel: Channel, ts: str | None) -> dict[str, Any]:
        message = self.find_message(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    def post_message(
        self,
        channel: Channel,
        *,
        user: str,
        text: str,
        bot_id: str | None = None,
        blocks: list[Any] | None = None,
        attachments: list[Any] | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
        files: list[dict[str, Any]] | None = None,
        subtype: str | None = None,
        reply_broadcast: bool = False,
    ) -> dict[str, Any]:
        """Store a message and maintain its thread's reply counters; returns the stored dict."""
        with self.lock:
            team = self.teams[channel.team_id]
            message: dict[str, Any] = {"type": "message"}
            if subtype:
                message["subtype"] = subtype
            message["user"] = user
            if bot_id:
                message["bot_id"] = bot_id
                message["app_id"] = APP_ID
                message["bot_profile"] = {
                    "id": bot_id,
                    "app_id": APP_ID,
                    "name": team.bot_name,
                    "deleted": False,
                    "team_id": team.id,
                }
            message["text"] = text
            message["ts"] = self.ids.next_ts()
            message["team"] = team.id
            if blocks is not None:
                message["blocks"] = self.assign_block_ids(blocks)
            if attachments is not None:
                message["attachments"] = copy.deepcopy(attachments)
            if metadata is not None:
                message["metadata"] = copy.deepcopy(metadata)
            if files:
                message["files"] = copy.deepcopy(files)
                message["upload"] = False
                message["display_as_bot"] = False
            if thread_ts:
                self._attach_to_thread(channel, message, thread_ts, reply_broadcast)
            channel.messages.append(message)
            return message

    def _attach_to_thread(
        self, channel: Channel, message: dict[str, Any], thread_ts: str, broadcast: bool
    ) -> None:
        root = self.find_message(channel, thread_ts)
        if root is not None and is_thread_reply(root):
            # Slack threads a reply-to-a-reply under the original parent.
            thread_ts = root["thread_ts"]
            root = self.find_message(channel, thread_ts)
        message["thread_ts"] = thread_ts
        if broadcast:
            message["subtype"] = "thread_broadcast"
        if root is None:
            # Slack documents no error for an unknown thread_ts; the reply is simply orphaned.
            return
        message["parent_user_id"] = root.get("user")
        root["thread_ts"] = root["ts"]
        root["reply_count"] = root.get("reply_count", 0) + 1
        reply_users = root.setdefault("reply_users", [])
        if message["user"] not in reply_users:
            reply_users.append(message["user"])
        root["reply_users_count"] = len(reply_users)
        root["latest_reply"] = message["ts"]

    def delete_message(self, channel: Channel, message: dict[str, Any]) -> None:
        with self.lock:
            replies = self.thread_messages(channel, message["ts"])[1:]
            if not is_thread_reply(message) and replies:
                # A parent with replies leaves a tombstone so the thread stays readable.
                tombstone_fields = ("thread_ts", "reply_count", "reply_users", "latest_reply")
                kept = {k: message[k] for k in tombstone_fields if k in message}
                message.clear()
                message.update(
                    type="message",
                    subtype="tombstone",
                    text="This message was deleted.",
                    user="USLACKBOT",
                    hidden=True,
                    ts=kept.get("thread_ts"),
                    **kept,
                )
                return
            channel.messages.remove(message)
            if is_thread_reply(message):
                root = self.find_message(channel, message["thread_ts"])
                if root is not None:
                    remaining = self.thread_messages(channel, root["ts"])[1:]
                    root["reply_count"] = len(remaining)
                    root["reply_users"] = list(dict.fromkeys(r["user"] for r in remaining))
                    root["reply_users_count"] = len(root["reply_users"])
                    if remaining:
                        root["latest_reply"] = remaining[-1]["ts"]
                    else:
                        for key in ("reply_count", "reply_users", "reply_users_count"):
                            root.pop(key, None)
                        root.pop("latest_reply", None)

    def thread_messages(self, channel: Channel, thread_ts: str) -> list[dict[str, Any]]:
        """The parent (if present) followed by its replies, in posting order."""
        with self.lock:
            return [
                m
                for m in channel.messages
                if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts
            ]

    def add_ephemeral(
        self,
        team: Team,
        *,
        channel_id: str | None,
        user_id: str,
        source: str,
        text: str,
        blocks: list[Any] | None = None,
        attachments: list[Any] | None = None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            ephemeral: dict[str, Any] = {
                "type": "message",
                "subtype": "ephemeral",
                "team": team.id,
                "channel": channel_id,
                "user": user_id,
                "bot_id": team.bot_id,
                "text": text,
                "ts": self.ids.next_ts(),
                "source": source,
            }
            if blocks is not None:
                ephemeral["blocks"] = self.assign_block_ids(blocks)
            if attachments is not None:
                ephemeral["attachments"] = copy.deepcopy(attachments)
            if thread_ts:
                ephemeral["thread_ts"] = thread_ts
            self.ephemeral_messages.append(ephemeral)
            return ephemeral

    def find_ephemeral(self, user_id: str, ts: str | None) -> dict[str, Any] | None:
        with self.lock:
            for ephemeral in self.ephemeral_messages:
                if ephemeral["user"] == user_id and ephemeral["ts"] == ts:
                    return ephemeral
            return None

    # -- triggers, response URLs --------------------------------------------------------

    def new_trigger_id(self, team_id: str, user_id: str) -> str:
        with self.lock:
            self.team(team_id)
            trigger_id = self.ids.trigger_id()
            self.triggers[trigger_id] = Trigger(team_id, user_id, time.monotonic())
            return trigger_id

    def consume_trigger(self, team: Team, trigger_id: str) -> Trigger:
        with self.lock:
            trigger = self.triggers.get(trigger_id)
            if trigger is None or trigger.team_id != team.id:
                raise SlackError("invalid_trigger_id")
            if trigger.used:
                raise SlackError("exchanged_trigger_id")
            if time.monotonic() - trigger.issued_at > self.trigger_ttl:
                raise SlackError("expired_trigger_id")
            trigger.used = True
            return trigger

    def new_response_url(
        self, team_id: str, channel_id: str | None, user_id: str, message_ts: str | None = None
    ) -> str:
        with self.lock:
            self.team(team_id)
            url_id = f"{team_id}/{self.ids.opaque(9)}/{self.ids.opaque(18)}"
            self.response_urls[url_id] = ResponseUrl(team_id, channel_id, user_id, message_ts)
            return self.url(f"/response_url/{url_id}")

    # -- views --------------------------------------------------------------------------

    def _view_object(
        self,
        team: Team,
        view: dict[str, Any],
        *,
        view_id: str,
        root_view_id: str,
        previous_view_id: str | None,
        state_values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": view_id,
            "team_id": team.id,
            "type": view["type"],
            "blocks": self.assign_block_ids(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": state_values or {}},
            "hash": self.ids.view_hash(),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id,
            "app_id": APP_ID,
            "app_installed_team_id": team.id,
            "bot_id": team.bot_id,
        }
        if "title" in view:
            obj["title"] = copy.deepcopy(view["title"])
        if "submit_disabled" in view:
            obj["submit_disabled"] = bool(view["submit_disabled"])
        return obj

    def _claim_external_id(self, team: Team, view: dict[str, Any], view_id: str) -> None:
        external_id = view.get("external_id")
        if not external_id:
            return
        owner = self.external_ids.get((team.id, external_id))
        if owner is not None and owner != view_id:
            raise SlackError("duplicate_external_id")
        self.external_ids[(team.id, external_id)] = view_id

    def is_view_open(self, view_id: str) -> bool:
        with self.lock:
            owner = self.view_owner.get(view_id)
            if owner is None:
                return False
            return view_id in self.modal_stacks.get(owner, []) or (
                self.home_views.get(owner) == view_id
            )

    def open_modal(self, team: Team, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
        """views.open: a new modal stack for the user (replacing any open one)."""
        with self.lock:
            view_id = self.ids.new_id("V")
            self._claim_external_id(team, view, view_id)
            obj = self._view_object(
                team, view, view_id=view_id, root_view_id=view_id, previous_view_id=None
            )
            self._close_stack((team.id, user_id))
            self.views[view_id] = obj
            self.view_owner[view_id] = (team.id, user_id)
            self.modal_stacks[(team.id, user_id)] = [view_id]
            return obj

    def push_modal(self, team: Team, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            stack = self.modal_stacks.get((team.id, user_id))
            if not stack:
                raise SlackError("not_found", "[ERROR] no open modal to push onto")
            if len(stack) >= self.limits.modal_stack_depth:
                raise SlackError("push_limit_reached")
            view_id = self.ids.new_id("V")
            self._claim_external_id(team, view, view_id)
            obj = self._view_object(
                team, view, view_id=view_id, root_view_id=stack[0], previous_view_id=stack[-1]
            )
            self.views[view_id] = obj
            self.view_owner[view_id] = (team.id, user_id)
            stack.append(view_id)
            return obj

    def view_id_for(self, team: Team, view_id: str | None, external_id: str | None) -> str:
        with self.lock:
            if external_id:
                found = self.external_ids.get((team.id, external_id))
            else:
                found = view_id if view_id in self.views else None
            if found is None or self.views[found]["team_id"] != team.id:
                raise SlackError("not_found")
            return found

    def update_view(
        self, team: Team, view_id: str, view: dict[str, Any], expected_hash: str | None
    ) -> dict[str, Any]:
        with self.lock:
            current = self.views[view_id]
            if not self.is_view_open(view_id):
                # A closed modal cannot be updated any more.
                raise SlackError("not_found")
            if expected_hash and expected_hash != current["hash"]:
                raise SlackError("hash_conflict")
            self._claim_external_id(team, view, view_id)
            obj = self._view_object(
                team,
                view,
                view_id=view_id,
                root_view_id=current["root_view_id"],
                previous_view_id=current["previous_view_id"],
            )
            obj["state"]["values"] = self._preserved_state(current, obj)
            self.views[view_id] = obj
            return obj

    @staticmethod
    def _preserved_state(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """Slack keeps entered input when block_id and action_id survive an update."""
        kept: dict[str, Any] = {}
        old_values = old.get("state", {}).get("values", {})
        for block, element in elements.iter_elements(new["blocks"]):
            entry = old_values.get(block.get("block_id"), {}).get(element.get("action_id"))
            if entry is not None and entry.get("type") == element.get("type"):
                kept.setdefault(block["block_id"], {})[element["action_id"]] = entry
        return kept

    def publish_home(
        self, team: Team, user_id: str, view: dict[str, Any], expected_hash: str | None
    ) -> dict[str, Any]:
        with self.lock:
            key = (team.id, user_id)
            existing_id = self.home_views.get(key)
            if existing_id and expected_hash and expected_hash != self.views[existing_id]["hash"]:
                raise SlackError("hash_conflict")
            view_id = existing_id or self.ids.new_id("V")
            self._claim_external_id(team, view, view_id)
            obj = self._view_object(
                team, view, view_id=view_id, root_view_id=view_id, previous_view_id=None
            )
            self.views[view_id] = obj
            self.view_owner[view_id] = key
            self.home_views[key] = view_id
            return obj

    def close_modal(self, view_id: str) -> None:
        """The user closed/submitted ``view_id``: it and anything pushed above it leave."""
        with self.lock:
            owner = self.view_owner.get(view_id)
            if owner is None:
                return
            stack = self.modal_stacks.get(owner, [])
            if view_id not in stack:
                return
            del stack[stack.index(view_id) :]
            if not stack:
                del self.modal_stacks[owner]

    def clear_modals(self, team_id: str, user_id: str) -> None:
        with self.lock:
            self._close_stack((team_id, user_id))

    def _close_stack(self, key: tuple[str, str]) -> None:
        self.modal_stacks.pop(key, None)

    def set_view_state(self, view_id: str, block_id: str, action_id: str, entry: Any) -> None:
        """Record what the user entered in a view (Slack keeps it in ``view.state``)."""
        with self.lock:
            values = self.views[view_id].setdefault("state", {}).setdefault("values", {})
            values.setdefault(block_id, {})[action_id] = copy.deepcopy(entry)

    def replace_view_from_response(
        self, view_id: str, view: dict[str, Any], *, push: bool
    ) -> dict[str, Any]:
        """Apply a view_submission ``response_action`` of ``update`` or ``push``."""
        with self.lock:
            team_id, user_id = self.view_owner[view_id]
            team = self.teams[team_id]
            if push:
                return self.push_modal(team, user_id, view)
            return self.update_view(team, view_id, view, None)

    # -- files --------------------------------------------------------------------------

    def add_file(
        self,
        team_id: str,
        user_id: str,
        *,
        name: str,
        content: bytes,
        mimetype: str,
        filetype: str,
        title: str | None = None,
        file_id: str | None = None,
        alt_txt: str | None = None,
    ) -> StoredFile:
        with self.lock:
            self.team(team_id)
            stored = StoredFile(
                id=file_id or self.ids.new_id("F"),
                team_id=team_id,
                user_id=user_id,
                name=name,
                title=title or name,
                mimetype=mimetype,
                filetype=filetype,
                content=bytes(content),
                alt_txt=alt_txt,
            )
            self.files[stored.id] = stored
            return stored

    def file_object(self, stored: StoredFile) -> dict[str, Any]:
        team = self.teams[stored.team_id]
        path = f"/files-pri/{stored.team_id}-{stored.id}"
        name = quote(stored.name)
        channels = [c for c in stored.channels if not self.channels[c].is_private]
        groups = [
            c for c in stored.channels if self.channels[c].is_private and not self.channels[c].is_im
        ]
        ims = [c for c in stored.channels if self.channels[c].is_im]
        obj: dict[str, Any] = {
            "id": stored.id,
            "created": stored.created,
            "timestamp": stored.created,
            "name": stored.name,
            "title": stored.title,
            "mimetype": stored.mimetype,
            "filetype": stored.filetype,
            "pretty_type": stored.filetype.upper(),
            "user": stored.user_id,
            "user_team": stored.team_id,
            "editable": False,
            "size": len(stored.content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": bool(channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": self.url(f"{path}/{name}"),
            "url_private_download": self.url(f"{path}/download/{name}"),
            "permalink": f"https://{team.domain}.slack.com/files/{stored.user_id}/{stored.id}/"
            f"{name}",
            "permalink_public": f"https://slack-files.com/{stored.team_id}-{stored.id}-"
            f"{stored.public_secret}",
            "channels": channels,
            "groups": groups,
            "ims": ims,
            "comments_count": 0,
            "has_rich_preview": False,
        }
        if stored.share_points:
            # files.info's `shares`: where the file was posted, by visibility and channel.
            shares: dict[str, dict[str, list[dict[str, Any]]]] = {}
            for channel_id, ts, thread_ts in stored.share_points:
                visibility = "private" if self.channels[channel_id].is_private else "public"
                entry: dict[str, Any] = {"ts": ts, "channel_name": self.channels[channel_id].name}
                if thread_ts:
                    entry["thread_ts"] = thread_ts
                shares.setdefault(visibility, {}).setdefault(channel_id, []).append(entry)
            obj["shares"] = shares
        if stored.alt_txt is not None:
            obj["alt_txt"] = stored.alt_txt
        return obj

    def lookup_file(self, file_ref: Any, team_id: str) -> StoredFile:
        """Test-side: a file id or a file object (from add_file/files.info) -> the stored file."""
        file_id = file_ref.get("id") if isinstance(file_ref, dict) else file_ref
        with self.lock:
            stored = self.files.get(str(file_id))
            if stored is None or stored.team_id != team_id:
                raise KeyError(f"unknown file {file_id!r} in team {team_id}")
            return stored

    def share_file(
        self,
        stored: StoredFile,
        channel: Channel,
        ts: str | None = None,
        thread_ts: str | None = None,
    ) -> None:
        """The file was posted in `channel` (by the message at `ts`, when known)."""
        with self.lock:
            if channel.id not in stored.channels:
                stored.channels.append(channel.id)
            if ts is not None:
                stored.share_points.append((channel.id, ts, thread_ts))

    # -- recording ----------------------------------------------------------------------

    def record(self, call: RecordedCall) -> None:
        with self.lock:
            self.calls.append(call)
