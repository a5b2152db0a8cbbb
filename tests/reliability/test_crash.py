"""`ticketbot serve` is killed (SIGKILL) in the middle of a burst of submissions, while the
outbox is posting to Slack. After a restart on the same database: every submission that got
a 200 has its ticket, numbers run 1..N with no gap or repeat, Slack's retries of the rest
take effect once, and every Slack message is delivered exactly once -- including the one
Slack had accepted just before the kill, whose answer the dead process never read."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.core.db import Database
from bot.outbox.worker import DeliveryPolicy, DeliveryWorker
from models import OutboxMessage, OutboxStatus, SlackMessageRef, Ticket, utcnow
from tests.reliability.conftest import (
    HoldingSimulator,
    ServeProcess,
    World,
    is_reply,
    make_slack,
    open_database,
    outbox_ids_posted,
    wait_until,
)

BURST = 40


@pytest.mark.slow
def test_a_killed_server_loses_no_acknowledged_ticket_and_posts_nothing_twice(
    tmp_path: Path,
    sim: HoldingSimulator,
    server_database_url: str,
    servers: list[ServeProcess],
):
    slack = make_slack(sim, end_users=4)
    server = ServeProcess(slack=slack, database_url=server_database_url, workdir=tmp_path)
    servers.append(server)
    server.start().wait_ready()
    driver = server.driver(timeout=30)

    messages = [
        sim.post_user_message(
            slack.team, slack.general, slack.users[n % 4], f"Problem {n}\nDetails of problem {n}"
        )
        for n in range(BURST)
    ]
    reactions = [
        driver.reaction_added(slack.team, slack.tech, "ticket", slack.general, m["ts"])
        for m in messages
    ]
    event_ids = [f"Ev0CRASH{n:04d}" for n in range(BURST)]
    answers: dict[int, int | str] = {}
    sim.latency = 0.02  # Slack is a little slow: the outbox is busy throughout the burst

    def submit(n: int) -> None:
        try:
            answers[n] = driver.event(slack.team, reactions[n], event_id=event_ids[n]).status
        except OSError as error:  # the server died under this request
            answers[n] = type(error).__name__

    first_wave = BURST * 2 // 5
    # The outbox posts the first wave's cards and DMs; Slack takes the tenth message and
    # holds its answer back.
    sim.hold_next_post(accepted=True, skip=9)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(submit, n) for n in range(first_wave)]:
            future.result(timeout=60)
        wait_until(sim.held.is_set, what="Slack to accept a message from the outbox")
        # The second wave arrives while the worker is busy: it reads the first messages
        # reacted to, then Slack stalls; the process is killed in the middle of it all.
        # (Acks never wait on Slack: a reaction is acknowledged once its filing job is
        # committed, and the worker files the ticket.)
        sim.stall("conversations.history", after=6)
        futures = [pool.submit(submit, n) for n in range(first_wave, BURST)]
        wait_until(lambda: sim.stalled > 0, what="the burst to be under way")
        server.kill()
        sim.release.set()  # the held answer goes to a dead socket
        for future in futures:
            future.result(timeout=60)

    acknowledged = sorted(n for n, status in answers.items() if status == 200)
    assert len(acknowledged) >= first_wave, answers
    held_ts = sim.held_response["ts"]
    sim.latency = 0.0

    server.start().wait_ready()
    database = open_database(server_database_url)
    try:
        # Slack retries what it never got an answer for; each takes effect once.
        for n in range(BURST):
            if answers[n] != 200:
                retry = driver.event(
                    slack.team,
                    reactions[n],
                    event_id=event_ids[n],
                    retry_num=1,
                    retry_reason="http_timeout",
                )
                assert retry.status == 200, retry.text

        # The dead process's claims on outbox rows lapse after their lease (a minute);
        # rather than wait, move its lapse into the past, as time would.
        with database.session() as session:
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    col(OutboxMessage.claimed_until).is_not(None),
                )
                .values(claimed_until=utcnow() - timedelta(seconds=1))
            )
        wait_until(lambda: all_sent(database), timeout=90, what="the outbox to drain")

        with database.session() as session:
            tickets = list(session.exec(select(Ticket).order_by(col(Ticket.ticket_number))).all())
            rows = list(session.exec(select(OutboxMessage)).all())
        # Every acknowledged submission survived the kill (and the retried ones took effect).
        filed_from = source_messages(database)
        assert {messages[n]["ts"] for n in acknowledged} <= set(filed_from)
        assert [t.ticket_number for t in tickets] == list(range(1, BURST + 1))
        assert sorted(source_messages(database)) == sorted(m["ts"] for m in messages)

        # Exactly once in Slack: one card, one DM and one "filed" reply per ticket...
        cards = [c["text"] for c in slack.cards()]
        assert sorted(cards) == sorted(f"Ticket #{t.ticket_number}: {t.title}" for t in tickets)
        for user in slack.users:
            received = [m["text"] for m in slack.dm(user) if not is_reply(m)]
            assert len(received) == len(set(received)) == BURST // 4
        for message in messages:
            replies = sim.thread(slack.general, message["ts"])[1:]
            assert len(replies) == 1 and replies[0]["text"].startswith(":ticket: Filed as")
        posted = outbox_ids_posted(sim)
        assert sorted(posted) == sorted(r.id for r in rows if r.method == "chat.postMessage")
        assert set(posted.values()) == {1}

        # ...including the message Slack took just before the kill: found, not re-posted.
        (held_row,) = [r for r in rows if r.result_ts == held_ts]
        assert held_row.status == OutboxStatus.SENT and held_row.attempts >= 2
        assert posted[held_row.id] == 1
    finally:
        database.dispose()


def source_messages(database) -> list[str]:
    """The ts of each Slack message a ticket was filed from."""
    with database.session() as session:
        refs = session.exec(select(SlackMessageRef).where(SlackMessageRef.role == "source")).all()
        return [ref.ts for ref in refs]


def all_sent(database) -> bool:
    with database.session() as session:
        statuses = set(session.exec(select(OutboxMessage.status)).all())
    assert OutboxStatus.FAILED not in statuses
    return statuses == {OutboxStatus.SENT}


# -- the outbox's protection against posting twice, at its edges (in process) ---------------


def test_a_card_accepted_before_a_crash_is_found_behind_200_newer_messages(world: World):
    world.file_ticket(world.alice, "Crash during the storm")
    # Slack accepts the card; the process dies before it can record that.
    world.sim.hold_next_post(accepted=True, channel=world.staff_channel)
    worker = threading.Thread(target=world.runtime.delivery.run_once, daemon=True)
    worker.start()
    wait_until(world.sim.held.is_set, what="Slack to accept the card")
    # (The worker thread stays blocked, as good as dead; its claim will lapse.)
    accepted_ts = world.sim.held_response["ts"]
    # While the claim runs out, the staff channel gets busy: other cards, people talking.
    for n in range(200):
        world.sim.post_user_message(world.team, world.staff_channel, world.tech, f"Status {n}")
    lapse_claims(world)
    survivor = DeliveryWorker(
        world.db, world.runtime.client_for, default_staff_channel=world.staff_channel
    )
    survivor.drain()
    world.sim.release.set()
    worker.join(timeout=30)
    cards = [c for c in world.cards() if c.get("bot_id")]
    assert [c["ts"] for c in cards] == [accepted_ts]


def test_a_lease_that_lapses_mid_batch_does_not_get_a_row_posted_twice(world: World):
    for title in ("One", "Two", "Three"):
        world.file_ticket(world.bob, title)
    first = world.runtime.delivery
    # Worker one took the batch; it is still busy with it when its lease runs out: its
    # post of the first card is on the wire, Slack has not carried it out yet.
    world.sim.hold_next_post(accepted=False)
    busy = threading.Thread(target=first.run_once, daemon=True)
    busy.start()
    wait_until(world.sim.held.is_set, what="the first post to be on the wire")
    # Another process's worker, a minute and a bit later.
    url = world.db.engine.url.render_as_string(hide_password=False)
    other_db = world.db if url.startswith("sqlite") else Database.from_url(url)
    second = DeliveryWorker(
        other_db,
        world.runtime.client_for,
        default_staff_channel=world.staff_channel,
        clock=lambda: utcnow() + DeliveryPolicy().lease + timedelta(seconds=1),
    )
    second.drain()
    world.sim.release.set()
    busy.join(timeout=30)
    world.deliver()
    posted = outbox_ids_posted(world.sim)
    assert set(posted.values()) == {1}, posted
    assert sorted(c["text"] for c in world.cards()) == [
        "Ticket #1: One",
        "Ticket #2: Two",
        "Ticket #3: Three",
    ]


def lapse_claims(world: World) -> None:
    """What a minute does to the claims of a worker that is gone."""
    with world.db.session() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(claimed_until=utcnow() - timedelta(seconds=1))
        )
