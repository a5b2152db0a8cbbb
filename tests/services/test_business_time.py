"""Business-time arithmetic: every worked example of the fixtures file, plus properties."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.business_time import (
    ALWAYS,
    Calendar,
    CalendarError,
    add_business_time,
    add_business_times,
    business_time_between,
    is_open,
)
from tests.sla_fixtures import (
    CALENDARS,
    EXAMPLES,
    FIXTURES,
    SHARED_FIXTURES,
    calendar_config,
    example,
    instant,
)

PAUSE = {"pending"}


def _calendar(name: str) -> Calendar:
    return Calendar.build(**calendar_config(name))


def _periods(changes: list[list[str]], calendar: str, statuses: set[str]) -> list:
    """Periods spent in `statuses`, from a fixture's status changes."""
    periods, since = [], None
    for when, status in changes:
        at = instant(when, calendar)
        if status in statuses and since is None:
            since = at
        elif status not in statuses and since is not None:
            periods.append((since, at))
            since = None
    return periods


def test_the_copy_of_the_fixtures_matches_the_shared_file():
    if not SHARED_FIXTURES.is_file():
        pytest.skip("the shared fixtures are not beside the checkout")
    assert json.loads(FIXTURES.read_text()) == json.loads(SHARED_FIXTURES.read_text())


TIMED = [e for e in EXAMPLES if "expected_due" in e]


@pytest.mark.parametrize("ex", TIMED, ids=[e["id"] for e in TIMED])
def test_fixture_due_instant(ex):
    cal_name = ex["calendar"]
    calendar = _calendar(cal_name)
    target = timedelta(minutes=ex["target_minutes"])
    created = instant(ex["created"], cal_name)
    changes = ex.get("status_changes", [])
    start, excluded = created, []
    if ex["metric"] == "resolution":
        excluded = _periods(changes, cal_name, PAUSE | {"resolved"})
    if ex["metric"] == "next_response":
        last_reply = instant(ex["staff_public_reply"], cal_name)
        start = min(
            instant(c, cal_name)
            for c in ex["end_user_comments"]
            if instant(c, cal_name) > last_reply
        )
    due = add_business_time(calendar, start, target, excluded=excluded)
    assert due == instant(ex["expected_due"], cal_name)
    # Measuring back gives the target.
    assert business_time_between(calendar, start, due, excluded=excluded) == target
    if "expected_warn_75" in ex:
        warn_75 = add_business_time(calendar, start, target * 3 / 4, excluded=excluded)
        warn_90 = add_business_time(calendar, start, target * 9 / 10, excluded=excluded)
        assert warn_75 == instant(ex["expected_warn_75"], cal_name)
        assert warn_90 == instant(ex["expected_warn_90"], cal_name)
    if "expected_breached_at" in ex:
        assert due == instant(ex["expected_breached_at"], cal_name)


def test_e14_variant_a_comment_late_in_the_day():
    ex = example("E14")
    calendar = _calendar(ex["calendar"])
    start = instant(ex["variant"]["end_user_comments"][0], ex["calendar"])
    due = add_business_time(calendar, start, timedelta(minutes=ex["target_minutes"]))
    assert due == instant(ex["variant"]["expected_due"], ex["calendar"])


def test_e15_restart_mode_starts_a_new_cycle_at_the_reopening():
    ex = example("E15")
    calendar = _calendar(ex["calendar"])
    reopened = instant(ex["status_changes"][1][0], ex["calendar"])
    due = add_business_time(calendar, reopened, timedelta(minutes=ex["target_minutes"]))
    assert due == datetime(2026, 3, 19, 14, 0, tzinfo=UTC)  # the example's note


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"timezone": "Mars/Olympus", "hours": {"mon": [["09:00", "17:00"]]}}, "Unknown time zone"),
        ({"timezone": "UTC", "hours": {"mon": [["17:00", "09:00"]]}}, "ends before"),
        (
            {"timezone": "UTC", "hours": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}},
            "overlap",
        ),
        ({"timezone": "UTC", "hours": {"mon": [], "sun": []}}, "no open interval"),
        ({"timezone": "UTC", "hours": {"mon": [["9am", "17:00"]]}}, "not a time"),
        ({"timezone": "UTC", "hours": {"funday": [["09:00", "17:00"]]}}, "Unknown weekday"),
        (
            {"timezone": "UTC", "hours": {"mon": [["09:00", "17:00"]]}, "holidays": ["25/12"]},
            "not a date",
        ),
    ],
)
def test_bad_calendars_are_refused_with_a_reason(config, message):
    with pytest.raises(CalendarError, match=message):
        Calendar.build(**config)


def test_split_shift_skips_lunch():
    calendar = _calendar("NY-lunch")
    start = instant("2026-03-16T11:00", "NY-lunch")
    assert add_business_time(calendar, start, timedelta(hours=2)) == instant(
        "2026-03-16T14:00", "NY-lunch"
    )


