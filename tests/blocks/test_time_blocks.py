"""Time tracking's pure builders: the card's timer controls, thread lines, the modal."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.blocks.tickets import TicketView, timer_blocks
from bot.blocks.time_tracking import entry_line, log_time_modal, timing_line
from bot.ids import Action, Block, Callback
from models import Member, TicketPriority, TicketStatus, TimeEntry, WorkType

VIEW = dict(
    id=7,
    number=42,
    title="VPN",
    description="",
    status=TicketStatus.OPEN,
    priority=TicketPriority.MEDIUM,
    category=None,
    requester=None,
    assignee=None,
    company=None,
    created_at=datetime(2026, 3, 2, tzinfo=UTC),
)


def _actions(blocks):
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_stop_is_offered_only_while_someone_is_timing():
    assert _actions(timer_blocks(TicketView(**VIEW))) == [Action.START_TIMER, Action.LOG_TIME]
    timing = timer_blocks(TicketView(**VIEW, timing=":stopwatch: Tom since 10:05"))
    assert _actions(timing) == [Action.START_TIMER, Action.STOP_TIMER, Action.LOG_TIME]
    assert timing[0]["elements"][0]["text"] == ":stopwatch: Tom since 10:05"


def test_timing_line_names_people_escaped_in_the_organizations_zone():
    started = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    running = [
        (
            TimeEntry(ticket_id=1, technician_id=1, organization_id=1, started_at=started),
            Member(name="Tom <!here>", organization_id=1),
        ),
    ]
    assert (
        timing_line(running, ZoneInfo("Europe/Berlin"))
        == ":stopwatch: Tom &lt;!here&gt; since 10:05"
    )
    assert timing_line([], ZoneInfo("UTC")) is None


def test_entry_line_escapes_the_note():
    entry = TimeEntry(
        ticket_id=1,
        technician_id=1,
        organization_id=1,
        started_at=datetime.now(UTC),
        actual_minutes=90,
        billable=False,
        note="<@U1> & co",
    )
    assert entry_line(entry) == "logged 1 h 30 min (not billable) — &lt;@U1&gt; &amp; co"


def test_log_time_modal_fields():
    modal = log_time_modal(
        ticket_id=7,
        ticket_number=42,
        work_types=[WorkType(id=3, name="On site", organization_id=1)],
    )
    assert modal["callback_id"] == Callback.LOG_TIME_MODAL and modal["private_metadata"] == "7"
    assert [b["block_id"] for b in modal["blocks"]] == [
        Block.DURATION,
        Block.WORK_TYPE,
        Block.BILLABLE,
        Block.TIME_NOTE,
    ]
    no_types = log_time_modal(ticket_id=7, ticket_number=42, work_types=[])
    assert Block.WORK_TYPE not in [b["block_id"] for b in no_types["blocks"]]
