"""Organizations, client companies and members."""

from __future__ import annotations

import pytest

from bot.core.errors import InvalidInput, NotFound
from bot.services import organizations as orgs
from models import ClientCompany, Member, MemberRole, Organization, TicketPriority
from tests.services.factories import count, make_workspace


def test_get_or_create_organization_is_idempotent(db):
    with db.session() as session:
        created = orgs.get_or_create_organization(session, team_id="T1", name="Acme IT")
        again = orgs.get_or_create_organization(session, team_id="T1", name="Other name")
        assert again is created
    with db.session() as session:
        later = orgs.get_or_create_organization(session, team_id="T1", enterprise_id="E1")
        assert later.id == created.id
        assert later.name == "Acme IT"  # the name of first sight is kept
        assert later.slack_enterprise_id == "E1"
        assert orgs.get_organization_by_team(session, team_id="T1").id == created.id
        assert orgs.get_organization_by_team(session, team_id="T2") is None
        assert count(session, Organization) == 1
        other = orgs.get_or_create_organization(session, team_id="T2")
        assert other.id != created.id
        assert other.name == "T2"  # no name given: the team id stands in
        assert count(session, Organization) == 2


def test_sync_slack_member_creates_then_refreshes(db):
    with db.session() as session:
        ws = make_workspace(session)
        org = ws.organization
        carol = orgs.sync_slack_member(
            session,
            organization=org,
            slack_user_id="UCAROL",
            name="Carol",
            email="Carol@Example.org",
            timezone="Europe/Paris",
        )
        assert (carol.name, carol.email, carol.timezone, carol.role) == (
            "Carol",
            "carol@example.org",
            "Europe/Paris",
            MemberRole.END_USER,
        )
        members_before = count(session, Member)
    with db.session() as session:
        again = orgs.sync_slack_member(
            session,
            organization=org,
            slack_user_id="UCAROL",
            name="Carol Danvers",
            timezone="America/New_York",
        )
        assert again.id == carol.id
        assert count(session, Member) == members_before
    with db.session() as session:
        stored = session.get(Member, carol.id)
        assert (stored.name, stored.timezone, stored.email) == (
            "Carol Danvers",
            "America/New_York",
            "carol@example.org",  # not cleared by a profile without an email
        )


def test_sync_slack_member_without_a_name_uses_the_slack_id(db):
    with db.session() as session:
        ws = make_workspace(session)
        member = orgs.sync_slack_member(session, organization=ws.organization, slack_user_id="UX")
        assert (member.name, member.email) == ("UX", None)
        # A strange address from Slack is not an error; it just is not stored.
        odd = orgs.sync_slack_member(
            session, organization=ws.organization, slack_user_id="UY", email="not-an-email"
        )
        assert odd.email is None


def test_sync_links_a_member_created_before_with_the_same_email(db):
    with db.session() as session:
        ws = make_workspace(session)
        acme = orgs.create_client_company(
            session, organization=ws.organization, name="Acme", email_domains=["acme.com"]
        )
        seeded = orgs.create_member(
            session,
            organization=ws.organization,
            name="Dan (seed)",
            email="dan@acme.com",
            role=MemberRole.TECHNICIAN,
        )
        assert seeded.slack_user_id is None
        members_before = count(session, Member)
    with db.session() as session:
        linked = orgs.sync_slack_member(
            session,
            organization=ws.organization,
            slack_user_id="UDAN",
            name="Dan",
            email="DAN@acme.com",
        )
        assert linked.id == seeded.id
        assert count(session, Member) == members_before
    with db.session() as session:
        stored = session.get(Member, seeded.id)
        assert (stored.slack_user_id, stored.name, stored.role, stored.client_company_id) == (
            "UDAN",
            "Dan",
            MemberRole.TECHNICIAN,  # the role given beforehand is kept
            acme.id,
        )


