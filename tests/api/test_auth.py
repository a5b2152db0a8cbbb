"""Bearer tokens: who gets in, and that a token never reaches another organization."""

from __future__ import annotations

import base64

import pytest
from sqlmodel import select

from bot.api import tokens
from models.api import ApiToken
from tests.api.conftest import Api, bearer

# Every operation, with a path to a ticket of the token's organization where it takes one.
OPERATIONS = [
    ("get", "/api/tickets"),
    ("post", "/api/tickets"),
    ("get", "/api/tickets/{id}"),
    ("patch", "/api/tickets/{id}"),
    ("get", "/api/tickets/{id}/comments"),
    ("post", "/api/tickets/{id}/comments"),
    ("get", "/api/tickets/{id}/attachments"),
    ("post", "/api/tickets/{id}/attachments"),
    ("get", "/api/tickets/{id}/attachments/1/content"),
]


def _call(api: Api, method: str, path: str, headers: dict[str, str], json: object = None):
    if method in ("post", "patch"):
        return api.client.request(method, path, headers=headers, json=json or {})
    return api.client.request(method, path, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer tbk_not-a-real-token"},
        {"Authorization": "Bearer xoxb-test"},
        {"Authorization": "Basic " + base64.b64encode(b"user:pass").decode()},
        {"Authorization": "tbk_without_scheme"},
    ],
    ids=["none", "empty", "unknown", "slack-token", "basic", "no-scheme"],
)
def test_every_operation_refuses_a_missing_or_bad_token_with_401(api: Api, headers):
    ticket = api.file()
    for method, path in OPERATIONS:
        response = _call(api, method, path.format(id=ticket["id"]), headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="ticketbot"')
        assert "token" in response.json()["detail"]


def test_a_revoked_token_is_refused_from_then_on(api: Api):
    assert api.get("/api/tickets").status_code == 200
    with api.db.session() as session:
        tokens.revoke_api_token(
            session, organization=api.ws.organization, id_or_prefix=api.token[:12]
        )
    response = api.get("/api/tickets")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    # The other workspace's token is untouched.
    assert api.client.get("/api/tickets", headers=bearer(api.other_token)).status_code == 200


def test_tokens_are_stored_as_hashes_and_record_their_use(api: Api):
    with api.db.session() as session:
        stored = session.exec(
            select(ApiToken).where(ApiToken.organization_id == api.ws.organization.id)
        ).one()
        assert stored.last_used_at is None
    api.get("/api/tickets")
    with api.db.session() as session:
        stored = session.get(ApiToken, stored.id)
        assert stored.token_hash == tokens.hash_token(api.token)
        assert api.token not in (stored.token_hash, stored.token_prefix)
        assert api.token.startswith(stored.token_prefix)
        assert stored.last_used_at is not None


def test_the_token_acts_as_the_integration_named_after_it(api: Api):
    ticket = api.file()
    response = api.post(
        f"/api/tickets/{ticket['id']}/comments",
        json={"content": "Disk cleaned up", "comment_type": "internal_note"},
    )
    assert response.status_code == 201
    assert (response.json()["author_name"], response.json()["author_type"]) == (
        "API: monitoring",
        "staff",
    )
    assert response.json()["author_id"] is None


def test_another_organizations_ticket_is_404_exactly_like_a_missing_one(api: Api):
    theirs = api.client.post(
        "/api/tickets",
        json={"title": "Their ticket", "requester_id": api.other.alice.id},
        headers=bearer(api.other_token),
    ).json()
    mine = api.file()
    missing_id = max(theirs["id"], mine["id"]) + 100
    for method, path in OPERATIONS:
        if "{id}" not in path:
            continue
        body = {"content": "x", "comment_type": "public_reply"} if "comments" in path else None
        if path.endswith("/attachments"):
            body = {"filename": "a.txt"}
        elif method == "patch":
            body = {"title": "Taken over"}
        foreign = _call(api, method, path.format(id=theirs["id"]), api.headers, body)
        missing = _call(api, method, path.format(id=missing_id), api.headers, body)
        assert foreign.status_code == missing.status_code == 404, (method, path)
        assert foreign.json()["detail"].replace(str(theirs["id"]), "N") == missing.json()[
            "detail"
        ].replace(str(missing_id), "N")
    # Nothing was written to the other organization's ticket.
    with api.db.session() as session:
        from models import Ticket, TicketAttachment, TicketComment

        assert session.get(Ticket, theirs["id"]).title == "Their ticket"
        assert not session.exec(
            select(TicketComment).where(TicketComment.ticket_id == theirs["id"])
        ).all()
        assert not session.exec(
            select(TicketAttachment).where(TicketAttachment.ticket_id == theirs["id"])
        ).all()


def test_listing_shows_only_the_tokens_organization(api: Api):
    mine = api.file()
    api.client.post(
        "/api/tickets",
        json={"title": "Their ticket", "requester_id": api.other.alice.id},
        headers=bearer(api.other_token),
    )
    listed = api.get("/api/tickets").json()["items"]
    assert [t["id"] for t in listed] == [mine["id"]]
    # Filtering on the other organization's people finds nothing either.
    assert (
        api.get("/api/tickets", params={"requester_id": api.other.alice.id}).json()["items"] == []
    )


def test_a_body_cannot_point_at_another_organizations_rows(api: Api):
    ticket = api.file()
    cases = [
        (
            "post",
            "/api/tickets",
            {"title": "x", "requester_id": api.other.alice.id},
            "requester_id",
        ),
        (
            "patch",
            f"/api/tickets/{ticket['id']}",
            {"assigned_staff_id": api.other.tech.id},
            "assigned_staff_id",
        ),
        (
            "post",
            f"/api/tickets/{ticket['id']}/comments",
            {"content": "x", "comment_type": "public_reply", "author_id": api.other.tech.id},
            "author_id",
        ),
    ]
    for method, path, body, field in cases:
        response = _call(api, method, path, api.headers, body)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["field"] == field
        assert "no member" in response.json()["detail"]
