"""Time tracking through /slack/events: the card's timer buttons, the Log time modal, the
time field of the reply and note modals, /ticket time, App Home, the 10-hour reminder."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot import jobs
from bot.ids import Action, Block
from models import TicketComment, TimeEntry, utcnow
from tests.e2e.conftest import World
from tests.e2e.test_card import card, press, thread_lines


@pytest.fixture
def carded(world: World) -> World:
    world.file_ticket(world.alice, "Monitor flickers")
    world.deliver()
    return world


def entries(world: World) -> list[TimeEntry]:
    with world.db.session() as session:
        return list(session.exec(select(TimeEntry).order_by(col(TimeEntry.id))).all())


def backdate(world: World, minutes: int) -> None:
    """Move every running timer's start `minutes` back (time passing, without sleeping)."""
    with world.db.session() as session:
        session.execute(
            update(TimeEntry)
            .where(col(TimeEntry.ended_at).is_(None))
            .values(started_at=utcnow() - timedelta(minutes=minutes))
        )


def time_command(world: World, user: str, text: str) -> str:
    response = world.driver.slash_command(world.team, user, text=f"time {text}".strip())
    assert response.status == 200, response.text
    world.deliver()
    body = response.json
    assert body["response_type"] == "ephemeral"
    return str(body["text"])


def card_texts(world: World) -> str:
    return str(card(world)["blocks"])