def test_business_hours_stay_local_across_dst_in_london():
    calendar = _calendar("LON")
    # Friday before the UK's spring-forward (29 March 2026) to the Monday after.
    start = instant("2026-03-27T17:30", "LON")  # Friday's closing, 17:30 GMT
    due = add_business_time(calendar, start, timedelta(hours=1))
    assert due == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # Monday 10:00 BST


# Property tests --------------------------------------------------------------------------

ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC"]
# Around the DST changes of 2026 in the zones above, and ordinary weeks.
ANCHORS = [
    datetime(2026, 3, 6, tzinfo=UTC),
    datetime(2026, 3, 27, tzinfo=UTC),
    datetime(2026, 4, 3, tzinfo=UTC),
    datetime(2026, 10, 2, tzinfo=UTC),
    datetime(2026, 10, 23, tzinfo=UTC),
    datetime(2026, 10, 30, tzinfo=UTC),
    datetime(2026, 6, 10, tzinfo=UTC),
]


@st.composite
def calendars(draw) -> Calendar:
    zone = draw(st.sampled_from(ZONES))
    hours = {}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        bounds = sorted(draw(st.sets(st.integers(0, 48), max_size=4)))
        if len(bounds) % 2:
            bounds = bounds[:-1]
        hours[day] = [
            [f"{a // 2:02d}:{a % 2 * 30:02d}", f"{b // 2:02d}:{b % 2 * 30:02d}"]
            for a, b in zip(bounds[::2], bounds[1::2], strict=True)
        ]
    if not any(hours.values()):
        hours["wed"] = [["09:00", "17:00"]]
    holidays = draw(st.lists(st.dates(date(2026, 3, 1), date(2026, 11, 30)), max_size=3))
    return Calendar.build(timezone=zone, hours=hours, holidays=[h.isoformat() for h in holidays])


starts = st.builds(
    lambda anchor, minutes: anchor + timedelta(minutes=minutes),
    st.sampled_from(ANCHORS),
    st.integers(0, 14 * 24 * 60),
)
targets = st.integers(1, 5 * 24 * 60).map(lambda m: timedelta(minutes=m))


@settings(max_examples=150, deadline=None)
@given(calendar=calendars(), start=starts, target=targets)
def test_adding_then_measuring_gives_the_target(calendar, start, target):
    due = add_business_time(calendar, start, target)
    assert due > start
    assert business_time_between(calendar, start, due) == target


@settings(max_examples=150, deadline=None)
@given(calendar=calendars(), start=starts, target=targets)
def test_several_amounts_in_one_walk_equal_each_added_alone(calendar, start, target):
    amounts = (target * 3 / 4, target * 9 / 10, target, timedelta(0))
    assert add_business_times(calendar, start, amounts) == [
        add_business_time(calendar, start, amount) for amount in amounts
    ]


@settings(max_examples=150, deadline=None)
@given(calendar=calendars(), start=starts, target=targets)
def test_due_is_never_inside_closed_time(calendar, start, target):
    due = add_business_time(calendar, start, target)
    just_before = due - timedelta(microseconds=1)
    # The last instant counted is open: the due instant is open or exactly a closing.
    assert is_open(calendar, just_before)


@settings(max_examples=100, deadline=None)
@given(
    calendar=calendars(),
    start=starts,
    target=targets,
    pause_offset=st.integers(0, 3 * 24 * 60),
    pause_minutes=st.integers(1, 3 * 24 * 60),
)
def test_excluded_periods_are_not_counted(calendar, start, target, pause_offset, pause_minutes):
    pause_start = start + timedelta(minutes=pause_offset)
    pause = (pause_start, pause_start + timedelta(minutes=pause_minutes))
    due = add_business_time(calendar, start, target, excluded=[pause])
    assert business_time_between(calendar, start, due, excluded=[pause]) == target
    assert due >= add_business_time(calendar, start, target)


@settings(max_examples=60, deadline=None)
@given(start=starts, target=targets)
def test_calendar_time_is_real_elapsed_time(start, target):
    assert add_business_time(ALWAYS, start, target) == start + target


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("anchor", ANCHORS)
def test_a_24x7_calendar_counts_real_hours_across_dst(zone, anchor):
    every_day = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    calendar = Calendar.build(timezone=zone, hours=every_day)
    for hours in (1, 5, 30, 100):
        assert add_business_time(calendar, anchor, timedelta(hours=hours)) == anchor + timedelta(
            hours=hours
        )


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Australia/Sydney"])
def test_nine_to_five_stays_eight_local_hours_on_dst_days(zone):
    every_day = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    calendar = Calendar.build(timezone=zone, hours=every_day)
    tz = ZoneInfo(zone)
    for anchor in ANCHORS:
        for offset in range(10):
            day = anchor.date() + timedelta(days=offset)
            midnight = datetime.combine(day, time(0), tzinfo=tz)
            next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
            assert business_time_between(calendar, midnight, next_midnight) == timedelta(hours=8)
            opens = add_business_time(calendar, midnight, timedelta(microseconds=1))
            assert opens.astimezone(tz).time() == time(9, 0, 0, 1)


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_the_fixtures_calendars_are_accepted(name):
    assert any(_calendar(name).week)
