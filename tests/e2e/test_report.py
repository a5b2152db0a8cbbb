"""The monthly report on a month seeded by hand: REST JSON, CSV and PNG (whose charts'
data is the JSON), and `/ticket report` uploading the PNG and CSV into the asker's DM."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import update
from sqlmodel import col, select

from bot.api import tokens
from bot.services import organizations as orgs
from bot.services.report_chart import DATA_KEY
from models import CsatResponse, Member, Organization, SlaClock, Ticket, TimeEntry
from tests.e2e.conftest import World, organization_of


def utc(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# number: (created_at, resolved_at, satisfaction answer (rating, answered_at), for Acme)
SEED: dict[int, tuple[datetime, datetime | None, tuple[str, datetime] | None, bool]] = {
    1: (utc(3, 1, 10), utc(3, 3), ("good", utc(3, 3, 15)), False),  # Sunday 1 March
    2: (utc(3, 2, 9), utc(3, 10), ("bad", utc(3, 11)), False),
    3: (utc(3, 15, 23, 30), None, None, False),  # Sunday: the week of 9 March
    4: (utc(3, 31), None, None, True),
    5: (utc(2, 28), utc(3, 2), ("good", utc(3, 5)), False),  # opened in February
    6: (utc(4, 1, 0), None, None, False),  # April
}
# Worked out by hand: weeks start on Monday, clipped to the month (1 March is a Sunday).
MARCH = {
    "month": "2026-03",
    "timezone": "UTC",
    "client_company_id": None,
    "client_company": None,
    "weeks": [
        {"week_start": "2026-03-01", "opened": 1, "resolved": 0},
        {"week_start": "2026-03-02", "opened": 1, "resolved": 2},
        {"week_start": "2026-03-09", "opened": 1, "resolved": 1},
        {"week_start": "2026-03-16", "opened": 0, "resolved": 0},
        {"week_start": "2026-03-23", "opened": 0, "resolved": 0},
        {"week_start": "2026-03-30", "opened": 1, "resolved": 0},
    ],
    "csat": {"good": 2, "bad": 1, "score_percent": 66.7},
    # Clocks of the tickets opened in March (CLOCKS): ever breached counts as breached.
    "sla": [
        {
            "metric": "first_response",
            "met": 1,
            "breached": 1,
            "running": 1,
            "compliance_percent": 50.0,
        },
        {
            "metric": "next_response",
            "met": 0,
            "breached": 0,
            "running": 0,
            "compliance_percent": None,
        },
        {"metric": "resolution", "met": 2, "breached": 1, "running": 0, "compliance_percent": 66.7},
    ],
    # TIME: Acme 90 billable minutes; #1 (no client) 45 billable + 30 not billable.
    "hours": [
        {
            "client_company_id": "acme",
            "client_company": "Acme Corp",
            "actual_hours": 1.5,
            "billable_hours": 1.5,
        },
        {
            "client_company_id": None,
            "client_company": "No client",
            "actual_hours": 1.25,
            "billable_hours": 0.75,
        },
    ],
}
# number: [(metric, status, breached)]; #2's first response was met late (ever breached).
CLOCKS = {
    1: [("first_response", "met", False), ("resolution", "met", False)],
    2: [("first_response", "met", True), ("resolution", "met", False)],
    3: [("first_response", "running", False)],
    4: [("resolution", "breached", True)],
    5: [("first_response", "breached", True)],  # opened in February: not counted
}
# number: [(started_at, minutes, billable)]
TIME = {
    1: [(utc(3, 3, 10), 45, True), (utc(3, 3, 11), 30, False)],
    4: [(utc(3, 31, 13), 90, True)],
    5: [(utc(2, 28, 9), 60, True)],  # February
}


def march(acme: int) -> dict[str, Any]:
    """MARCH with Acme's id filled in."""
    hours = [
        {**row, "client_company_id": acme if row["client_company_id"] == "acme" else None}
        for row in MARCH["hours"]
    ]
    return {**MARCH, "hours": hours}


@pytest.fixture
def seeded(world: World) -> tuple[World, dict[str, str], int]:
    for number in SEED:
        world.file_ticket(world.alice, f"Ticket {number}")
    world.deliver()
    with world.db.session() as session:
        organization = session.get(Organization, organization_of(world).id)
        assert organization is not None
        acme = orgs.create_client_company(session, organization=organization, name="Acme Corp")
        alice = session.exec(select(Member).where(Member.slack_user_id == world.alice)).one()
        tech = orgs.create_member(
            session,
            organization=organization,
            name="Tom",
            role="technician",
            slack_user_id=world.tech,
        )
        for number, (created, resolved, answer, for_acme) in SEED.items():
            ticket = session.exec(select(Ticket).where(Ticket.ticket_number == number)).one()
            session.execute(
                update(Ticket)
                .where(col(Ticket.id) == ticket.id)
                .values(
                    created_at=created,
                    resolved_at=resolved,
                    status="resolved" if resolved else "open",
                    client_company_id=acme.id if for_acme else None,
                )
            )
            for metric, status, breached in CLOCKS.get(number, []):
                session.add(
                    SlaClock(
                        organization_id=organization.id,
                        ticket_id=ticket.id,
                        metric=metric,
                        status=status,
                        target_minutes=60,
                        started_at=created,
                        due_at=created + timedelta(hours=1),
                        breached_at=created + timedelta(hours=1) if breached else None,
                    )
                )
            for started, minutes, billable in TIME.get(number, []):
                session.add(
                    TimeEntry(
                        organization_id=organization.id,
                        ticket_id=ticket.id,
                        technician_id=tech.id,
                        client_company_id=acme.id if for_acme else None,
                        started_at=started,
                        ended_at=started + timedelta(minutes=minutes),
                        actual_minutes=minutes,
                        billable=billable,
                        billable_minutes=minutes if billable else 0,
                    )
                )
            if answer:
                session.add(
                    CsatResponse(
                        organization_id=organization.id,
                        ticket_id=ticket.id,
                        requester_id=alice.id,
                        rating=answer[0],
                        asked_at=resolved,
                        answered_at=answer[1],
                    )
                )
        token = tokens.create_api_token(session, organization=organization, name="reports")
        acme_id = acme.id
    return world, {"Authorization": f"Bearer {token.secret}"}, acme_id


