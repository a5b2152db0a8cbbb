"""Many workspaces and the MSP's clients: OAuth installs, uninstalls, revoked tokens,
Slack Connect requesters, email domains, and `/ticket setup`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from bot.app import create_app
from bot.core.db import Database
from bot.core.settings import Settings
from bot.flows import tickets as ticket_flows
from bot.ids import Action, Block
from bot.runtime import Runtime, build_runtime
from bot.services import organizations as orgs
from bot.services.actors import Actor
from bot.slacksim import SlackDriver, SlackSimulator
from bot.web import create_web_app
from models import (
    ClientCompany,
    Member,
    Organization,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketEvent,
)
from models.ticket import TicketCreate
from tests.e2e.conftest import SIGNING_SECRET, World, make_world

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-client-secret"


@dataclass
class Workspace:
    team: str
    admin: str
    user: str
    staff: str
    general: str


@dataclass
class MultiWorld:
    sim: SlackSimulator
    runtime: Runtime
    http: TestClient
    driver: SlackDriver

    def deliver(self) -> None:
        # Deliveries can meet new people, whose profiles then change what is shown.
        for _ in range(10):
            self.runtime.directory.run_queued()
            self.runtime.delivery.drain()
            if not self.runtime.directory.has_queued:
                break

    def install(self, team: str, installer: str) -> Any:
        page = self.http.get("/slack/install")
        assert page.status_code == 200
        state = re.search(r"state=([\w-]+)", page.text).group(1)
        code = self.sim.new_oauth_code(team, user_id=installer, client_id=CLIENT_ID)
        return self.http.get(f"/slack/oauth_redirect?code={code}&state={state}")

    def tickets(self, team: str) -> list[Ticket]:
        with self.runtime.db.session() as session:
            org = session.exec(select(Organization).where(Organization.slack_team_id == team)).one()
            return list(
                session.exec(
                    select(Ticket).where(Ticket.organization_id == org.id).order_by(col(Ticket.id))
                ).all()
            )

    def file(self, space: Workspace, title: str) -> None:
        self.driver.slash_command(space.team, space.user, text="")
        modal = self.sim.open_views(space.user)[-1]
        response = self.driver.submit_view(space.team, space.user, modal["id"], {"title": title})
        assert response.status == 200, response.text

    def setup(self, space: Workspace, **values: Any) -> Any:
        self.driver.slash_command(space.team, space.admin, text="setup")
        modal = self.sim.open_views(space.admin)[-1]
        return self.driver.submit_view(space.team, space.admin, modal["id"], values)


def add_workspace(sim: SlackSimulator, team: str, name: str) -> Workspace:
    created = sim.add_team(team, name=name, domain=name.lower().replace(" ", "-"))
    admin = sim.add_user(team, name=f"admin-{team}", real_name=f"Admin {name}", is_admin=True)["id"]
    user = sim.add_user(team, name=f"user-{team}", real_name=f"User {name}")["id"]
    staff = sim.add_channel(team, name="it", members=[admin, created.bot_user_id])["id"]
    general = sim.add_channel(team, name="general", members=[admin, user, created.bot_user_id])[
        "id"
    ]
    return Workspace(team, admin, user, staff, general)


@pytest.fixture
def multi(db: Database, sim: SlackSimulator, tmp_path: Path) -> Iterator[MultiWorld]:
    sim.register_oauth_app(CLIENT_ID, CLIENT_SECRET)
    settings = Settings(
        _env_file=None,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=sim.api_url,
        database_url=str(db.engine.url),
        staff_cache_seconds=0,
        file_storage_dir=tmp_path / "files",
    )
    runtime = build_runtime(settings, db=db, migrate_schema=False, background_profiles=False)
    web = create_web_app(create_app(settings, runtime), runtime, run_background=False)
    # https: Slack's install flow sets its state cookie Secure, as it would be in production.
    http = TestClient(web, base_url="https://testserver")
    yield MultiWorld(sim, runtime, http, SlackDriver.with_client(sim, SIGNING_SECRET, http))
    runtime.directory.close()


def installed_pair(multi: MultiWorld) -> tuple[Workspace, Workspace]:
    a = add_workspace(multi.sim, "T0ALPHA01", "Alpha Corp")
    b = add_workspace(multi.sim, "T0BETA001", "Beta Corp")
    for space in (a, b):
        assert multi.install(space.team, space.admin).status_code == 200
        assert multi.setup(space, **{Block.STAFF_CHANNEL: space.staff}).status == 200
    return a, b


def test_two_workspaces_install_and_stay_apart(multi: MultiWorld):
    a, b = installed_pair(multi)
    with multi.runtime.db.session() as session:
        orgs = session.exec(select(Organization).order_by(col(Organization.id))).all()
        assert [(o.slack_team_id, o.name) for o in orgs] == [
            (a.team, "Alpha Corp"),
            (b.team, "Beta Corp"),
        ]
        installers = session.exec(select(Member).where(Member.role == "admin")).all()
        assert {m.slack_user_id for m in installers} == {a.admin, b.admin}
    for n in range(2):
        multi.file(a, f"Alpha {n}")
    multi.file(b, "Beta 0")
    multi.deliver()
    assert [t.ticket_number for t in multi.tickets(a.team)] == [1, 2]
    assert [t.ticket_number for t in multi.tickets(b.team)] == [1]
    # Each workspace's cards went to its own staff channel, with its own token.
    assert [m["text"] for m in multi.sim.messages(a.staff)] == [
        "Ticket #1: Alpha 0",
        "Ticket #2: Alpha 1",
    ]
    assert [m["text"] for m in multi.sim.messages(b.staff)] == ["Ticket #1: Beta 0"]
    for call in multi.sim.calls:
        if call.method == "chat.postMessage" and call.args.get("channel") in (a.staff, b.staff):
            expected = a.team if call.args["channel"] == a.staff else b.team
            assert call.team_id == expected
    # /ticket 2 in Beta does not reveal Alpha's ticket #2.
    multi.driver.slash_command(b.team, b.admin, text="2")
    assert "no ticket #2" in multi.sim.ephemerals(b.admin)[-1]["text"]


def test_uninstall_pauses_deliveries_and_reinstall_resumes(multi: MultiWorld):
    a, b = installed_pair(multi)
    multi.file(b, "Before uninstall")
    multi.deliver()
    uninstall = {"type": "app_uninstalled"}
    assert multi.driver.event(b.team, uninstall).status == 200
    multi.sim.revoke_bot_token(b.team)
    with multi.runtime.db.session() as session:
        org = session.exec(select(Organization).where(Organization.slack_team_id == b.team)).one()
        assert org.slack_disconnected_at is not None
    # The REST API (or anything else) can still file tickets for it meanwhile.
    _file_without_slack(multi, b, "While uninstalled")
    multi.deliver()
    pending = [o for o in _outbox(multi) if o.status == OutboxStatus.PENDING]
    assert pending and all(o.organization_id == org.id for o in pending)
    assert not [o for o in _outbox(multi) if o.status == OutboxStatus.FAILED]
    # Alpha is unaffected.
    multi.file(a, "Alpha still works")
    multi.deliver()
    assert multi.sim.messages(a.staff)[-1]["text"] == "Ticket #1: Alpha still works"
    # Reinstall: the waiting card and DM go out with the new token.
    assert multi.install(b.team, b.admin).status_code == 200
    multi.deliver()
    assert [m["text"] for m in multi.sim.messages(b.staff)] == [
        "Ticket #1: Before uninstall",
        "Ticket #2: While uninstalled",
    ]
    assert all(o.status == OutboxStatus.SENT for o in _outbox(multi))


def test_a_revoked_token_pauses_instead_of_failing(multi: MultiWorld):
    a, _ = installed_pair(multi)
    multi.sim.revoke_bot_token(a.team)
    # Slack requests from the workspace cannot be authorized any more; an integration (the
    # REST API, say) still files tickets, and their Slack messages must wait, not fail.
    _file_without_slack(multi, a, "After revocation")
    multi.deliver()
    rows = _outbox(multi)
    assert rows and all(o.status == OutboxStatus.PENDING for o in rows if o.ticket_id)
    with multi.runtime.db.session() as session:
        org = session.exec(select(Organization).where(Organization.slack_team_id == a.team)).one()
        assert org.slack_disconnected_at is not None
    multi.install(a.team, a.admin)
    multi.deliver()
    assert [m["text"] for m in multi.sim.messages(a.staff)] == ["Ticket #1: After revocation"]


def _file_without_slack(multi: MultiWorld, space: Workspace, title: str) -> None:
    with multi.runtime.db.session() as session:
        org = session.exec(
            select(Organization).where(Organization.slack_team_id == space.team)
        ).one()
        requester = orgs.sync_slack_member(session, organization=org, slack_user_id=space.user)
        ticket_flows.file_ticket(
            session,
            organization=org,
            filer=Actor.integration("monitoring"),
            requester=requester,
            request=TicketCreate(title=title),
        )


def _outbox(multi: MultiWorld) -> list[OutboxMessage]:
    with multi.runtime.db.session() as session:
        return list(session.exec(select(OutboxMessage)).all())


def test_setup_is_refused_to_non_admins(world: World):
    response = world.driver.slash_command(world.team, world.alice, text="setup")
    assert response.status == 200
    assert world.sim.open_views(world.alice) == []
    assert "Only workspace admins" in world.sim.ephemerals(world.alice)[-1]["text"]


def _admin(world: World) -> str:
    return world.sim.add_user(world.team, name="boss", real_name="Bea Boss", is_admin=True)["id"]


def test_setup_saves_and_takes_effect_at_once(world: World):
    boss = _admin(world)
    new_staff = world.sim.add_channel(
        world.team, name="helpdesk", members=[boss, world.tech, world.bot_user]
    )["id"]
    world.driver.slash_command(world.team, boss, text="setup")
    modal = world.sim.open_views(boss)[-1]
    labels = [b["label"]["text"] for b in modal["blocks"] if "label" in b]
    assert labels[:4] == [
        "Staff channel",
        "Ticket categories",
        "Default priority",
        "Request channels",
    ]
    headers = [b["text"]["text"] for b in modal["blocks"] if b["type"] == "header"]
    assert "Client companies" in headers  # edited one by one: see test_setup_companies
    assert "Daily digest at" in labels  # the automations' section follows
    response = world.driver.submit_view(
        world.team,
        boss,
        modal["id"],
        {
            Block.STAFF_CHANNEL: new_staff,
            Block.CATEGORIES: "Printers\nLaptops\nVPN",
            Block.DEFAULT_PRIORITY: "high",
        },
    )
    assert response.status == 200 and not response.text, response.text
    world.file_ticket(world.alice, "Toner empty", category="Printers")
    world.deliver()
    (ticket,) = world.tickets()
    assert (ticket.priority, ticket.category) == ("high", "Printers")
    assert world.sim.messages(new_staff)[0]["text"] == "Ticket #1: Toner empty · High priority"


def test_setup_field_errors(world: World):
    boss = _admin(world)
    world.driver.slash_command(world.team, boss, text="setup")
    modal = world.sim.open_views(boss)[-1]
    empty = world.driver.submit_view(world.team, boss, modal["id"], {Block.CATEGORIES: "  "})
    assert Block.CATEGORIES in empty.json["errors"]


def test_cards_wait_for_a_staff_channel(db: Database, sim: SlackSimulator, tmp_path: Path):
    world = make_world(db, sim, tmp_path / "files", staff_channel_setting=False)
    world.file_ticket(world.alice, "No staff channel yet")
    world.deliver()
    assert [m["text"] for m in world.dm(world.alice)] == [
        "Ticket #1 received: No staff channel yet"
    ]
    assert world.sim.messages(world.staff_channel) == []
    boss = _admin(world)
    world.driver.event(world.team, world.driver.app_home_opened(world.team, boss))
    world.driver.slash_command(world.team, boss, text="setup")
    with world.db.session() as session:
        member = session.exec(select(Member).where(Member.slack_user_id == boss)).one()
        member.role = "admin"
        session.add(member)
    world.driver.event(world.team, world.driver.app_home_opened(world.team, boss))
    home = str(world.sim.home_view(world.team, boss)["blocks"])
    assert "No staff channel is set" in home and "1 ticket card is waiting" in home
    modal = world.sim.open_views(boss)[-1]
    world.driver.submit_view(
        world.team, boss, modal["id"], {Block.STAFF_CHANNEL: world.staff_channel}
    )
    world.deliver()
    assert [m["text"] for m in world.sim.messages(world.staff_channel)] == [
        "Ticket #1: No staff channel yet"
    ]
    world.runtime.directory.close()


def test_a_slack_connect_requester_belongs_to_their_workspaces_company(world: World):
    world.sim.add_team("T0PARTNER", name="Partner Ltd", domain="partner")
    guest = world.sim.add_user(
        world.team,
        name="pat",
        real_name="Pat Partner",
        email="pat@partner-mail.com",
        home_team_id="T0PARTNER",
    )["id"]
    world.sim.set_channel_members(
        world.team, world.general, [world.alice, world.bob, world.tech, world.bot_user, guest]
    )
    message = world.sim.post_user_message(world.team, world.general, guest, "Our VPN is down")
    world.driver.event(
        world.team,
        world.driver.reaction_added(world.team, world.tech, "ticket", world.general, message["ts"]),
    )
    world.deliver()
    with world.db.session() as session:
        company = session.exec(
            select(ClientCompany).where(ClientCompany.slack_team_id == "T0PARTNER")
        ).one()
    assert company.name == "Partner Ltd"
    (ticket,) = world.tickets()
    assert ticket.client_company_id == company.id
    assert "Partner Ltd" in str(world.cards()[0]["blocks"][1])


def test_staff_place_an_unmatched_requester_from_the_card(world: World):
    with world.db.session() as session:
        org = orgs.get_or_create_organization(session, team_id=world.team)
        company_id = orgs.create_client_company(session, organization=org, name="Initech").id
    world.file_ticket(world.bob, "Unmatched")  # bob@client.com matches no company
    world.deliver()
    card = world.cards()[0]
    assert "not matched" in str(card["blocks"][1])
    world.driver.block_action(
        world.team,
        world.tech,
        Action.CLIENT_COMPANY,
        selected_option_value=str(company_id),
        channel_id=world.staff_channel,
        message_ts=card["ts"],
    )
    world.deliver()
    (ticket,) = world.tickets()
    assert ticket.client_company_id == company_id
    assert world.member(world.bob).client_company_id == company_id  # next time it matches
    assert "Initech" in str(world.cards()[0]["blocks"][1])
    thread = world.sim.thread(world.staff_channel, card["ts"])
    assert thread[-1]["text"] == "Tom set client company to *Initech*"
    with world.db.session() as session:
        logged = session.exec(
            select(TicketEvent).where(TicketEvent.field == "client_company_id")
        ).one()
    assert (logged.old_value, logged.new_value) == (None, str(company_id))
