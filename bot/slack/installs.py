"""Workspaces coming and going: installs, uninstalls, revoked tokens.

The organization and its data always stay; only Slack deliveries pause while the app is
not installed, and resume when it is installed again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.blocks.setup import welcome_blocks
from bot.core.db import Database
from bot.outbox import rows as outbox
from bot.services import organizations as orgs
from models import Member, MemberRole, Organization, OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger(__name__)


def disconnect(session: Session, *, organization: Organization, reason: str) -> None:
    """The app lost access to the workspace: pause its deliveries (nothing is dropped)."""
    org = session.get(Organization, organization.id)
    if org is None or org.slack_disconnected_at is not None:
        return
    org.slack_disconnected_at = utcnow()
    session.add(org)
    session.flush()
    log.warning(
        "workspace %s disconnected (%s): Slack deliveries paused", org.slack_team_id, reason
    )


def token_works(client: Any, organization: Organization) -> bool:
    """Does Slack accept the bot token for this organization's workspace (auth.test)?"""
    try:
        answer = client.auth_test()
    except (SlackApiError, SlackClientError, OSError) as error:
        log.info("workspace %s: auth.test failed: %s", organization.slack_team_id, error)
        return False
    team = answer.get("team_id")
    return bool(answer.get("ok")) and (team is None or team == organization.slack_team_id)


