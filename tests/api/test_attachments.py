"""Attachments: uploaded content stored per organization and downloaded again, or links."""

from __future__ import annotations

import base64

from sqlmodel import select

from models import TicketAttachment
from models.api import StoredAttachmentContent
from tests.api.conftest import MAX_ATTACHMENT_BYTES, Api, bearer


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def test_uploaded_content_is_stored_and_served_at_file_url(api: Api):
    ticket = api.file()
    content = b"\x00\x01binary log\xff" * 10
    response = api.post(
        f"/api/tickets/{ticket['id']}/attachments",
        json={
            "filename": "event log.bin",
            "file_type": "application/octet-stream",
            "content_base64": _b64(content),
        },
    )
    assert response.status_code == 201, response.text
    attachment = response.json()
    assert (
        attachment["file_url"]
        == f"/api/tickets/{ticket['id']}/attachments/{attachment['id']}/content"
    )
    assert (attachment["file_size"], attachment["uploaded_by_name"], attachment["is_internal"]) == (
        len(content),
        "API: monitoring",
        True,
    )
    with api.db.session() as session:
        stored = session.get(StoredAttachmentContent, attachment["id"])
    path = api.storage / str(api.ws.organization.id) / stored.storage_key
    assert path.read_bytes() == content
    assert stored.size == len(content)

    download = api.get(attachment["file_url"])
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"


def test_an_upload_at_exactly_the_limit_is_accepted_and_one_byte_more_is_413(api: Api):
    ticket = api.file()
    path = f"/api/tickets/{ticket['id']}/attachments"
    exact = api.post(
        path, json={"filename": "a.txt", "content_base64": _b64(b"a" * MAX_ATTACHMENT_BYTES)}
    )
    assert exact.status_code == 201
    over = api.post(
        path, json={"filename": "b.txt", "content_base64": _b64(b"a" * (MAX_ATTACHMENT_BYTES + 1))}
    )
    assert over.status_code == 413
    limit = f"{MAX_ATTACHMENT_BYTES:,}"
    assert over.json() == {
        "detail": f"The file is too large: attachments can be at most {limit} bytes.",
        "field": "content_base64",
    }
    with api.db.session() as session:
        assert [a.filename for a in session.exec(select(TicketAttachment)).all()] == ["a.txt"]
    # Only the accepted file is on disk: a refused upload leaves nothing behind.
    assert len(list((api.storage / str(api.ws.organization.id)).iterdir())) == 1


def test_a_link_attachment_has_no_stored_content(api: Api):
    ticket = api.file()
    link = api.post(
        f"/api/tickets/{ticket['id']}/attachments",
        json={
            "filename": "screenshot.png",
            "file_url": "https://files.example.com/s.png",
            "file_type": "image/png",
            "file_size": 1234,
            "is_internal": False,
        },
    ).json()
    assert (link["file_url"], link["file_size"], link["is_internal"]) == (
        "https://files.example.com/s.png",
        1234,
        False,
    )
    download = api.get(f"/api/tickets/{ticket['id']}/attachments/{link['id']}/content")
    assert download.status_code == 404
    assert "links to https://files.example.com/s.png" in download.json()["detail"]
    metadata_only = api.post(
        f"/api/tickets/{ticket['id']}/attachments", json={"filename": "n.txt"}
    ).json()
    assert (
        api.get(
            f"/api/tickets/{ticket['id']}/attachments/{metadata_only['id']}/content"
        ).status_code
        == 404
    )


def test_listing_attachments_oldest_first(api: Api):
    ticket = api.file()
    for name in ("one.txt", "two.txt"):
        api.post(
            f"/api/tickets/{ticket['id']}/attachments",
            json={"filename": name, "content_base64": _b64(b"x")},
        )
    listed = api.get(f"/api/tickets/{ticket['id']}/attachments")
    assert listed.status_code == 200
    assert [a["filename"] for a in listed.json()["items"]] == ["one.txt", "two.txt"]


def test_downloads_stay_within_the_ticket_and_the_organization(api: Api):
    ticket, other_ticket = api.file(), api.file()
    attachment = api.post(
        f"/api/tickets/{ticket['id']}/attachments",
        json={"filename": "a.txt", "content_base64": _b64(b"secret")},
    ).json()
    wrong_ticket = api.get(
        f"/api/tickets/{other_ticket['id']}/attachments/{attachment['id']}/content"
    )
    assert wrong_ticket.status_code == 404
    foreign = api.client.get(attachment["file_url"], headers=bearer(api.other_token))
    assert foreign.status_code == 404
    assert foreign.json() == {"detail": f"There is no ticket with id {ticket['id']}."}
    missing = api.get(f"/api/tickets/{ticket['id']}/attachments/99999/content")
    assert missing.status_code == 404


REFUSED_ATTACHMENTS = [
    ({}, "filename", "is required"),
    ({"filename": ""}, "filename", "at least 1 character"),
    ({"filename": "a", "content_base64": "not base64!"}, "content_base64", "not valid base64"),
    (
        {"filename": "a", "content_base64": "YWJj", "file_url": "https://x.test/a"},
        "body",
        "not both",
    ),
    ({"filename": "a", "content_base64": "YWJj", "file_size": 3}, "body", "leave it out"),
    ({"filename": "a", "file_url": "javascript:alert(1)"}, "file_url", "match pattern"),
    ({"filename": "a", "file_type": "text/html\r\nX-Evil: 1"}, "file_type", "match pattern"),
    ({"filename": "a", "file_size": -1}, "file_size", "greater than or equal to 0"),
    ({"filename": "a", "uploaded_by": 1}, "uploaded_by", "not a field"),
]


def test_a_refused_attachment_is_422_and_stores_nothing(api: Api):
    ticket = api.file()
    for body, field, words in REFUSED_ATTACHMENTS:
        response = api.post(f"/api/tickets/{ticket['id']}/attachments", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field, body
        assert words in response.json()["detail"], (body, response.json())
    assert api.get(f"/api/tickets/{ticket['id']}/attachments").json() == {"items": []}
    assert not any(path.is_file() for path in api.storage.rglob("*"))
