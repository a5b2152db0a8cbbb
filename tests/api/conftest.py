"""An HTTP client on the whole web app (Slack endpoints and REST API) over the `db` fixture,
with two workspaces and a token for each."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.api import tokens
from bot.app import create_app
from bot.core.db import Database
from bot.core.settings import Settings
from bot.runtime import Runtime, build_runtime
from bot.web import create_web_app
from models import OutboxMessage
from tests.services.factories import Workspace, make_workspace

with warnings.catch_warnings():
    # Starlette suggests httpx2 for its test client; httpx is what the project installs.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

MAX_ATTACHMENT_BYTES = 2048


def api_settings(storage: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_signing_secret": "test-secret",
        "slack_bot_token": "xoxb-test",
        # Nothing listens there: no test may reach Slack.
        "slack_api_url": "http://127.0.0.1:9/api/",
        "file_storage_dir": storage,
        "max_attachment_bytes": MAX_ATTACHMENT_BYTES,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Api:
    client: TestClient
    db: Database
    runtime: Runtime
    ws: Workspace  # the token's workspace
    other: Workspace  # another workspace, with a token of its own
    token: str
    other_token: str
    storage: Path
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = bearer(self.token)

    def get(self, path: str, **kwargs: Any):
        return self.client.get(
            path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs
        )

    def post(self, path: str, json: Any, **kwargs: Any):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kwargs)

    def patch(self, path: str, json: Any, **kwargs: Any):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.patch(path, json=json, headers=headers, **kwargs)

    def file(self, **fields: Any) -> dict[str, Any]:
        """File a ticket through the API (for Alice unless told) and return its JSON."""
        body: dict[str, Any] = {"title": "Printer is on fire"}
        if not {"requester_id", "requester_slack_user_id", "requester_email"} & set(fields):
            body["requester_id"] = self.ws.alice.id
        response = self.post("/api/tickets", json={**body, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    def outbox(self, ticket_id: int | None = None) -> list[OutboxMessage]:
        with self.db.session() as session:
            query = select(OutboxMessage).order_by(col(OutboxMessage.id))
            if ticket_id is not None:
                query = query.where(OutboxMessage.ticket_id == ticket_id)
            return list(session.exec(query).all())


@pytest.fixture
def api(db: Database, tmp_path: Path) -> Iterator[Api]:
    settings = api_settings(tmp_path / "files")
    runtime = build_runtime(settings, db=db, migrate_schema=False, background_profiles=False)
    web = create_web_app(create_app(settings, runtime), runtime, run_background=False)
    with db.session() as session:
        ws = make_workspace(session, "T0001")
        other = make_workspace(session, "T0002", domain="example.org")
        token = tokens.create_api_token(session, organization=ws.organization, name="monitoring")
        other_token = tokens.create_api_token(session, organization=other.organization, name="x")
    with TestClient(web) as client:
        yield Api(
            client=client,
            db=db,
            runtime=runtime,
            ws=ws,
            other=other,
            token=token.secret,
            other_token=other_token.secret,
            storage=tmp_path / "files",
        )
    runtime.stop_background()
