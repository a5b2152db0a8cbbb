"""Filing, reading and changing tickets through the API."""

from __future__ import annotations

import json
import threading

from sqlmodel import col, select

from bot.api import intake
from bot.api.intake import FiledTicket
from bot.api.schemas import TicketCreateRequest
from bot.services import organizations as orgs
from bot.services.actors import Actor
from models import Member, MemberRole, MessageRole, Organization, Ticket, TicketEvent
from models.api import IdempotencyKey
from models.ticket import TITLE_MAX_LENGTH
from tests.api.conftest import Api, bearer
from tests.services.factories import count

ALICE = "<alice's member id>"  # stands for an id only known once the workspace exists

# --- filing --------------------------------------------------------------------------------


def test_filing_stores_every_field_and_answers_201_with_the_ticket(api: Api):
    with api.db.session() as session:
        company = orgs.create_client_company(
            session, organization=api.ws.organization, name="Acme", email_domains=["acme.test"]
        )
    response = api.post(
        "/api/tickets",
        json={
            "title": "  Disk   almost full ",
            "description": "C: is at 97%",
            "priority": "urgent",
            "category": "Hardware",
            "client_company_id": company.id,
            "device_id": "SRV-01",
            "requester_id": api.ws.alice.id,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == f"/api/tickets/{body['id']}"
    assert {k: body[k] for k in ("title", "description", "status", "priority", "category")} == {
        "title": "Disk almost full",
        "description": "C: is at 97%",
        "status": "open",
        "priority": "urgent",
        "category": "hardware",
    }
    assert (body["ticket_number"], body["requester_id"], body["assigned_staff_id"]) == (
        1,
        api.ws.alice.id,
        None,
    )
    assert (body["client_company_id"], body["device_id"]) == (company.id, "SRV-01")
    with api.db.session() as session:
        ticket = session.get(Ticket, body["id"])
        assert ticket.organization_id == api.ws.organization.id
        assert ticket.device_id == "SRV-01"
        events = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
        assert [(e.field, e.actor_name, e.actor_id) for e in events] == [
            ("created", "API: monitoring", None)
        ]


def test_numbers_follow_on_from_slack_filed_tickets(api: Api):
    numbers = [api.file()["ticket_number"] for _ in range(3)]
    assert numbers == [1, 2, 3]
    other = api.client.post(
        "/api/tickets",
        json={"title": "x", "requester_id": api.other.alice.id},
        headers=bearer(api.other_token),
    )
    assert other.json()["ticket_number"] == 1


def test_priority_defaults_to_the_organizations_default(api: Api):
    with api.db.session() as session:
        orgs.update_organization_settings(
            session, organization=api.ws.organization, default_priority="low"
        )
    assert api.file()["priority"] == "low"


def test_requester_by_slack_user_id_known_and_new(api: Api):
    known = api.file(requester_slack_user_id=api.ws.bob.slack_user_id)
    assert known["requester_id"] == api.ws.bob.id
    new = api.file(requester_slack_user_id="U0NEWPERSON")
    with api.db.session() as session:
        member = session.get(Member, new["requester_id"])
        assert (member.organization_id, member.slack_user_id, member.role) == (
            api.ws.organization.id,
            "U0NEWPERSON",
            MemberRole.END_USER,
        )
    # The new person gets the "received" DM like anyone filing from Slack.
    dms = [row.payload.get("dm_user") for row in api.outbox(new["id"])]
    assert "U0NEWPERSON" in dms


def test_requester_by_email_finds_a_member_or_adds_one_in_the_matching_client_company(api: Api):
    with api.db.session() as session:
        company = orgs.create_client_company(
            session, organization=api.ws.organization, name="Globex", email_domains=["globex.test"]
        )
    known = api.file(requester_email=" ALICE@client-T0001.com ")
    assert known["requester_id"] == api.ws.alice.id

    new = api.file(requester_email="Hank@Globex.test", requester_name="Hank S.")
    again = api.file(requester_email="hank@globex.test")
    assert new["requester_id"] == again["requester_id"]
    assert new["client_company_id"] == company.id
    with api.db.session() as session:
        hank = session.get(Member, new["requester_id"])
        assert (hank.name, hank.email, hank.role, hank.client_company_id) == (
            "Hank S.",
            "hank@globex.test",
            MemberRole.END_USER,
            company.id,
        )
    # No Slack user: the staff card is posted, and no DM is addressed to anyone.
    rows = api.outbox(new["id"])
    assert [r.record_as for r in rows] == [MessageRole.STAFF_CARD]
    assert all("dm_user" not in r.payload for r in rows)

    nameless = api.file(requester_email="ivy@nowhere.test")
    with api.db.session() as session:
        ivy = session.get(Member, nameless["requester_id"])
        assert (ivy.name, ivy.client_company_id) == ("ivy", None)


REFUSED_TICKETS = [
    ({"title": "x"}, "body", "exactly one of requester_id"),
    (
        {"title": "x", "requester_id": ALICE, "requester_email": "a@b.test"},
        "body",
        "got requester_id, requester_email",
    ),
    ({"title": "x", "requester_id": ALICE, "requester_name": "A"}, "body", "requester_name"),
    ({"requester_id": ALICE}, "title", "is required"),
    ({"title": "", "requester_id": ALICE}, "title", "at least 1 character"),
    ({"title": "   ", "requester_id": ALICE}, "title", "Give the ticket a title"),
    ({"title": "x" * (TITLE_MAX_LENGTH + 1), "requester_id": ALICE}, "title", "at most 200"),
    ({"title": "x\x00y", "requester_id": ALICE}, "title", "NUL"),
    ({"title": None, "requester_id": ALICE}, "title", "must not be null"),
    ({"title": 5, "requester_id": ALICE}, "title", "valid string"),
    ({"title": "x", "requester_id": ALICE, "priority": "critical"}, "priority", "'urgent'"),
    ({"title": "x", "requester_id": ALICE, "status": "closed"}, "status", "not a field"),
    ({"title": "x", "requester_id": ALICE, "titel": "typo"}, "titel", "not a field"),
    ({"title": "x", "requester_id": ALICE, "category": "plumbing"}, "category", "hardware"),
    ({"title": "x", "requester_id": 0}, "requester_id", "greater than or equal to 1"),
    ({"title": "x", "requester_id": True}, "requester_id", "valid integer"),
    ({"title": "x", "requester_id": "12"}, "requester_id", "valid integer"),
    ({"title": "x", "requester_id": 2**40}, "requester_id", "less than or equal"),
    ({"title": "x", "requester_id": 987654}, "requester_id", "no member with id 987654"),
    ({"title": "x", "requester_email": "not-an-email"}, "requester_email", "not an email"),
    ({"title": "x", "requester_slack_user_id": "alice"}, "requester_slack_user_id", "match"),
    ({"title": "x", "requester_id": ALICE, "client_company_id": 999}, "client_company_id", "999"),
    ({"title": "x", "requester_id": ALICE, "device_id": "d" * 101}, "device_id", "at most 100"),
]


def test_a_refused_ticket_is_422_naming_the_field_and_writes_nothing(api: Api):
    for body, field, words in REFUSED_TICKETS:
        if body.get("requester_id") == ALICE:
            body = {**body, "requester_id": api.ws.alice.id}
        response = api.post("/api/tickets", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field, body
        assert words in response.json()["detail"], (body, response.json())
    with api.db.session() as session:
        assert count(session, Ticket) == 0
    assert api.outbox() == []


NOT_JSON_OBJECTS = [
    (b"{not json", {"Content-Type": "application/json"}),
    (b'["a list"]', {"Content-Type": "application/json"}),
    (b"", {"Content-Type": "application/json"}),
    (b"title=x", {"Content-Type": "application/x-www-form-urlencoded"}),
    (b'{"title": "caf\xe9"}', {"Content-Type": "application/json"}),  # not UTF-8
]


def test_a_body_that_is_not_a_json_object_is_422(api: Api):
    for content, headers in NOT_JSON_OBJECTS:
        response = api.client.post(
            "/api/tickets", content=content, headers={**api.headers, **headers}
        )
        assert response.status_code == 422, (content, response.text)
        assert response.json()["field"] == "body"


def test_an_oversized_body_is_413_whether_its_length_is_declared_or_not(api: Api):
    body = {"title": "x", "requester_id": api.ws.alice.id, "description": "y" * 2_000_000}
    declared = api.post("/api/tickets", json=body)
    assert declared.status_code == 413
    assert "larger than 1,048,576 bytes" in declared.json()["detail"]

    def chunks():
        text = json.dumps(body).encode()
        for start in range(0, len(text), 65536):
            yield text[start : start + 65536]

    chunked = api.client.post(
        "/api/tickets",
        content=chunks(),
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert chunked.status_code == 413
    assert chunked.json() == declared.json()


# --- idempotent filing -----------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_returns_the_first_ticket(api: Api):
    body = {"title": "Backup failed", "requester_id": api.ws.alice.id, "priority": "high"}
    key = {"Idempotency-Key": "nightly-backup-2024-05-01"}
    first = api.post("/api/tickets", json=body, headers=key)
    assert first.status_code == 201
    # The same body, with its defaults spelled out, is the same request.
    retry = api.post(
        "/api/tickets", json={**body, "description": "", "category": None}, headers=key
    )
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"]
    with api.db.session() as session:
        assert count(session, Ticket) == 1
    # One staff card and one DM, not two of each.
    assert len(api.outbox()) == 2
    # Without a key, or with another key, the same body files another ticket.
    assert api.post("/api/tickets", json=body).status_code == 201
    assert api.post("/api/tickets", json=body, headers={"Idempotency-Key": "k2"}).status_code == 201


def test_the_same_key_with_another_body_is_refused(api: Api):
    key = {"Idempotency-Key": "abc-123"}
    first = api.post(
        "/api/tickets", json={"title": "A", "requester_id": api.ws.alice.id}, headers=key
    )
    response = api.post(
        "/api/tickets", json={"title": "B", "requester_id": api.ws.alice.id}, headers=key
    )
    assert response.status_code == 422
    assert response.json()["field"] == "Idempotency-Key"
    assert "different request body" in response.json()["detail"]
    assert f"#{first.json()['ticket_number']}" in response.json()["detail"]
    with api.db.session() as session:
        assert count(session, Ticket) == 1


def test_keys_belong_to_one_organization(api: Api):
    key = {"Idempotency-Key": "shared-key"}
    mine = api.post(
        "/api/tickets", json={"title": "A", "requester_id": api.ws.alice.id}, headers=key
    )
    theirs = api.client.post(
        "/api/tickets",
        json={"title": "A", "requester_id": api.other.alice.id},
        headers={**bearer(api.other_token), **key},
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_refused_request_does_not_use_up_its_key(api: Api):
    key = {"Idempotency-Key": "retry-after-fix"}
    bad = api.post("/api/tickets", json={"title": "A", "requester_id": 987654}, headers=key)
    assert bad.status_code == 422
    good = api.post(
        "/api/tickets", json={"title": "A", "requester_id": api.ws.alice.id}, headers=key
    )
    assert good.status_code == 201
    with api.db.session() as session:
        assert count(session, IdempotencyKey) == 1


def test_a_malformed_idempotency_key_is_422(api: Api):
    for value in ["", " ", "k" * 256, "caf\u00e9"]:
        response = api.client.post(
            "/api/tickets",
            json={"title": "A", "requester_id": api.ws.alice.id},
            headers={**api.headers, "Idempotency-Key": value.encode("utf-8")},
        )
        assert response.status_code == 422, value
        assert response.json()["field"] == "Idempotency-Key"


def test_concurrent_requests_with_one_key_file_one_ticket(api: Api):
    body = {"title": "Server down", "requester_id": api.ws.alice.id}
    barrier = threading.Barrier(6)
    results: list = []

    def post() -> None:
        barrier.wait()
        results.append(api.post("/api/tickets", json=body, headers={"Idempotency-Key": "race"}))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in results) == [200] * 5 + [201]
    assert len({r.json()["id"] for r in results}) == 1
    with api.db.session() as session:
        assert count(session, Ticket) == 1
    assert len(api.outbox()) == 2


def test_a_request_that_loses_the_race_for_a_key_answers_with_the_winners_ticket(api: Api):
    """The loser looks the key up before the winner commits, so it finds nothing, inserts
    the key and has to wait: for the unique constraint (PostgreSQL) or the writer lock
    (SQLite). Once the winner commits, the loser answers with the winner's ticket."""
    request = TicketCreateRequest(title="Race", requester_id=api.ws.alice.id)
    loser_outcome: list[FiledTicket] = []
    winner_holds_the_key = threading.Event()

    def file_once() -> FiledTicket:
        with api.db.session() as session:
            filed = intake.file_ticket_once(
                session,
                organization=session.get(Organization, api.ws.organization.id),
                actor=Actor.integration("API: monitoring"),
                directory=api.runtime.directory,
                request=request,
                idempotency_key="k",
            )
            if not winner_holds_the_key.is_set():  # the winner: let the loser run now
                winner_holds_the_key.set()
                loser.join(timeout=0.5)
                assert loser.is_alive()  # it waits for us
            return filed

    def lose() -> None:
        winner_holds_the_key.wait()
        loser_outcome.append(file_once())

    loser = threading.Thread(target=lose)
    loser.start()
    winner = file_once()
    loser.join(timeout=10)
    assert [(f.ticket.id, f.replayed) for f in loser_outcome] == [(winner.ticket.id, True)]
    assert not winner.replayed
    with api.db.session() as session:
        assert count(session, Ticket) == 1


# --- reading -------------------------------------------------------------------------------


def test_get_a_ticket_by_id(api: Api):
    filed = api.file(description="details")
    response = api.get(f"/api/tickets/{filed['id']}")
    assert response.status_code == 200
    assert response.json() == filed


def test_an_id_that_cannot_be_a_ticket_is_422(api: Api):
    for ticket_id in ["0", "-1", "abc", str(2**40)]:
        response = api.get(f"/api/tickets/{ticket_id}")
        assert response.status_code == 422, ticket_id
        assert response.json()["field"] == "ticket_id"


def test_a_missing_ticket_is_404(api: Api):
    response = api.get("/api/tickets/4242")
    assert response.status_code == 404
    assert response.json() == {"detail": "There is no ticket with id 4242."}


# --- changing ------------------------------------------------------------------------------


def test_patch_changes_the_fields_given_and_updates_slack(api: Api):
    filed = api.file()
    before = len(api.outbox(filed["id"]))
    response = api.patch(
        f"/api/tickets/{filed['id']}",
        json={
            "status": "in_progress",
            "priority": "high",
            "assigned_staff_id": api.ws.tech.id,
            "device_id": "LAPTOP-7",
            "category": "network",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["priority"], body["assigned_staff_id"], body["device_id"]) == (
        "in_progress",
        "high",
        api.ws.tech.id,
        "LAPTOP-7",
    )
    assert body["title"] == filed["title"]
    assert body["updated_at"] > filed["updated_at"]
    rows = api.outbox(filed["id"])[before:]
    # The card is drawn when it is delivered: its post, still waiting here, will show the
    # change, so no second drawing is queued. The changes get one line in its thread (the
    # same rows as a change made in Slack: see test_slack_parity).
    cards = [r for r in api.outbox(filed["id"]) if r.payload.get("render") == "ticket_card"]
    assert [(r.method, r.status) for r in cards] == [("chat.postMessage", "pending")]
    (line,) = [r.payload["text"] for r in rows if r.thread_ref == MessageRole.STAFF_CARD]
    assert line.startswith("API: monitoring set status to *In progress*, ")
    with api.db.session() as session:
        events = session.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == filed["id"], TicketEvent.field != "created")
            .order_by(col(TicketEvent.id))
        ).all()
        assert {e.field for e in events} == {
            "status",
            "priority",
            "assigned_staff_id",
            "device_id",
            "category",
        }


def test_patch_with_null_clears_optional_fields(api: Api):
    filed = api.file(device_id="PC-1", category="software")
    api.patch(f"/api/tickets/{filed['id']}", json={"assigned_staff_id": api.ws.admin.id})
    response = api.patch(
        f"/api/tickets/{filed['id']}",
        json={"assigned_staff_id": None, "device_id": None, "category": None},
    )
    assert response.status_code == 200
    assert (response.json()["assigned_staff_id"], response.json()["device_id"]) == (None, None)
    assert response.json()["category"] is None


def test_an_empty_patch_changes_nothing(api: Api):
    filed = api.file()
    before = len(api.outbox())
    response = api.patch(f"/api/tickets/{filed['id']}", json={})
    assert response.status_code == 200
    assert response.json() == filed
    assert len(api.outbox()) == before


REFUSED_PATCHES = [
    ({"status": "done"}, "status", "'in_progress'"),
    ({"status": None}, "status", "must not be null"),
    ({"title": None}, "title", "must not be null"),
    ({"title": ""}, "title", "at least 1 character"),
    ({"priority": "p1"}, "priority", "'urgent'"),
    ({"category": "plumbing"}, "category", "choose one of"),
    ({"assigned_staff_id": "alice"}, "assigned_staff_id", "valid integer"),
    ({"ticket_number": 7}, "ticket_number", "not a field"),
    ({"requester_id": 3}, "requester_id", "not a field"),
]


def test_a_refused_patch_is_422_and_changes_nothing(api: Api):
    filed = api.file()
    before = len(api.outbox())
    for body, field, words in REFUSED_PATCHES:
        # Valid changes beside the refused one are not applied either.
        response = api.patch(
            f"/api/tickets/{filed['id']}", json={"title": "Renamed", "status": "pending", **body}
        )
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field, body
        assert words in response.json()["detail"], (body, response.json())
    assert api.get(f"/api/tickets/{filed['id']}").json() == filed
    assert len(api.outbox()) == before


def test_only_staff_can_be_assigned(api: Api):
    filed = api.file()
    response = api.patch(
        f"/api/tickets/{filed['id']}",
        json={"status": "resolved", "assigned_staff_id": api.ws.bob.id},
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": "Bob is not staff, so they cannot be assigned tickets.",
        "field": "assigned_staff_id",
    }
    assert api.get(f"/api/tickets/{filed['id']}").json()["status"] == "open"


def test_resolving_stamps_the_resolution_time(api: Api):
    filed = api.file()
    resolved = api.patch(f"/api/tickets/{filed['id']}", json={"status": "resolved"}).json()
    assert resolved["resolved_at"] is not None
    reopened = api.patch(f"/api/tickets/{filed['id']}", json={"status": "open"}).json()
    assert reopened["resolved_at"] is None
