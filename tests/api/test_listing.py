"""Listing tickets: filters, a stable order, and the edges of pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services import organizations as orgs
from bot.services.tickets import MAX_PAGE_SIZE
from models import Ticket
from tests.api.conftest import Api
from tests.services.factories import set_updated_at

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["items"]]


def _age(api: Api, ticket_id: int, when: datetime) -> None:
    with api.db.session() as session:
        set_updated_at(session, session.get(Ticket, ticket_id), when)


def test_newest_activity_first_with_ties_broken_by_id(api: Api):
    a, b, c = (api.file(title=t)["id"] for t in "abc")
    _age(api, a, T0 + timedelta(hours=1))
    _age(api, b, T0)
    _age(api, c, T0)  # same instant as b: the larger id comes first
    assert _ids(api.get("/api/tickets")) == [a, c, b]
    # A comment is activity: the ticket moves to the top.
    api.post(f"/api/tickets/{b}/comments", json={"content": "x", "comment_type": "internal_note"})
    assert _ids(api.get("/api/tickets"))[0] == b


def test_filters(api: Api):
    with api.db.session() as session:
        company = orgs.create_client_company(session, organization=api.ws.organization, name="Acme")
    first = api.file(priority="high")
    second = api.file(requester_id=api.ws.bob.id, client_company_id=company.id)
    third = api.file()
    api.patch(
        f"/api/tickets/{first['id']}",
        json={"status": "pending", "assigned_staff_id": api.ws.tech.id},
    )
    api.patch(f"/api/tickets/{second['id']}", json={"status": "closed"})

    def ids(**params) -> set[int]:
        return set(_ids(api.get("/api/tickets", params=params)))

    assert ids(status="pending") == {first["id"]}
    assert ids(status="pending,closed") == {first["id"], second["id"]}
    assert ids(status=["open", "closed"]) == {second["id"], third["id"]}
    assert ids(status=" pending , open ") == {first["id"], third["id"]}
    assert ids(priority="high") == {first["id"]}
    assert ids(assigned_staff_id=api.ws.tech.id) == {first["id"]}
    assert ids(unassigned="true") == {second["id"], third["id"]}
    assert ids(requester_id=api.ws.bob.id) == {second["id"]}
    assert ids(client_company_id=company.id) == {second["id"]}
    assert ids(ticket_number=third["ticket_number"]) == {third["id"]}
    assert ids(ticket_number=999) == set()
    assert ids(status="open", requester_id=api.ws.alice.id) == {third["id"]}


def test_updated_since_includes_the_instant_and_needs_a_time_zone(api: Api):
    old, new = api.file()["id"], api.file()["id"]
    _age(api, old, T0 - timedelta(seconds=1))
    _age(api, new, T0)
    assert _ids(api.get("/api/tickets", params={"updated_since": "2024-05-01T12:00:00Z"})) == [new]
    assert _ids(api.get("/api/tickets", params={"updated_since": "2024-05-01T14:00:00+02:00"})) == [
        new
    ]
    # An unencoded "+" arrives as a space; the offset is still understood.
    assert _ids(api.get("/api/tickets?updated_since=2024-05-01T14:00:00+02:00")) == [new]
    naive = api.get("/api/tickets", params={"updated_since": "2024-05-01T12:00:00"})
    assert naive.status_code == 422
    assert naive.json()["field"] == "updated_since"
    assert "timezone" in naive.json()["detail"]
    garbage = api.get("/api/tickets", params={"updated_since": "yesterday"})
    assert (garbage.status_code, garbage.json()["field"]) == (422, "updated_since")


def test_pages_cover_every_ticket_once_and_the_last_page_says_so(api: Api):
    filed = [api.file(title=f"t{i}")["id"] for i in range(5)]
    for index, ticket_id in enumerate(filed):
        _age(api, ticket_id, T0 - timedelta(minutes=index))  # filed[0] is the newest
    pages, offset = [], 0
    while offset is not None:
        page = api.get("/api/tickets", params={"limit": 2, "offset": offset}).json()
        assert (page["limit"], page["offset"]) == (2, offset)
        pages.append([t["id"] for t in page["items"]])
        offset = page["next_offset"]
    assert pages == [filed[0:2], filed[2:4], filed[4:5]]

    # A full last page: no next page is announced when nothing follows.
    exact = api.get("/api/tickets", params={"limit": 5}).json()
    assert (len(exact["items"]), exact["next_offset"]) == (5, None)
    almost = api.get("/api/tickets", params={"limit": 4}).json()
    assert almost["next_offset"] == 4
    past_the_end = api.get("/api/tickets", params={"offset": 5}).json()
    assert (past_the_end["items"], past_the_end["next_offset"]) == ([], None)
    assert api.get("/api/tickets", params={"limit": MAX_PAGE_SIZE}).status_code == 200


def test_the_default_page_size(api: Api):
    page = api.get("/api/tickets").json()
    assert (page["items"], page["limit"], page["offset"], page["next_offset"]) == ([], 50, 0, None)


BAD_PARAMETERS = [
    ({"limit": 0}, "limit"),
    ({"limit": MAX_PAGE_SIZE + 1}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"offset": -1}, "offset"),
    ({"offset": 2**40}, "offset"),
    ({"status": "opened"}, "status"),
    ({"status": "open,bogus"}, "status"),
    ({"priority": "p1"}, "priority"),
    ({"assigned_staff_id": 0}, "assigned_staff_id"),
    ({"requester_id": "me"}, "requester_id"),
    ({"ticket_number": 2**40}, "ticket_number"),
    ({"unassigned": "maybe"}, "unassigned"),
    ({"sort": "title"}, "sort"),
]


def test_bad_list_parameters_are_422_naming_the_parameter(api: Api):
    for params, field in BAD_PARAMETERS:
        response = api.get("/api/tickets", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["field"] == field, params
    too_many = api.get("/api/tickets", params={"limit": MAX_PAGE_SIZE + 1})
    assert f"less than or equal to {MAX_PAGE_SIZE}" in too_many.json()["detail"]
