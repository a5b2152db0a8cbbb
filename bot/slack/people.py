"""What Ticketbot knows about Slack users: staff membership and profiles, cached.

Reads from Slack are kept off the path to an ack wherever possible: the staff list is
cached (and a stale copy is used when Slack does not answer), and profiles are fetched in
the background after a person is first seen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlmodel import Session

from bot.core.db import Database
from bot.outbox import messages
from bot.services import organizations as orgs
from bot.services.actors import Actor, member_has_staff_role
from models import Member, Organization, Ticket, utcnow

log = logging.getLogger(__name__)

PROFILE_REFRESH_AFTER_SECONDS = 24 * 3600


@dataclass
class _CachedMembers:
    members: frozenset[str]
    fetched_at: float = field(default_factory=time.monotonic)


class SlackDirectory:
    def __init__(
        self,
        db: Database,
        client_for: Callable[[Organization], WebClient | None],
        *,
        default_staff_channel: str | None,
        staff_cache_seconds: int = 60,
        background: bool = True,
    ) -> None:
        self.db = db
        self.client_for = client_for
        self.default_staff_channel = default_staff_channel
        self.staff_cache_seconds = staff_cache_seconds
        self._cache: dict[tuple[int, str], _CachedMembers] = {}
        self._lock = threading.Lock()
        self._pending_profiles: set[tuple[int, str]] = set()
        self._refreshing: set[tuple[int, str]] = set()  # staff lists being fetched again
        # (organization id, Slack user id): ids, not ORM objects, which a committed unit of
        # work may have expired and detached by the time the refresh runs.
        self._queued: list[tuple[int, str]] = []
        self._executor = (
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="profiles") if background else None
        )
        # Its own thread: a burst of new people's profiles must not delay who is staff.
        self._staff_refresher = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="staff") if background else None
        )

    # -- staff -----------------------------------------------------------------------------

    def staff_channel(self, organization: Organization) -> str | None:
        return organization.staff_channel_id or self.default_staff_channel

    def staff_channel_members(self, organization: Organization) -> frozenset[str]:
        """Slack user ids in the staff channel; cached, and stale rather than missing.

        Only the first look-up waits for Slack. Later, an expired list is still answered
        at once while a fresh one is fetched in the background: requests are acknowledged
        within Slack's 3 seconds, and a Slack outage does not hold every one of them up.
        """
        channel = self.staff_channel(organization)
        if not channel or organization.id is None:
            return frozenset()
        key = (organization.id, channel)
        with self._lock:
            cached = self._cache.get(key)
        if cached and time.monotonic() - cached.fetched_at < self.staff_cache_seconds:
            return cached.members
        if cached and self._staff_refresher is not None:
            with self._lock:
                refreshing = key in self._refreshing
                self._refreshing.add(key)
            if not refreshing:
                try:
                    self._staff_refresher.submit(self._refresh_staff, organization, key, cached)
                except RuntimeError:  # shutting down
                    with self._lock:
                        self._refreshing.discard(key)
            return cached.members
        return self._fetch_staff(organization, key, cached)

    def has_staff_list(self, organization: Organization) -> bool:
        """Whether a staff list of the organization's staff channel is at hand."""
        channel = self.staff_channel(organization)
        with self._lock:
            return (organization.id or 0, channel or "") in self._cache

    def warm_up(self, organizations: list[Organization]) -> None:
        """Read the staff lists in the background now (the server is starting), so that the
        first requests do not wait for Slack to list a staff channel."""
        if self._staff_refresher is None:
            return
        for organization in organizations:
            channel = self.staff_channel(organization)
            if channel and organization.id is not None:
                key = (organization.id, channel)
                with self._lock:
                    if key in self._cache or key in self._refreshing:
                        continue
                    self._refreshing.add(key)
                self._staff_refresher.submit(self._refresh_staff, organization, key, None)

    def _refresh_staff(
        self, organization: Organization, key: tuple[int, str], cached: _CachedMembers | None
    ) -> None:
        try:
            self._fetch_staff(organization, key, cached)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _fetch_staff(
        self, organization: Organization, key: tuple[int, str], cached: _CachedMembers | None
    ) -> frozenset[str]:
        channel = key[1]
        client = self.client_for(organization)
        if client is None:
            return cached.members if cached else frozenset()
        try:
            members: set[str] = set()
            cursor = None
            while True:
                response = client.conversations_members(channel=channel, cursor=cursor, limit=200)
                members.update(response.get("members", []))
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("could not list staff channel %s: %s", channel, error)
            return cached.members if cached else frozenset()
        fresh = _CachedMembers(frozenset(members))
        with self._lock:
            self._cache[key] = fresh
        return fresh.members

    def forget_staff(self, organization: Organization) -> None:
        with self._lock:
            for key in [k for k in self._cache if k[0] == organization.id]:
                del self._cache[key]

    def is_staff(self, organization: Organization, member: Member) -> bool:
        if member_has_staff_role(member):
            return True
        if not member.slack_user_id:
            return False
        return member.slack_user_id in self.staff_channel_members(organization)

    def staff_check(self, organization: Organization) -> Callable[[Member], bool]:
        return lambda member: self.is_staff(organization, member)

    def staff_snapshot(self, organization: Organization) -> Callable[[Member], bool]:
        """`staff_check` with the staff list read now, once: for work that must not wait
        on Slack later (a group commit's writer runs it, with others' work waiting)."""
        members = self.staff_channel_members(organization)
        return lambda member: (
            member_has_staff_role(member)
            or (member.slack_user_id is not None and member.slack_user_id in members)
        )

    def actor(self, organization: Organization, member: Member) -> Actor:
        """The member as an actor; staff-ness is asked of the staff list only when needed."""
        return Actor.for_member(member, is_staff=lambda: self.is_staff(organization, member))

    # -- people ----------------------------------------------------------------------------

    def member_for(
        self,
        session: Session,
        organization: Organization,
        slack_user_id: str,
        name: str | None = None,
    ) -> Member:
        """The member of `slack_user_id`, created from what the request told us if new.

        No Slack call here: the profile (real name, email, time zone) is read afterwards.
        """
        member = orgs.find_member_by_slack_id(
            session, organization_id=organization.id, slack_user_id=slack_user_id
        )
        if member is None:
            member = orgs.sync_slack_member(
                session, organization=organization, slack_user_id=slack_user_id, name=name
            )
        self.refresh_if_stale(organization, member)
        return member

    def refresh_if_stale(self, organization: Organization, member: Member) -> None:
        """Queue a profile read for a person never read from Slack, or not for a day."""
        if not member.slack_user_id:
            return
        if member.slack_profile_synced_at is None or (
            (utcnow() - member.slack_profile_synced_at).total_seconds()
            > PROFILE_REFRESH_AFTER_SECONDS
        ):
            self.refresh_profile_later(organization, member.slack_user_id)

    def refresh_profile_later(self, organization: Organization, slack_user_id: str) -> None:
        key = (organization.id or 0, slack_user_id)
        with self._lock:
            if key in self._pending_profiles:
                return
            self._pending_profiles.add(key)
        if self._executor is None:
            with self._lock:
                self._queued.append(key)
            return
        self._executor.submit(self._refresh_profile, key[0], slack_user_id)

    @property
    def has_queued(self) -> bool:
        with self._lock:
            return bool(self._queued)

    def run_queued(self) -> None:
        """Read the queued profiles now (without a background pool: tests and the demo)."""
        while True:
            with self._lock:
                if not self._queued:
                    return
                organization_id, slack_user_id = self._queued.pop(0)
            self._refresh_profile(organization_id, slack_user_id)

    def _refresh_profile(self, organization_id: int, slack_user_id: str) -> None:
        key = (organization_id, slack_user_id)
        try:
            with self.db.read_session() as session:
                organization = session.get(Organization, organization_id)
            if organization is None:
                return
            client = self.client_for(organization)
            if client is None:
                return
            user = client.users_info(user=slack_user_id)["user"]
            profile = user.get("profile") or {}
            name = (
                profile.get("real_name")
                or user.get("real_name")
                or profile.get("display_name")
                or user.get("name")
            )
            home_team = user.get("team_id")
            external_name = None
            if home_team and home_team != organization.slack_team_id:
                external_name = self._team_name(client, home_team)
            with self.db.session() as session:
                org = session.get(Organization, organization.id)
                if org is None:
                    return
                member = orgs.sync_slack_member(
                    session,
                    organization=org,
                    slack_user_id=slack_user_id,
                    name=name,
                    email=profile.get("email"),
                    timezone=user.get("tz"),
                )
                member = orgs.merge_into_email_twin(
                    session, member=member, email=profile.get("email")
                )
                member.slack_profile_synced_at = utcnow()
                member.slack_is_admin = is_workspace_admin(user, org)
                session.add(member)
                moved = orgs.match_client_company(
                    session,
                    organization=org,
                    member=member,
                    external_team_id=home_team if external_name is not None else None,
                    external_team_name=external_name,
                )
                for ticket_id in moved:
                    ticket = session.get(Ticket, ticket_id)
                    if ticket is not None:
                        messages.refresh_card(session, organization=org, ticket=ticket)
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("could not read the Slack profile of %s: %s", slack_user_id, error)
        except Exception:
            log.exception("profile refresh of %s failed", slack_user_id)
        finally:
            with self._lock:
                self._pending_profiles.discard(key)

    @staticmethod
    def _team_name(client: WebClient, team_id: str) -> str:
        """The name of a Slack Connect partner's workspace (its id if Slack won't say)."""
        try:
            return str(client.team_info(team=team_id)["team"].get("name") or team_id)
        except (SlackApiError, SlackClientError, OSError, KeyError):
            return team_id

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._staff_refresher is not None:
            self._staff_refresher.shutdown(wait=False, cancel_futures=True)


def is_workspace_admin(user: dict[str, Any], organization: Organization) -> bool:
    """An admin or owner of the organization's own workspace (or of its Enterprise Grid),
    from Slack's user object. Admins of other workspaces met in a Slack Connect channel,
    and guests, are not."""
    if not (user.get("is_admin") or user.get("is_owner")):
        return False
    if user.get("is_restricted") or user.get("is_ultra_restricted") or user.get("is_stranger"):
        return False
    if user.get("team_id") == organization.slack_team_id:
        return True
    enterprise = (user.get("enterprise_user") or {}).get("enterprise_id")
    return bool(organization.slack_enterprise_id) and enterprise == organization.slack_enterprise_id
