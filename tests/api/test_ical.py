"""`ticketbot ical-token create|revoke` and `GET /ical/{token}.ics`: a technician's time
entries as a calendar that parses, with stable UIDs and SEQUENCE following edits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.cli import main
from bot.core.db import Database
from bot.services import organizations as orgs
from bot.services import time_tracking as tt
from bot.services.actors import Actor
from models import IcalToken
from tests.api.test_cli import served as served
from tests.services.factories import file_ticket, make_workspace

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _events(client, path: str) -> list:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return list(Calendar.from_ical(response.content).walk("VEVENT"))


def test_feed_url_parses_keeps_uids_and_bumps_sequence(
    served, capsys: pytest.CaptureFixture[str], monkeypatch
):
    client = served
    monkeypatch.setenv("PUBLIC_URL", "https://tickets.example.com")
    database = Database.from_url(str(client.app.state.runtime.db.engine.url))
    with database.session() as session:
        ws = make_workspace(session, "T0ICAL")
        acme = orgs.create_client_company(session, organization=ws.organization, name="Acme")
        ticket = file_ticket(session, ws, title="VPN drops", client_company_id=acme.id)
        actor = Actor.for_member(ws.tech)
        first = tt.log_time(
            session,
            organization=ws.organization,
            ticket=ticket,
            technician=ws.tech,
            actor=actor,
            started_at=START,
            minutes=45,
            note="Reset tunnel",
        ).entry
        tt.log_time(
            session,
            organization=ws.organization,
            ticket=ticket,
            technician=ws.admin,
            actor=Actor.for_member(ws.admin),
            started_at=START,
            minutes=30,
        )
    assert main(["ical-token", "create", "--team", "T0ICAL", "--user", ws.tech.slack_user_id]) == 0
    url = capsys.readouterr().out.strip().splitlines()[-1]
    assert url.startswith("https://tickets.example.com/ical/tbc_") and url.endswith(".ics")
    path = url.removeprefix("https://tickets.example.com")
    with database.session() as session:
        stored = session.exec(select(IcalToken)).one()
        assert (
            stored.token_hash != path
            and path.split("/")[-1].removesuffix(".ics") not in stored.token_hash
        )

    (event,) = _events(client, path)
    assert str(event["summary"]) == "#1 VPN drops — Acme"
    assert event.decoded("dtstart") == START and event.decoded("dtend") == START + timedelta(
        minutes=45
    )
    assert event["dtstart"].to_ical().endswith(b"Z")
    assert int(event["sequence"]) == 0
    uid = str(event["uid"])

    with database.session() as session:
        tt.update_entry(
            session,
            organization=ws.organization,
            entry_id=first.id,
            actor=Actor.for_member(ws.tech),
            changes={"note": "Reset tunnel twice"},
        )
    (edited,) = _events(client, path)
    assert str(edited["uid"]) == uid and int(edited["sequence"]) == 1
    assert "twice" in str(edited["description"])

    assert main(["ical-token", "revoke", "--team", "T0ICAL", "--user", ws.tech.slack_user_id]) == 0
    assert client.get(path).status_code == 404
    assert client.get("/ical/tbc_not-a-token.ics").status_code == 404
    database.dispose()


def test_only_technicians_get_a_feed(served, capsys: pytest.CaptureFixture[str]):
    database = Database.from_url(str(served.app.state.runtime.db.engine.url))
    with database.session() as session:
        ws = make_workspace(session, "T0ICAL2")
    with pytest.raises(SystemExit) as refused:
        main(["ical-token", "create", "--team", "T0ICAL2", "--user", ws.alice.slack_user_id])
    assert "not a technician" in str(refused.value)
    database.dispose()
