"""Slack retries an event it thinks was not acknowledged: the same `event_id` again with
`X-Slack-Retry-Num` 1, 2, 3. However many copies arrive, and wherever they land, the event
takes effect once: one ticket, one card, one DM, one mirrored reply."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from bot.core.db import Database
from bot.slacksim import DriverResponse, SlackDriver
from models import (
    OutboxMessage,
    OutboxStatus,
    SlackCommentRef,
    SlackEventReceipt,
    Ticket,
    TicketComment,
)
from tests.reliability.conftest import (
    ServeProcess,
    Slack,
    World,
    dedicated_postgres_database,
    is_reply,
    make_slack,
    needs_postgres,
    open_database,
    outbox_ids_posted,
    wait_until,
)

RETRY_REASONS = ("http_timeout", "http_error", "connection_failed")


def deliveries(
    driver: SlackDriver, team: str, event: dict[str, Any], event_id: str, numbers=(0, 1, 2, 3)
) -> list[DriverResponse]:
    """Delivery number 0 is Slack's first; 1-3 are its retries (with the retry headers)."""
    return [
        driver.event(
            team,
            event,
            event_id=event_id,
            retry_num=n or None,
            retry_reason=RETRY_REASONS[n - 1] if n else None,
        )
        for n in numbers
    ]


def count(db: Database, model: type) -> int:
    with db.session() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


# -- in process ----------------------------------------------------------------------------


def test_a_ticket_reaction_delivered_four_times_files_one_ticket(world: World):
    message = world.sim.post_user_message(
        world.team, world.general, world.alice, "Scanner jams\nEvery page since Monday"
    )
    reaction = world.driver.reaction_added(
        world.team, world.tech, "ticket", world.general, message["ts"]
    )
    answers = deliveries(world.driver, world.team, reaction, "Ev0RETRY0001")
    assert [a.status for a in answers] == [200] * 4
    world.deliver()
    assert [(t.ticket_number, t.title) for t in world.tickets()] == [(1, "Scanner jams")]
    assert [c["text"] for c in world.cards()] == ["Ticket #1: Scanner jams"]
    assert [m["text"] for m in world.dm(world.alice)] == [
        f"Tom filed your message in <#{world.general}> as ticket #1: Scanner jams"
    ]
    source_thread = world.sim.thread(world.general, message["ts"])[1:]
    assert [m["text"] for m in source_thread] == [
        ":ticket: Filed as ticket #1. The IT team will follow up."
    ]
    assert count(world.db, SlackEventReceipt) == 1
    assert all(n == 1 for n in outbox_ids_posted(world.sim).values())


def test_a_requester_reply_delivered_four_times_is_one_comment(world: World):
    world.file_ticket(world.alice, "Monitor flickers")
    world.deliver()
    (received,) = world.dm(world.alice)
    dm_channel = world.sim.dm_channel(world.team, world.alice)
    reply = world.driver.message_event(
        world.team, dm_channel, world.alice, "It flickers <!here> at 9am", thread_ts=received["ts"]
    )
    answers = deliveries(world.driver, world.team, reply, "Ev0RETRY0002")
    assert [a.status for a in answers] == [200] * 4
    world.deliver()
    (ticket,) = world.tickets()
    with world.db.session() as session:
        comments = session.exec(select(TicketComment)).all()
    assert [c.content for c in comments] == ["It flickers <!here> at 9am"]
    (card,) = world.cards()
    with world.db.session() as session:
        refs = session.exec(select(SlackCommentRef).order_by(col(SlackCommentRef.id))).all()
    # The reply, then its one copy in the staff thread (which follows its edits).
    assert [(r.channel_id, r.ts == reply["ts"]) for r in refs] == [
        (dm_channel, True),
        (world.staff_channel, False),
    ]
    mirrored = world.sim.thread(world.staff_channel, card["ts"])[1:]
    assert [m["text"] for m in mirrored] == [
        f":speech_balloon: *<@{world.alice}>* (requester) replied:\n"
        "It flickers &lt;!here&gt; at 9am"
    ]
    assert all(n == 1 for n in outbox_ids_posted(world.sim).values())
    assert ticket.ticket_number == 1


def test_an_event_that_only_ever_arrives_as_retries_still_takes_effect_once(world: World):
    world.file_ticket(world.bob, "Keyboard sticky")
    world.deliver()
    (received,) = world.dm(world.bob)
    dm_channel = world.sim.dm_channel(world.team, world.bob)
    reply = world.driver.message_event(
        world.team, dm_channel, world.bob, "Coffee was involved", thread_ts=received["ts"]
    )
    # The first delivery never reached us (Slack saw a timeout); only its retries do.
    answers = deliveries(world.driver, world.team, reply, "Ev0RETRY0003", numbers=(1, 2, 3))
    assert [a.status for a in answers] == [200] * 3
    world.deliver()
    with world.db.session() as session:
        assert [c.content for c in session.exec(select(TicketComment)).all()] == [
            "Coffee was involved"
        ]


