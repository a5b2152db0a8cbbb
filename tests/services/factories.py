"""Small builders for service tests: an organization with staff and end users."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.services import organizations as orgs
from bot.services.actors import Actor
from models import Member, MemberRole, Organization


@dataclass
class Workspace:
    organization: Organization
    admin: Member
    tech: Member
    alice: Member  # an end user
    bob: Member  # another end user

    def actor(self, member: Member) -> Actor:
        return Actor.for_member(member)


def make_workspace(
    session: Session, team_id: str = "T0001", domain: str = "example.com"
) -> Workspace:
    organization = orgs.get_or_create_organization(session, team_id=team_id, name=f"Org {team_id}")
    admin = orgs.create_member(
        session,
        organization=organization,
        name="Ada Admin",
        email=f"admin@{domain}",
        role=MemberRole.ADMIN,
        slack_user_id=f"U{team_id}A",
    )
    tech = orgs.create_member(
        session,
        organization=organization,
        name="Tom Tech",
        email=f"tech@{domain}",
        role=MemberRole.TECHNICIAN,
        slack_user_id=f"U{team_id}T",
    )
    alice = orgs.create_member(
        session,
        organization=organization,
        name="Alice",
        email=f"alice@client-{team_id}.com",
        slack_user_id=f"U{team_id}1",
    )
    bob = orgs.create_member(
        session,
        organization=organization,
        name="Bob",
        email=f"bob@client-{team_id}.com",
        slack_user_id=f"U{team_id}2",
    )
    return Workspace(organization, admin, tech, alice, bob)
