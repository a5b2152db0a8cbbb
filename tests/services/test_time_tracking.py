"""Time tracking rules: rounding (the fixtures file), durations, timers, logs, limits,
overlaps, permissions, the monthly report; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.core.db import Database
from bot.core.errors import InvalidInput, PermissionDenied
from bot.services import organizations as orgs
from bot.services import time_tracking as tt
from bot.services.actors import Actor
from models import MemberRole, TicketEvent, TimeEntry
from tests.services.factories import Workspace, file_ticket, make_workspace

FIXTURES = Path("/work/shared/fixtures/time_rounding.json")
if not FIXTURES.exists():  # the copy kept beside the tests
    FIXTURES = Path(__file__).parent / "time_rounding.json"
CASES = json.loads(FIXTURES.read_text())["cases"]
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("case", CASES, ids=[json.dumps(c["rule"]) for c in CASES])
def test_rounding_case_of_the_fixtures(case):
    rule = tt.RoundingRule.parse(case["rule"])
    assert rule is not None
    entries = [(actual, True) for actual in case["actual"]]
    if "billable" in case:
        assert [rule.round(a) for a in case["actual"]] == case["billable"]
        assert tt.billable_total(entries, rule) == sum(case["billable"])
    if "billable_total" in case:
        assert tt.billable_total(entries, rule) == case["billable_total"]


def test_a_non_billable_entry_bills_nothing():
    rule = tt.RoundingRule(increment=15, minimum=15)
    assert tt.billable_minutes_of(actual=40, billable=False, rule=rule) == 0
    assert tt.billable_total([(40, False), (5, True)], rule) == 15


@pytest.mark.parametrize(
    "bad",
    [{"increment": 0}, {"minimum": -1}, {"mode": "down"}, {"aggregation": "per_day"}, {"x": 1}],
)
def test_a_bad_rounding_rule_is_refused(bad):
    with pytest.raises(InvalidInput):
        tt.RoundingRule.parse(bad)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("45m", 45),
        ("1h30m", 90),
        ("1.5h", 90),
        ("90", 90),
        ("2h", 120),
        ("1h 5m", 65),
        ("0.25h", 15),
    ],
)
def test_durations_people_write(text, minutes):
    assert tt.parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "soon", "45x", "h", "1h30", "-5m", "0", "25h", "1:30"])
def test_other_durations_get_a_clear_error(text):
    with pytest.raises(InvalidInput) as error:
        tt.parse_duration(text)
    assert error.value.field == "duration"


def test_whole_minutes_round_half_a_minute_up():
    start = NOW
    assert tt.whole_minutes(start, start + timedelta(seconds=29)) == 0
    assert tt.whole_minutes(start, start + timedelta(seconds=30)) == 1
    assert tt.whole_minutes(start, start + timedelta(minutes=44, seconds=31)) == 45


@pytest.fixture
def ws(db: Database) -> Workspace:
    with db.session() as session:
        return make_workspace(session)


def _second_tech(db: Database, ws: Workspace):
    with db.session() as session:
        return orgs.create_member(
            session,
            organization=ws.organization,
            name="Tia Tech",
            email="tia@example.com",
            role=MemberRole.TECHNICIAN,
            slack_user_id="UTIA",
        )


def _ticket(db: Database, ws: Workspace):
    with db.session() as session:
        return file_ticket(session, ws)


def test_starting_a_timer_stops_the_running_one_at_that_instant(db, ws):
    first, second = _ticket(db, ws), _ticket(db, ws)
    actor = Actor.for_member(ws.tech)
    with db.session() as session:
        tt.start_timer(
            session,
            organization=ws.organization,
            ticket=first,
            technician=ws.tech,
            actor=actor,
            now=NOW,
        )
    with db.session() as session:
        outcome = tt.start_timer(
            session,
            organization=ws.organization,
            ticket=second,
            technician=ws.tech,
            actor=actor,
            now=NOW + timedelta(minutes=44, seconds=30),
        )
        assert outcome.stopped is not None and outcome.stopped.ticket_id == first.id
    with db.session() as session:
        entries = session.exec(select(TimeEntry).order_by(TimeEntry.id)).all()
        assert [(e.ticket_id, e.ended_at, e.actual_minutes) for e in entries] == [
            (first.id, NOW + timedelta(minutes=44, seconds=30), 45),
            (second.id, None, 0),
        ]
        assert entries[0].source == "timer"


def test_the_database_refuses_two_running_timers_of_one_technician(db, ws):
    ticket = _ticket(db, ws)
    with pytest.raises(IntegrityError), db.session() as session:
        for _ in range(2):
            session.add(
                TimeEntry(
                    organization_id=ws.organization.id,
                    ticket_id=ticket.id,
                    technician_id=ws.tech.id,
                    started_at=NOW,
                )
            )
            session.flush()


def test_stop_with_nothing_running_stops_nothing(db, ws):
    with db.session() as session:
        assert (
            tt.stop_timer(session, organization=ws.organization, technician=ws.tech, now=NOW).entry
            is None
        )


def test_a_timer_past_24_hours_ends_at_24_hours(db, ws):
    ticket = _ticket(db, ws)
    with db.session() as session:
        tt.start_timer(
            session,
            organization=ws.organization,
            ticket=ticket,
            technician=ws.tech,
            actor=Actor.for_member(ws.tech),
            now=NOW,
        )
    with db.session() as session:
        outcome = tt.stop_timer(
            session, organization=ws.organization, technician=ws.tech, now=NOW + timedelta(hours=30)
        )
        assert outcome.capped and outcome.entry.actual_minutes == 24 * 60


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (NOW, NOW - timedelta(minutes=5), "after the start"),
        (NOW - timedelta(hours=25), NOW, "24 hours"),
        (NOW + timedelta(hours=1), NOW + timedelta(hours=2), "future"),
    ],
)
def test_logged_spans_must_end_after_start_be_24h_at_most_and_not_in_the_future(
    db, ws, start, end, message
):
    ticket = _ticket(db, ws)
    with pytest.raises(InvalidInput) as error, db.session() as session:
        tt.log_time(
            session,
            organization=ws.organization,
            ticket=ticket,
            technician=ws.tech,
            actor=Actor.for_member(ws.tech),
            started_at=start,
            ended_at=end,
            now=NOW,
        )
    assert message in error.value.message
    with db.session() as session:
        assert session.exec(select(TimeEntry)).all() == []


def test_an_overlap_is_saved_and_reported(db, ws):
    ticket = _ticket(db, ws)
    actor = Actor.for_member(ws.tech)
    with db.session() as session:
        first = tt.log_time(
            session,
            organization=ws.organization,
            ticket=ticket,
            technician=ws.tech,
            actor=actor,
            started_at=NOW - timedelta(hours=2),
            ended_at=NOW - timedelta(hours=1),
            now=NOW,
        )
        assert first.overlaps == []
    with db.session() as session:
        second = tt.log_time(
            session,
            organization=ws.organization,
            ticket=ticket,
            technician=ws.tech,
            actor=actor,
            minutes=90,
            now=NOW,
        )
        assert [o.id for o in second.overlaps] == [first.entry.id]
    with db.session() as session:
        assert len(session.exec(select(TimeEntry)).all()) == 2


def test_requesters_cannot_track_time(db, ws):
    ticket = _ticket(db, ws)
    with pytest.raises(PermissionDenied), db.session() as session:
        tt.log_time(
            session,
            organization=ws.organization,
            ticket=ticket,
            technician=ws.alice,
            actor=Actor.for_member(ws.alice),
            minutes=5,
            now=NOW,
        )


def test_edits_and_deletes_by_the_technician_or_an_admin_are_recorded(db, ws):
    ticket = _ticket(db, ws)
    other = _second_tech(db, ws)
    with db.session() as session:
        entry = tt.log_time(
            session,
            organization=ws.organization,
            ticket=ticket,
            technician=ws.tech,
            actor=Actor.for_member(ws.tech),
            minutes=30,
            now=NOW,
        ).entry
    with pytest.raises(PermissionDenied), db.session() as session:
        tt.update_entry(
            session,
            organization=ws.organization,
            entry_id=entry.id,
            actor=Actor.for_member(other),
            changes={"note": "mine now"},
            now=NOW,
        )
    with db.session() as session:
        edited = tt.update_entry(
            session,
            organization=ws.organization,
            entry_id=entry.id,
            actor=Actor.for_member(ws.tech),
            changes={"actual_minutes": 20, "note": "shorter"},
            now=NOW,
        ).entry
        assert (edited.actual_minutes, edited.billable_minutes, edited.revision) == (20, 20, 1)
        assert edited.ended_at == NOW - timedelta(minutes=10)
    with db.session() as session:
        tt.delete_entry(
            session,
            organization=ws.organization,
            entry_id=entry.id,
            actor=Actor.for_member(ws.admin),
            now=NOW,
        )
    with db.session() as session:
        row = session.get(TimeEntry, entry.id)
        assert row.deleted_by_id == ws.admin.id and row.edited_by_id == ws.tech.id
        events = session.exec(select(TicketEvent).where(TicketEvent.field == "time_entry")).all()
        assert [e.new_value for e in events][-1] == "deleted" and len(events) == 2
        assert (
            tt.list_entries(session, organization_id=ws.organization.id, filters=tt.EntryFilter())
            == []
        )


def test_work_type_rounding_overrides_the_organization(db, ws):
    ticket = _ticket(db, ws)
    with db.session() as session:
        org = session.merge(ws.organization)
        tt.set_organization_rounding(
            session, organization=org, rounding={"increment": 15, "minimum": 15}
        )
        onsite = tt.create_work_type(
            session, organization=org, name="On site", rounding={"increment": 60, "minimum": 60}
        )
        internal = tt.create_work_type(session, organization=org, name="Internal", billable=False)
        actor = Actor.for_member(ws.tech)
        a = tt.log_time(
            session,
            organization=org,
            ticket=ticket,
            technician=ws.tech,
            actor=actor,
            minutes=16,
            ended_at=NOW - timedelta(hours=5),
            now=NOW,
        ).entry
        b = tt.log_time(
            session,
            organization=org,
            ticket=ticket,
            technician=ws.tech,
            actor=actor,
            minutes=16,
            ended_at=NOW - timedelta(hours=3),
            work_type_id=onsite.id,
            now=NOW,
        ).entry
        c = tt.log_time(
            session,
            organization=org,
            ticket=ticket,
            technician=ws.tech,
            actor=actor,
            minutes=16,
            work_type_id=internal.id,
            now=NOW,
        ).entry
        assert [(e.actual_minutes, e.billable, e.billable_minutes) for e in (a, b, c)] == [
            (16, True, 30),
            (16, True, 60),
            (16, False, 0),
        ]


def test_monthly_report_equals_a_hand_computed_total(db, ws):
    """Europe/Berlin: an entry at 23:30 UTC on the month's last day belongs to next month."""
    with db.session() as session:
        org = session.merge(ws.organization)
        org.settings = {**org.settings, "timezone": "Europe/Berlin"}
        acme = orgs.create_client_company(session, organization=org, name="Acme")
        other = orgs.create_client_company(session, organization=org, name="Other")
        tt.set_organization_rounding(
            session, organization=org, rounding={"increment": 15, "minimum": 15}
        )
        per_ticket = tt.create_work_type(
            session,
            organization=org,
            name="Project",
            rounding={"increment": 60, "minimum": 60, "aggregation": "per_ticket"},
        )
        t1 = file_ticket(session, ws, client_company_id=acme.id, title="One")
        t2 = file_ticket(session, ws, client_company_id=acme.id, title="Two")
        t3 = file_ticket(session, ws, client_company_id=other.id, title="Three")
        actor = Actor.for_member(ws.tech)
        later = datetime(2026, 4, 20, tzinfo=UTC)

        def log(ticket, start, minutes, **kw):
            return tt.log_time(
                session,
                organization=org,
                ticket=ticket,
                technician=ws.tech,
                actor=actor,
                started_at=start,
                minutes=minutes,
                now=later,
                **kw,
            ).entry

        log(t1, datetime(2026, 3, 2, 9, tzinfo=UTC), 5)  # 15
        log(t1, datetime(2026, 3, 3, 9, tzinfo=UTC), 44)  # 45
        log(t1, datetime(2026, 2, 28, 23, 30, tzinfo=UTC), 10)  # Berlin: 1 March 00:30 -> 15
        log(t1, datetime(2026, 3, 31, 22, 30, tzinfo=UTC), 10)  # Berlin: 1 April -> not in March
        log(t2, datetime(2026, 3, 5, 9, tzinfo=UTC), 45, work_type_id=per_ticket.id)
        log(t2, datetime(2026, 3, 6, 9, tzinfo=UTC), 45, work_type_id=per_ticket.id)
        log(t2, datetime(2026, 3, 7, 9, tzinfo=UTC), 5, work_type_id=per_ticket.id)  # 95 -> 120
        log(t2, datetime(2026, 3, 8, 9, tzinfo=UTC), 20, billable=False)  # 0
        gone = log(t2, datetime(2026, 3, 9, 9, tzinfo=UTC), 30)
        tt.delete_entry(session, organization=org, entry_id=gone.id, actor=actor, now=later)
        log(t3, datetime(2026, 3, 9, 9, tzinfo=UTC), 30)  # another client
        report = tt.monthly_report(
            session, organization=org, month="2026-03", client_company_id=acme.id
        )
    assert [(line.title, line.actual_minutes, line.billable_minutes) for line in report.lines] == [
        ("One", 59, 75),
        ("Two", 115, 120),
    ]
    assert (report.actual_minutes, report.billable_minutes) == (174, 195)
    csv_lines = tt.report_csv(report).splitlines()
    assert csv_lines[0] == "ticket_number,title,actual_minutes,billable_minutes"
    assert csv_lines[-1] == "total,,174,195"


