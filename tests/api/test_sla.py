"""SLAs through the REST API: every worked example of the fixtures file (imported with
`created_at`, driven with a controllable clock, read back from the ticket's `sla`), the
configuration endpoints and their 422s, due overrides, and the monthly report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.jobs import send_sla_alerts
from bot.services.business_time import Calendar, add_business_time
from tests.api.conftest import Api
from tests.sla_fixtures import EXAMPLES, calendar_config, example, instant


def z(instant_: datetime | None) -> str | None:
    return None if instant_ is None else instant_.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def setup_policy(
    api: Api,
    calendar: str,
    *,
    targets: list[dict[str, Any]],
    reopen_mode: str = "resume",
    is_default: bool = True,
) -> dict[str, Any]:
    response = api.post("/api/calendars", json={"name": calendar, **calendar_config(calendar)})
    assert response.status_code == 201, response.text
    body = {
        "name": f"{calendar} policy",
        "calendar_id": response.json()["id"],
        "is_default": is_default,
        "reopen_mode": reopen_mode,
        "targets": targets,
    }
    response = api.post("/api/sla-policies", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def the_clock(ticket: dict[str, Any], metric: str, cycle: int | None = None) -> dict[str, Any]:
    clocks = [c for c in ticket["sla"]["clocks"] if c["metric"] == metric]
    assert clocks, f"no {metric} clock in {ticket['sla']}"
    if cycle is None:
        return max(clocks, key=lambda c: c["cycle"])
    return next(c for c in clocks if c["cycle"] == cycle)


def play(api: Api, clock, ex: dict[str, Any], *, comments: list[str] | None = None) -> dict:
    """Import the example's ticket at its creation time and replay its events in order."""
    cal = ex["calendar"]
    created = instant(ex["created"], cal)
    clock.set(created)
    ticket = api.file(created_at=z(created), priority="medium")
    events: list[tuple[datetime, str, str]] = []
    for when, status in ex.get("status_changes", []):
        events.append((instant(when, cal), "status", status))
    if "staff_public_reply" in ex:
        events.append((instant(ex["staff_public_reply"], cal), "staff", ""))
    for when in comments if comments is not None else ex.get("end_user_comments", []):
        events.append((instant(when, cal), "end_user", ""))
    for at, kind, value in sorted(events):
        clock.set(at)
        if kind == "status":
            response = api.patch(f"/api/tickets/{ticket['id']}", json={"status": value})
        else:
            author = api.ws.tech if kind == "staff" else api.ws.alice
            response = api.post(
                f"/api/tickets/{ticket['id']}/comments",
                json={
                    "content": "Any news?",
                    "comment_type": "public_reply",
                    "author_id": author.id,
                },
            )
        assert response.status_code in (200, 201), response.text
    return api.get(f"/api/tickets/{ticket['id']}").json()


TIMED = [e for e in EXAMPLES if "expected_due" in e]


@pytest.mark.parametrize("ex", TIMED, ids=[e["id"] for e in TIMED])
def test_fixture_example_through_the_api(api: Api, clock, ex):
    setup_policy(
        api,
        ex["calendar"],
        targets=[{"priority": "medium", "metric": ex["metric"], "minutes": ex["target_minutes"]}],
    )
    ticket = play(api, clock, ex)
    found = the_clock(ticket, ex["metric"])
    assert found["due_at"] == ex["expected_due"]
    if "expected_warn_75" in ex:
        assert found["warn_75_at"] == ex["expected_warn_75"]
        assert found["warn_90_at"] == ex["expected_warn_90"]
    if "expected_breached_at" in ex:
        # The minute job, run after the due instant, finds it breached at that instant.
        clock.set(instant(ex["expected_due"], ex["calendar"]) + timedelta(minutes=1))
        send_sla_alerts(api.db)
        ticket = api.get(f"/api/tickets/{ticket['id']}").json()
        found = the_clock(ticket, ex["metric"])
        assert found["status"] == "breached"
        assert found["breached_at"] == ex["expected_breached_at"]
    else:
        assert found["status"] == "running"
        assert found["breached_at"] is None


def test_e14_variant_through_the_api(api: Api, clock):
    ex = example("E14")
    setup_policy(
        api,
        ex["calendar"],
        targets=[{"priority": "medium", "metric": "next_response", "minutes": 120}],
    )
    ticket = play(api, clock, ex, comments=ex["variant"]["end_user_comments"])
    assert the_clock(ticket, "next_response")["due_at"] == ex["variant"]["expected_due"]


