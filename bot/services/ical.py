"""A technician's time entries as an iCalendar feed (RFC 5545) behind a secret URL.

Tokens are random, shown once, stored as sha256 and revocable. Each entry is one VEVENT
with a stable UID and SEQUENCE = the entry's revision (bumped by every edit), so calendar
clients update events in place instead of duplicating them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from icalendar import Calendar, Event
from sqlmodel import Session, col, select

from bot.core.errors import InvalidInput, NotFound
from bot.services import organizations as orgs
from bot.services.actors import member_has_staff_role
from models import (
    ClientCompany,
    IcalToken,
    Member,
    Organization,
    Ticket,
    TimeEntry,
    saved_id,
    utcnow,
)

TOKEN_SCHEME = "tbc_"
DISPLAY_PREFIX_LENGTH = len(TOKEN_SCHEME) + 6
MAX_FEED_ENTRIES = 5000


@dataclass(frozen=True)
class IssuedFeed:
    record: IcalToken
    secret: str

    def url(self, public_url: str) -> str:
        return f"{public_url.rstrip('/')}/ical/{self.secret}.ics"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _technician(session: Session, organization: Organization, slack_user_id: str) -> Member:
    member = orgs.find_member_by_slack_id(
        session, organization_id=organization.id, slack_user_id=slack_user_id
    )
    if member is None:
        raise NotFound(f"Ticketbot has never met {slack_user_id} in this workspace.")
    if not member_has_staff_role(member):
        raise InvalidInput(f"{member.name} is not a technician: there is no time to show.")
    return member


def create_feed_token(
    session: Session, *, organization: Organization, slack_user_id: str
) -> IssuedFeed:
    member = _technician(session, organization, slack_user_id)
    secret = TOKEN_SCHEME + secrets.token_urlsafe(32)
    record = IcalToken(
        organization_id=saved_id(organization),
        member_id=saved_id(member),
        token_prefix=secret[:DISPLAY_PREFIX_LENGTH],
        token_hash=hash_token(secret),
    )
    session.add(record)
    session.flush()
    return IssuedFeed(record=record, secret=secret)


def revoke_feed_tokens(session: Session, *, organization: Organization, slack_user_id: str) -> int:
    """Revoke every feed URL of that person; returns how many were live."""
    member = _technician(session, organization, slack_user_id)
    live = session.exec(
        select(IcalToken).where(
            IcalToken.organization_id == organization.id,
            IcalToken.member_id == member.id,
            col(IcalToken.revoked_at).is_(None),
        )
    ).all()
    now = utcnow()
    for token in live:
        token.revoked_at = now
        session.add(token)
    session.flush()
    return len(live)


def feed_owner(session: Session, *, token: str) -> Member | None:
    """The technician behind a live feed token, or None."""
    if not token.startswith(TOKEN_SCHEME):
        return None
    record = session.exec(
        select(IcalToken).where(IcalToken.token_hash == hash_token(token))
    ).first()
    if record is None or record.revoked_at is not None:
        return None
    member = session.get(Member, record.member_id)
    if member is None or member.organization_id != record.organization_id:
        return None
    return member


def _summary(ticket: Ticket, client: ClientCompany | None) -> str:
    summary = f"#{ticket.ticket_number} {ticket.title}"
    return f"{summary} — {client.name}" if client else summary


def feed(session: Session, *, member: Member, now: datetime | None = None) -> bytes:
    """The member's finished, not deleted entries as a calendar."""
    now = now or utcnow()
    organization = session.get(Organization, member.organization_id)
    assert organization is not None
    rows = session.exec(
        select(TimeEntry, Ticket)
        .join(Ticket, col(Ticket.id) == TimeEntry.ticket_id)
        .where(
            TimeEntry.organization_id == member.organization_id,
            TimeEntry.technician_id == member.id,
            col(TimeEntry.deleted_at).is_(None),
            col(TimeEntry.ended_at).is_not(None),
        )
        .order_by(col(TimeEntry.started_at).desc())
        .limit(MAX_FEED_ENTRIES)
    ).all()
    clients = {
        c.id: c
        for c in session.exec(
            select(ClientCompany).where(ClientCompany.organization_id == member.organization_id)
        )
    }
    calendar = Calendar()
    calendar.add("prodid", "-//Ticketbot//Time tracking//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Ticketbot time: {member.name}")
    for entry, ticket in rows:
        event = Event()
        event.add("uid", f"time-entry-{entry.id}@{organization.slack_team_id.lower()}.ticketbot")
        event.add("sequence", entry.revision)
        event.add("dtstamp", now)
        event.add("dtstart", entry.started_at)
        event.add("dtend", entry.ended_at)
        event.add("last-modified", entry.updated_at)
        event.add("summary", _summary(ticket, clients.get(ticket.client_company_id)))
        billable = "billable" if entry.billable else "not billable"
        description = f"{entry.actual_minutes} min ({billable})"
        if entry.note:
            description += f"\n{entry.note}"
        event.add("description", description)
        calendar.add_component(event)
    body: bytes = calendar.to_ical()
    return body
