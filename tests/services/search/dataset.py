"""A seeded set of tickets with known dates, people, companies, priorities, conversations,
attachments (and SLA clocks and time entries), for the search tests.

"Now" is fixed: NOW. The organization's time zone is Europe/Paris (UTC+1 in March 2026),
so a ticket filed at 23:30 UTC on 28 February was filed on 1 March there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.services import organizations as orgs
from models import (
    AuthorType,
    ClientCompany,
    CommentType,
    Member,
    Organization,
    Ticket,
    TicketAttachment,
    TicketComment,
)
from tests.services.factories import Workspace, make_workspace

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ZONE = "Europe/Paris"


def ago(**kwargs: float) -> datetime:
    return NOW - timedelta(**kwargs)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Spec:
    key: str
    title: str
    description: str = ""
    status: str = "open"
    priority: str = "medium"
    category: str | None = None
    requester: str | None = "alice"  # alice, bob, admin, tech or None
    assignee: str | None = None
    client: str | None = None  # "acme", "globex"
    created: datetime = NOW
    updated: datetime | None = None
    resolved: datetime | None = None
    # (kind, by, text, when): kind "public"/"internal", by "staff"/"user"
    comments: list[tuple[str, str, str, datetime]] = field(default_factory=list)
    attachments: list[bool] = field(default_factory=list)  # is_internal of each
    # (metric, status, due_at, warn_75_at, breached_at)
    clocks: list[tuple[str, str, datetime | None, datetime | None, datetime | None]] = field(
        default_factory=list
    )
    minutes_logged: int = 0


SPECS: list[Spec] = [
    Spec(
        "jam",
        "Printer paper jam on floor 3",
        "The HP printer jams every morning",
        priority="high",
        category="hardware",
        assignee="tech",
        client="acme",
        created=ago(days=10),
        updated=ago(days=1),
        comments=[
            ("public", "staff", "We ordered toner and a new tray", ago(days=9)),
            ("internal", "staff", "Vendor code ZEBRA42 for the tray", ago(days=9, hours=-1)),
        ],
        attachments=[False],
        clocks=[
            ("first_response", "met", ago(days=9, hours=20), None, None),
            ("resolution", "running", NOW + timedelta(hours=1), ago(hours=5), None),
        ],
        minutes_logged=45,
    ),
    Spec(
        "vpn",
        "VPN down",
        "Cannot connect from home since the update",
        status="in_progress",
        priority="urgent",
        category="network",
        requester="bob",
        assignee="tech",
        client="globex",
        created=ago(days=2),
        updated=ago(hours=3),
        comments=[
            ("public", "staff", "Looking into it now", ago(days=1, hours=20)),
            ("public", "user", "Still broken this morning", ago(hours=3)),
        ],
        clocks=[
            ("resolution", "running", ago(hours=2), ago(hours=20), ago(hours=2)),
        ],
    ),
    Spec(
        "email",
        "Email not syncing",
        "Outlook e-mail stuck in the outbox",
        status="pending",
        category="email",
        client="acme",
        created=ago(days=30),
        updated=ago(days=5),
        comments=[("public", "staff", "Please restart Outlook and tell us", ago(days=5))],
        clocks=[("resolution", "paused", NOW + timedelta(days=2), None, None)],
    ),
    Spec(
        "laptop",
        "New laptop request",
        status="resolved",
        priority="low",
        category="hardware",
        requester="bob",
        assignee="admin",
        created=at("2026-03-01T10:00:00"),
        updated=at("2026-03-05T09:00:00"),
        resolved=at("2026-03-05T09:00:00"),
        attachments=[True],
        clocks=[("resolution", "met", at("2026-03-06T10:00:00"), None, None)],
        minutes_logged=90,
    ),
    Spec(
        "password",
        "Password reset",
        "Locked out after holidays",
        status="closed",
        category="account & access",
        assignee="tech",
        client="acme",
        created=at("2026-02-28T23:30:00"),  # 1 March in Paris
        updated=at("2026-03-01T08:00:00"),
        resolved=at("2026-03-01T08:00:00"),
        comments=[("public", "staff", "Done, new password sent", at("2026-03-01T07:59:00"))],
        clocks=[
            ("first_response", "met", at("2026-03-01T09:00:00"), None, None),
            ("resolution", "met", at("2026-03-02T09:00:00"), None, at("2026-03-01T07:00:00")),
        ],
    ),
    Spec(
        "wifi",
        "Wifi slow in lobby",
        "Access point flaky near reception",
        priority="low",
        category="network",
        requester="bob",
        client="globex",
        created=ago(hours=1),
        clocks=[("first_response", "running", NOW + timedelta(hours=3), None, None)],
    ),
    Spec(
        "monitor",
        "Monitor flickers",
        "Second screen goes black",
        assignee="tech",
        created=ago(days=8),
        updated=ago(days=8),
        comments=[("internal", "staff", "Confidential cable swap planned", ago(days=7))],
    ),
    Spec(
        "server",
        "Server room temperature alarm",
        "Air conditioning failed",
        priority="urgent",
        category="hardware",
        requester=None,
        assignee="admin",
        created=ago(hours=5),
        updated=ago(hours=4),
        clocks=[("resolution", "running", NOW + timedelta(minutes=90), ago(minutes=30), None)],
    ),
    Spec(
        "toner",
        "Printer toner low",
        "Order more toner for floor 2",
        status="resolved",
        category="hardware",
        requester="bob",
        assignee="tech",
        client="globex",
        created=at("2026-03-15T12:00:00"),
        updated=at("2026-03-18T10:00:00"),
        resolved=at("2026-03-18T10:00:00"),
        minutes_logged=15,
    ),
    Spec(
        "drive",
        "Shared drive permissions",
        "Finance folder access denied",
        status="pending",
        priority="high",
        category="software",
        assignee="admin",
        client="acme",
        created=ago(days=3),
        updated=ago(days=2),
        comments=[
            ("public", "staff", "Which folder exactly", ago(days=2, hours=12)),
            ("public", "user", "Any news on the finance folder", ago(days=2)),
        ],
        attachments=[False, True],
    ),
    Spec(
        "phone",
        "Phone system outage",
        "Nobody can call out",
        priority="urgent",
        category="other",
        requester="bob",
        client="globex",
        created=ago(hours=20),
        updated=ago(hours=20),
    ),
    Spec(
        "adobe",
        "Install Adobe reader",
        "Needs paper format support, jam free printing",
        priority="low",
        category="software",
        assignee="tech",
        client="acme",
        created=ago(days=6),
        updated=ago(days=6),
        comments=[("internal", "staff", "Licence is in the vault ZEBRA42", ago(days=5))],
    ),
]
# The other organization: the same words, never found from the first one.
OTHER_SPECS: list[Spec] = [
    Spec("other-jam", "Printer paper jam", "ZEBRA42 toner", priority="high", created=ago(days=10)),
    Spec(
        "other-vpn", "VPN down", "Confidential cable swap", priority="urgent", created=ago(days=1)
    ),
]


@dataclass
class Seeded:
    ws: Workspace
    other: Workspace
    acme: ClientCompany
    globex: ClientCompany
    tickets: dict[str, Ticket]  # key → ticket (both organizations)
    specs: dict[str, Spec]

    def keys_of(self, tickets: list[Ticket]) -> set[str]:
        by_id = {t.id: k for k, t in self.tickets.items()}
        return {by_id[t.id] for t in tickets}

    def people(self, ws: Workspace | None = None) -> dict[str, Member]:
        ws = ws or self.ws
        return {"alice": ws.alice, "bob": ws.bob, "admin": ws.admin, "tech": ws.tech}


def _insert(
    session: Session,
    ws: Workspace,
    spec: Spec,
    number: int,
    companies: dict[str, ClientCompany],
    extras: Any,
) -> Ticket:
    people = {"alice": ws.alice, "bob": ws.bob, "admin": ws.admin, "tech": ws.tech}
    ticket = Ticket(
        organization_id=ws.organization.id,  # type: ignore[arg-type]
        ticket_number=number,
        title=spec.title,
        description=spec.description,
        status=spec.status,  # type: ignore[arg-type]
        priority=spec.priority,  # type: ignore[arg-type]
        category=spec.category,
        requester_id=people[spec.requester].id if spec.requester else None,
        assigned_staff_id=people[spec.assignee].id if spec.assignee else None,
        client_company_id=companies[spec.client].id if spec.client else None,
        created_at=spec.created,
        updated_at=spec.updated or spec.created,
        resolved_at=spec.resolved,
        closed_at=spec.updated if spec.status == "closed" else None,
    )
    session.add(ticket)
    session.flush()
    for kind, by, content, when in spec.comments:
        author = ws.tech if by == "staff" else people[spec.requester or "alice"]
        session.add(
            TicketComment(
                ticket_id=ticket.id,  # type: ignore[arg-type]
                organization_id=ws.organization.id,  # type: ignore[arg-type]
                author_id=author.id,
                author_name=author.name,
                author_type=AuthorType.STAFF if by == "staff" else AuthorType.END_USER,
                comment_type=(
                    CommentType.PUBLIC_REPLY if kind == "public" else CommentType.INTERNAL_NOTE
                ),
                content=content,
                created_at=when,
                updated_at=when,
            )
        )
    for internal in spec.attachments:
        session.add(
            TicketAttachment(
                ticket_id=ticket.id,  # type: ignore[arg-type]
                organization_id=ws.organization.id,  # type: ignore[arg-type]
                uploaded_by=ws.tech.id,
                uploaded_by_name=ws.tech.name,
                filename="screenshot.png",
                is_internal=internal,
            )
        )
    extras(session, ws, ticket, spec)
    return ticket


def _sla_and_time(session: Session, ws: Workspace, ticket: Ticket, spec: Spec) -> None:
    """SLA clocks and time entries, when those tables are part of the schema."""
    try:
        from models.sla import SlaClock
    except ImportError:
        SlaClock = None  # type: ignore[assignment,misc]
    try:
        from models.time_entry import TimeEntry
    except ImportError:
        TimeEntry = None  # type: ignore[assignment,misc]
    if SlaClock is not None:
        for metric, status, due, warn75, breached in spec.clocks:
            session.add(
                SlaClock(
                    organization_id=ws.organization.id,
                    ticket_id=ticket.id,
                    metric=metric,
                    cycle=1,
                    status=status,
                    target_minutes=240,
                    business_hours=False,
                    started_at=spec.created,
                    due_at=due,
                    warn_75_at=warn75,
                    warn_90_at=None,
                    fulfilled_at=None,
                    breached_at=breached,
                    paused_at=NOW if status == "paused" else None,
                )
            )
    if TimeEntry is not None and spec.minutes_logged:
        session.add(time_entry(TimeEntry, ws, ticket, spec))


def time_entry(model: Any, ws: Workspace, ticket: Ticket, spec: Spec) -> Any:
    started = spec.created + timedelta(minutes=10)
    return model(
        organization_id=ws.organization.id,
        ticket_id=ticket.id,
        technician_id=ws.tech.id,
        started_at=started,
        ended_at=started + timedelta(minutes=spec.minutes_logged),
        actual_minutes=spec.minutes_logged,
        billable=True,
        billable_minutes=spec.minutes_logged,
    )


def seed(session: Session) -> Seeded:
    ws = make_workspace(session, "T0001")
    other = make_workspace(session, "T0002", domain="example.org")
    for workspace in (ws, other):
        organization: Organization = workspace.organization
        organization.settings = {**organization.settings, "timezone": ZONE}
        session.add(organization)
    acme = orgs.create_client_company(session, organization=ws.organization, name="Acme Corp")
    globex = orgs.create_client_company(session, organization=ws.organization, name="Globex")
    companies = {"acme": acme, "globex": globex}
    tickets: dict[str, Ticket] = {}
    for number, spec in enumerate(SPECS, start=1):
        tickets[spec.key] = _insert(session, ws, spec, number, companies, _sla_and_time)
    for number, spec in enumerate(OTHER_SPECS, start=1):
        tickets[spec.key] = _insert(session, other, spec, number, {}, _sla_and_time)
    ws.organization.last_ticket_number = len(SPECS)
    other.organization.last_ticket_number = len(OTHER_SPECS)
    session.flush()
    return Seeded(
        ws=ws,
        other=other,
        acme=acme,
        globex=globex,
        tickets=tickets,
        specs={s.key: s for s in [*SPECS, *OTHER_SPECS]},
    )