def test_e14_second_comment_does_not_move_the_start(api: Api, clock):
    ex = example("E14")
    setup_policy(
        api,
        ex["calendar"],
        targets=[{"priority": "medium", "metric": "next_response", "minutes": 120}],
    )
    ticket = play(api, clock, ex)
    clocks = [c for c in ticket["sla"]["clocks"] if c["metric"] == "next_response"]
    assert len(clocks) == 1  # the second comment joined the waiting cycle
    assert clocks[0]["started_at"] == z(instant(ex["end_user_comments"][0], ex["calendar"]))


def test_e15_restart_mode_through_the_api(api: Api, clock):
    ex = example("E15")
    setup_policy(
        api,
        ex["calendar"],
        targets=[{"priority": "medium", "metric": "resolution", "minutes": 480}],
        reopen_mode="restart",
    )
    ticket = play(api, clock, ex)
    first, second = the_clock(ticket, "resolution", 1), the_clock(ticket, "resolution", 2)
    assert first["status"] == "met"
    assert second["status"] == "running"
    assert second["due_at"] == "2026-03-19T14:00:00Z"  # the example's note


def test_e21_a_reply_to_a_closed_ticket_opens_a_follow_up_with_fresh_clocks(api: Api, clock):
    ex = example("E21")
    cal = ex["calendar"]
    setup_policy(
        api,
        cal,
        targets=[
            {"priority": "medium", "metric": "first_response", "minutes": 60},
            {"priority": "medium", "metric": "resolution", "minutes": 480},
        ],
    )
    old = play(api, clock, {**ex, "end_user_comments": []})
    reply_at = instant(ex["end_user_comments"][0], cal)
    clock.set(reply_at)
    response = api.post(
        f"/api/tickets/{old['id']}/comments",
        json={
            "content": "It broke again",
            "comment_type": "public_reply",
            "author_id": api.ws.alice.id,
        },
    )
    assert response.status_code == 201, response.text
    follow_up = api.get(f"/api/tickets/{response.json()['ticket_id']}").json()
    assert follow_up["id"] != old["id"]
    assert follow_up["parent_ticket_id"] == old["id"]  # no reopen: a linked follow-up
    old = api.get(f"/api/tickets/{old['id']}").json()
    assert old["status"] == "closed"
    assert the_clock(old, "resolution")["status"] == "met"
    calendar = Calendar.build(**calendar_config(cal))
    for metric, minutes in (("first_response", 60), ("resolution", 480)):
        fresh = the_clock(follow_up, metric)
        assert (fresh["cycle"], fresh["status"]) == (1, "running")
        assert fresh["started_at"] == z(reply_at)  # from 2026-03-23T10:00 local
        assert fresh["due_at"] == z(
            add_business_time(calendar, reply_at, timedelta(minutes=minutes))
        )


def test_a_ticket_without_a_policy_has_no_clocks(api: Api):
    ticket = api.file()
    assert ticket["sla"] == {"policy_id": None, "due_override_at": None, "clocks": []}


def test_a_metric_without_a_target_has_no_clock(api: Api, clock):
    setup_policy(
        api, "NY-9to5", targets=[{"priority": "urgent", "metric": "first_response", "minutes": 30}]
    )
    ticket = api.file(priority="medium")
    assert ticket["sla"]["policy_id"] is not None
    assert ticket["sla"]["clocks"] == []


