"""One ticket walked through its SLA with a controllable clock: the card's SLA line,
warnings at 75 % and 90 %, the breach, a pending pause, a reopen and a follow-up. After
each step the test asserts exactly what Slack received, so each message arrives once and
at its time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.api import tokens
from bot.ids import Action, Block
from bot.jobs import send_sla_alerts
from bot.services import organizations as orgs
from bot.services import sla_admin
from tests.e2e.conftest import World

T0 = datetime(2026, 3, 16, 13, 0, tzinfo=UTC)  # a Monday


class Slack:
    """What Slack received since the last look: new posts and card updates."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.seen = len(world.sim.calls)

    def new(self) -> list[tuple[str, str, str]]:
        """(where, kind, text) of each chat call since the last look, sorted (lanes are
        delivered concurrently); where is "staff", "thread", "dm:tech" or a channel."""
        calls = self.world.sim.calls[self.seen :]
        self.seen += len(calls)
        found = []
        for call in calls:
            if call.method not in ("chat.postMessage", "chat.update") or not call.ok:
                continue
            channel = call.args.get("channel", "")
            if channel == self.world.staff_channel:
                where = "thread" if call.args.get("thread_ts") else "staff"
            elif call.response and str(call.response.get("channel", "")).startswith("D"):
                where = f"dm:{self._dm_user(call.response['channel'])}"
            else:
                where = channel
            kind = "update" if call.method == "chat.update" else "post"
            found.append((where, kind, str(call.args.get("text", ""))))
        return sorted(found)

    def _dm_user(self, channel: str) -> str:
        for user in (self.world.tech, self.world.tech2, self.world.alice, self.world.bob):
            if self.world.sim.dm_channel(self.world.team, user) == channel:
                return "tech" if user == self.world.tech else user
        return channel


def sla_line(world: World, number: int = 1) -> str:
    card = next(c for c in world.cards() if c["text"].startswith(f"Ticket #{number}:"))
    for block in card.get("blocks", []):
        if block["type"] != "context":
            continue
        text = block["elements"][0].get("text", "")
        if any(w in text for w in ("First response", "Next response", "Resolution")):
            return str(text)
    raise AssertionError(f"card #{number} has no SLA line: {card.get('blocks')}")


def configure(world: World) -> None:
    with world.db.session() as session:
        organization = orgs.get_or_create_organization(session, team_id=world.team, name="Acme IT")
        sla_admin.save_policy(
            session,
            organization=organization,
            values={"name": "Calendar time", "is_default": True},
            targets=[
                sla_admin.TargetInput("medium", "first_response", 60, False),
                sla_admin.TargetInput("medium", "resolution", 240, False),
            ],
        )


def at(world: World, clock: Any, minutes: int) -> None:
    """Move the clock to T0 + minutes and run what the scheduler would: the minute job,
    then delivery."""
    clock.set(T0 + timedelta(minutes=minutes))
    send_sla_alerts(world.db)
    world.deliver()


def press(world: World, user: str, action_id: str, number: int = 1, **kwargs: Any) -> None:
    card = next(c for c in world.cards() if c["text"].startswith(f"Ticket #{number}:"))
    world.driver.block_action(
        world.team, user, action_id, channel_id=world.staff_channel, message_ts=card["ts"], **kwargs
    )
    world.deliver()


def alice_replies(world: World, text: str) -> None:
    dm = world.sim.dm_channel(world.team, world.alice)
    root = next(
        m for m in world.dm(world.alice) if m.get("text", "").startswith("Ticket #1 received")
    )
    world.driver.event(
        world.team,
        world.driver.message_event(world.team, dm, world.alice, text, thread_ts=root["ts"]),
    )
    world.deliver()


def reply_to_requester(world: World, text: str) -> None:
    press(world, world.tech, Action.REPLY_TO_REQUESTER)
    modal = world.open_modal(world.tech)
    world.driver.submit_view(
        world.team, world.tech, modal["id"], {modal["blocks"][1]["block_id"]: text}
    )
    world.deliver()