def test_a_ticket_moving_to_another_client_takes_its_time_along(db, ws):
    from bot.services import tickets

    with db.session() as session:
        org = session.merge(ws.organization)
        acme = orgs.create_client_company(session, organization=org, name="Acme")
        ticket = file_ticket(session, ws)
        tt.log_time(
            session,
            organization=org,
            ticket=ticket,
            technician=ws.tech,
            actor=Actor.for_member(ws.tech),
            minutes=30,
            now=NOW,
        )
        tickets.update_ticket(
            session,
            organization=org,
            ticket=ticket,
            actor=Actor.for_member(ws.tech),
            changes={"client_company_id": acme.id},
        )
        report = tt.monthly_report(
            session, organization=org, month="2026-03", client_company_id=acme.id
        )
        assert report.actual_minutes == 30


def test_a_long_running_timer_is_reminded_once(db, ws):
    ticket = _ticket(db, ws)
    with db.session() as session:
        tt.start_timer(
            session,
            organization=ws.organization,
            ticket=ticket,
            technician=ws.tech,
            actor=Actor.for_member(ws.tech),
            now=NOW,
        )
    with db.session() as session:
        assert tt.timers_to_remind(session, now=NOW + timedelta(hours=9)) == []
    with db.session() as session:
        assert len(tt.timers_to_remind(session, now=NOW + timedelta(hours=10))) == 1
    with db.session() as session:
        assert tt.timers_to_remind(session, now=NOW + timedelta(hours=11)) == []