def action_ids(world: World) -> set[str]:
    return {
        element.get("action_id")
        for block in card(world)["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


def test_start_and_stop_on_the_card(carded: World):
    world = carded
    assert Action.START_TIMER in action_ids(world) and Action.STOP_TIMER not in action_ids(world)
    press(world, world.tech, Action.START_TIMER)
    (entry,) = entries(world)
    assert entry.ended_at is None and entry.technician_id == world.member(world.tech).id
    assert "Tom Tech since" in card_texts(world)
    assert Action.STOP_TIMER in action_ids(world)
    assert world.sim.ephemerals(world.tech)[-1]["text"] == "Timer started on #1."
    backdate(world, 45)
    press(world, world.tech, Action.STOP_TIMER)
    (entry,) = entries(world)
    assert (entry.actual_minutes, entry.billable_minutes, entry.source) == (45, 45, "timer")
    assert thread_lines(world) == ["Tom logged 45 min (billable)"]
    assert "since" not in card_texts(world) and Action.STOP_TIMER not in action_ids(world)


def test_two_technicians_start_and_each_stop_stops_the_pressers_own(carded: World):
    world = carded
    press(world, world.tech, Action.START_TIMER)
    press(world, world.tech2, Action.START_TIMER)
    assert "Tom Tech since" in card_texts(world) and "Tia Tech since" in card_texts(world)
    press(world, world.tech2, Action.STOP_TIMER)
    running = [e for e in entries(world) if e.ended_at is None]
    assert [e.technician_id for e in running] == [world.member(world.tech).id]
    assert "Tom Tech since" in card_texts(world) and "Tia Tech" not in card_texts(world)


def test_a_double_click_on_stop_stops_once(carded: World):
    world = carded
    press(world, world.tech, Action.START_TIMER)
    backdate(world, 10)
    message = card(world)
    for _ in range(2):  # the second click lands before the card is redrawn
        response = world.driver.block_action(
            world.team,
            world.tech,
            Action.STOP_TIMER,
            channel_id=world.staff_channel,
            message_ts=message["ts"],
        )
        assert response.status == 200
    world.deliver()
    assert [(e.actual_minutes, e.revision) for e in entries(world)] == [(10, 1)]
    assert len(thread_lines(world)) == 1
    assert world.sim.ephemerals(world.tech)[-1]["text"] == "You have no timer running."


def test_starting_on_another_ticket_stops_the_first_and_says_so(carded: World):
    world = carded
    world.file_ticket(world.alice, "Second problem")
    world.deliver()
    assert time_command(world, world.tech, "start 1") == "Timer started on #1."
    backdate(world, 20)
    answer = time_command(world, world.tech, "start #2")
    assert answer == "Timer started on #2. Your timer on #1 stopped at that moment (20 min)."
    first, second = entries(world)
    assert first.ended_at == second.started_at and second.ended_at is None


def test_log_time_modal_with_field_errors(carded: World):
    world = carded
    with world.db.session() as session:
        from bot.services import time_tracking as tt
        from models import Organization

        org = session.exec(select(Organization)).one()
        remote = tt.create_work_type(session, organization=org, name="Remote", billable=True)
        internal = tt.create_work_type(session, organization=org, name="Internal", billable=False)
    press(world, world.tech, Action.LOG_TIME)
    modal = world.open_modal(world.tech)
    assert [b.get("label", {}).get("text") for b in modal["blocks"]] == [
        "Duration",
        "Work type",
        "Billable",
        "Note",
    ]
    refused = world.driver.submit_view(world.team, world.tech, modal["id"], {"Duration": "soon"})
    assert refused.json["response_action"] == "errors"
    assert "45m" in refused.json["errors"][Block.DURATION]
    too_long = world.driver.submit_view(world.team, world.tech, modal["id"], {"Duration": "25h"})
    assert "24 hours" in too_long.json["errors"][Block.DURATION]
    assert entries(world) == []
    ok = world.driver.submit_view(
        world.team,
        world.tech,
        modal["id"],
        {
            "Duration": "1h30m",
            "Work type": str(internal.id),
            "Note": "Swapped the <!channel> cable",
        },
    )
    assert ok.status == 200
    world.deliver()
    (entry,) = entries(world)
    assert (entry.actual_minutes, entry.billable, entry.work_type_id, entry.source) == (
        90,
        False,
        internal.id,
        "log",
    )
    assert thread_lines(world) == [
        "Tom logged 1 h 30 min (not billable) — Swapped the &lt;!channel&gt; cable"
    ]
    assert remote.id != internal.id


def test_time_commands(carded: World):
    world = carded
    assert time_command(world, world.tech, "") == "You have no timer running. Today: 0 min."
    assert time_command(world, world.tech, "log 1 45m checked cables") == (
        "Logged 45 min (billable) — checked cables on #1."
    )
    assert time_command(world, world.tech, "start 1").startswith("Timer started on #1.")
    status = time_command(world, world.tech, "")
    assert status.startswith("Your timer on #1 is running since") and "Today: 45 min." in status
    backdate(world, 15)
    stopped = time_command(world, world.tech, "stop rebooted it")
    assert stopped.startswith("Stopped your timer on #1: 15 min (billable) — rebooted it")
    assert thread_lines(world) == [
        "Tom logged 45 min (billable) — checked cables",
        "Tom logged 15 min (billable) — rebooted it",
    ]
    assert "is not a duration" in time_command(world, world.tech, "log 1 soon")
    assert "24 hours" in time_command(world, world.tech, "log 1 25h")
    assert "There is no" in time_command(world, world.tech, "log 99 5m") or "no ticket" in (
        time_command(world, world.tech, "log 99 5m").lower()
    )
    assert "/ticket time start 42" in time_command(world, world.tech, "dance")
    assert len(entries(world)) == 2


def test_overlaps_are_saved_and_reported(carded: World):
    world = carded
    time_command(world, world.tech, "log 1 45m")
    answer = time_command(world, world.tech, "log 1 30m")
    assert answer.endswith("It overlaps 1 other entry of yours.")
    assert len(entries(world)) == 2


def test_requesters_never_track_or_see_time(carded: World):
    world = carded
    assert time_command(world, world.alice, "") == "Only the IT team tracks time."
    assert time_command(world, world.alice, "log 1 45m") == "Only the IT team tracks time."
    press(world, world.alice, Action.START_TIMER)
    assert "Only the IT team" in world.sim.ephemerals(world.alice)[-1]["text"]
    assert entries(world) == []
    time_command(world, world.tech, "log 1 45m secret-time-note")
    world.deliver()
    assert "secret-time-note" not in str(world.dm(world.alice))
    assert "45 min" not in str(world.dm(world.alice))


def test_internal_note_and_reply_modals_log_time(carded: World):
    world = carded
    press(world, world.tech, Action.ADD_INTERNAL_NOTE)
    modal = world.open_modal(world.tech)
    refused = world.driver.submit_view(
        world.team, world.tech, modal["id"], {"Note": "Replaced toner", "Log time": "lots"}
    )
    assert "45m" in refused.json["errors"][Block.LOG_TIME]
    with world.db.session() as session:
        assert session.exec(select(TicketComment)).all() == []
    world.driver.submit_view(
        world.team, world.tech, modal["id"], {"Note": "Replaced toner", "Log time": "30m"}
    )
    world.deliver()
    press(world, world.tech, Action.REPLY_TO_REQUESTER)
    reply = world.open_modal(world.tech)
    world.driver.submit_view(world.team, world.tech, reply["id"], {"Reply": "Fixed it"})
    world.deliver()
    (entry,) = entries(world)
    assert entry.actual_minutes == 30
    assert "Tom logged 30 min (billable)" in thread_lines(world)


def test_app_home_shows_the_running_timer_with_a_stop_button(carded: World):
    world = carded
    time_command(world, world.tech, "log 1 20m")
    time_command(world, world.tech, "start 1")
    world.driver.event(world.team, world.driver.app_home_opened(world.team, world.tech))
    home = world.sim.home_view(world.team, world.tech)
    timer = next(b for b in home["blocks"] if b.get("block_id") == Block.HOME_TIMER)
    assert "Your timer on #1 is running since" in timer["text"]["text"]
    assert "Today: 20 min" in timer["text"]["text"]
    response = world.driver.block_action(
        world.team, world.tech, Action.HOME_STOP_TIMER, view_id=home["id"]
    )
    assert response.status == 200
    world.deliver()
    assert all(e.ended_at is not None for e in entries(world))
    home = world.sim.home_view(world.team, world.tech)
    timer = next(b for b in home["blocks"] if b.get("block_id") == Block.HOME_TIMER)
    assert "You have no timer running." in timer["text"]["text"]
    world.driver.event(world.team, world.driver.app_home_opened(world.team, world.alice))
    assert "Time" not in str(world.sim.home_view(world.team, world.alice)["blocks"][:1])


def test_a_timer_running_10_hours_gets_one_dm(carded: World):
    world = carded
    time_command(world, world.tech, "start 1")
    backdate(world, 10 * 60 + 1)
    assert jobs.remind_long_timers(world.db) == 1
    assert jobs.remind_long_timers(world.db) == 0  # idempotent: told once
    world.deliver()
    reminders = [m for m in world.dm(world.tech) if "10 hours" in m.get("text", "")]
    assert len(reminders) == 1
    assert "#1" in reminders[0]["text"]


def test_time_report_uploads_csv_and_chart_into_the_askers_dm(carded: World):
    """The CSV equals the report; the chart's data (kept in the PNG) equals the JSON report."""
    import io
    import json as jsonlib

    from PIL import Image

    from bot.flows.time_reports import CHART_DATA_KEY
    from bot.services import organizations as orgs
    from bot.services import time_tracking as tt
    from bot.services.actors import Actor
    from models import Organization, Ticket

    world = carded
    world.file_ticket(world.alice, "Second")
    world.deliver()
    start = utcnow().replace(year=2026, month=3, day=2, hour=9, minute=0, second=0, microsecond=0)
    time_command(world, world.tech, "")  # Tom is met
    tech = world.member(world.tech)
    with world.db.session() as session:
        org = session.exec(select(Organization)).one()
        acme = orgs.create_client_company(session, organization=org, name="Acme Corp")
        for ticket in session.exec(select(Ticket)).all():
            ticket.client_company_id = acme.id
            session.add(ticket)
            session.flush()
            for minutes in (45, 50):
                tt.log_time(
                    session,
                    organization=org,
                    ticket=ticket,
                    technician=tech,
                    actor=Actor.for_member(tech, is_staff=True),
                    started_at=start,
                    minutes=minutes,
                )
                start += timedelta(hours=2)
        expected = tt.monthly_report(
            session, organization=org, month="2026-03", client_company_id=acme.id
        )
    assert (
        time_command(world, world.alice, "report Acme Corp 2026-03")
        == "Only the IT team tracks time."
    )
    assert "don't know a client" in time_command(world, world.tech, "report Nobody 2026-03")
    answer = time_command(world, world.tech, "report acme corp 2026-03")
    assert answer == "The March 2026 time report for Acme Corp is on its way to your DM."
    assert world.sim.calls_to("files.getUploadURLExternal")
    (shared,) = [m for m in world.dm(world.tech) if m.get("files")]
    assert "190 min" not in shared.get("text", "") and "3 h 10 min worked" in shared["text"]
    by_type = {f["name"].rsplit(".", 1)[-1]: f for f in shared["files"]}
    csv_text = world.sim.file_content(by_type["csv"]["id"]).decode()
    assert csv_text == tt.report_csv(expected)
    assert csv_text.splitlines()[-1] == "total,,190,190"
    png = Image.open(io.BytesIO(world.sim.file_content(by_type["png"]["id"])))
    drawn = jsonlib.loads(png.text[CHART_DATA_KEY])
    assert (
        drawn
        == [
            {
                "ticket_number": line.ticket_number,
                "billable_hours": round(line.billable_minutes / 60, 2),
            }
            for line in expected.lines
        ]
        == [
            {"ticket_number": 1, "billable_hours": 1.58},
            {"ticket_number": 2, "billable_hours": 1.58},
        ]
    )
    assert not [m for m in world.dm(world.alice) if m.get("files")]