# -- two `ticketbot serve` processes on one PostgreSQL --------------------------------------


def concurrently(calls: list[Any]) -> list[DriverResponse]:
    """Run the calls at the same moment (threads released by one barrier)."""
    barrier = threading.Barrier(len(calls))
    answers: list[DriverResponse | None] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            answers[index] = calls[index]()
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return [a for a in answers if a is not None]


def four_deliveries_across(
    servers: list[ServeProcess], team: str, event: dict[str, Any], event_id: str
) -> list[DriverResponse]:
    """Slack's first delivery and its three retries, alternating between the servers (as a
    load balancer would), all sent at the same moment."""
    drivers = [server.driver() for server in servers]

    def delivery(n: int):
        driver = drivers[n % len(drivers)]
        return lambda: deliveries(driver, team, event, event_id, numbers=(n,))[0]

    return concurrently([delivery(n) for n in range(4)])


def settled(database) -> bool:
    with database.session() as session:
        pending = session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        ).one()
    return pending == 0


@needs_postgres
@pytest.mark.slow
def test_retries_spread_over_two_servers_take_effect_once(
    tmp_path: Path, sim, servers: list[ServeProcess]
):
    slack: Slack = make_slack(sim)
    requester = slack.users[0]
    with dedicated_postgres_database() as url:
        # The first server migrates the empty database; the second finds it migrated.
        first = ServeProcess(slack=slack, database_url=url, workdir=tmp_path, name="first")
        second = ServeProcess(slack=slack, database_url=url, workdir=tmp_path, name="second")
        servers.extend([first, second])
        first.start().wait_ready()
        second.start().wait_ready()
        database = open_database(url)
        try:
            message = sim.post_user_message(
                slack.team, slack.general, requester, "Projector dead\nRoom 4, no signal"
            )
            reaction = first.driver().reaction_added(
                slack.team, slack.tech, "ticket", slack.general, message["ts"]
            )
            answers = four_deliveries_across([first, second], slack.team, reaction, "Ev0TWO0001")
            assert [a.status for a in answers] == [200] * 4
            wait_until(lambda: settled(database) and slack.dm(requester), what="card and DM")
            (received,) = slack.dm(requester)

            reply = first.driver().message_event(
                slack.team,
                sim.dm_channel(slack.team, requester),
                requester,
                "Tried another cable, same",
                thread_ts=received["ts"],
            )
            answers = four_deliveries_across([second, first], slack.team, reply, "Ev0TWO0002")
            assert [a.status for a in answers] == [200] * 4
            wait_until(
                lambda: settled(database) and len(slack.card_thread(1)) >= 1,
                what="the mirrored reply",
            )

            with database.session() as session:
                tickets = session.exec(select(Ticket).order_by(col(Ticket.id))).all()
                comments = session.exec(select(TicketComment)).all()
                receipts = session.exec(select(SlackEventReceipt)).all()
                rows = session.exec(select(OutboxMessage)).all()
            assert [(t.ticket_number, t.title) for t in tickets] == [(1, "Projector dead")]
            assert [c.content for c in comments] == ["Tried another cable, same"]
            assert sorted(r.event_id for r in receipts) == ["Ev0TWO0001", "Ev0TWO0002"]
            assert {r.status for r in rows} == {OutboxStatus.SENT}

            assert [c["text"] for c in slack.cards()] == ["Ticket #1: Projector dead"]
            (received_text,) = [m["text"] for m in slack.dm(requester) if m.get("bot_id")]
            # Tom filed it (named as Ticketbot knows him then: Tom, or his handle tech1).
            assert received_text in (
                f"{name} filed your message in <#{slack.general}> as ticket #1: Projector dead"
                for name in ("Tom", "Tech1")
            )
            assert [m["text"] for m in slack.card_thread(1)] == [
                f":speech_balloon: *<@{requester}>* (requester) replied:\nTried another cable, same"
            ]
            source_replies = [m for m in sim.messages(slack.general) if is_reply(m)]
            assert len(source_replies) == 1
            posted = outbox_ids_posted(sim)
            assert sorted(posted) == sorted(r.id for r in rows if r.method == "chat.postMessage")
            assert set(posted.values()) == {1}
            # Not even an attempt was doubled: each row was sent by one worker, once.
            attempts = Counter(
                json.dumps(c.args.get("metadata")) for c in sim.calls_to("chat.postMessage")
            )
            assert set(attempts.values()) == {1}
        finally:
            database.dispose()
            first.stop()
            second.stop()
