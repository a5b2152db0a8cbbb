"""Demo data: the TechPro MSP helpdesk with two client companies and six tickets.

    python seed.py [--team-id T…] [--staff-channel C…] [--database-url URL]

Everything is created through the services (`bot.services`), in one unit of work, so the
demo data obeys the same rules as real data. Running it again creates nothing: people and
companies are looked up before they are created, and tickets are only filed into an
organization that has none yet.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from bot.core import migrate
from bot.core.db import Database
from bot.core.settings import Settings
from bot.services import comments, organizations, tickets
from bot.services.actors import Actor
from models import CommentType, Member, MemberRole, Organization, Ticket
from models.ticket import TicketCreate

DEFAULT_TEAM_ID = "T0TECHPRO1"
ORGANIZATION_NAME = "TechPro MSP"

# (name, email domains)
COMPANIES = (
    ("Acme Corp", ["acme.com"]),
    ("Globex", ["globex.com"]),
)
# (key, name, email, role); end users find their company by email domain.
PEOPLE = (
    ("sarah", "Sarah Admin", "admin@techpro.com", MemberRole.ADMIN),
    ("mike", "Mike Tech", "tech1@techpro.com", MemberRole.TECHNICIAN),
    ("john", "John Smith", "john.smith@acme.com", MemberRole.END_USER),
    ("jane", "Jane Doe", "jane.doe@acme.com", MemberRole.END_USER),
    ("hank", "Hank Scorpio", "hank.scorpio@globex.com", MemberRole.END_USER),
)
# Filed in this order, so they become #1…#6. `filed_by` None means the requester filed it;
# `changes` are then applied by `changed_by` through update_ticket.
TICKETS: tuple[dict[str, Any], ...] = (
    {
        "requester": "john",
        "filed_by": None,
        "title": "Outlook crashes on startup",
        "description": "Since this morning Outlook closes itself a few seconds after opening.",
        "priority": "high",
        "category": "software",
        "changed_by": "mike",
        "changes": {"status": "in_progress", "assigned_staff_id": "mike"},
    },
    {
        "requester": "jane",
        "filed_by": None,
        "title": "Cannot connect to the VPN from home",
        "description": "The VPN client says 'authentication failed' although my password works.",
        "priority": "urgent",
        "category": "network",
        "changed_by": None,
        "changes": {},
    },
    {
        "requester": "hank",
        "filed_by": "sarah",
        "title": "New laptop for a new hire",
        "description": "Set up a laptop with the standard image for our new accountant.",
        "priority": "medium",
        "category": "hardware",
        "changed_by": "sarah",
        "changes": {"status": "pending", "assigned_staff_id": "mike"},
    },
    {
        "requester": "john",
        "filed_by": None,
        "title": "Printer on the 2nd floor keeps jamming",
        "description": "Every third page jams in tray 2.",
        "priority": "low",
        "category": "hardware",
        "changed_by": "mike",
        "changes": {"status": "resolved", "assigned_staff_id": "mike"},
    },
    {
        "requester": "hank",
        "filed_by": None,
        "title": "Password reset for the shared mailbox",
        "description": "Nobody remembers the password of billing@globex.com.",
        "priority": "medium",
        "category": "account & access",
        "changed_by": "sarah",
        "changes": {"status": "closed", "assigned_staff_id": "sarah"},
    },
    {
        "requester": "jane",
        "filed_by": None,
        "title": "Email not syncing on my phone",
        "description": "New mail shows up on the laptop but not on the phone.",
        "priority": "low",
        "category": "email",
        "changed_by": None,
        "changes": {},
    },
)
# (ticket number, author, type, content)
COMMENTS = (
    (
        1,
        "mike",
        CommentType.INTERNAL_NOTE,
        "Event log shows the legacy CRM add-in crashing on load. Disabling it remotely.",
    ),
    (
        1,
        "mike",
        CommentType.PUBLIC_REPLY,
        "Hi John, we found an add-in that makes Outlook crash and are turning it off now.",
    ),
    (2, "jane", CommentType.PUBLIC_REPLY, "Still failing this morning, the error is attached."),
)
# (ticket number, uploader, filename, type, size, internal)
ATTACHMENTS = (
    (1, "john", "error_screenshot.png", "image/png", 245_678, False),
    (2, "mike", "network_diagram.pdf", "application/pdf", 1_048_576, True),
)


@dataclass
class SeedResult:
    """How many rows of each kind this run created (all zero when the data was there)."""

    organization_id: int
    organizations: int = 0
    client_companies: int = 0
    members: int = 0
    tickets: int = 0
    comments: int = 0
    attachments: int = 0

    @property
    def created_anything(self) -> bool:
        return any(
            (
                self.organizations,
                self.client_companies,
                self.members,
                self.tickets,
                self.comments,
                self.attachments,
            )
        )


def seed(db: Database, *, team_id: str, staff_channel_id: str | None) -> SeedResult:
    """Load the demo data into `db` (whose schema must exist); idempotent."""
    with db.session() as session:
        organization, created = _organization(session, team_id)
        result = SeedResult(organization_id=organization.id or 0, organizations=int(created))
        if staff_channel_id and organization.staff_channel_id != staff_channel_id:
            organizations.update_organization_settings(
                session, organization=organization, staff_channel_id=staff_channel_id
            )
        for name, domains in COMPANIES:
            result.client_companies += _company(session, organization, name, domains)
        people: dict[str, Member] = {}
        for key, name, email, role in PEOPLE:
            people[key], created = _member(session, organization, name, email, role)
            result.members += created
        if not _has_tickets(session, organization):
            _tickets(session, organization, people, result)
        return result


def _organization(session: Session, team_id: str) -> tuple[Organization, bool]:
    existing = organizations.get_organization_by_team(session, team_id=team_id)
    if existing is not None:
        return existing, False
    created = organizations.get_or_create_organization(
        session, team_id=team_id, name=ORGANIZATION_NAME
    )
    return created, True


def _company(session: Session, organization: Organization, name: str, domains: list[str]) -> bool:
    found = organizations.find_client_company_by_name(
        session, organization_id=organization.id, name=name
    )
    if found is not None:
        return False
    organizations.create_client_company(
        session, organization=organization, name=name, email_domains=domains
    )
    return True


def _member(
    session: Session, organization: Organization, name: str, email: str, role: MemberRole
) -> tuple[Member, bool]:
    found = organizations.find_member_by_email(
        session, organization_id=organization.id, email=email
    )
    if found is not None:
        return found, False
    member = organizations.create_member(
        session, organization=organization, name=name, email=email, role=role
    )
    return member, True


def _has_tickets(session: Session, organization: Organization) -> bool:
    query = select(Ticket.id).where(Ticket.organization_id == organization.id).limit(1)
    return session.exec(query).first() is not None


def _tickets(
    session: Session, organization: Organization, people: dict[str, Member], result: SeedResult
) -> None:
    def actor(key: str) -> Actor:
        return Actor.for_member(people[key])

    by_number: dict[int, Ticket] = {}
    for spec in TICKETS:
        requester = people[spec["requester"]]
        ticket = tickets.create_ticket(
            session,
            organization=organization,
            requester=requester,
            actor=actor(spec["filed_by"] or spec["requester"]),
            request=TicketCreate(
                title=spec["title"],
                description=spec["description"],
                priority=spec["priority"],
                category=spec["category"],
            ),
        )
        if spec["changes"]:
            changes = dict(spec["changes"])
            if "assigned_staff_id" in changes:
                changes["assigned_staff_id"] = people[changes["assigned_staff_id"]].id
            tickets.update_ticket(
                session,
                organization=organization,
                ticket=ticket,
                actor=actor(spec["changed_by"]),
                changes=changes,
            )
        by_number[ticket.ticket_number] = ticket
        result.tickets += 1
    for number, author, kind, content in COMMENTS:
        comments.add_comment(
            session,
            organization=organization,
            ticket=by_number[number],
            actor=actor(author),
            content=content,
            comment_type=kind,
        )
        result.comments += 1
    for number, uploader, filename, file_type, size, internal in ATTACHMENTS:
        comments.add_attachment(
            session,
            organization=organization,
            ticket=by_number[number],
            actor=actor(uploader),
            filename=filename,
            file_type=file_type,
            file_size=size,
            is_internal=internal,
        )
        result.attachments += 1


def summary(result: SeedResult, team_id: str) -> str:
    if not result.created_anything:
        return f"{ORGANIZATION_NAME} ({team_id}): demo data already present, nothing created."
    return (
        f"{ORGANIZATION_NAME} ({team_id}): created {result.organizations} organization, "
        f"{result.client_companies} client companies, {result.members} members, "
        f"{result.tickets} tickets, {result.comments} comments, "
        f"{result.attachments} attachments."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load the Ticketbot demo data (idempotent).")
    parser.add_argument("--team-id", default=DEFAULT_TEAM_ID, help="Slack workspace (team) id")
    parser.add_argument("--staff-channel", default=None, help="staff (triage) channel id")
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL setting")
    args = parser.parse_args(argv)
    url = args.database_url
    if not url:
        url = Settings().database_url
    db = Database.from_url(url)
    try:
        migrate.upgrade(db.engine)
        result = seed(db, team_id=args.team_id, staff_channel_id=args.staff_channel)
    finally:
        db.dispose()
    print(summary(result, args.team_id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
