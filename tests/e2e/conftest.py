"""End-to-end harness: the real app behind its HTTP endpoint, a simulated Slack around it.

Requests reach `/slack/events` signed like Slack's; the app's Web API calls go to the
simulator, which records them. Delivery of the outbox is driven by the test (`deliver()`),
so every assertion sees a settled state.
"""

from __future__ import annotations

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
from bot.runtime import Runtime, build_runtime
from bot.slacksim import SlackDriver, SlackSimulator
from bot.web import create_web_app
from models import Member, MemberRole, Organization, OutboxMessage, Ticket

SIGNING_SECRET = "e2e-signing-secret"
TEAM = "T0ACME001"


@dataclass
class World:
    sim: SlackSimulator
    driver: SlackDriver
    runtime: Runtime
    http: TestClient
    team: str
    bot_user: str
    staff_channel: str
    general: str
    tech: str  # a technician (member of the staff channel)
    tech2: str  # another technician
    alice: str  # an end user
    bob: str  # another end user

    @property
    def db(self) -> Database:
        return self.runtime.db

    def deliver(self) -> None:
        """What the background would do: read new people's profiles, send the outbox."""
        # Deliveries can meet new people, whose profiles then change what is shown.
        for _ in range(10):
            self.runtime.directory.run_queued()
            self.runtime.delivery.drain()
            if not self.runtime.directory.has_queued:
                break

    def tickets(self) -> list[Ticket]:
        with self.db.session() as session:
            return list(session.exec(select(Ticket).order_by(col(Ticket.id))).all())

    def member(self, slack_user_id: str) -> Member:
        with self.db.session() as session:
            member = session.exec(select(Member).where(Member.slack_user_id == slack_user_id)).one()
            return member

    def outbox(self) -> list[OutboxMessage]:
        with self.db.session() as session:
            return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())

    def staff_messages(self) -> list[dict[str, Any]]:
        return self.sim.messages(self.staff_channel)

    def cards(self) -> list[dict[str, Any]]:
        return [
            m for m in self.staff_messages() if not m.get("thread_ts") or m["thread_ts"] == m["ts"]
        ]

    def dm(self, user_id: str) -> list[dict[str, Any]]:
        return self.sim.messages(self.sim.dm_channel(self.team, user_id))

    def open_modal(self, user_id: str) -> dict[str, Any]:
        views = self.sim.open_views(user_id)
        assert views, f"no modal is open for {user_id}"
        return views[-1]

    def file_ticket(self, user_id: str, title: str, **values: Any) -> Any:
        """/ticket, then submit the modal with `title` and any other values."""
        response = self.driver.slash_command(self.team, user_id, text="")
        assert response.status == 200, response.text
        modal = self.open_modal(user_id)
        return self.driver.submit_view(self.team, user_id, modal["id"], {"title": title, **values})


def make_world(
    db: Database, sim: SlackSimulator, files_dir: Path, *, staff_channel_setting: bool = True
) -> World:
    team = sim.add_team(TEAM, name="Acme IT", domain="acme-it")
    tech = sim.add_user(TEAM, name="tech1", real_name="Tom Tech", email="tom@acme-it.com")["id"]
    tech2 = sim.add_user(TEAM, name="tech2", real_name="Tia Tech", email="tia@acme-it.com")["id"]
    alice = sim.add_user(TEAM, name="alice", real_name="Alice Able", email="alice@client.com")["id"]
    bob = sim.add_user(TEAM, name="bob", real_name="Bob Baker", email="bob@client.com")["id"]
    staff = sim.add_channel(TEAM, name="it-staff", members=[tech, tech2, team.bot_user_id])["id"]
    general = sim.add_channel(TEAM, name="general", members=[alice, bob, tech, team.bot_user_id])[
        "id"
    ]
    settings = Settings(
        _env_file=None,
        slack_bot_token=team.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=sim.api_url,
        staff_channel_id=staff if staff_channel_setting else None,
        database_url=str(db.engine.url),
        staff_cache_seconds=0,
        file_storage_dir=files_dir,
        max_attachment_bytes=1024 * 1024,
    )
    runtime = build_runtime(settings, db=db, migrate_schema=False, background_profiles=False)
    web = create_web_app(create_app(settings, runtime), runtime, run_background=False)
    http = TestClient(web)
    driver = SlackDriver.with_client(sim, SIGNING_SECRET, http)
    return World(
        sim=sim,
        driver=driver,
        runtime=runtime,
        http=http,
        team=TEAM,
        bot_user=team.bot_user_id,
        staff_channel=staff,
        general=general,
        tech=tech,
        tech2=tech2,
        alice=alice,
        bob=bob,
    )


@pytest.fixture
def sim() -> Iterator[SlackSimulator]:
    simulator = SlackSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def world(db: Database, sim: SlackSimulator, tmp_path: Path) -> Iterator[World]:
    built = make_world(db, sim, tmp_path / "files")
    yield built
    built.runtime.directory.close()


def organization_of(world: World) -> Organization:
    with world.db.session() as session:
        return session.exec(
            select(Organization).where(Organization.slack_team_id == world.team)
        ).one()


__all__ = ["MemberRole", "World", "make_world", "organization_of"]
