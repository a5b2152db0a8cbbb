"""`ticketbot api-token create|list|revoke`: tokens for a workspace, used while serving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import create_app
from bot.cli import main
from bot.core import migrate
from bot.core.db import Database
from bot.runtime import build_runtime
from bot.web import create_web_app
from tests.api.conftest import TestClient, api_settings, bearer


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A running web app on a SQLite file, and the CLI pointed at the same database."""
    url = f"sqlite:///{tmp_path / 'ticketbot.db'}"
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    monkeypatch.setenv("DATABASE_URL", url)
    database = Database.from_url(url)
    migrate.upgrade(database.engine)
    settings = api_settings(tmp_path / "files", database_url=url)
    runtime = build_runtime(settings, db=database, migrate_schema=False, background_profiles=False)
    with TestClient(
        create_web_app(create_app(settings, runtime), runtime, run_background=False)
    ) as client:
        yield client
    database.dispose()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(list(argv)) == 0
    return capsys.readouterr().out.strip().splitlines()


def test_a_token_created_for_a_new_workspace_works_at_once(served: TestClient, capsys):
    output = _run(capsys, "api-token", "create", "--team", "T0NEWTEAM", "--name", "Nagios")
    token = output[-1]
    assert token.startswith("tbk_") and len(token) > 40
    assert "T0NEWTEAM" in output[0]
    response = served.get("/api/tickets", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["items"] == []
    # Tickets it files belong to the workspace's (new) organization and name the token.
    filed = served.post(
        "/api/tickets",
        json={"title": "Disk full", "requester_email": "ops@example.com"},
        headers=bearer(token),
    )
    assert filed.status_code == 201
    assert filed.json()["ticket_number"] == 1


def test_listing_and_revoking_by_prefix_or_id(served: TestClient, capsys):
    first = _run(capsys, "api-token", "create", "--team", "T0TEAM")[-1]
    second = _run(capsys, "api-token", "create", "--team", "T0TEAM", "--name", "billing")[-1]
    listed = _run(capsys, "api-token", "list", "--team", "T0TEAM")
    assert len(listed) == 2
    assert "integration" in listed[0] and first[:12] in listed[0] and "active" in listed[0]
    assert first not in "\n".join(listed)  # the secret itself is never shown again

    revoked = _run(capsys, "api-token", "revoke", first[:12], "--team", "T0TEAM")
    assert "revoked" in revoked[0]
    assert served.get("/api/tickets", headers=bearer(first)).status_code == 401
    assert served.get("/api/tickets", headers=bearer(second)).status_code == 200

    second_id = listed[1].split("\t")[0]
    _run(capsys, "api-token", "revoke", second_id, "--team", "T0TEAM")
    assert served.get("/api/tickets", headers=bearer(second)).status_code == 401
    assert all("revoked" in line for line in _run(capsys, "api-token", "list", "--team", "T0TEAM"))


def test_a_token_of_one_workspace_cannot_be_revoked_through_another(served: TestClient, capsys):
    token = _run(capsys, "api-token", "create", "--team", "T0ONE")[-1]
    _run(capsys, "api-token", "create", "--team", "T0TWO")
    with pytest.raises(SystemExit, match="no API token"):
        main(["api-token", "revoke", token[:12], "--team", "T0TWO"])
    assert served.get("/api/tickets", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["api-token", "list", "--team", "T0NEVERSEEN"], "never seen a workspace T0NEVERSEEN"),
        (["api-token", "revoke", "1", "--team", "T0NEVERSEEN"], "never seen"),
        (["api-token", "create", "--team", "not a team"], "not a Slack team id"),
        (["api-token", "create", "--team", "T0TEAM", "--name", "  "], "Give the token a name"),
    ],
)
def test_mistakes_end_with_a_message(served: TestClient, argv, message):
    with pytest.raises(SystemExit, match=message):
        main(argv)
