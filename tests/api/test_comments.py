"""Comments through the API, and the Slack messages they cause."""

from __future__ import annotations

from sqlmodel import select

from bot.api import tokens
from models import MessageRole, TicketComment
from models.comment import COMMENT_MAX_LENGTH
from tests.api.conftest import Api, bearer


def test_a_public_reply_is_dmed_to_the_requester_and_mirrored_for_staff(api: Api):
    ticket = api.file()
    before = len(api.outbox(ticket["id"]))
    response = api.post(
        f"/api/tickets/{ticket['id']}/comments",
        json={"content": "We ordered a new <toner>", "comment_type": "public_reply"},
    )
    assert response.status_code == 201, response.text
    comment = response.json()
    assert (comment["comment_type"], comment["author_type"], comment["author_name"]) == (
        "public_reply",
        "staff",
        "API: monitoring",
    )
    assert (comment["ticket_id"], comment["content"]) == (ticket["id"], "We ordered a new <toner>")
    rows = api.outbox(ticket["id"])[before:]
    dms = [r for r in rows if "dm_user" in r.payload]
    assert [r.payload["dm_user"] for r in dms] == [api.ws.alice.slack_user_id]
    assert dms[0].thread_ref == MessageRole.REQUESTER_DM
    assert "&lt;toner&gt;" in dms[0].payload["text"]  # user text is escaped for Slack
    staff_lines = [r for r in rows if r.thread_ref == MessageRole.STAFF_CARD]
    assert len(staff_lines) == 1
    # The first public reply by staff is the ticket's first response.
    assert api.get(f"/api/tickets/{ticket['id']}").json()["first_response_at"] is not None


def test_an_internal_note_goes_to_the_staff_thread_only(api: Api):
    ticket = api.file()
    before = len(api.outbox(ticket["id"]))
    response = api.post(
        f"/api/tickets/{ticket['id']}/comments",
        json={"content": "Checked the logs", "comment_type": "internal_note"},
    )
    assert response.status_code == 201
    rows = api.outbox(ticket["id"])[before:]
    assert len(rows) == 1
    assert (rows[0].channel_ref, rows[0].thread_ref) == (
        MessageRole.STAFF_CARD,
        MessageRole.STAFF_CARD,
    )
    assert all("dm_user" not in r.payload and "fallback_dm_user" not in r.payload for r in rows)
    assert api.get(f"/api/tickets/{ticket['id']}").json()["first_response_at"] is None


def test_comments_can_be_written_as_a_member(api: Api):
    ticket = api.file()
    as_tech = api.post(
        f"/api/tickets/{ticket['id']}/comments",
        json={"content": "On my way", "comment_type": "public_reply", "author_id": api.ws.tech.id},
    ).json()
    assert (as_tech["author_id"], as_tech["author_name"], as_tech["author_type"]) == (
        api.ws.tech.id,
        "Tom Tech",
        "staff",
    )
    as_requester = api.post(
        f"/api/tickets/{ticket['id']}/comments",
        json={"content": "Thanks!", "comment_type": "public_reply", "author_id": api.ws.alice.id},
    ).json()
    assert (as_requester["author_id"], as_requester["author_type"]) == (api.ws.alice.id, "end_user")


def test_an_end_user_author_is_held_to_end_user_rules(api: Api):
    ticket = api.file()
    note = api.post(
        f"/api/tickets/{ticket['id']}/comments",
        json={"content": "psst", "comment_type": "internal_note", "author_id": api.ws.alice.id},
    )
    assert note.status_code == 403
    assert note.json() == {"detail": "Only staff can write internal notes."}
    someone_elses = api.post(
        f"/api/tickets/{ticket['id']}/comments",
        json={"content": "me too", "comment_type": "public_reply", "author_id": api.ws.bob.id},
    )
    assert someone_elses.status_code == 403
    with api.db.session() as session:
        assert session.exec(select(TicketComment)).all() == []


def test_listing_comments_includes_internal_notes_oldest_first(api: Api):
    ticket = api.file()
    for content, kind in [
        ("one", "public_reply"),
        ("two", "internal_note"),
        ("three", "public_reply"),
    ]:
        api.post(
            f"/api/tickets/{ticket['id']}/comments", json={"content": content, "comment_type": kind}
        )
    listed = api.get(f"/api/tickets/{ticket['id']}/comments")
    assert listed.status_code == 200
    assert [(c["content"], c["comment_type"]) for c in listed.json()["items"]] == [
        ("one", "public_reply"),
        ("two", "internal_note"),
        ("three", "public_reply"),
    ]
    empty = api.file()
    assert api.get(f"/api/tickets/{empty['id']}/comments").json() == {"items": []}


REFUSED_COMMENTS = [
    ({"comment_type": "public_reply"}, "content", "is required"),
    ({"content": "x"}, "comment_type", "is required"),
    ({"content": "", "comment_type": "public_reply"}, "content", "at least 1 character"),
    ({"content": "  \n ", "comment_type": "public_reply"}, "content", "cannot be empty"),
    (
        {"content": "x" * (COMMENT_MAX_LENGTH + 1), "comment_type": "public_reply"},
        "content",
        "at most",
    ),
    (
        {"content": "x", "comment_type": "note"},
        "comment_type",
        "'internal_note' or 'public_reply'",
    ),
    (
        {"content": "x", "comment_type": "public_reply", "author_id": 424242},
        "author_id",
        "no member",
    ),
    (
        {"content": "x", "comment_type": "public_reply", "author_name": "Eve"},
        "author_name",
        "not a field",
    ),
    (
        {"content": "x", "comment_type": "public_reply", "author_type": "staff"},
        "author_type",
        "not a field",
    ),
]


def test_a_refused_comment_is_422_and_sends_nothing(api: Api):
    ticket = api.file()
    before = len(api.outbox())
    for body, field, words in REFUSED_COMMENTS:
        response = api.post(f"/api/tickets/{ticket['id']}/comments", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field, body
        assert words in response.json()["detail"], (body, response.json())
    assert len(api.outbox()) == before
    assert api.get(f"/api/tickets/{ticket['id']}/comments").json() == {"items": []}


def test_the_integration_name_follows_the_token(api: Api):
    with api.db.session() as session:
        issued = tokens.create_api_token(session, organization=api.ws.organization, name="Zabbix")
    ticket = api.file()
    comment = api.client.post(
        f"/api/tickets/{ticket['id']}/comments",
        json={"content": "CPU at 99%", "comment_type": "internal_note"},
        headers=bearer(issued.secret),
    ).json()
    assert comment["author_name"] == "API: Zabbix"
