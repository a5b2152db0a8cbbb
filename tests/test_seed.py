"""The demo data: exact contents, created through the services, idempotent."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

import seed as seed_module
from bot.core.db import Database
from bot.services import tickets as ticket_service
from bot.services.actors import Actor
from bot.services.comments import list_attachments, list_comments
from models import (
    AuthorType,
    ClientCompany,
    CommentType,
    Member,
    MemberRole,
    Organization,
    Ticket,
    TicketAttachment,
    TicketComment,
    TicketEvent,
    TicketPriority,
    TicketStatus,
)
from seed import DEFAULT_TEAM_ID, SeedResult, seed
from tests.services.factories import count

TABLES = (Organization, ClientCompany, Member, Ticket, TicketComment, TicketAttachment, TicketEvent)


def _row_counts(db: Database) -> dict[str, int]:
    with db.session() as session:
        return {model.__name__: count(session, model) for model in TABLES}


def _member(session: Session, email: str) -> Member:
    return session.exec(select(Member).where(Member.email == email)).one()


def test_seed_creates_the_demo_data(db):
    result = seed(db, team_id=DEFAULT_TEAM_ID, staff_channel_id="C0STAFF01")
    assert (
        result.organizations,
        result.client_companies,
        result.members,
        result.tickets,
        result.comments,
        result.attachments,
    ) == (1, 2, 5, 6, 3, 2)
    with db.session() as session:
        organization = session.exec(select(Organization)).one()
        assert result.organization_id == organization.id
        assert (organization.name, organization.slack_team_id, organization.staff_channel_id) == (
            "TechPro MSP",
            "T0TECHPRO1",
            "C0STAFF01",
        )
        companies = {c.name: c for c in session.exec(select(ClientCompany)).all()}
        assert set(companies) == {"Acme Corp", "Globex"}
        assert companies["Acme Corp"].email_domains == ["acme.com"]
        assert companies["Globex"].email_domains == ["globex.com"]

        sarah = _member(session, "admin@techpro.com")
        mike = _member(session, "tech1@techpro.com")
        assert (sarah.name, sarah.role, sarah.client_company_id) == (
            "Sarah Admin",
            MemberRole.ADMIN,
            None,
        )
        assert (mike.name, mike.role, mike.client_company_id) == (
            "Mike Tech",
            MemberRole.TECHNICIAN,
            None,
        )
        end_users = session.exec(select(Member).where(Member.role == MemberRole.END_USER)).all()
        per_company: dict[str, int] = {}
        for member in end_users:  # matched to their company by email domain
            company = session.get(ClientCompany, member.client_company_id)
            assert member.email.endswith("@" + company.email_domains[0])
            per_company[company.name] = per_company.get(company.name, 0) + 1
        assert per_company["Acme Corp"] == 2
        assert 1 <= per_company["Globex"] <= 2

        all_tickets = session.exec(select(Ticket).order_by(Ticket.ticket_number)).all()
        assert [t.ticket_number for t in all_tickets] == [1, 2, 3, 4, 5, 6]
        assert {t.status for t in all_tickets} == set(TicketStatus)
        assert {t.priority for t in all_tickets} == set(TicketPriority)
        assert len({t.category for t in all_tickets}) >= 3
        assert all(t.category in organization.categories for t in all_tickets)
        assert any(t.assigned_staff_id == mike.id for t in all_tickets)
        for ticket in all_tickets:
            requester = session.get(Member, ticket.requester_id)
            assert requester.role == MemberRole.END_USER
            assert ticket.client_company_id == requester.client_company_id
            assert (ticket.resolved_at is not None) == (
                ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
            )
            assert (ticket.closed_at is not None) == (ticket.status == TicketStatus.CLOSED)
            if ticket.assigned_staff_id is not None:
                assignee = session.get(Member, ticket.assigned_staff_id)
                assert assignee.role in (MemberRole.ADMIN, MemberRole.TECHNICIAN)
            if ticket.status != TicketStatus.OPEN:  # changed through update_ticket: logged
                fields = [e.field for e in ticket_service.list_events(session, ticket=ticket)]
                assert "status" in fields

        notes = session.exec(select(TicketComment)).all()
        kinds = {c.comment_type for c in notes}
        assert kinds == {CommentType.INTERNAL_NOTE, CommentType.PUBLIC_REPLY}
        for comment in notes:
            author = session.get(Member, comment.author_id)
            assert comment.author_name == author.name
            expected = AuthorType.END_USER if author.role == MemberRole.END_USER else "staff"
            assert comment.author_type == expected
        # A public staff reply was written, so that ticket has its first response.
        replied = {
            c.ticket_id
            for c in notes
            if c.comment_type == CommentType.PUBLIC_REPLY and c.author_type == AuthorType.STAFF
        }
        assert replied
        for ticket_id in replied:
            assert session.get(Ticket, ticket_id).first_response_at is not None

        files = {a.filename: a for a in session.exec(select(TicketAttachment)).all()}
        assert len(files) == 2
        shot = files["error_screenshot.png"]
        assert (shot.file_type, shot.file_size) == ("image/png", 245678)
        pdfs = [a for a in files.values() if a.file_type == "application/pdf"]
        assert len(pdfs) == 1 and pdfs[0].filename.endswith(".pdf")
        for attachment in files.values():
            uploader = session.get(Member, attachment.uploaded_by)
            assert attachment.uploaded_by_name == uploader.name


def test_seeded_data_respects_visibility(db):
    seed(db, team_id=DEFAULT_TEAM_ID, staff_channel_id=None)
    with db.session() as session:
        for ticket in session.exec(select(Ticket)).all():
            requester = Actor.for_member(session.get(Member, ticket.requester_id))
            for comment in list_comments(session, ticket=ticket, viewer=requester):
                assert comment.comment_type == CommentType.PUBLIC_REPLY
            for attachment in list_attachments(session, ticket=ticket, viewer=requester):
                assert attachment.is_internal is False


def test_seeding_twice_creates_nothing_the_second_time(db):
    seed(db, team_id=DEFAULT_TEAM_ID, staff_channel_id="C0STAFF01")
    before = _row_counts(db)
    with db.session() as session:
        stamped = session.exec(select(Organization)).one().updated_at
    again = seed(db, team_id=DEFAULT_TEAM_ID, staff_channel_id="C0STAFF01")
    assert not again.created_anything
    assert again == SeedResult(organization_id=again.organization_id)
    assert _row_counts(db) == before
    with db.session() as session:
        assert session.exec(select(Organization)).one().updated_at == stamped
        numbers = session.exec(select(Ticket.ticket_number).order_by(Ticket.ticket_number)).all()
        assert numbers == [1, 2, 3, 4, 5, 6]


def test_a_second_team_gets_its_own_copy_numbered_from_one(db):
    seed(db, team_id="T0TECHPRO1", staff_channel_id=None)
    other = seed(db, team_id="T0OTHER", staff_channel_id=None)
    assert (other.organizations, other.tickets) == (1, 6)
    with db.session() as session:
        numbers = session.exec(
            select(Ticket.ticket_number).where(Ticket.organization_id == other.organization_id)
        ).all()
        assert sorted(numbers) == [1, 2, 3, 4, 5, 6]


def test_main_migrates_and_seeds_a_fresh_database(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    argv = ["--database-url", url, "--team-id", "T0DEMO", "--staff-channel", "C0DEMO"]
    assert seed_module.main(argv) == 0
    first = capsys.readouterr().out
    assert "6 tickets" in first
    assert seed_module.main(argv) == 0
    assert "nothing created" in capsys.readouterr().out
    db = Database.from_url(url)
    try:
        with db.session() as session:
            organization = session.exec(select(Organization)).one()
            assert (organization.slack_team_id, organization.staff_channel_id) == (
                "T0DEMO",
                "C0DEMO",
            )
        assert _row_counts(db)["Ticket"] == 6
    finally:
        db.dispose()


def test_main_refuses_unknown_arguments():
    with pytest.raises(SystemExit):
        seed_module.main(["--nope"])


def test_seed_configures_slas_and_its_tickets_have_clocks(db):
    from models import ClockStatus, SlaClock, SlaPolicy
    from seed import PREMIUM_POLICY, STANDARD_POLICY

    result = seed(db, team_id=DEFAULT_TEAM_ID, staff_channel_id=None)
    assert result.sla_policies == 2
    with db.session() as session:
        policies = {p.name: p for p in session.exec(select(SlaPolicy)).all()}
        assert set(policies) == {"Standard 9\u20135", "24\u00d77 Premium"}
        assert policies[STANDARD_POLICY].is_default
        globex = session.exec(select(ClientCompany).where(ClientCompany.name == "Globex")).one()
        assert globex.sla_policy_id == policies[PREMIUM_POLICY].id
        clocks = session.exec(select(SlaClock)).all()
        tickets = session.exec(select(Ticket)).all()
        assert {c.ticket_id for c in clocks} == {t.id for t in tickets}
        assert any(c.status == ClockStatus.RUNNING for c in clocks)
    again = seed(db, team_id=DEFAULT_TEAM_ID, staff_channel_id=None)
    assert again.sla_policies == 0 and not again.created_anything


def test_seeded_month_report_equals_the_hand_computed_totals(db: Database):
    """Acme Corp, November 2026: #1 50/60, #2 25/30, #4 85/120 (on site by the hour; the
    internal 15 minutes bill nothing); in JSON, CSV and the chart's data alike."""
    from bot.flows.time_reports import chart_data
    from bot.services import time_tracking as tt

    seed(db, team_id=DEFAULT_TEAM_ID, staff_channel_id=None)
    with db.session() as session:
        organization = session.exec(select(Organization)).one()
        acme = session.exec(select(ClientCompany).where(ClientCompany.name == "Acme Corp")).one()
        report = tt.monthly_report(
            session, organization=organization, month="2026-11", client_company_id=acme.id
        )
    expected = [(1, 50, 60), (2, 25, 30), (4, 85, 120)]
    assert [
        (x.ticket_number, x.actual_minutes, x.billable_minutes) for x in report.lines
    ] == expected
    assert (report.actual_minutes, report.billable_minutes) == (160, 210)
    rows = tt.report_csv(report).splitlines()
    assert rows[1:] == [
        "1,Outlook crashes on startup,50,60",
        "2,Cannot connect to the VPN from home,25,30",
        "4,Printer on the 2nd floor keeps jamming,85,120",
        "total,,160,210",
    ]
    assert chart_data(report) == [
        {"ticket_number": 1, "billable_hours": 1.0},
        {"ticket_number": 2, "billable_hours": 0.5},
        {"ticket_number": 4, "billable_hours": 2.0},
    ]
