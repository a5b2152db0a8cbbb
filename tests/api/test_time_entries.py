"""REST time tracking (DESIGN.md §9): entries, limits, timers, work types, the monthly
report in JSON and CSV; tenancy."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.services import organizations as orgs
from models import MemberRole, Organization, TicketEvent
from tests.api.conftest import Api, bearer

ENTRY_FIELDS = {
    "id",
    "ticket_id",
    "technician_id",
    "work_type_id",
    "started_at",
    "ended_at",
    "actual_minutes",
    "billable",
    "billable_minutes",
    "note",
    "source",
}


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def log(api: Api, ticket_id: int, start: datetime, end: datetime | None = None, **fields):
    body = {"technician_id": api.ws.tech.id, "started_at": iso(start), **fields}
    if end is not None:
        body["ended_at"] = iso(end)
    return api.post(f"/api/tickets/{ticket_id}/time-entries", json=body)


def test_log_read_list_change_and_delete_an_entry(api: Api):
    ticket = api.file()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    created = log(
        api, ticket["id"], start, start + timedelta(minutes=44, seconds=30), note="Cables"
    )
    assert created.status_code == 201, created.text
    entry = created.json()
    assert set(entry) >= ENTRY_FIELDS
    assert (entry["actual_minutes"], entry["billable_minutes"], entry["source"]) == (45, 45, "rest")
    assert api.get(f"/api/time-entries/{entry['id']}").json()["note"] == "Cables"
    listed = api.get(f"/api/tickets/{ticket['id']}/time-entries").json()["items"]
    assert [e["id"] for e in listed] == [entry["id"]]
    changed = api.patch(
        f"/api/time-entries/{entry['id']}", json={"actual_minutes": 60, "billable": False}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["actual_minutes"], changed.json()["billable_minutes"]) == (60, 0)
    assert changed.json()["ended_at"].startswith("2026-03-02T10:00")
    deleted = api.client.delete(f"/api/time-entries/{entry['id']}", headers=api.headers)
    assert deleted.status_code == 204
    assert api.get(f"/api/time-entries/{entry['id']}").status_code == 404
    with api.db.session() as session:
        fields = [
            e.new_value
            for e in session.exec(select(TicketEvent).where(TicketEvent.field == "time_entry"))
        ]
        assert len(fields) == 2 and fields[-1] == "deleted"


def test_limits_give_422_and_write_nothing(api: Api):
    ticket = api.file()
    now = datetime.now(UTC)
    cases = [
        (now - timedelta(hours=1), now - timedelta(hours=2), "after the start"),
        (now - timedelta(hours=30), now - timedelta(hours=5), "24 hours"),
        (now + timedelta(hours=1), now + timedelta(hours=2), "future"),
    ]
    for start, end, words in cases:
        response = log(api, ticket["id"], start, end)
        assert response.status_code == 422, response.text
        assert words in response.json()["detail"]
    assert log(api, ticket["id"], now - timedelta(hours=1), actual_minutes=0).status_code == 422
    assert api.get(f"/api/tickets/{ticket['id']}/time-entries").json()["items"] == []


def test_timers_one_per_technician_and_overlaps_reported(api: Api):
    first, second = api.file(), api.file(title="Second")
    now = datetime.now(UTC)
    timer = log(api, first["id"], now - timedelta(minutes=30))
    assert timer.status_code == 201 and timer.json()["ended_at"] is None
    other = log(api, second["id"], now - timedelta(minutes=5))
    assert other.status_code == 201
    stopped = api.get(f"/api/time-entries/{timer.json()['id']}").json()
    assert stopped["ended_at"] is not None and stopped["actual_minutes"] == 30
    overlapping = log(api, first["id"], now - timedelta(minutes=40), now - timedelta(minutes=20))
    assert overlapping.status_code == 201
    assert sorted(overlapping.json()["overlaps"]) == [timer.json()["id"]]


def test_only_technicians_and_only_this_organization(api: Api):
    ticket = api.file()
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    alice = log(
        api, ticket["id"], start, start + timedelta(minutes=5), technician_id=api.ws.alice.id
    )
    assert alice.status_code == 422
    foreign = log(
        api, ticket["id"], start, start + timedelta(minutes=5), technician_id=api.other.tech.id
    )
    assert foreign.status_code == 404
    entry = log(api, ticket["id"], start, start + timedelta(minutes=5)).json()
    outsider = bearer(api.other_token)
    assert api.client.get(f"/api/time-entries/{entry['id']}", headers=outsider).status_code == 404
    assert (
        api.client.patch(
            f"/api/time-entries/{entry['id']}", json={"note": "x"}, headers=outsider
        ).status_code
        == 404
    )
    assert (
        api.client.delete(f"/api/time-entries/{entry['id']}", headers=outsider).status_code == 404
    )
    assert (
        api.client.get(f"/api/tickets/{ticket['id']}/time-entries", headers=outsider).status_code
        == 404
    )
    assert api.client.get("/api/time-entries", headers=outsider).json()["items"] == []


def test_work_types(api: Api):
    made = api.post(
        "/api/work-types",
        json={"name": "On site", "billable": True, "rounding": {"increment": 60, "minimum": 60}},
    )
    assert made.status_code == 201, made.text
    assert made.json()["rounding"] == {
        "increment": 60,
        "minimum": 60,
        "mode": "up",
        "aggregation": "per_entry",
    }
    assert api.post("/api/work-types", json={"name": "On site"}).status_code == 422
    assert (
        api.post("/api/work-types", json={"name": "X", "rounding": {"increment": 0}}).status_code
        == 422
    )
    assert (
        api.post("/api/work-types", json={"name": "Internal", "billable": False}).status_code == 201
    )
    assert [w["name"] for w in api.get("/api/work-types").json()["items"]] == [
        "Internal",
        "On site",
    ]
    assert api.client.get("/api/work-types", headers=bearer(api.other_token)).json()["items"] == []
    ticket = api.file()
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    entry = log(
        api, ticket["id"], start, start + timedelta(minutes=61), work_type_id=made.json()["id"]
    )
    assert entry.json()["billable_minutes"] == 120


def test_monthly_report_json_and_csv_equal_a_hand_computed_total(api: Api):
    """Berlin's March: 28 Feb 23:30 UTC is in it, 31 March 22:30 UTC is not."""
    with api.db.session() as session:
        org = session.exec(
            select(Organization).where(Organization.id == api.ws.organization.id)
        ).one()
        org.settings = {
            **org.settings,
            "timezone": "Europe/Berlin",
            "time_rounding": {"increment": 15, "minimum": 15},
        }
        acme = orgs.create_client_company(session, organization=org, name="Acme")
        other = orgs.create_client_company(session, organization=org, name="Other")
        tia = orgs.create_member(
            session,
            organization=org,
            name="Tia",
            email="tia@example.com",
            role=MemberRole.TECHNICIAN,
        )
    one = api.file(title="One", client_company_id=acme.id)
    two = api.file(title="Two", client_company_id=acme.id)
    three = api.file(title="Three", client_company_id=other.id)
    project = api.post(
        "/api/work-types",
        json={
            "name": "Project",
            "rounding": {"increment": 60, "minimum": 60, "aggregation": "per_ticket"},
        },
    ).json()

    def add(ticket, y, m, d, h, mi, minutes, **fields):
        start = datetime(y, m, d, h, mi, tzinfo=UTC)
        response = log(api, ticket["id"], start, actual_minutes=minutes, **fields)
        assert response.status_code == 201, response.text

    add(one, 2026, 3, 2, 9, 0, 5)  # 15
    add(one, 2026, 3, 3, 9, 0, 44)  # 45
    add(one, 2026, 2, 28, 23, 30, 10)  # Berlin 1 March: 15
    add(one, 2026, 3, 31, 22, 30, 10)  # Berlin 1 April: not in March
    add(two, 2026, 3, 5, 9, 0, 45, work_type_id=project["id"])
    add(two, 2026, 3, 6, 9, 0, 45, work_type_id=project["id"], technician_id=tia.id)
    add(two, 2026, 3, 7, 9, 0, 5, work_type_id=project["id"])  # 95 per ticket: 120
    add(two, 2026, 3, 8, 9, 0, 20, billable=False)  # 0
    add(three, 2026, 3, 9, 9, 0, 30)  # another client
    report = api.get(f"/api/reports/time?month=2026-03&client_company_id={acme.id}")
    assert report.status_code == 200, report.text
    body = report.json()
    assert [(x["title"], x["actual_minutes"], x["billable_minutes"]) for x in body["lines"]] == [
        ("One", 59, 75),
        ("Two", 115, 120),
    ]
    assert (body["actual_minutes"], body["billable_minutes"]) == (174, 195)
    assert body["start"].startswith("2026-02-28T23:00")
    as_csv = api.get(
        f"/api/reports/time?month=2026-03&client_company_id={acme.id}",
        headers={"Accept": "text/csv"},
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["ticket_number"], r["actual_minutes"], r["billable_minutes"]) for r in rows] == [
        (str(one["ticket_number"]), "59", "75"),
        (str(two["ticket_number"]), "115", "120"),
        ("total", "174", "195"),
    ]
    everyone = api.get("/api/reports/time?month=2026-03").json()
    assert everyone["actual_minutes"] == 174 + 30
    tia_only = api.get(
        f"/api/time-entries?technician_id={tia.id}&from=2026-03-01&to=2026-03-31"
    ).json()
    assert [e["actual_minutes"] for e in tia_only["items"]] == [45]
    acme_entries = api.get(
        f"/api/time-entries?client_company_id={acme.id}&from=2026-03-01&to=2026-03-31"
    )
    assert len(acme_entries.json()["items"]) == 7
    assert api.get("/api/reports/time?month=2026-13").status_code == 422
    assert (
        api.get(
            f"/api/reports/time?month=2026-03&client_company_id={api.other.organization.id + 100}"
        ).status_code
        == 404
    )
