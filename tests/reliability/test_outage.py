"""Slack goes down while people keep working: Ticketbot keeps filing and acknowledging, its
/healthz stays up, and once Slack is back every card, DM, card update and mirrored reply
arrives exactly once and in order per ticket."""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.ids import Action
from bot.slacksim import SlackSimulator
from models import OutboxMessage, OutboxStatus, Ticket
from tests.reliability.conftest import (
    ServeProcess,
    Slack,
    World,
    is_reply,
    make_slack,
    open_database,
    outbox_ids_posted,
    wait_until,
)


@contextmanager
def healthz_watch(server: ServeProcess) -> Iterator[list[int]]:
    """Ask /healthz over and over while the block runs; yields the statuses seen."""
    statuses: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            statuses.append(server.healthz()[0])
            stop.wait(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield statuses
    finally:
        stop.set()
        thread.join(timeout=15)


def last_errors(database) -> list[str]:
    with database.session() as session:
        rows = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.last_error).is_not(None))
        ).all()
        return [row.last_error or "" for row in rows]


def pending(database) -> int:
    with database.session() as session:
        return len(
            session.exec(
                select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
            ).all()
        )


class Desk:
    """What people do in Slack, against a real server, with the answers checked."""

    def __init__(self, slack: Slack, server: ServeProcess) -> None:
        self.slack = slack
        self.sim = slack.sim
        self.driver = server.driver()
        self.modals: dict[str, str] = {}

    def open_modal(self, user: str) -> None:
        assert self.driver.slash_command(self.slack.team, user).status == 200
        (view,) = self.sim.open_views(user)
        self.modals[user] = view["id"]

    def submit(self, user: str, title: str) -> None:
        answer = self.driver.submit_view(
            self.slack.team, user, self.modals.pop(user), {"title": title}
        )
        assert answer.status == 200 and answer.text == "", answer.text

    def set_status(self, number: int, status: str) -> None:
        answer = self.driver.block_action(
            self.slack.team,
            self.slack.tech,
            Action.STATUS,
            selected_option_value=status,
            channel_id=self.slack.staff_channel,
            message_ts=self.slack.card_for(number)["ts"],
        )
        assert answer.status == 200, answer.text

    def assign_to_me(self, number: int) -> None:
        answer = self.driver.block_action(
            self.slack.team,
            self.slack.tech,
            Action.ASSIGN_TO_ME,
            channel_id=self.slack.staff_channel,
            message_ts=self.slack.card_for(number)["ts"],
        )
        assert answer.status == 200, answer.text

    def reply(self, user: str, number: int, text: str) -> None:
        (received,) = [
            m
            for m in self.slack.dm(user)
            if m.get("text", "").startswith(f"Ticket #{number} received")
        ]
        event = self.driver.message_event(
            self.slack.team,
            self.sim.dm_channel(self.slack.team, user),
            user,
            text,
            thread_ts=received["ts"],
        )
        assert self.driver.event(self.slack.team, event).status == 200

    def show(self, number: int) -> None:
        """`/ticket N` answers from the database alone."""
        answer = self.driver.slash_command(self.slack.team, self.slack.tech, text=str(number))
        assert answer.status == 200
        assert answer.json["text"] == f"Ticket #{number}"


def tickets(database) -> list[Ticket]:
    with database.session() as session:
        return list(session.exec(select(Ticket).order_by(col(Ticket.id))).all())