def sla_posts(found: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    return [
        (where, text)
        for where, kind, text in found
        if kind == "post" and "Ticket #" in text and ("due in" in text or "breached" in text)
    ]


def test_one_ticket_through_warning_breach_pause_reopen_and_follow_up(world: World, clock):
    configure(world)
    clock.set(T0)
    world.file_ticket(world.alice, "VPN drops every hour")
    world.deliver()
    press(world, world.tech, Action.ASSIGN_TO_ME)
    slack = Slack(world)
    assert sla_line(world) == "First response due in 1 h · Mon 14:00"

    at(world, clock, 44)
    assert slack.new() == []  # nothing before 75 %

    at(world, clock, 45)  # 75 % of the first response: a DM to the assignee, once
    assert slack.new() == [
        (
            "dm:tech",
            "post",
            ":warning: Ticket #1 (VPN drops every hour): first response due in "
            "15 m (Mon 14:00); 75% of the time is used.",
        ),
    ]
    at(world, clock, 46)
    assert slack.new() == []

    at(world, clock, 54)  # 90 %: the DM again and the card's thread
    text_90 = (
        ":warning: Ticket #1 (VPN drops every hour): first response due in 6 m (Mon 14:00); "
        "90% of the time is used."
    )
    assert slack.new() == [("dm:tech", "post", text_90), ("thread", "post", text_90)]

    at(world, clock, 60)  # breach: the card's thread and the card's SLA line
    card_update, breach = slack.new()
    assert breach == (
        "thread",
        "post",
        ":red_circle: Ticket #1 (VPN drops every hour): first response breached. It was due "
        "Mon 14:00.",
    )
    assert card_update[:2] == ("staff", "update")
    assert sla_line(world) == ":red_circle: *First response breached*"
    at(world, clock, 61)
    assert slack.new() == []

    clock.set(T0 + timedelta(minutes=70))
    reply_to_requester(world, "Restarting the VPN gateway now")
    assert sla_line(world) == "Resolution due in 2 h 50 m · Mon 17:00"

    clock.set(T0 + timedelta(minutes=90))
    press(world, world.tech, Action.STATUS, selected_option_value="pending")
    assert sla_line(world) == "Resolution paused"
    slack.new()
    at(world, clock, 300)  # long past the original due instant: paused clocks do not fire
    assert sla_posts(slack.new()) == []

    clock.set(T0 + timedelta(minutes=310))
    alice_replies(world, "Still dropping")  # back to open: 220 minutes excluded
    assert sla_line(world) == "Resolution due in 2 h 30 m · Mon 20:40"
    slack.new()
    at(world, clock, 400)  # 75 % of resolution: 180 counted minutes at T0 + 400
    assert sla_posts(slack.new()) == [
        (
            "dm:tech",
            ":warning: Ticket #1 (VPN drops every hour): resolution due in 1 h "
            "(Mon 20:40); 75% of the time is used.",
        ),
    ]

    clock.set(T0 + timedelta(minutes=405))
    press(world, world.tech, Action.STATUS, selected_option_value="resolved")
    # Nothing runs any more: the card tells the outcome plainly, the breach included.
    assert sla_line(world) == "Resolution met · first response breached"
    clock.set(T0 + timedelta(minutes=425))
    alice_replies(world, "It is back")  # resolved -> reopened, resume: 20 more minutes off
    assert sla_line(world) == "Resolution due in 55 m · Mon 21:00"
    slack.new()
    at(world, clock, 426)  # the 75 % warning was sent this cycle already: not again
    assert sla_posts(slack.new()) == []
    at(world, clock, 456)  # 90 %: 216 counted minutes
    assert [where for where, _ in sla_posts(slack.new())] == ["dm:tech", "thread"]

    clock.set(T0 + timedelta(minutes=470))
    press(world, world.tech, Action.STATUS, selected_option_value="closed")
    clock.set(T0 + timedelta(minutes=500))
    alice_replies(world, "New problem: printer")  # closed: a follow-up with fresh clocks
    assert sla_line(world, 2) == "First response due in 1 h · Mon 22:20"
    assert sla_line(world, 1) == "Resolution met · first response breached"
    slack.new()
    at(world, clock, 545)  # the follow-up's 75 %: it kept #1's assignee, who gets the DM
    assert sla_posts(slack.new()) == [
        (
            "dm:tech",
            ":warning: Ticket #2 (Follow-up to #1: VPN drops every hour): first "
            "response due in 15 m (Mon 22:20); 75% of the time is used.",
        ),
    ]


def test_setup_picks_the_default_policy_and_each_client_companys(world: World):
    boss = world.sim.add_user(world.team, name="boss", real_name="Bea Boss", is_admin=True)["id"]
    with world.db.session() as session:
        organization = orgs.get_or_create_organization(session, team_id=world.team, name="Acme IT")
        standard = sla_admin.save_policy(
            session,
            organization=organization,
            values={"name": "Standard"},
            targets=[sla_admin.TargetInput("medium", "resolution", 480, False)],
        )
        premium = sla_admin.save_policy(
            session,
            organization=organization,
            values={"name": "Premium"},
            targets=[sla_admin.TargetInput("medium", "resolution", 60, False)],
        )
        globex = orgs.create_client_company(session, organization=organization, name="Globex")
        standard_id, premium_id, globex_id = standard.id, premium.id, globex.id
    world.driver.slash_command(world.team, boss, text="setup")
    modal = world.sim.open_views(boss)[-1]
    labels = [b["label"]["text"] for b in modal["blocks"] if "label" in b]
    assert labels[-2:] == ["Default policy", "Policy for Globex"]
    response = world.driver.submit_view(
        world.team,
        boss,
        modal["id"],
        {
            Block.STAFF_CHANNEL: world.staff_channel,
            "Default policy": str(standard_id),
            "Policy for Globex": str(premium_id),
        },
    )
    assert response.status == 200 and not response.text, response.text
    with world.db.session() as session:
        from models import ClientCompany, SlaPolicy

        assert session.get(SlaPolicy, standard_id).is_default
        assert session.get(ClientCompany, globex_id).sla_policy_id == premium_id
    # Opened again, the modal shows what was saved.
    world.driver.slash_command(world.team, boss, text="setup")
    modal = world.sim.open_views(boss)[-1]
    menus = {
        b["label"]["text"]: b["element"]["initial_option"]["text"]["text"]
        for b in modal["blocks"]
        if b.get("element", {}).get("type") == "static_select" and "olicy" in b["label"]["text"]
    }
    assert menus == {"Default policy": "Standard", "Policy for Globex": "Premium"}


def test_a_technician_who_switched_sla_warnings_off_gets_no_dm(world: World, clock):
    configure(world)
    clock.set(T0)
    world.file_ticket(world.alice, "VPN drops every hour")
    world.deliver()
    press(world, world.tech, Action.ASSIGN_TO_ME)
    world.driver.event(world.team, world.driver.app_home_opened(world.team, world.tech))
    home = world.sim.home_view(world.team, world.tech)
    assert home is not None
    world.driver.block_action(
        world.team,
        world.tech,
        Action.NOTIFICATIONS,
        view_id=home["id"],
        value=["assignment", "requester_reply", "digest"],
    )
    slack = Slack(world)
    at(world, clock, 45)  # 75 %: the assignee's DM only, and it is switched off
    assert slack.new() == []
    at(world, clock, 54)  # 90 %: the card's thread still gets it; no DM
    assert [where for where, _, _ in slack.new()] == ["thread"]


def test_a_calendar_edit_redraws_the_cards_it_moves(world: World, clock):
    with world.db.session() as session:
        organization = orgs.get_or_create_organization(session, team_id=world.team, name="Acme IT")
        calendar = sla_admin.save_calendar(
            session,
            organization=organization,
            values={
                "name": "Office",
                "timezone": "UTC",
                "hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            },
        )
        sla_admin.save_policy(
            session,
            organization=organization,
            values={"name": "Office hours", "is_default": True, "calendar_id": calendar.id},
            targets=[sla_admin.TargetInput("medium", "first_response", 120, True)],
        )
        calendar_id = calendar.id
        token = tokens.create_api_token(session, organization=organization, name="admin")
    clock.set(T0)  # Monday 13:00 UTC
    world.file_ticket(world.alice, "VPN drops every hour")
    world.deliver()
    assert sla_line(world) == "First response due in 2 h · Mon 15:00"
    clock.set(T0 + timedelta(minutes=10))
    response = world.http.patch(
        f"/api/calendars/{calendar_id}",
        json={"hours": {d: [["09:00", "14:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}},
        headers={"Authorization": f"Bearer {token.secret}"},
    )
    assert response.status_code == 200, response.text
    world.deliver()
    # One hour left on Monday, the second on Tuesday from 09:00.
    assert sla_line(world) == "First response due in 20 h 50 m · Tue 10:00"
