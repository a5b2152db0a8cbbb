"""The simulated Slack world: workspaces, users and channels here; messages, views and
files in their own modules (mixed into ``Workspace``).

Everything lives in one ``Workspace`` object guarded by one re-entrant lock, so Web API
calls (server threads), test set-up and the driver see consistent state.  Operations raise
``SlackError`` with Slack's error codes; the Web API layer turns those into responses.
Values handed out are deep copies so callers can never mutate the simulator's state.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from .blockkit import BlockKitLimits, current_limits
from .files import FilesMixin
from .ids import IdFactory
from .messages import MessagesMixin
from .records import (
    APP_ID,
    Channel,
    OAuthApp,
    OAuthCode,
    PendingUpload,
    RecordedCall,
    ResponseUrl,
    SlackError,
    StoredFile,
    Team,
    Trigger,
    _tz_details,
)
from .views import ViewsMixin


class Workspace(MessagesMixin, ViewsMixin, FilesMixin):
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

    # -- recording ----------------------------------------------------------------------

    def record(self, call: RecordedCall) -> None:
        with self.lock:
            self.calls.append(call)
