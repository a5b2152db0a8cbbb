"""REST: `GET /api/tickets?q=` runs the query table on the seeded data set (SQLite and
PostgreSQL); bad queries are 422 with the search's message; `/api/views`."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.api import tokens
from bot.app import create_app
from bot.core.db import Database
from bot.runtime import build_runtime
from bot.web import create_web_app
from tests.api.conftest import api_settings, bearer
from tests.services.search.cases import CASES, ERROR_CASES, Case
from tests.services.search.dataset import NOW, Seeded, seed
from tests.services.search.test_search import runnable

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@dataclass
class SearchApi:
    client: TestClient
    data: Seeded
    headers: dict[str, str]
    other_headers: dict[str, str]

    def keys(self, query: str, **params: Any) -> list[str]:
        response = self.client.get(
            "/api/tickets", params={"q": query, "limit": 200, **params}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        by_id = {t.id: k for k, t in self.data.tickets.items()}
        body = response.json()
        assert body["total"] == len(body["items"])
        return [by_id[item["id"]] for item in body["items"]]


@pytest.fixture
def search_api(db: Database, tmp_path: Path) -> Iterator[SearchApi]:
    settings = api_settings(tmp_path / "files")
    runtime = build_runtime(settings, db=db, migrate_schema=False, background_profiles=False)
    runtime.clock = lambda: NOW
    web = create_web_app(create_app(settings, runtime), runtime, run_background=False)
    with db.session() as session:
        data = seed(session)
        token = tokens.create_api_token(session, organization=data.ws.organization, name="t")
        other = tokens.create_api_token(session, organization=data.other.organization, name="o")
    with TestClient(web) as client:
        yield SearchApi(client, data, bearer(token.secret), bearer(other.secret))
    runtime.stop_background()


@pytest.mark.parametrize(
    "case", [c for c in runnable(CASES) if not c.uses_me], ids=lambda c: c.query or "(empty)"
)
def test_each_query_finds_its_tickets_over_rest(search_api: SearchApi, case: Case) -> None:
    keys = search_api.keys(case.query)
    assert set(keys) == case.expected
    if case.order is not None:
        assert tuple(keys) == case.order


@pytest.mark.parametrize(("query", "words"), ERROR_CASES, ids=[q for q, _ in ERROR_CASES])
def test_a_bad_query_is_a_422_with_the_message(search_api: SearchApi, query: str, words) -> None:
    response = search_api.client.get(
        "/api/tickets", params={"q": query}, headers=search_api.headers
    )
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "q"
    for word in words:
        assert word in body["detail"]


def test_me_over_rest_is_a_422(search_api: SearchApi) -> None:
    response = search_api.client.get(
        "/api/tickets", params={"q": "assignee:me"}, headers=search_api.headers
    )
    assert response.status_code == 422
    assert "`assignee:me` means nobody" in response.json()["detail"]


def test_pages_and_description(search_api: SearchApi) -> None:
    get = search_api.client.get
    first = get(
        "/api/tickets",
        params={"q": "status:unresolved", "limit": 5},
        headers=search_api.headers,
    ).json()
    assert first["total"] == 9 and len(first["items"]) == 5 and first["next_offset"] == 5
    assert first["description"] == "Unresolved"
    second = get(
        "/api/tickets",
        params={"q": "status:unresolved", "limit": 5, "offset": 5},
        headers=search_api.headers,
    ).json()
    assert len(second["items"]) == 4 and second["next_offset"] is None
    mixed = get(
        "/api/tickets", params={"q": "printer", "status": "open"}, headers=search_api.headers
    )
    assert mixed.status_code == 422


def test_another_organizations_token_finds_only_its_own(search_api: SearchApi) -> None:
    response = search_api.client.get(
        "/api/tickets", params={"q": "printer", "limit": 200}, headers=search_api.other_headers
    )
    ids = {item["id"] for item in response.json()["items"]}
    assert ids == {search_api.data.tickets["other-jam"].id}


def test_views_crud(search_api: SearchApi) -> None:
    client, headers, data = search_api.client, search_api.headers, search_api.data
    shared = client.post(
        "/api/views", json={"name": "Acme open", "query": 'client:"Acme Corp"'}, headers=headers
    )
    assert shared.status_code == 201, shared.text
    assert shared.json()["shared"] is True and shared.json()["broken"] is None
    personal = client.post(
        "/api/views",
        json={"name": "Mine", "query": "assignee:me", "owner_id": data.ws.tech.id},
        headers=headers,
    )
    assert personal.status_code == 201 and personal.json()["owner_id"] == data.ws.tech.id
    duplicate = client.post(
        "/api/views", json={"name": "acme OPEN", "query": "status:open"}, headers=headers
    )
    assert duplicate.status_code == 422 and "already named" in duplicate.json()["detail"]
    bad = client.post("/api/views", json={"name": "x", "query": "asignee:me"}, headers=headers)
    assert bad.status_code == 422 and "did you mean `assignee`?" in bad.json()["detail"]
    view_id = shared.json()["id"]
    renamed = client.patch(f"/api/views/{view_id}", json={"name": "Acme tickets"}, headers=headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme tickets"
    assert [v["name"] for v in client.get("/api/views", headers=headers).json()["items"]] == [
        "Acme tickets",
        "Mine",
    ]
    # Another organization sees none of them, and cannot reach them.
    assert client.get("/api/views", headers=search_api.other_headers).json()["items"] == []
    assert client.get(f"/api/views/{view_id}", headers=search_api.other_headers).status_code == 404
    assert client.delete(f"/api/views/{view_id}", headers=headers).status_code == 204
    assert client.get(f"/api/views/{view_id}", headers=headers).status_code == 404


def test_a_view_whose_query_no_longer_runs_is_shown_broken(search_api: SearchApi) -> None:
    client, headers = search_api.client, search_api.headers
    created = client.post(
        "/api/views", json={"name": "Globex", "query": "client:globex"}, headers=headers
    )
    assert created.status_code == 201
    with _database(search_api) as session:
        from models import ClientCompany

        company = session.get(ClientCompany, search_api.data.globex.id)
        assert company is not None
        company.name = "Globex International"
        session.add(company)
    listed = client.get(f"/api/views/{created.json()['id']}", headers=headers).json()
    assert "unknown client `globex`" in listed["broken"]
    assert "Globex International" in listed["broken"]


def _database(search_api: SearchApi) -> Any:
    runtime = search_api.client.app.state.runtime  # type: ignore[attr-defined]
    return runtime.db.session()