def get(world: World, headers: dict[str, str], path: str, **extra: str):
    response = world.http.get(path, headers={**headers, **extra})
    assert response.status_code == 200, response.text
    return response


def test_json_matches_the_month_worked_out_by_hand(seeded):
    world, headers, acme = seeded
    assert get(world, headers, "/api/reports/monthly?month=2026-03").json() == march(acme)
    only_acme = get(world, headers, f"/api/reports/monthly?month=2026-03&client_company_id={acme}")
    body = only_acme.json()
    assert (body["client_company"], body["csat"]) == (
        "Acme Corp",
        {"good": 0, "bad": 0, "score_percent": None},
    )
    assert [w["opened"] for w in body["weeks"]] == [0, 0, 0, 0, 0, 1]
    assert [(m["metric"], m["breached"]) for m in body["sla"]] == [
        ("first_response", 0),
        ("next_response", 0),
        ("resolution", 1),
    ]
    assert body["hours"] == [march(acme)["hours"][0]]
    assert get(world, headers, "/api/reports/csat?month=2026-03").json() == MARCH["csat"]


def test_bad_month_or_company_is_refused(seeded):
    world, headers, _ = seeded
    assert world.http.get("/api/reports/monthly?month=2026-3", headers=headers).status_code == 422
    missing = world.http.get(
        "/api/reports/monthly?month=2026-03&client_company_id=999", headers=headers
    )
    assert missing.status_code == 404


def png_data(content: bytes) -> dict[str, Any]:
    image = Image.open(io.BytesIO(content))
    image.verify()  # a whole, valid PNG
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG" and image.size == (1200, 800)
    return json.loads(image.info[DATA_KEY])


def test_the_png_draws_the_jsons_data_and_the_csv_holds_it(seeded):
    world, headers, acme = seeded
    png = get(world, headers, "/api/reports/monthly?month=2026-03", accept="image/png")
    assert png.headers["content-type"] == "image/png"
    assert png_data(png.content) == march(acme)
    text = get(world, headers, "/api/reports/monthly?month=2026-03", accept="text/csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    opened = [int(r["value"]) for r in rows if r["series"] == "opened"]
    assert opened == [w["opened"] for w in MARCH["weeks"]]
    assert {r["series"]: r["value"] for r in rows if r["chart"] == "csat"} == {
        "good": "2",
        "bad": "1",
        "score_percent": "66.7",
    }
    assert {(r["label"], r["series"]): r["value"] for r in rows if r["chart"] == "sla"}[
        ("resolution", "compliance_percent")
    ] == "66.7"
    assert {(r["label"], r["series"]): r["value"] for r in rows if r["chart"] == "hours"} == {
        ("Acme Corp", "actual_hours"): "1.5",
        ("Acme Corp", "billable_hours"): "1.5",
        ("No client", "actual_hours"): "1.25",
        ("No client", "billable_hours"): "0.75",
    }


def test_ticket_report_uploads_png_and_csv_into_the_askers_dm(seeded):
    world, _, acme = seeded
    response = world.driver.slash_command(world.team, world.tech, text="report 2026-03")
    assert response.status == 200
    assert "on its way" in response.json["text"]
    world.deliver()
    (posted,) = [m for m in world.dm(world.tech) if m.get("files")]
    assert posted["text"].startswith("Your report for 2026-03 (all clients): 4 tickets opened")
    names = [f["name"] for f in posted["files"]]
    assert names == ["ticketbot-report-2026-03.png", "ticketbot-report-2026-03.csv"]
    png = world.sim.file_content(posted["files"][0]["id"])
    assert png_data(png) == march(acme)
    csv_text = world.sim.file_content(posted["files"][1]["id"]).decode()
    assert csv_text.startswith("chart,label,series,value\n")
    # A client by name.
    world.driver.slash_command(world.team, world.tech, text="report 2026-03 Acme Corp")
    world.deliver()
    latest = [m for m in world.dm(world.tech) if m.get("files")][-1]
    assert "(Acme Corp): 1 ticket opened" in latest["text"]


def test_ticket_report_is_for_staff_and_names_unknown_clients(seeded):
    world, _, _ = seeded
    refused = world.driver.slash_command(world.team, world.alice, text="report")
    assert "Only the IT team" in str(refused.json or world.sim.ephemerals(world.alice))
    unknown = world.driver.slash_command(world.team, world.tech, text="report 2026-03 Globex")
    assert "no client company called 'Globex'" in str(
        unknown.json or world.sim.ephemerals(world.tech)
    )
    world.deliver()
    assert not [m for m in world.dm(world.tech) if m.get("files")]