def test_sync_does_not_steal_a_member_that_has_another_slack_id(db):
    with db.session() as session:
        ws = make_workspace(session)  # Alice is alice@client-T0001.com, Slack id UT00011
        impostor = orgs.sync_slack_member(
            session,
            organization=ws.organization,
            slack_user_id="UOTHER",
            name="Not Alice",
            email=ws.alice.email,
        )
        assert impostor.id != ws.alice.id
        assert impostor.email is None  # the address belongs to Alice
    with db.session() as session:
        alice = session.get(Member, ws.alice.id)
        assert (alice.slack_user_id, alice.name, alice.email) == (
            "UT00011",
            "Alice",
            "alice@client-t0001.com",
        )


def test_sync_picks_the_client_company_by_email_domain(db):
    with db.session() as session:
        ws = make_workspace(session)
        acme = orgs.create_client_company(
            session,
            organization=ws.organization,
            name="Acme",
            email_domains=["acme.com", "@Acme.co.uk"],
        )
        globex = orgs.create_client_company(
            session, organization=ws.organization, name="Globex", email_domains=["globex.com"]
        )
        cases = {
            "U1": ("x@acme.com", acme.id),
            "U2": ("y@ACME.CO.UK", acme.id),
            "U3": ("z@globex.com", globex.id),
            "U4": ("w@elsewhere.com", None),
            "U5": ("v@sub.acme.com", None),  # domains match exactly
        }
        for slack_id, (email, company_id) in cases.items():
            member = orgs.sync_slack_member(
                session, organization=ws.organization, slack_user_id=slack_id, email=email
            )
            assert member.client_company_id == company_id, email
        no_email = orgs.sync_slack_member(session, organization=ws.organization, slack_user_id="U6")
        assert no_email.client_company_id is None


def test_create_member_matches_company_and_refuses_duplicates_and_bad_emails(db):
    with db.session() as session:
        ws = make_workspace(session)
        org = ws.organization
        acme = orgs.create_client_company(
            session, organization=org, name="Acme", email_domains=["acme.com"]
        )
        eve = orgs.create_member(session, organization=org, name=" Eve ", email=" Eve@Acme.com ")
        assert (eve.name, eve.email, eve.client_company_id, eve.role) == (
            "Eve",
            "eve@acme.com",
            acme.id,
            MemberRole.END_USER,
        )
        with pytest.raises(InvalidInput) as caught:
            orgs.create_member(session, organization=org, name="Eve 2", email="EVE@acme.com")
        assert caught.value.field == "email"
        for bad in ("eve", "eve@", "@acme.com", "eve@acme", "e ve@acme.com", "a@b.c" + "c" * 320):
            with pytest.raises(InvalidInput) as caught:
                orgs.create_member(session, organization=org, name="Bad", email=bad)
            assert caught.value.field == "email", bad
        with pytest.raises(InvalidInput) as caught:
            orgs.create_member(session, organization=org, name="   ")
        assert caught.value.field == "name"
        with pytest.raises(InvalidInput) as caught:
            orgs.create_member(session, organization=org, name="Rex", role="overlord")
        assert caught.value.field == "role"
        # No email at all is fine, and empty means none.
        assert orgs.create_member(session, organization=org, name="Nomail").email is None
        assert orgs.create_member(session, organization=org, name="Blank", email=" ").email is None
        assert count(session, Member) == 4 + 3


def test_client_companies_are_unique_by_name(db):
    with db.session() as session:
        ws = make_workspace(session)
        company = orgs.create_client_company(
            session, organization=ws.organization, name=" Acme ", email_domains=[" ACME.com "]
        )
        assert (company.name, company.email_domains) == ("Acme", ["acme.com"])
        with pytest.raises(InvalidInput) as caught:
            orgs.create_client_company(session, organization=ws.organization, name="Acme")
        assert caught.value.field == "name"
        with pytest.raises(InvalidInput):
            orgs.create_client_company(session, organization=ws.organization, name="  ")
        found = orgs.find_client_company_by_name(
            session, organization_id=ws.organization.id, name="Acme"
        )
        assert found.id == company.id
        assert count(session, ClientCompany) == 1


