"""Tenancy: nothing of organization A is readable or writable from organization B."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.core.db import Database
from bot.core.errors import DomainError, NotFound
from bot.services import comments, tickets
from bot.services import organizations as orgs
from bot.services.actors import Actor
from bot.services.tickets import TicketFilter
from models import ClientCompany, CommentType, Ticket, TicketAttachment, TicketComment, TicketEvent
from tests.services.factories import Workspace, count, file_ticket, make_workspace


@dataclass
class TwoOrgs:
    db: Database
    a: Workspace
    b: Workspace
    a1: Ticket
    a2: Ticket
    b1: Ticket
    a_company: ClientCompany
    b_company: ClientCompany


@pytest.fixture
def two_orgs(db) -> TwoOrgs:
    """Organization A has tickets #1 and #2 (with a note and a file); B has only #1."""
    with db.session() as session:
        a = make_workspace(session, "TA", domain="a-msp.com")
        b = make_workspace(session, "TB", domain="b-msp.com")
        a_company = orgs.create_client_company(session, organization=a.organization, name="Acme")
        b_company = orgs.create_client_company(session, organization=b.organization, name="Acme")
        a1 = file_ticket(session, a, title="A one")
        a2 = file_ticket(
            session, a, title="A two", client_company_id=a_company.id, actor=a.actor(a.tech)
        )
        b1 = file_ticket(session, b, title="B one")
        comments.add_comment(
            session,
            organization=a.organization,
            ticket=a2,
            actor=a.actor(a.tech),
            content="A secret",
            comment_type=CommentType.INTERNAL_NOTE,
        )
        comments.add_attachment(
            session, organization=a.organization, ticket=a2, actor=a.actor(a.tech), filename="a.log"
        )
    return TwoOrgs(db, a, b, a1, a2, b1, a_company, b_company)


def test_reading_by_id_or_number_from_another_organization_finds_nothing(two_orgs):
    o = two_orgs
    db, a, b = o.db, o.a, o.b
    a1, a2, b1 = o.a1, o.a2, o.b1
    with db.session() as session:
        b_org = b.organization.id
        for ticket in (a1, a2):
            with pytest.raises(NotFound):
                tickets.get_ticket(session, organization_id=b_org, ticket_id=ticket.id)
        with pytest.raises(NotFound):
            tickets.get_ticket_by_number(session, organization_id=b_org, number=2)
        # B's own #1 is B's, never A's.
        assert tickets.get_ticket_by_number(session, organization_id=b_org, number=1).id == b1.id
        assert (
            tickets.get_ticket_by_number(session, organization_id=a.organization.id, number=1).id
            == a1.id
        )
        with pytest.raises(NotFound):
            tickets.get_ticket(session, organization_id=a.organization.id, ticket_id=b1.id)


def test_listing_never_crosses_organizations(two_orgs):
    o = two_orgs
    db, a, b = o.db, o.a, o.b
    b1, a_company = o.b1, o.a_company
    with db.session() as session:

        def listed(viewer, **filters):
            found = tickets.list_tickets(
                session,
                organization_id=b.organization.id,
                viewer=viewer,
                filters=TicketFilter(**filters),
            )
            return [t.id for t in found]

        assert listed(b.actor(b.tech)) == [b1.id]
        assert listed(b.actor(b.tech), requester_id=a.alice.id) == []
        assert listed(b.actor(b.tech), client_company_id=a_company.id) == []
        assert listed(b.actor(b.tech), ticket_number=2) == []
        assert listed(b.actor(b.tech), assigned_staff_id=a.tech.id) == []
        assert listed(b.actor(b.alice)) == [b1.id]


def test_writing_to_another_organizations_ticket_is_refused(two_orgs):
    o = two_orgs
    db, a, b = o.db, o.a, o.b
    a2 = o.a2
    with db.session() as session:
        for actor in (b.actor(b.tech), Actor.integration("B's REST token")):
            _write_to(session, b, a2, actor)
    with db.session() as session:
        stored = tickets.get_ticket(session, organization_id=a.organization.id, ticket_id=a2.id)
        assert stored.status == "open"
        assert count(session, TicketComment) == 1
        assert count(session, TicketAttachment) == 1
        assert count(session, TicketEvent) == 3  # the three "created" lines


