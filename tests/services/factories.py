"""Small builders for service tests: an organization with staff and end users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bot.services import organizations as orgs
from bot.services import tickets
from bot.services.actors import Actor
from models import Member, MemberRole, Organization, Ticket
from models.ticket import TicketCreate


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


def file_ticket(
    session: Session,
    ws: Workspace,
    *,
    requester: Member | None = None,
    actor: Actor | None = None,
    title: str = "Printer is on fire",
    **kwargs: Any,
) -> Ticket:
    """A ticket filed by `requester` (Alice by default) for themselves unless `actor` says;
    keywords other than `parent_ticket_id` and `number_last` are the request's fields."""
    requester = requester or ws.alice
    options = {k: kwargs.pop(k) for k in ("parent_ticket_id", "number_last") if k in kwargs}
    return tickets.create_ticket(
        session,
        organization=ws.organization,
        requester=requester,
        actor=actor or Actor.for_member(requester),
        request=TicketCreate(title=title, **kwargs),
        **options,
    )


def set_updated_at(session: Session, ticket: Ticket, when: datetime) -> None:
    """Put a ticket's `updated_at` at a known instant (ordering tests, "it moved" tests)."""
    session.execute(
        update(Ticket)
        .where(col(Ticket.id) == ticket.id)
        .values(updated_at=when)
        .execution_options(synchronize_session=False)
    )
    ticket.updated_at = when
    session.flush()


def count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())
