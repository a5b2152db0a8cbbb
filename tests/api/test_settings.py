"""REST: GET/PATCH /api/settings (the organization's time zone and automations)."""

from __future__ import annotations

import pytest

from models import Organization
from tests.api.conftest import Api

DEFAULTS = {
    "timezone": "UTC",
    "auto_close_days": 4,
    "pending_reminder_business_days": 2,
    "pending_reminders_before_resolve": 2,
    "csat_enabled": True,
    "csat_sample_percent": 100,
    "csat_cooldown_hours": 24,
    "digest_time": "08:30",
}


def test_defaults(api: Api):
    response = api.get("/api/settings")
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_patch_changes_only_what_is_named_and_is_per_organization(api: Api):
    response = api.patch(
        "/api/settings",
        json={"timezone": "Europe/Paris", "auto_close_days": 2.5, "digest_time": "7:05"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        **DEFAULTS,
        "timezone": "Europe/Paris",
        "auto_close_days": 2.5,
        "digest_time": "07:05",
    }
    assert api.get("/api/settings").json()["auto_close_days"] == 2.5
    other = api.client.get("/api/settings", headers={"Authorization": f"Bearer {api.other_token}"})
    assert other.json() == DEFAULTS
    with api.db.session() as session:
        organization = session.get(Organization, api.ws.organization.id)
        assert organization is not None
        assert organization.settings["timezone"] == "Europe/Paris"
        # Other settings of the organization are kept.
        assert organization.categories == api.ws.organization.categories


def test_zero_or_null_turns_an_automation_off(api: Api):
    response = api.patch(
        "/api/settings",
        json={
            "auto_close_days": 0,
            "pending_reminder_business_days": None,
            "csat_sample_percent": 0,
            "digest_time": None,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["auto_close_days"] is None
    assert body["pending_reminder_business_days"] is None
    assert body["csat_sample_percent"] is None
    assert body["digest_time"] is None


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "not a time zone"),
        ({"timezone": None}, "timezone", "IANA time zone"),
        ({"auto_close_days": -1}, "auto_close_days", "greater than or equal to 0"),
        ({"auto_close_days": "four"}, "auto_close_days", "valid number"),
        ({"auto_close_days": True}, "auto_close_days", "valid number"),
        ({"csat_sample_percent": 150}, "csat_sample_percent", "less than or equal to 100"),
        ({"pending_reminders_before_resolve": 1.5}, "pending_reminders_before_resolve", "integer"),
        ({"csat_enabled": "yes"}, "csat_enabled", "valid boolean"),
        ({"csat_enabled": None}, "csat_enabled", "true or false"),
        ({"digest_time": "25:00"}, "digest_time", "pattern"),
        ({"digest_time": "8.30"}, "digest_time", "pattern"),
        ({"auto_clse_days": 3}, "auto_clse_days", "check its spelling"),
    ],
)
def test_bad_values_are_clear_422s_and_change_nothing(api: Api, body, field, words):
    response = api.patch("/api/settings", json={"auto_close_days": 9, **body})
    assert response.status_code == 422, response.text
    detail = response.json()
    assert words in str(detail), detail
    assert field in str(detail)
    assert api.get("/api/settings").json()["auto_close_days"] == 4


def test_not_an_object_is_a_422(api: Api):
    response = api.patch("/api/settings", json=[1, 2])
    assert response.status_code == 422


def test_needs_a_token(api: Api):
    assert api.client.get("/api/settings").status_code == 401
