"""Tenancy as a property: people of three workspaces (three organizations) do random things
through Slack and through the REST API -- file tickets, press card buttons, look tickets up
with `/ticket N`, reply, comment, read and change tickets by id, including other
organizations' ids and forged payloads that name them. Afterwards every organization's
data is exactly what its own people did, and nobody ever saw another organization's.

The app runs in single-workspace mode (one bot token, workspace A's) and serves any team id,
creating an organization per team. Requests of teams B and C that Slack would send after a
modal or a button in those workspaces are built here in Slack's shapes and signed, because
the simulator will not open B's modals or show B's cards with A's token.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlmodel import col, select

from bot.api import tokens
from bot.blocks.tickets import card_actions_block_id
from bot.core.db import Database
from bot.ids import Action, Block, Callback, Field
from bot.services import organizations as orgs
from bot.slacksim import APP_ID, SlackSimulator
from models import (
    Member,
    MemberRole,
    Organization,
    OutboxMessage,
    SlackCommentRef,
    SlackMessageRef,
    Ticket,
    TicketComment,
    TicketEvent,
)
from tests.reliability.conftest import World, make_world

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
STATUSES = ["in_progress", "pending", "resolved", "open"]
OPERATIONS = 70


@dataclass
class Expected:
    """What one ticket should look like, from what its organization's people did."""

    id: int
    org: str
    number: int
    title: str
    requester: str  # Slack user id
    status: str = "open"
    comments: list[str] = field(default_factory=list)


@dataclass
class Tenant:
    key: str  # "A", "B", "C": also the tag in every title and comment it writes
    team: str
    tech: str
    requesters: list[str]
    channel: str  # a channel of the workspace (A: the staff channel)
    token: str = ""
    organization_id: int = 0

    @property
    def tag(self) -> str:
        return f"[{self.key}]"