def _write_to(session, b, a2, actor):
    """Every write B could attempt on A's ticket; each must find nothing."""
    with pytest.raises(NotFound):
        tickets.update_ticket(
            session,
            organization=b.organization,
            ticket=a2,
            actor=actor,
            changes={"status": "closed"},
        )
    with pytest.raises(NotFound):
        comments.add_comment(
            session,
            organization=b.organization,
            ticket=a2,
            actor=actor,
            content="hi from B",
            comment_type="public_reply",
        )
    with pytest.raises(NotFound):
        comments.add_attachment(
            session, organization=b.organization, ticket=a2, actor=actor, filename="b.log"
        )


def test_people_and_companies_of_another_organization_are_refused(two_orgs):
    o = two_orgs
    db, a, b = o.db, o.a, o.b
    b1, a_company, b_company = o.b1, o.a_company, o.b_company
    with db.session() as session:
        b_staff = b.actor(b.tech)

        def update(changes):
            tickets.update_ticket(
                session, organization=b.organization, ticket=b1, actor=b_staff, changes=changes
            )

        with pytest.raises(NotFound):
            update({"assigned_staff_id": a.tech.id})
        with pytest.raises(NotFound):
            update({"client_company_id": a_company.id})
        with pytest.raises(NotFound):  # A's requester filing into B
            file_ticket(session, b, requester=a.alice, actor=b_staff)
        with pytest.raises(NotFound):
            file_ticket(session, b, actor=b_staff, client_company_id=a_company.id)
        with pytest.raises(NotFound):
            orgs.create_member(
                session, organization=b.organization, name="Zed", client_company_id=a_company.id
            )
        with pytest.raises(NotFound):
            orgs.get_client_company(
                session, organization_id=b.organization.id, company_id=a_company.id
            )
        # B's own company and staff are fine.
        update({"assigned_staff_id": b.tech.id, "client_company_id": b_company.id})
        assert (b1.assigned_staff_id, b1.client_company_id) == (b.tech.id, b_company.id)


def test_a_parent_ticket_of_another_organization_is_refused(two_orgs):
    o = two_orgs
    db, b = o.db, o.b
    a1, b1 = o.a1, o.b1
    with db.session() as session:
        with pytest.raises(NotFound):
            file_ticket(session, b, actor=b.actor(b.tech), parent_ticket_id=a1.id)
        follow_up = file_ticket(session, b, actor=b.actor(b.tech), parent_ticket_id=b1.id)
        assert follow_up.parent_ticket_id == b1.id


def test_a_member_of_another_organization_cannot_act_on_or_read_a_ticket(two_orgs):
    # Even handed another organization's ticket object, B's people get nothing out of it.
    o = two_orgs
    db, a, b = o.db, o.a, o.b
    a2 = o.a2
    with db.session() as session:
        for viewer in (b.actor(b.tech), b.actor(b.alice)):
            with pytest.raises(DomainError):
                comments.list_comments(session, ticket=a2, viewer=viewer)
            with pytest.raises(DomainError):
                comments.list_attachments(session, ticket=a2, viewer=viewer)
        with pytest.raises(DomainError):
            tickets.update_ticket(
                session,
                organization=a.organization,
                ticket=a2,
                actor=b.actor(b.tech),
                changes={"status": "closed"},
            )
        with pytest.raises(DomainError):
            comments.add_comment(
                session,
                organization=a.organization,
                ticket=a2,
                actor=b.actor(b.tech),
                content="x",
                comment_type="internal_note",
            )
        with pytest.raises(DomainError):
            file_ticket(session, a, actor=b.actor(b.tech))


def test_members_and_emails_are_per_organization(two_orgs):
    o = two_orgs
    db, a, b = o.db, o.a, o.b
    with db.session() as session:
        # The same person (same email, same Slack user via Enterprise Grid) in both.
        in_a = orgs.sync_slack_member(
            session, organization=a.organization, slack_user_id="UGRID", email="grid@corp.com"
        )
        in_b = orgs.sync_slack_member(
            session, organization=b.organization, slack_user_id="UGRID", email="grid@corp.com"
        )
        assert in_a.id != in_b.id
        assert (in_a.organization_id, in_b.organization_id) == (
            a.organization.id,
            b.organization.id,
        )
        assert in_b.email == "grid@corp.com"
        assert (
            orgs.find_member_by_slack_id(
                session, organization_id=b.organization.id, slack_user_id=a.alice.slack_user_id
            )
            is None
        )
        staff = orgs.list_staff(session, organization_id=b.organization.id)
        assert {m.id for m in staff} == {b.admin.id, b.tech.id}
