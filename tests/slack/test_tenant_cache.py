"""The tenant middleware's short memory of recent requesters: copies, expiry, and
forgetting as soon as this process saves a change to an organization or member."""

from __future__ import annotations

from sqlmodel import select

from bot.core.db import Database
from bot.services import organizations as orgs
from bot.slack.tenant_cache import RecentTenants
from models import Member


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def remembered(db: Database, recent: RecentTenants) -> None:
    generation = recent.generation()
    with db.session() as session:
        organization = orgs.get_or_create_organization(session, team_id="T0RECENT")
        orgs.update_organization_settings(
            session, organization=organization, categories=["network", "email"]
        )
        member = orgs.sync_slack_member(
            session, organization=organization, slack_user_id="U0RECENT", name="Rita"
        )
    # (Saving them was a change too: what is remembered is read after it.)
    recent.remember(
        "T0RECENT", "U0RECENT", organization, member, read_at_generation=recent.generation()
    )
    assert generation != recent.generation()


def test_each_request_gets_its_own_copy(db: Database):
    recent = RecentTenants(ttl=60)
    remembered(db, recent)
    organization, member = recent.get("T0RECENT", "U0RECENT")
    organization.settings["categories"].append("printers")
    member.name = "Changed in one request"
    again, member_again = recent.get("T0RECENT", "U0RECENT")
    assert again.settings["categories"] == ["network", "email"]
    assert member_again.name == "Rita"
    assert recent.get("T0RECENT", "U0OTHER") is None


def test_a_copy_saved_updates_its_row(db: Database):
    recent = RecentTenants(ttl=60)
    remembered(db, recent)
    _, member = recent.get("T0RECENT", "U0RECENT")
    with db.session() as session:
        member.name = "Rita R."
        session.add(member)
    with db.read_session() as session:
        members = session.exec(select(Member)).all()
    assert [m.name for m in members] == ["Rita R."]  # an UPDATE, not a second row


def test_entries_expire(db: Database):
    clock = Clock()
    recent = RecentTenants(ttl=2.0, clock=clock)
    remembered(db, recent)
    clock.now += 1.9
    assert recent.get("T0RECENT", "U0RECENT") is not None
    clock.now += 0.2
    assert recent.get("T0RECENT", "U0RECENT") is None


def test_a_saved_change_to_an_organization_or_member_empties_it(db: Database):
    recent = RecentTenants(ttl=60)
    remembered(db, recent)
    with db.session() as session:
        organization = orgs.get_organization_by_team(session, team_id="T0RECENT")
        orgs.update_organization_settings(
            session, organization=organization, staff_channel_id="C0NEWSTAFF"
        )
    assert recent.get("T0RECENT", "U0RECENT") is None
    remembered(db, recent)
    with db.session() as session:
        orgs.sync_slack_member(
            session,
            organization=orgs.get_organization_by_team(session, team_id="T0RECENT"),
            slack_user_id="U0RECENT",
            name="Rita Renamed",
        )
    assert recent.get("T0RECENT", "U0RECENT") is None


def test_rows_read_before_a_change_are_not_remembered_after_it(db: Database):
    """A request reads the rows, another request saves a change (emptying the cache), then
    the first one would remember what it read: it must not."""
    recent = RecentTenants(ttl=60)
    remembered(db, recent)
    recent.clear()
    before = recent.generation()
    with db.read_session() as session:
        organization, member = orgs.find_workspace_member(
            session, team_id="T0RECENT", slack_user_id="U0RECENT"
        )
    with db.session() as session:  # meanwhile, elsewhere: the person is renamed
        orgs.sync_slack_member(
            session,
            organization=orgs.get_organization_by_team(session, team_id="T0RECENT"),
            slack_user_id="U0RECENT",
            name="Rita Renamed",
        )
    recent.remember("T0RECENT", "U0RECENT", organization, member, read_at_generation=before)
    assert recent.get("T0RECENT", "U0RECENT") is None