def test_update_organization_settings(db):
    with db.session() as session:
        ws = make_workspace(session)
        org = ws.organization
        assert org.default_priority == TicketPriority.MEDIUM
        assert "network" in org.categories
        orgs.update_organization_settings(
            session,
            organization=org,
            staff_channel_id="C0STAFF",
            categories=[" Printers ", "Cloud", "", "Printers"],
            default_priority="urgent",
            name="Renamed",
        )
    with db.session() as session:
        stored = session.get(Organization, org.id)
        assert stored.staff_channel_id == "C0STAFF"
        assert stored.categories == ["Printers", "Cloud"]
        assert stored.default_priority == TicketPriority.URGENT
        assert stored.name == "Renamed"
        # Changing one setting keeps the others.
        orgs.update_organization_settings(session, organization=stored, default_priority="low")
    with db.session() as session:
        stored = session.get(Organization, org.id)
        assert stored.categories == ["Printers", "Cloud"]
        assert stored.default_priority == TicketPriority.LOW
        assert stored.staff_channel_id == "C0STAFF"
        orgs.update_organization_settings(session, organization=stored, staff_channel_id="")
        assert stored.staff_channel_id is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"categories": []}, "categories"),
        ({"categories": ["  ", ""]}, "categories"),
        ({"categories": ["x" * 51]}, "categories"),
        ({"default_priority": "critical"}, "default_priority"),
        ({"categories": ["Fine"], "default_priority": "nope"}, "default_priority"),
    ],
)
def test_bad_organization_settings_are_refused_whole(db, kwargs, field):
    with db.session() as session:
        ws = make_workspace(session)
        with pytest.raises(InvalidInput) as caught:
            orgs.update_organization_settings(session, organization=ws.organization, **kwargs)
        assert caught.value.field == field
    with db.session() as session:
        stored = session.get(Organization, ws.organization.id)
        assert stored.settings == {}


def test_list_staff_and_get_member(db):
    with db.session() as session:
        ws = make_workspace(session, "TA")
        other = make_workspace(session, "TB")
        staff = orgs.list_staff(session, organization_id=ws.organization.id)
        assert [m.id for m in staff] == [ws.admin.id, ws.tech.id]  # by name
        org_id = ws.organization.id
        assert orgs.get_member(session, organization_id=org_id, member_id=ws.bob.id).id == ws.bob.id
        with pytest.raises(NotFound):
            orgs.get_member(session, organization_id=org_id, member_id=other.bob.id)
        with pytest.raises(NotFound):
            orgs.get_member(session, organization_id=org_id, member_id=123_456)


def test_find_workspace_member_reads_one_workspace_only(db):
    with db.session() as session:
        acme = orgs.get_or_create_organization(session, team_id="T0ACME")
        other = orgs.get_or_create_organization(session, team_id="T0OTHER")
        # The same Slack user id in two workspaces (Slack Connect, Grid): two members.
        orgs.sync_slack_member(session, organization=other, slack_user_id="U0SHARED", name="O")
        mine = orgs.sync_slack_member(session, organization=acme, slack_user_id="U0SHARED")
    with db.session() as session:
        organization, member = orgs.find_workspace_member(
            session, team_id="T0ACME", slack_user_id="U0SHARED"
        )
        assert organization.id == acme.id and member.id == mine.id
        organization, member = orgs.find_workspace_member(
            session, team_id="T0ACME", slack_user_id="U0NOBODY"
        )
        assert organization.id == acme.id and member is None
        assert orgs.find_workspace_member(session, team_id="T0ACME", slack_user_id=None)[1] is None
        assert orgs.find_workspace_member(session, team_id="T0NONE", slack_user_id="U0SHARED") == (
            None,
            None,
        )
