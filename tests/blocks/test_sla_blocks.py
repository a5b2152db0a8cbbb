"""The SLA words people read: the card's line, warnings, breaches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.blocks.sla import SlaLineView, breach_text, duration, sla_line, warning_text

NOW = datetime(2026, 3, 16, 15, 10, tzinfo=UTC)  # Monday 11:10 in New York


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=30), "under 1 m"),
        (timedelta(minutes=45), "45 m"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=1, minutes=20), "1 h 20 m"),
        (timedelta(days=2), "2 d"),
        (timedelta(days=2, hours=3, minutes=5), "2 d 3 h"),
    ],
)
def test_durations_in_plain_words(delta, words):
    assert duration(delta) == words


def test_running_clock_names_the_metric_the_time_left_and_the_local_due_time():
    view = SlaLineView(
        "first_response", "running", NOW + timedelta(hours=1, minutes=20), "America/New_York"
    )
    assert sla_line(view, now=NOW) == "First response due in 1 h 20 m · Mon 12:30"


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("paused", "Resolution paused"),
        ("met", "Resolution met"),
        ("breached", ":red_circle: *Resolution breached*"),
    ],
)
def test_other_states(status, words):
    assert sla_line(SlaLineView("resolution", status, None), now=NOW) == words


@pytest.mark.parametrize(
    ("status", "also", "words"),
    [
        ("met", (), "Resolution met"),
        ("met", ("first_response",), "Resolution met · first response breached"),
        (
            "breached",
            ("first_response", "next_response"),
            "Resolution breached · first response and next response breached",
        ),
    ],
)
def test_a_finished_ticket_tells_its_outcome_without_alarm(status, also, words):
    view = SlaLineView("resolution", status, NOW, finished=True, also_breached=also)
    assert sla_line(view, now=NOW) == words


def test_a_running_clock_past_due_reads_breached_before_the_job_marks_it():
    view = SlaLineView("next_response", "running", NOW - timedelta(minutes=1))
    assert sla_line(view, now=NOW) == ":red_circle: *Next response breached*"


def test_warning_and_breach_texts_escape_the_title():
    due = NOW + timedelta(minutes=15)
    warning = warning_text(
        number=7,
        title="<!channel> down",
        metric="resolution",
        percent=90,
        due_at=due,
        now=NOW,
        timezone="UTC",
    )
    assert warning == (
        ":warning: Ticket #7 (&lt;!channel&gt; down): resolution due in 15 m (Mon 15:25); "
        "90% of the time is used."
    )
    breach = breach_text(
        number=7, title="a & b", metric="first_response", due_at=due, timezone="UTC"
    )
    assert (
        breach
        == ":red_circle: Ticket #7 (a &amp; b): first response breached. It was due Mon 15:25."
    )