def test_created_at_in_the_future_is_refused(api: Api, clock):
    clock.set(datetime(2026, 3, 16, 12, tzinfo=UTC))
    response = api.post(
        "/api/tickets",
        json={"title": "x", "requester_id": api.ws.alice.id, "created_at": "2026-03-17T00:00:00Z"},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "created_at"


def test_priority_change_recomputes_and_may_breach_at_once(api: Api, clock):
    setup_policy(
        api,
        "24x7",
        targets=[
            {"priority": "medium", "metric": "resolution", "minutes": 480},
            {"priority": "urgent", "metric": "resolution", "minutes": 60},
        ],
    )
    created = datetime(2026, 3, 16, 13, tzinfo=UTC)
    clock.set(created)
    ticket = api.file(priority="medium")
    assert the_clock(ticket, "resolution")["due_at"] == "2026-03-16T21:00:00Z"
    clock.set(created + timedelta(hours=2))
    ticket = api.patch(f"/api/tickets/{ticket['id']}", json={"priority": "urgent"}).json()
    resolution = the_clock(ticket, "resolution")
    assert resolution["status"] == "breached"
    assert resolution["breached_at"] == "2026-03-16T14:00:00Z"  # the new due instant
    assert resolution["started_at"] == z(created)
    # Back to medium: the breach is never erased.
    ticket = api.patch(f"/api/tickets/{ticket['id']}", json={"priority": "medium"}).json()
    assert the_clock(ticket, "resolution")["breached_at"] == "2026-03-16T14:00:00Z"


def test_due_override_is_kept_over_priority_changes(api: Api, clock):
    setup_policy(
        api,
        "24x7",
        targets=[
            {"priority": "medium", "metric": "resolution", "minutes": 480},
            {"priority": "high", "metric": "resolution", "minutes": 240},
        ],
    )
    clock.set(datetime(2026, 3, 16, 13, tzinfo=UTC))
    ticket = api.file(priority="medium")
    ticket = api.patch(
        f"/api/tickets/{ticket['id']}", json={"due_override_at": "2026-03-20T17:00:00Z"}
    ).json()
    assert ticket["sla"]["due_override_at"] == "2026-03-20T17:00:00Z"
    assert the_clock(ticket, "resolution")["due_at"] == "2026-03-20T17:00:00Z"
    ticket = api.patch(f"/api/tickets/{ticket['id']}", json={"priority": "high"}).json()
    assert the_clock(ticket, "resolution")["due_at"] == "2026-03-20T17:00:00Z"


def test_policy_precedence_ticket_then_company_then_default(api: Api, clock):
    default = setup_policy(
        api, "24x7", targets=[{"priority": "medium", "metric": "resolution", "minutes": 480}]
    )
    premium = api.post(
        "/api/sla-policies",
        json={
            "name": "Premium",
            "targets": [
                {
                    "priority": "medium",
                    "metric": "resolution",
                    "minutes": 60,
                    "business_hours": False,
                }
            ],
        },
    ).json()
    company = api.post(
        "/api/client-companies", json={"name": "Acme", "sla_policy_id": premium["id"]}
    )
    assert company.status_code == 201, company.text
    assert company.json()["sla_policy_id"] == premium["id"]
    clock.set(datetime(2026, 3, 16, 13, tzinfo=UTC))
    plain = api.file()
    assert plain["sla"]["policy_id"] == default["id"]
    acme = api.file(client_company_id=company.json()["id"])
    assert acme["sla"]["policy_id"] == premium["id"]
    assert the_clock(acme, "resolution")["due_at"] == "2026-03-16T14:00:00Z"
    own = api.patch(f"/api/tickets/{acme['id']}", json={"sla_policy_id": default["id"]}).json()
    assert own["sla"]["policy_id"] == default["id"]
    assert the_clock(own, "resolution")["due_at"] == "2026-03-16T21:00:00Z"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"timezone": "Mars/Olympus", "hours": {"mon": [["09:00", "17:00"]]}},
            "timezone",
            "Unknown time zone",
        ),
        ({"timezone": "UTC", "hours": {"mon": [["17:00", "09:00"]]}}, "hours", "ends before"),
        (
            {"timezone": "UTC", "hours": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}},
            "hours",
            "overlap",
        ),
        ({"timezone": "UTC", "hours": {"mon": []}}, "hours", "no open interval"),
    ],
)
def test_bad_calendars_get_a_clear_422(api: Api, body, field, words):
    response = api.post("/api/calendars", json={"name": "Bad", **body})
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert words in response.json()["detail"]


@pytest.mark.parametrize("minutes", [0, -5])
def test_a_target_of_zero_or_less_gets_a_clear_422(api: Api, minutes):
    response = api.post(
        "/api/sla-policies",
        json={
            "name": "Bad",
            "targets": [
                {
                    "priority": "high",
                    "metric": "resolution",
                    "minutes": minutes,
                    "business_hours": False,
                }
            ],
        },
    )
    assert response.status_code == 422
    assert "more than 0 minutes" in response.json()["detail"]