def reconnect(session: Session, *, organization: Organization) -> None:
    """The app is back in the workspace: deliveries resume now, not after their backoff."""
    org = session.get(Organization, organization.id)
    if org is None:
        return
    was_disconnected = org.slack_disconnected_at is not None
    org.slack_disconnected_at = None
    session.add(org)
    session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.organization_id) == org.id,
            col(OutboxMessage.status) == OutboxStatus.PENDING,
        )
        .values(next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    Database.mark(session, outbox.ROWS_WRITTEN)
    if was_disconnected:
        log.info("workspace %s reconnected: Slack deliveries resume", org.slack_team_id)


# Why Slack refuses posts to a staff channel, in words for the admins.
STAFF_CHANNEL_PROBLEMS = {
    "not_in_channel": "Ticketbot is not a member of it",
    "channel_not_found": "Slack cannot find it (deleted, or private without Ticketbot)",
    "is_archived": "it is archived",
}


def staff_channel_unreachable(
    session: Session,
    *,
    organization_id: int,
    channel: str,
    error: str,
    retry_at: datetime,
) -> None:
    """Slack refused a post to the staff channel: its messages wait (in order) until
    `retry_at`, a re-invite or a new channel; the admins hear about it once."""
    org = session.get(Organization, organization_id, with_for_update=True)
    if org is None:
        return
    first = org.staff_channel_error is None
    org.staff_channel_error = error[:64]
    org.staff_channel_error_at = org.staff_channel_error_at or utcnow()
    org.staff_channel_retry_at = retry_at
    session.add(org)
    session.flush()
    if not first:
        return
    log.error(
        "workspace %s: cannot post in staff channel %s (%s); its messages wait",
        org.slack_team_id,
        channel,
        error,
    )
    reason = STAFF_CHANNEL_PROBLEMS.get(error, error)
    text = (
        f"I cannot post in the staff channel <#{channel}>: {reason}. New tickets and "
        "updates are kept and will be posted there in order as soon as I can. Invite me "
        "to the channel again (`/invite @Ticketbot`), or choose another staff channel with "
        "`/ticket setup`."
    )
    for admin in orgs.admins(session, organization_id=org.id):
        outbox.enqueue(
            session,
            organization=org,
            ticket=None,
            method="chat.postMessage",
            payload={"dm_user": admin.slack_user_id, "text": text},
            lane=outbox.Lane.NOTIFY,
        )


def staff_channel_works(session: Session, *, organization_id: int) -> None:
    """A post to the staff channel went through: its waiting messages go out now."""
    org = session.get(Organization, organization_id)
    if org is None or org.staff_channel_error is None:
        return
    log.info("workspace %s: the staff channel works again", org.slack_team_id)
    org.staff_channel_error = None
    org.staff_channel_error_at = None
    org.staff_channel_retry_at = None
    session.add(org)
    _due_now(session, org)


def retry_staff_channel(session: Session, *, organization: Organization) -> None:
    """Something may have fixed the staff channel (Ticketbot was invited back, the setup
    was saved): its waiting messages try again now."""
    org = session.get(Organization, organization.id)
    if org is None or org.staff_channel_error is None:
        return
    org.staff_channel_retry_at = utcnow()
    session.add(org)
    _due_now(session, org)


def _due_now(session: Session, org: Organization) -> None:
    session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.organization_id) == org.id,
            col(OutboxMessage.status) == OutboxStatus.PENDING,
        )
        .values(next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    Database.mark(session, outbox.ROWS_WRITTEN)


def workspace_problems(
    db: Database, *, default_staff_channel: str | None = None
) -> dict[str, list[dict[str, str | None]]]:
    """What keeps Slack messages from going out, per workspace (for /healthz): workspaces
    the app lost access to, and staff channels Slack refuses posts to."""
    with db.read_session() as session:
        unreachable = session.exec(
            select(Organization)
            .where(col(Organization.staff_channel_error).is_not(None))
            .order_by(col(Organization.id))
        ).all()
        disconnected = session.exec(
            select(Organization)
            .where(col(Organization.slack_disconnected_at).is_not(None))
            .order_by(col(Organization.id))
        ).all()
        return {
            "disconnected_workspaces": [
                {
                    "team": org.slack_team_id,
                    "since": _iso(org.slack_disconnected_at),
                }
                for org in disconnected
            ],
            "unreachable_staff_channels": [
                {
                    "team": org.slack_team_id,
                    "channel": org.staff_channel_id or default_staff_channel,
                    "error": org.staff_channel_error,
                    "since": _iso(org.staff_channel_error_at),
                    "next_try": _iso(org.staff_channel_retry_at),
                }
                for org in unreachable
            ],
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def installed(db: Database, installation: Installation) -> None:
    """A workspace installed the app through OAuth: its organization exists and is
    connected, and the person who installed it is an admin of it."""
    if installation.team_id is None:
        # An Enterprise Grid org-wide install: each workspace's organization is created
        # (with the enterprise id) on its first request.
        return
    with db.session() as session:
        organization = orgs.get_or_create_organization(
            session,
            team_id=installation.team_id,
            name=installation.team_name,
            enterprise_id=installation.enterprise_id,
        )
        if installation.team_name and organization.name != installation.team_name:
            organization.name = installation.team_name[:200]
            session.add(organization)
        reconnect(session, organization=organization)
        if installation.user_id:
            installer = orgs.sync_slack_member(
                session, organization=organization, slack_user_id=installation.user_id
            )
            if installer.role == MemberRole.END_USER:
                installer.role = MemberRole.ADMIN
                session.add(installer)
            if organization.staff_channel_id is None:
                welcome(session, organization=organization, installer=installer)


def welcome(session: Session, *, organization: Organization, installer: Member) -> None:
    """The installer's welcome DM, with the button that opens the setup."""
    if not installer.slack_user_id:
        return
    outbox.enqueue(
        session,
        organization=organization,
        ticket=None,
        method="chat.postMessage",
        payload={
            "dm_user": installer.slack_user_id,
            "text": "Thanks for installing Ticketbot! Choose its staff channel to start.",
            "blocks": welcome_blocks(),
        },
        lane=outbox.Lane.NOTIFY,
    )


class InstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's installation store on our tables (see models/slack_oauth.py); saving an
    installation also sets up the workspace's organization."""

    def __init__(self, client_id: str, db: Database) -> None:
        super().__init__(client_id=client_id, engine=db.engine)
        self.db = db

    def save(self, installation: Installation) -> None:
        super().save(installation)
        installed(self.db, installation)

    def bot_token_for(self, organization: Organization) -> str | None:
        bot = self.find_bot(
            enterprise_id=organization.slack_enterprise_id, team_id=organization.slack_team_id
        )
        if bot is None and organization.slack_enterprise_id:
            bot = self.find_bot(
                enterprise_id=organization.slack_enterprise_id,
                team_id=None,
                is_enterprise_install=True,
            )
        return bot.bot_token if bot else None