@pytest.mark.slow
def test_tickets_keep_coming_through_an_outage_and_slack_catches_up_exactly_once(
    tmp_path: Path, sim: SlackSimulator, servers: list[ServeProcess]
):
    slack = make_slack(sim, end_users=6)
    ann, ben, cat, dan, eve, fay = slack.users
    server = ServeProcess(
        slack=slack, database_url=f"sqlite:///{tmp_path / 'outage.db'}", workdir=tmp_path
    )
    servers.append(server)
    server.start().wait_ready()
    database = open_database(server.database_url)
    desk = Desk(slack, server)

    # Before the outage: two tickets with their cards and DMs, one of them already assigned,
    # and four people with the new-ticket form open.
    for user, title in ((ann, "Mail bounces"), (ben, "VPN drops")):
        desk.open_modal(user)
        desk.submit(user, title)
    wait_until(lambda: len(slack.cards()) == 2 and slack.dm(ben), what="the first cards")
    desk.assign_to_me(1)
    wait_until(lambda: len(slack.card_thread(1)) == 1, what="the assignment line")
    for user in (cat, dan, eve, fay):
        desk.open_modal(user)

    def phase(start: Callable[[], None], evidence: str, work: Callable[[], None]) -> None:
        start()
        work()
        # The phase lasts until the worker has met this failure on two rows at least.
        wait_until(
            lambda: sum(evidence in e for e in last_errors(database)) >= 2,
            timeout=30,
            what=f"a delivery failing with {evidence!r}",
        )

    sim.timeout_sleep = 1.0  # each held request answers late (a 503), so the phase stays short
    with healthz_watch(server) as health:
        phase(
            lambda: sim.set_outage("error"),
            "internal_error",
            lambda: (
                desk.submit(cat, "Printer offline"),
                desk.set_status(1, "in_progress"),
                desk.reply(ben, 2, "Still dropping every 5 minutes"),
                desk.show(1),
            ),
        )
        phase(
            lambda: sim.set_outage("timeout"),
            "timeout",
            lambda: (
                desk.submit(dan, "Laptop won't boot"),
                desk.set_status(2, "in_progress"),
                desk.reply(ann, 1, "Bounces come from the CEO's address"),
            ),
        )
        phase(
            lambda: sim.set_outage("refuse"),
            "refused",
            lambda: (
                desk.submit(eve, "New starter Monday"),
                desk.set_status(1, "pending"),
                desk.reply(ben, 2, "Now it is every minute"),
                desk.show(2),
            ),
        )
        phase(
            lambda: (sim.set_outage(None), sim.rate_limit_next(None, retry_after=2, count=6)),
            "ratelimited",
            lambda: (
                desk.submit(fay, "Teams has no sound"),
                desk.set_status(2, "resolved"),
                desk.reply(ann, 1, "Here is the bounce message"),
            ),
        )
        # Slack is back: the outbox drains by itself (bounded by the backoffs so far).
        wait_until(lambda: pending(database) == 0, timeout=120, what="the outbox to drain")
        status, body = server.healthz()
        assert status == 200 and body["outbox"] == {"pending": 0, "failed": 0}
    assert len(health) >= 4 and set(health) == {200}

    filed = tickets(database)
    assert [(t.ticket_number, t.title) for t in filed] == [
        (1, "Mail bounces"),
        (2, "VPN drops"),
        (3, "Printer offline"),
        (4, "Laptop won't boot"),
        (5, "New starter Monday"),
        (6, "Teams has no sound"),
    ]
    with database.session() as session:
        rows = list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())
    assert {r.status for r in rows} == {OutboxStatus.SENT}

    # Exactly once: every posted row is in Slack once; each card and "received" DM once.
    posted = outbox_ids_posted(sim)
    assert sorted(posted) == [r.id for r in rows if r.method == "chat.postMessage"]
    assert set(posted.values()) == {1}
    assert sorted(c["text"] for c in slack.cards()) == sorted(
        f"Ticket #{t.ticket_number}: {t.title}" for t in filed
    )
    for user, numbers in ((ann, [1]), (ben, [2]), (cat, [3]), (dan, [4]), (eve, [5]), (fay, [6])):
        received = [m["text"] for m in slack.dm(user) if not is_reply(m)]
        assert received == [f"Ticket #{n} received: {filed[n - 1].title}" for n in numbers]

    # Card updates: one applied per update row, and the cards show the final state.
    updates = [r for r in rows if r.method == "chat.update"]
    # (Comments redraw the card too, coalesced: a redraw waiting in the outbox serves all
    # changes made meanwhile, so how many depends on when the worker ran.)
    assert len([c for c in sim.calls_to("chat.update") if c.ok]) == len(updates)
    assert "Open" in str(slack.card_for(1)["blocks"])  # reopened by Ann's last reply
    assert "Resolved" in str(slack.card_for(2)["blocks"])

    # In order per ticket: the card threads read as things happened.
    # Lines name people as Ticketbot knows them when the line is posted: Tom's profile may
    # not have been read yet in the outage (he is then named by his handle, tech1).
    # Each line is named when it is posted, so a line may use either name.
    def lines(number: int) -> list[str]:
        return [re.sub(r"^Tech1 ", "Tom ", m["text"]) for m in slack.card_thread(number)]

    tech = "Tom"
    assert lines(1) == [
        f"{tech} took this",
        f"{tech} set status to *In progress*",
        f":speech_balloon: *<@{ann}>* (requester) replied:\nBounces come from the CEO's address",
        f"{tech} set status to *Pending*",
        f":speech_balloon: *<@{ann}>* (requester) replied:\nHere is the bounce message",
        "User answered: back to *Open*",  # Ann's real name is "User 0"
    ]
    assert lines(2) == [
        f":speech_balloon: *<@{ben}>* (requester) replied:\nStill dropping every 5 minutes",
        f"{tech} set status to *In progress*",
        f":speech_balloon: *<@{ben}>* (requester) replied:\nNow it is every minute",
        f"{tech} set status to *Resolved*",
    ]
    # ...and every lane of every ticket reached Slack in the order its rows were written.
    assert_posted_in_row_order(sim, rows)