def test_calendar_and_policy_crud(api: Api):
    created = api.post("/api/calendars", json={"name": "Lon", **calendar_config("LON")})
    assert created.status_code == 201
    calendar = created.json()
    assert calendar["id"] and calendar["timezone"] == "Europe/London"
    patched = api.patch(f"/api/calendars/{calendar['id']}", json={"holidays": ["2026-12-25"]})
    assert patched.json()["holidays"] == ["2026-12-25"]
    assert [c["id"] for c in api.get("/api/calendars").json()["items"]] == [calendar["id"]]
    policy = api.post(
        "/api/sla-policies",
        json={
            "name": "Std",
            "calendar_id": calendar["id"],
            "targets": [{"priority": "high", "metric": "first_response", "minutes": 60}],
        },
    ).json()
    assert policy["pause_statuses"] == ["pending"] and policy["reopen_mode"] == "resume"
    refused = api.client.delete(f"/api/calendars/{calendar['id']}", headers=api.headers)
    assert refused.status_code == 422  # a policy uses it
    replaced = api.patch(
        f"/api/sla-policies/{policy['id']}",
        json={"targets": [{"priority": "low", "metric": "resolution", "minutes": 600}]},
    ).json()
    assert [(t["priority"], t["metric"]) for t in replaced["targets"]] == [("low", "resolution")]
    assert (
        api.client.delete(f"/api/sla-policies/{policy['id']}", headers=api.headers).status_code
        == 204
    )
    assert api.get(f"/api/sla-policies/{policy['id']}").status_code == 404
    assert (
        api.client.delete(f"/api/calendars/{calendar['id']}", headers=api.headers).status_code
        == 204
    )


def test_another_organization_cannot_see_or_use_our_policy(api: Api):
    policy = api.post(
        "/api/sla-policies",
        json={
            "name": "Ours",
            "targets": [
                {"priority": "high", "metric": "resolution", "minutes": 60, "business_hours": False}
            ],
        },
    ).json()
    theirs = {"Authorization": f"Bearer {api.other_token}"}
    assert api.client.get(f"/api/sla-policies/{policy['id']}", headers=theirs).status_code == 404
    response = api.client.post(
        "/api/client-companies", json={"name": "X", "sla_policy_id": policy["id"]}, headers=theirs
    )
    assert response.status_code == 422


