"""Records of the simulated Slack world: teams, channels, files, triggers, calls."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