def _together(*calls):
    """Run the calls on threads released at one instant; their errors re-raised."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call):
        barrier.wait()
        try:
            call()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_two_technicians_pressing_start_at_once_get_one_entry_each(db, ws):
    ticket = _ticket(db, ws)
    other = _second_tech(db, ws)

    def start(member):
        def call():
            with db.session() as session:
                tt.start_timer(
                    session,
                    organization=ws.organization,
                    ticket=ticket,
                    technician=member,
                    actor=Actor.for_member(member),
                    now=NOW,
                )

        return call

    _together(start(ws.tech), start(other))
    with db.session() as session:
        running = tt.running_on_ticket(session, ticket_id=ticket.id)
        assert sorted(m.id for _, m in running) == sorted([ws.tech.id, other.id])


def test_one_technician_pressing_start_twice_at_once_runs_one_timer(db, ws):
    ticket = _ticket(db, ws)

    def start():
        with db.session() as session:
            tt.start_timer(
                session,
                organization=ws.organization,
                ticket=ticket,
                technician=ws.tech,
                actor=Actor.for_member(ws.tech),
                now=NOW,
            )

    _together(start, start)
    with db.session() as session:
        entries = session.exec(select(TimeEntry)).all()
        assert len([e for e in entries if e.ended_at is None]) == 1


def test_a_double_click_on_stop_stops_one_entry_once(db, ws):
    ticket = _ticket(db, ws)
    with db.session() as session:
        tt.start_timer(
            session,
            organization=ws.organization,
            ticket=ticket,
            technician=ws.tech,
            actor=Actor.for_member(ws.tech),
            now=NOW,
        )
    stopped: list[int] = []

    def stop():
        with db.session() as session:
            outcome = tt.stop_timer(
                session,
                organization=ws.organization,
                technician=ws.tech,
                now=NOW + timedelta(minutes=10),
            )
            if outcome.entry is not None:
                stopped.append(outcome.entry.id)

    _together(stop, stop)
    assert len(stopped) == 1
    with db.session() as session:
        entries = session.exec(select(TimeEntry)).all()
        assert [(e.actual_minutes, e.revision) for e in entries] == [(10, 1)]