def test_monthly_report_json_and_csv(api: Api, clock):
    setup_policy(
        api,
        "24x7",
        targets=[
            {"priority": "medium", "metric": "first_response", "minutes": 60},
            {"priority": "high", "metric": "first_response", "minutes": 60},
        ],
    )
    clock.set(datetime(2026, 3, 16, 13, tzinfo=UTC))
    met = api.file(priority="medium")
    api.post(
        f"/api/tickets/{met['id']}/comments",
        json={"content": "On it", "comment_type": "public_reply", "author_id": api.ws.tech.id},
    )
    api.file(priority="high")  # breaches below
    clock.set(datetime(2026, 3, 16, 15, tzinfo=UTC))
    send_sla_alerts(api.db)
    api.file(priority="medium")  # still running
    clock.set(datetime(2026, 4, 2, 15, tzinfo=UTC))
    api.file(priority="medium")  # April: not in March's report
    report = api.get("/api/reports/sla", params={"month": "2026-03"}).json()
    assert report["metrics"]["first_response"] == {
        "met": 1,
        "breached": 1,
        "running": 1,
        "compliance_percent": 50.0,
    }
    by_priority = {
        row["priority"]: row["metrics"]["first_response"] for row in report["by_priority"]
    }
    assert by_priority["high"]["breached"] == 1 and by_priority["medium"]["met"] == 1
    assert report["by_client_company"][0]["metrics"]["first_response"]["running"] == 1
    response = api.get(
        "/api/reports/sla", params={"month": "2026-03"}, headers={"Accept": "text/csv"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    overall = next(r for r in rows if r["group"] == "all" and r["metric"] == "first_response")
    assert (overall["met"], overall["breached"], overall["running"]) == ("1", "1", "1")
    assert overall["compliance_percent"] == "50.0"
    assert api.get("/api/reports/sla", params={"month": "2026-13"}).status_code == 422


def test_a_holiday_added_to_the_calendar_moves_running_clocks(api: Api, clock):
    policy = setup_policy(
        api, "NY-9to5", targets=[{"priority": "medium", "metric": "resolution", "minutes": 480}]
    )
    created = datetime(2026, 12, 22, 15, tzinfo=UTC)  # Tuesday 10:00 in New York
    clock.set(created)
    ticket = api.file(priority="medium")
    # 7 h on Tuesday, the eighth on Wednesday morning.
    assert the_clock(ticket, "resolution")["due_at"] == "2026-12-23T15:00:00Z"
    clock.set(created + timedelta(hours=1))
    holidays = [*calendar_config("NY-9to5")["holidays"], "2026-12-23"]
    patched = api.patch(f"/api/calendars/{policy['calendar_id']}", json={"holidays": holidays})
    assert patched.status_code == 200, patched.text
    ticket = api.get(f"/api/tickets/{ticket['id']}").json()
    resolution = the_clock(ticket, "resolution")
    assert resolution["due_at"] == "2026-12-24T15:00:00Z"  # Wednesday is off now
    assert resolution["status"] == "running" and resolution["started_at"] == z(created)


def test_wider_hours_can_make_a_running_clock_breach_at_its_new_due_instant(api: Api, clock):
    policy = setup_policy(
        api, "NY-9to5", targets=[{"priority": "medium", "metric": "resolution", "minutes": 600}]
    )
    created = datetime(2026, 3, 16, 13, tzinfo=UTC)  # Monday 09:00 in New York
    clock.set(created)
    ticket = api.file(priority="medium")
    assert the_clock(ticket, "resolution")["due_at"] == "2026-03-17T15:00:00Z"  # Tue 11:00
    clock.set(datetime(2026, 3, 17, 0, tzinfo=UTC))  # Monday 20:00 in New York
    all_day = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    patched = api.patch(f"/api/calendars/{policy['calendar_id']}", json={"hours": all_day})
    assert patched.status_code == 200, patched.text
    resolution = the_clock(api.get(f"/api/tickets/{ticket['id']}").json(), "resolution")
    # Ten hours from Monday 09:00 is Monday 19:00, already past: breached at that instant.
    assert (resolution["status"], resolution["breached_at"]) == ("breached", "2026-03-16T23:00:00Z")


def test_a_policy_moved_to_another_calendar_moves_its_running_clocks(api: Api, clock):
    policy = setup_policy(
        api, "NY-9to5", targets=[{"priority": "medium", "metric": "resolution", "minutes": 600}]
    )
    other = api.post("/api/calendars", json={"name": "All week", **calendar_config("24x7")})
    created = datetime(2026, 3, 16, 13, tzinfo=UTC)
    clock.set(created)
    ticket = api.file(priority="medium")
    patched = api.patch(
        f"/api/sla-policies/{policy['id']}", json={"calendar_id": other.json()["id"]}
    )
    assert patched.status_code == 200, patched.text
    resolution = the_clock(api.get(f"/api/tickets/{ticket['id']}").json(), "resolution")
    assert resolution["due_at"] == "2026-03-16T23:00:00Z"
    assert resolution["status"] == "running"


def test_new_tickets_take_a_policys_new_targets_at_once(api: Api, clock):
    policy = setup_policy(
        api, "24x7", targets=[{"priority": "medium", "metric": "resolution", "minutes": 480}]
    )
    clock.set(datetime(2026, 3, 16, 13, tzinfo=UTC))
    first = api.file(priority="medium")
    assert the_clock(first, "resolution")["due_at"] == "2026-03-16T21:00:00Z"
    patched = api.patch(
        f"/api/sla-policies/{policy['id']}",
        json={"targets": [{"priority": "medium", "metric": "resolution", "minutes": 60}]},
    )
    assert patched.status_code == 200, patched.text
    second = api.file(priority="medium")
    assert the_clock(second, "resolution")["due_at"] == "2026-03-16T14:00:00Z"
    # The first ticket keeps the target it started with.
    first = api.get(f"/api/tickets/{first['id']}").json()
    assert the_clock(first, "resolution")["due_at"] == "2026-03-16T21:00:00Z"


def test_companies_removed_in_slack_are_listed_only_when_asked(api: Api):
    from bot.services import client_companies
    from models import ClientCompany, Organization

    acme = api.post("/api/client-companies", json={"name": "Acme"}).json()
    globex = api.post("/api/client-companies", json={"name": "Globex"}).json()
    with api.db.session() as session:
        row = session.get(ClientCompany, globex["id"])
        assert row is not None
        organization = session.get(Organization, row.organization_id)
        assert organization is not None
        client_companies.remove(session, organization=organization, company_id=globex["id"])
    listed = api.get("/api/client-companies").json()["items"]
    assert [(c["name"], c["removed_at"]) for c in listed] == [("Acme", None)]
    everything = api.get("/api/client-companies?include_removed=true").json()["items"]
    assert [c["name"] for c in everything] == ["Acme", "Globex"]
    assert everything[1]["removed_at"] is not None
    assert api.get(f"/api/client-companies/{acme['id']}").json()["removed_at"] is None
