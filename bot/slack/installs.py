"""Workspaces coming and going: installs, uninstalls, revoked tokens.

The organization and its data always stay; only Slack deliveries pause while the app is
not installed, and resume when it is installed again.
"""

from __future__ import annotations

import logging

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import update
from sqlmodel import Session, col

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
