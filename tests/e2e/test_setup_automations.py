"""`/ticket setup`: the automations' section edits the same settings as /api/settings."""

from __future__ import annotations

from bot.ids import Block
from bot.services.automation_settings import lifecycle_settings
from tests.e2e.conftest import World, organization_of


def _open_setup(world: World) -> tuple[str, dict]:
    boss = world.sim.add_user(world.team, name="boss", real_name="Bea Boss", is_admin=True)["id"]
    world.driver.slash_command(world.team, boss, text="setup")
    return boss, world.sim.open_views(boss)[-1]


def test_setup_shows_and_saves_the_automations(world: World):
    boss, modal = _open_setup(world)
    assert len(modal["blocks"]) <= 100
    shown = {
        b["block_id"]: b["element"].get("initial_value")
        for b in modal["blocks"]
        if b.get("type") == "input" and b["element"]["type"] == "plain_text_input"
    }
    assert shown[Block.TIMEZONE] == "UTC"
    assert shown[Block.AUTO_CLOSE_DAYS] == "4"
    assert shown[Block.DIGEST_TIME] == "08:30"
    response = world.driver.submit_view(
        world.team,
        boss,
        modal["id"],
        {
            Block.STAFF_CHANNEL: world.staff_channel,
            Block.TIMEZONE: "America/New_York",
            Block.AUTO_CLOSE_DAYS: "1,5",
            Block.PENDING_REMINDERS: "0",
            Block.DIGEST_TIME: "",
            Block.CSAT_ENABLED: "off",
        },
    )
    assert response.status == 200 and not response.text, response.text
    settings = lifecycle_settings(organization_of(world))
    assert settings.timezone == "America/New_York"
    assert settings.auto_close_days == 1.5
    assert settings.pending_reminders_before_resolve is None
    assert settings.digest_time is None
    assert settings.csat_enabled is False
    assert settings.pending_reminder_business_days == 2  # untouched value kept


def test_setup_refuses_bad_automation_values_on_their_field(world: World):
    boss, modal = _open_setup(world)
    for block, value, words in (
        (Block.TIMEZONE, "Mars/Olympus", "not a time zone"),
        (Block.AUTO_CLOSE_DAYS, "soon", "write a number"),
        (Block.DIGEST_TIME, "half past eight", "time of day"),
    ):
        # What an earlier attempt typed stays in the modal, as in Slack: put it right.
        good = {Block.TIMEZONE: "UTC", Block.AUTO_CLOSE_DAYS: "4", Block.DIGEST_TIME: "08:30"}
        bad = world.driver.submit_view(
            world.team,
            boss,
            modal["id"],
            {Block.STAFF_CHANNEL: world.staff_channel, **good, block: value},
        )
        assert bad.json["response_action"] == "errors"
        assert words in bad.json["errors"][block]
    assert lifecycle_settings(organization_of(world)).timezone == "UTC"
