"""`/ticket find` and saved views through `/slack/events`, on the seeded data set: the
query table as Slack shows it (pages of 10 with Next), views saved, listed, opened, shared
and on App Home; a requester's search covers only their own tickets' public side."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from bot.app import create_app
from bot.core.db import Database
from bot.core.settings import Settings
from bot.ids import Action
from bot.runtime import Runtime, build_runtime
from bot.slacksim import SlackDriver, SlackSimulator
from bot.web import create_web_app
from models import SavedView
from tests.services.search.cases import CASES, ERROR_CASES, REQUESTER_CASES, Case
from tests.services.search.dataset import NOW, ZONE, Seeded, seed
from tests.services.search.test_search import runnable

SIGNING_SECRET = "e2e-search-secret"
TEAM = "T0001"  # the data set's first workspace
TECH, ADMIN, ALICE, BOB = "UT0001T", "UT0001A", "UT00011", "UT00012"
NUMBER = re.compile(r"\*#(\d+)\*")
HEADLINE_COUNT = re.compile(r"— ([\d,]+) tickets?$")


@dataclass
class SearchWorld:
    sim: SlackSimulator
    driver: SlackDriver
    runtime: Runtime
    data: Seeded

    def find(self, user: str, query: str) -> dict[str, Any]:
        """`/ticket find <query>`; the ephemeral answer."""
        response = self.driver.slash_command(TEAM, user, text=f"find {query}")
        assert response.status == 200, response.text
        return self.sim.ephemerals(user)[-1]

    def command(self, user: str, text: str) -> dict[str, Any]:
        response = self.driver.slash_command(TEAM, user, text=text)
        assert response.status == 200, response.text
        return self.sim.ephemerals(user)[-1]

    def next_page(self, user: str, answer: dict[str, Any]) -> dict[str, Any]:
        self.driver.block_action(
            TEAM,
            user,
            f"{Action.SEARCH_PAGE}:next",
            channel_id=answer["channel"],
            message_ts=answer["ts"],
        )
        return next(e for e in self.sim.ephemerals(user) if e["ts"] == answer["ts"])

    def numbers(self, answer: dict[str, Any]) -> list[int]:
        sections = [b for b in answer.get("blocks", []) if b["type"] == "section"][1:]
        return [int(n) for b in sections for n in NUMBER.findall(b["text"]["text"])]

    def keys(self, numbers: list[int]) -> set[str]:
        org = self.data.ws.organization.id
        return {
            k for k, t in self.data.tickets.items()
            if t.organization_id == org and t.ticket_number in numbers
        }  # fmt: skip


@pytest.fixture
def search_world(db: Database, sim: SlackSimulator, tmp_path: Path) -> Iterator[SearchWorld]:
    with db.session() as session:
        data = seed(session)
    team = sim.add_team(TEAM, name="Org T0001", domain="org-t0001")
    for user_id, name, real, email in (
        (TECH, "tom", "Tom Tech", "tech@example.com"),
        (ADMIN, "ada", "Ada Admin", "admin@example.com"),
        (ALICE, "alice", "Alice", "alice@client-T0001.com"),
        (BOB, "bob", "Bob", "bob@client-T0001.com"),
    ):
        sim.add_user(TEAM, user_id, name=name, real_name=real, email=email, tz=ZONE)
    staff = sim.add_channel(TEAM, name="it-staff", members=[TECH, ADMIN, team.bot_user_id])["id"]
    settings = Settings(
        _env_file=None,
        slack_bot_token=team.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=sim.api_url,
        staff_channel_id=staff,
        database_url=str(db.engine.url),
        staff_cache_seconds=0,
        file_storage_dir=tmp_path / "files",
    )
    runtime = build_runtime(settings, db=db, migrate_schema=False, background_profiles=False)
    runtime.clock = lambda: NOW
    web = create_web_app(create_app(settings, runtime), runtime, run_background=False)
    driver = SlackDriver.with_client(sim, SIGNING_SECRET, TestClient(web))
    yield SearchWorld(sim, driver, runtime, data)
    runtime.directory.close()


@pytest.fixture
def sim() -> Iterator[SlackSimulator]:
    simulator = SlackSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


def _all_pages(world: SearchWorld, user: str, query: str) -> tuple[str, list[int]]:
    answer = world.find(user, query)
    headline = answer["blocks"][0]["text"]["text"]
    numbers = world.numbers(answer)
    assert len(numbers) <= 10
    while any(b["type"] == "actions" and "next" in str(b) for b in answer["blocks"]):
        answer = world.next_page(user, answer)
        numbers += world.numbers(answer)
    return headline, numbers


@pytest.mark.parametrize("case", runnable(CASES), ids=lambda c: c.query or "(empty)")
def test_each_query_through_ticket_find(search_world: SearchWorld, case: Case) -> None:
    headline, numbers = _all_pages(search_world, TECH, case.query)
    assert search_world.keys(numbers) == case.expected
    assert len(numbers) == len(case.expected)
    count = HEADLINE_COUNT.search(headline)
    assert count is not None and int(count.group(1).replace(",", "")) == len(case.expected)
    if case.order is not None:
        ordered = [search_world.data.tickets[k].ticket_number for k in case.order]
        assert numbers == ordered


@pytest.mark.parametrize("case", runnable(REQUESTER_CASES), ids=lambda c: c.query or "(empty)")
def test_a_requesters_find(search_world: SearchWorld, case: Case) -> None:
    _, numbers = _all_pages(search_world, ALICE, case.query)
    assert search_world.keys(numbers) == case.expected


def test_the_answer_begins_with_the_query_as_understood(search_world: SearchWorld) -> None:
    answer = search_world.find(TECH, "status:open priority:>=high assignee:me created:>7d")
    assert answer["blocks"][0]["text"]["text"] == (
        "Open, high or urgent, assigned to you, created more than 7 days ago — 1 ticket"
    )


@pytest.mark.parametrize(("query", "words"), ERROR_CASES[:6], ids=[q for q, _ in ERROR_CASES[:6]])
def test_a_bad_query_is_explained(search_world: SearchWorld, query: str, words) -> None:
    answer = search_world.find(TECH, query)
    for word in words:
        assert word.replace("&", "&amp;") in answer["text"]


def test_save_list_open_share_delete_views(search_world: SearchWorld) -> None:
    world = search_world
    saved = world.command(TECH, 'view save "Acme high" client:"Acme Corp" priority:>=high')
    assert "Saved *Acme high* (2 tickets now)" in saved["text"]
    duplicate = world.command(TECH, 'view save "acme HIGH" status:open')
    assert "already named" in duplicate["text"]
    listed = world.command(TECH, "view list")
    assert "Acme high" in str(listed["blocks"]) and "— 2" in str(listed["blocks"])
    opened = world.command(TECH, "view acme high")
    assert world.keys(world.numbers(opened)) == {"jam", "drive"}
    assert opened["blocks"][0]["text"]["text"].startswith("*Acme high*: ")
    # Only admins share; once shared, everyone on staff has it.
    refused = world.command(TECH, "view share Acme high")
    assert "Only admins" in refused["text"]
    with world.runtime.db.session() as session:
        view = session.exec(select(SavedView)).one()
        view.owner_id = world.data.ws.admin.id
        session.add(view)
    shared = world.command(ADMIN, 'view share "Acme high"')
    assert "shared with all staff" in shared["text"]
    assert "Acme high" in str(world.command(TECH, "view list")["blocks"])
    gone = world.command(TECH, "view delete Acme high")
    assert "Only admins" in gone["text"]
    assert "Deleted" in world.command(ADMIN, "view delete acme high")["text"]
    missing = world.command(TECH, "view Acme hig")
    assert "no view named" in missing["text"]


def test_save_as_view_from_a_search(search_world: SearchWorld) -> None:
    world = search_world
    answer = world.find(TECH, "status:unresolved")
    world.driver.block_action(
        TEAM, TECH, f"{Action.SAVE_VIEW}:save", channel_id=answer["channel"],
        message_ts=answer["ts"],
    )  # fmt: skip
    modal = world.sim.open_views(TECH)[-1]
    assert "status:unresolved" in str(modal["blocks"])
    world.driver.submit_view(TEAM, TECH, modal["id"], {"view_name": "Open work"})
    with world.runtime.db.session() as session:
        view = session.exec(select(SavedView)).one()
        assert (view.name, view.query, view.owner_id) == (
            "Open work",
            "status:unresolved",
            world.data.ws.tech.id,
        )


def test_paging_keeps_the_query(search_world: SearchWorld) -> None:
    world = search_world
    answer = world.find(TECH, "")
    first = world.numbers(answer)
    assert len(first) == 10 and "Page 1 of 2" in str(answer["blocks"])
    second = world.next_page(TECH, answer)
    assert len(world.numbers(second)) == 2 and "Page 2 of 2" in str(second["blocks"])
    world.driver.block_action(
        TEAM, TECH, f"{Action.SEARCH_PAGE}:prev", channel_id=second["channel"],
        message_ts=second["ts"],
    )  # fmt: skip
    again = next(e for e in world.sim.ephemerals(TECH) if e["ts"] == answer["ts"])
    assert world.numbers(again) == first


def test_staff_app_home_lists_views_with_counts(search_world: SearchWorld) -> None:
    world = search_world
    world.command(TECH, "view save Globex client:globex")
    world.driver.event(TEAM, world.driver.app_home_opened(TEAM, TECH))
    world.runtime.delivery.drain()
    home = world.sim.home_view(TEAM, TECH)
    assert home is not None
    text = str(home["blocks"])
    assert "*My open work* — 4" in text  # jam, vpn, monitor, adobe
    assert "*Unassigned* — 3" in text
    assert "*Waiting on customer* — 2" in text
    assert "*Globex* — 4" in text
    button = next(
        b["accessory"] for b in home["blocks"]
        if b.get("accessory", {}).get("action_id", "").startswith(Action.OPEN_VIEW)
        and "Globex" in b["text"]["text"]
    )  # fmt: skip
    world.driver.block_action(TEAM, TECH, button["action_id"], view_id=home["id"])
    modal = world.sim.open_views(TECH)[-1]
    assert world.keys(world.numbers({"blocks": modal["blocks"]})) == {
        "vpn", "wifi", "toner", "phone",
    }  # fmt: skip