def assert_posted_in_row_order(sim: SlackSimulator, rows: list[OutboxMessage]) -> None:
    """Per (ticket, lane), the outbox ids of posted messages appear in Slack's channels and
    threads in increasing order. Messages of no ticket (the morning digests, which the
    server's minute job may post during the test) are in order per conversation only."""
    lane_of = {r.id: (r.ticket_id, r.lane) for r in rows}
    with sim.workspace.lock:
        channel_ids = list(sim.workspace.channels)
    seen: dict[Any, list[int]] = defaultdict(list)
    for channel_id in channel_ids:
        for message in sim.messages(channel_id):  # posting order
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if "outbox_id" in payload:
                ticket_id, lane = lane_of[payload["outbox_id"]]
                key = (ticket_id, lane) if ticket_id is not None else (channel_id, lane)
                seen[key].append(payload["outbox_id"])
    assert seen
    for lane, ids in seen.items():
        assert ids == sorted(ids), lane


# -- a :ticket: reaction while Slack is down -------------------------------------------------


def test_a_ticket_reaction_during_an_outage_is_filed_once_slack_is_back(world: World):
    world.file_ticket(world.alice, "Warm-up")  # the bot's identity and staff list are known
    world.deliver()
    message = world.sim.post_user_message(world.team, world.general, world.bob, "Door badge dead")
    reaction = world.driver.reaction_added(
        world.team, world.tech, "ticket", world.general, message["ts"]
    )
    world.sim.set_outage("error")
    first = world.driver.event(world.team, reaction, event_id="Ev0OUTAGE01")
    world.sim.set_outage(None)
    if first.status != 200:
        # Refusing the delivery is fine too: Slack retries it, and the retry must work.
        retried = world.driver.event(
            world.team, reaction, event_id="Ev0OUTAGE01", retry_num=1, retry_reason="http_error"
        )
        assert retried.status == 200
    world.deliver()
    assert [t.title for t in world.tickets()] == ["Warm-up", "Door badge dead"]


def test_a_server_started_during_an_outage_does_not_ask_slack_before_every_ack(world: World):
    world.sim.set_outage("error")
    for _ in range(3):
        answer = world.driver.slash_command(world.team, world.alice, text="help")
        assert answer.status == 200 and "/ticket" in answer.json["text"]
    world.sim.set_outage(None)
    # The code's own promise: "learnt once, never on the ack path twice".
    assert len(world.sim.calls_to("auth.test")) <= 1