class Tenancy:
    """Three tenants on one app, the operations they perform, and the expected state."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.sim: SlackSimulator = world.sim
        self.rng = rng
        self.serial = itertools.count(1)
        self.tickets: dict[int, Expected] = {}
        # (operation, "own" or "foreign"): proof that the sequence tried both.
        self.tried: Counter[tuple[str, str]] = Counter()
        a = Tenant("A", world.team, world.tech, [world.alice, world.bob], world.staff_channel)
        self.tenants = {"A": a}
        for key, team in (("B", "T0BETA001"), ("C", "T0GAMMA01")):
            self.sim.add_team(team, name=f"Tenant {key}", domain=f"tenant-{key.lower()}")
            tech = self.sim.add_user(team, name=f"tech{key}", real_name=f"Tech {key}")["id"]
            first = self.sim.add_user(team, name=f"req{key}", real_name=f"Req {key}")["id"]
            # C has a person whose user id is also A's Alice (Enterprise Grid shares ids).
            second = self.sim.add_user(
                team,
                world.alice if key == "C" else None,
                name=f"other{key}",
                real_name=f"Other {key}",
            )["id"]
            channel = self.sim.add_channel(team, name="it", members=[tech, first, second])["id"]
            self.tenants[key] = Tenant(key, team, tech, [first, second], channel)
        with world.db.session() as session:
            for tenant in self.tenants.values():
                organization = orgs.get_or_create_organization(
                    session, team_id=tenant.team, name=f"Tenant {tenant.key}"
                )
                if tenant.key == "A":  # A's staff are the members of its staff channel
                    orgs.update_organization_settings(
                        session, organization=organization, staff_channel_id=tenant.channel
                    )
                else:  # B's and C's are marked in the database
                    orgs.create_member(
                        session,
                        organization=organization,
                        name=f"Tech {tenant.key}",
                        role=MemberRole.TECHNICIAN,
                        slack_user_id=tenant.tech,
                    )
                tenant.organization_id = organization.id  # type: ignore[assignment]
                tenant.token = tokens.create_api_token(
                    session, organization=organization, name=f"tenant {tenant.key}"
                ).secret

    # -- helpers -----------------------------------------------------------------------------

    def text(self, tenant: Tenant, what: str) -> str:
        return f"{tenant.tag} {what} {next(self.serial)}"

    def own(self, tenant: Tenant) -> list[Expected]:
        return [t for t in self.tickets.values() if t.org == tenant.key]

    def foreign_tags(self, tenant: Tenant) -> list[str]:
        return [t.tag for t in self.tenants.values() if t is not tenant]

    def pick_ticket(self, tenant: Tenant, operation: str) -> Expected | None:
        """One of the tenant's own tickets or, as often, another tenant's."""
        own = self.own(tenant)
        foreign = [t for t in self.tickets.values() if t.org != tenant.key]
        pool = own if own and (not foreign or self.rng.random() < 0.5) else foreign
        if not pool:
            return None
        picked = self.rng.choice(pool)
        self.tried[operation, "own" if picked.org == tenant.key else "foreign"] += 1
        return picked

    def api(self, tenant: Tenant, method: str, path: str, body: Any = None):
        headers = {"Authorization": f"Bearer {tenant.token}"}
        return self.world.http.request(method, f"/api{path}", json=body, headers=headers)

    def signed_interaction(self, payload: dict[str, Any]):
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.world.driver.raw(body, FORM)

    def interaction(self, tenant: Tenant, user: str, kind: str, **fields: Any) -> dict[str, Any]:
        payload = {
            "type": kind,
            "team": {"id": tenant.team, "domain": f"tenant-{tenant.key.lower()}"},
            "user": {"id": user, "username": user, "name": user, "team_id": tenant.team},
            "api_app_id": APP_ID,
            "token": "slacksim-verification-token",
            "trigger_id": self.sim.new_trigger_id(tenant.team, user),
            "is_enterprise_install": False,
            "enterprise": None,
        }
        payload.update(fields)
        return payload

    def record_new(self, tenant: Tenant, title: str, requester: str) -> None:
        with self.world.db.session() as session:
            ticket = session.exec(select(Ticket).where(Ticket.title == title)).one()
        assert ticket.organization_id == tenant.organization_id
        # Numbers per organization: 1, 2, 3... whatever the other organizations do.
        assert ticket.ticket_number == len(self.own(tenant)) + 1
        self.tickets[ticket.id] = Expected(  # type: ignore[index]
            ticket.id,  # type: ignore[arg-type]
            tenant.key,
            ticket.ticket_number,
            title,
            requester,
        )

    # -- operations --------------------------------------------------------------------------

    def file_in_slack(self, tenant: Tenant) -> None:
        requester = self.rng.choice(tenant.requesters)
        title = self.text(tenant, "printer jam")
        if tenant.key == "A":
            answer = self.world.file_ticket(requester, title)
        else:
            view = {
                "id": f"V0{next(self.serial):08d}",
                "team_id": tenant.team,
                "type": "modal",
                "callback_id": Callback.NEW_TICKET_MODAL,
                "private_metadata": "",
                "hash": "1.abc",
                "state": {
                    "values": {
                        Block.TITLE: {Field.VALUE: {"type": "plain_text_input", "value": title}},
                        Block.DESCRIPTION: {
                            Field.VALUE: {"type": "plain_text_input", "value": "It jams."}
                        },
                    }
                },
            }
            answer = self.signed_interaction(
                self.interaction(tenant, requester, "view_submission", view=view, response_urls=[])
            )
        assert answer.status == 200 and answer.text == "", answer.text
        self.record_new(tenant, title, requester)

    def file_by_api(self, tenant: Tenant) -> None:
        requester = self.rng.choice(tenant.requesters)
        title = self.text(tenant, "vpn down")
        answer = self.api(
            tenant, "POST", "/tickets", {"title": title, "requester_slack_user_id": requester}
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["organization_id"] == tenant.organization_id
        self.record_new(tenant, title, requester)

    def press_card_button(self, tenant: Tenant) -> None:
        target = self.pick_ticket(tenant, "card button")
        if target is None:
            return
        status = self.rng.choice(STATUSES)
        mine = target.org == tenant.key
        card = self.card_of(target) if mine and tenant.key == "A" else None
        if card is not None:  # A's own card, as posted in A's staff channel
            answer = self.world.driver.block_action(
                tenant.team,
                tenant.tech,
                Action.STATUS,
                selected_option_value=status,
                channel_id=tenant.channel,
                message_ts=card["ts"],
            )
        else:  # a card of B or C, or a forged block_id naming another tenant's ticket
            action = {
                "type": "static_select",
                "action_id": Action.STATUS,
                "block_id": card_actions_block_id(target.id),
                "selected_option": {
                    "text": {"type": "plain_text", "text": status},
                    "value": status,
                },
                "action_ts": "1700000000.000001",
            }
            answer = self.signed_interaction(
                self.interaction(
                    tenant,
                    tenant.tech,
                    "block_actions",
                    actions=[action],
                    container={"type": "message", "message_ts": "1700000000.000100"},
                    channel={"id": tenant.channel, "name": "it"},
                    response_url=self.sim.new_response_url(
                        tenant.team, tenant.channel, tenant.tech
                    ),
                )
            )
        assert answer.status == 200, answer.text
        if mine:
            target.status = status

    def card_of(self, ticket: Expected) -> dict[str, Any] | None:
        self.world.deliver()
        cards = [
            c
            for c in self.world.cards()
            if c.get("text", "").startswith(f"Ticket #{ticket.number}:")
        ]
        return cards[0] if cards else None

    def show_number(self, tenant: Tenant) -> None:
        """`/ticket N` for the number of a ticket of this tenant or of another one (whose
        number this tenant may or may not have), or for a number nobody has yet."""
        target = self.pick_ticket(tenant, "/ticket N")
        highest = max((t.number for t in self.tickets.values()), default=0)
        number = target.number if target and self.rng.random() < 0.8 else highest + 1
        before = len(self.sim.ephemerals(tenant.tech))
        answer = self.world.driver.slash_command(tenant.team, tenant.tech, text=str(number))
        assert answer.status == 200
        shown = answer.text + json.dumps(self.sim.ephemerals(tenant.tech)[before:])
        own = next((t for t in self.own(tenant) if t.number == number), None)
        if own is not None:
            assert answer.json["text"] == f"Ticket #{number}"
            assert own.title in shown
        else:
            assert "title" not in answer.text
        for tag in self.foreign_tags(tenant):
            assert tag not in shown, (tenant.key, number, shown[:500])

    def read_by_id(self, tenant: Tenant) -> None:
        target = self.pick_ticket(tenant, "GET")
        if target is None:
            return
        for path in (f"/tickets/{target.id}", f"/tickets/{target.id}/comments"):
            answer = self.api(tenant, "GET", path)
            if target.org == tenant.key:
                assert answer.status_code == 200, answer.text
            else:
                assert answer.status_code == 404, answer.text
                for tag in self.foreign_tags(tenant):
                    assert tag not in answer.text

    def change_by_id(self, tenant: Tenant) -> None:
        target = self.pick_ticket(tenant, "PATCH")
        if target is None:
            return
        status = self.rng.choice(STATUSES)
        answer = self.api(tenant, "PATCH", f"/tickets/{target.id}", {"status": status})
        if target.org == tenant.key:
            assert answer.status_code == 200, answer.text
            target.status = status
        else:
            assert answer.status_code == 404, answer.text

    def comment_by_id(self, tenant: Tenant) -> None:
        target = self.pick_ticket(tenant, "comment")
        if target is None:
            return
        content = self.text(tenant, "api comment")
        answer = self.api(
            tenant,
            "POST",
            f"/tickets/{target.id}/comments",
            {
                "content": content,
                "comment_type": self.rng.choice(["public_reply", "internal_note"]),
            },
        )
        if target.org == tenant.key:
            assert answer.status_code == 201, answer.text
            target.comments.append(content)
        else:
            assert answer.status_code == 404, answer.text

    def list_own(self, tenant: Tenant) -> None:
        answer = self.api(tenant, "GET", "/tickets?limit=200")
        assert answer.status_code == 200, answer.text
        assert sorted(t["id"] for t in answer.json()["items"]) == sorted(
            t.id for t in self.own(tenant)
        )

    def reply_in_slack(self, tenant: Tenant) -> None:
        a_tickets = self.own(self.tenants["A"])
        if not a_tickets:
            return
        target = self.rng.choice(a_tickets)
        self.world.deliver()
        # By title too: a person in two organizations (Slack Connect) has a ticket #N in
        # each, both announced in the same DM channel, in either order.
        received = [
            m
            for m in self.world.dm(target.requester)
            if m.get("text", "").startswith(f"Ticket #{target.number} received: {target.title}")
        ]
        if not received:
            return
        dm_channel = self.sim.dm_channel(self.world.team, target.requester)
        content = self.text(tenant, "reply")
        self.tried["reply", "own" if tenant.key == "A" else "foreign"] += 1
        if tenant.key == "A":  # the requester answers in their ticket's DM thread
            event = self.world.driver.message_event(
                tenant.team, dm_channel, target.requester, content, thread_ts=received[0]["ts"]
            )
            target.comments.append(content)
            if target.status in ("pending", "resolved"):
                target.status = "open"
        else:  # another tenant's person claims to write in that very thread
            ts = f"1800000000.{next(self.serial):06d}"
            event = {
                "type": "message",
                "channel": dm_channel,
                "user": self.rng.choice(tenant.requesters),
                "text": content,
                "ts": ts,
                "thread_ts": received[0]["ts"],
                "event_ts": ts,
                "channel_type": "im",
                "team": tenant.team,
            }
        assert self.world.driver.event(tenant.team, event).status == 200

    def run(self, operations: int) -> None:
        for tenant in self.tenants.values():
            self.file_in_slack(tenant)
            self.file_by_api(tenant)
        steps = [
            (self.file_in_slack, 2),
            (self.file_by_api, 1),
            (self.press_card_button, 3),
            (self.show_number, 2),
            (self.read_by_id, 2),
            (self.change_by_id, 2),
            (self.comment_by_id, 2),
            (self.list_own, 1),
            (self.reply_in_slack, 2),
        ]
        choices = [step for step, weight in steps for _ in range(weight)]
        for _ in range(operations):
            self.rng.choice(choices)(self.rng.choice(list(self.tenants.values())))
        self.world.deliver()

    # -- the property ------------------------------------------------------------------------

    def check(self) -> None:
        by_org_id = {t.organization_id: t for t in self.tenants.values()}
        db = self.world.db
        with db.session() as session:
            tickets = {t.id: t for t in session.exec(select(Ticket)).all()}
            members = {m.id: m for m in session.exec(select(Member)).all()}
            comments = list(session.exec(select(TicketComment).order_by(col(TicketComment.id))))
            events = list(session.exec(select(TicketEvent)).all())
            outbox = list(session.exec(select(OutboxMessage)).all())
            message_refs = list(session.exec(select(SlackMessageRef)).all())
            comment_refs = list(session.exec(select(SlackCommentRef)).all())
            organizations = list(session.exec(select(Organization)).all())
        assert len(organizations) == 3

        assert set(tickets) == set(self.tickets)
        for ticket_id, expected in self.tickets.items():
            ticket = tickets[ticket_id]
            tenant = self.tenants[expected.org]
            assert by_org_id[ticket.organization_id] is tenant
            assert (ticket.ticket_number, ticket.title, ticket.status) == (
                expected.number,
                expected.title,
                expected.status,
            )
            for person in (ticket.requester_id, ticket.assigned_staff_id):
                assert person is None or members[person].organization_id == tenant.organization_id
            assert members[ticket.requester_id].slack_user_id == expected.requester  # type: ignore[index]
            on_ticket = [c for c in comments if c.ticket_id == ticket_id]
            assert [c.content for c in on_ticket] == expected.comments
        for tenant in self.tenants.values():
            numbers = sorted(t.number for t in self.own(tenant))
            assert numbers == list(range(1, len(numbers) + 1))

        # Everything hanging off a ticket belongs to the ticket's organization, and every
        # person it names is a member of that organization.
        def owner(ticket_id: int | None) -> int | None:
            return tickets[ticket_id].organization_id if ticket_id is not None else None

        for comment in comments:
            assert comment.organization_id == owner(comment.ticket_id)
            assert comment.content.startswith(by_org_id[comment.organization_id].tag)
            if comment.author_id is not None:
                assert members[comment.author_id].organization_id == comment.organization_id
        for event in events:
            assert event.organization_id == owner(event.ticket_id)
            if event.actor_id is not None:
                assert members[event.actor_id].organization_id == event.organization_id
        for row in outbox:
            if row.ticket_id is not None:
                assert row.organization_id == owner(row.ticket_id)
            for tag in self.foreign_tags(by_org_id[row.organization_id]):
                assert tag not in json.dumps(row.payload)
        for ref in message_refs:
            assert ref.organization_id == owner(ref.ticket_id)
        comment_org = {c.id: c.organization_id for c in comments}
        for ref in comment_refs:
            assert ref.organization_id == comment_org[ref.comment_id]

        # What Slack shows in workspace A: nothing of B's or C's -- except that the person
        # whose user id C shares with A (one human in an Enterprise Grid) hears about the
        # tickets she filed in C, in her DM with the bot.
        shared_dm = self.sim.dm_channel(self.world.team, self.world.alice)
        with self.sim.workspace.lock:
            a_channels = [
                c.id for c in self.sim.workspace.channels.values() if c.team_id == self.world.team
            ]
        hers = [t.title for t in self.own(self.tenants["C"]) if t.requester == self.world.alice]
        her_threads = {
            m["ts"]
            for m in self.sim.messages(shared_dm)
            if any(title in m.get("text", "") for title in hers)
        }
        for channel_id in a_channels:
            for message in self.sim.messages(channel_id):
                shown = json.dumps(message)
                assert "[B]" not in shown, message
                if "[C]" in shown:
                    assert channel_id == shared_dm, message
                    assert message.get("thread_ts", message["ts"]) in her_threads, message


@pytest.fixture
def tenancy_world(db: Database, sim: SlackSimulator, tmp_path: Path) -> Iterator[World]:
    # No default staff channel: each organization's staff channel is its own setting.
    built = make_world(db, sim, tmp_path / "files", staff_channel_setting=False)
    yield built
    built.runtime.directory.close()


@pytest.mark.parametrize("seed", [7, 2024])
def test_random_operations_of_three_organizations_stay_in_their_own(
    tenancy_world: World, seed: int
):
    tenancy = Tenancy(tenancy_world, random.Random(seed))
    tenancy.run(OPERATIONS)
    assert len(tenancy.tickets) >= 9
    assert {t.org for t in tenancy.tickets.values()} == {"A", "B", "C"}
    for operation in ("card button", "GET", "PATCH", "comment", "/ticket N", "reply"):
        assert tenancy.tried[operation, "own"] and tenancy.tried[operation, "foreign"], (
            operation,
            tenancy.tried,
        )
    tenancy.check()
