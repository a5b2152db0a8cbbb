"""The REST API when something below it fails or a value is at the edge of what it can
hold: always a JSON answer with a 4xx or 503 status, and nothing left behind."""

from __future__ import annotations

import base64
import errno
from pathlib import Path

import pytest

from bot.core.db import Database
from tests.api import conftest as api_conftest
from tests.api.conftest import Api
from tests.reliability.conftest import DatabaseOutage

api = api_conftest.api  # the REST API's fixture, over the `db` of each backend


@pytest.fixture
def db_outage(db: Database):
    outage = DatabaseOutage(db)
    yield outage
    outage.remove()


@pytest.mark.parametrize(
    "instant",
    [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59-12:00",
    ],
)
def test_updated_since_beyond_the_datetime_range_is_a_422(api: Api, instant: str):
    response = api.get("/api/tickets", params={"updated_since": instant})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "updated_since"


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_updated_since_at_the_very_ends_of_the_range_is_answered(api: Api, instant: str):
    api.file()
    response = api.get("/api/tickets", params={"updated_since": instant})
    assert response.status_code == 200, response.text
    expected = 1 if instant.startswith("0001") else 0
    assert len(response.json()["items"]) == expected


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_full_disk_during_an_upload_is_a_503_and_leaves_no_file(
    api: Api, monkeypatch: pytest.MonkeyPatch
):
    ticket = api.file()

    def disk_full(self: Path, data: bytes) -> int:
        with open(self, "wb") as handle:  # the file is created, then the disk is full
            handle.write(data[:0])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    response = api.post(
        f"/api/tickets/{ticket['id']}/attachments",
        json={"filename": "log.txt", "content_base64": base64.b64encode(b"x" * 100).decode()},
    )
    monkeypatch.undo()
    assert response.status_code == 503, response.text
    assert "stored" in response.json()["detail"]
    assert stored_files(api.storage) == []
    listed = api.get(f"/api/tickets/{ticket['id']}/attachments").json()
    assert listed["items"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/tickets"), ("POST", "/api/tickets"), ("GET", "/api/tickets/1")],
)
def test_the_api_during_a_database_outage_is_a_json_503(
    api: Api, db_outage: DatabaseOutage, method: str, path: str
):
    with db_outage.during():
        if method == "GET":
            response = api.get(path)
        else:
            response = api.post(path, json={"title": "VPN down", "requester_id": api.ws.alice.id})
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/json"
    assert "database" in response.json()["detail"]
    assert response.headers["retry-after"].isdigit()
