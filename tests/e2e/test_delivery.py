"""The outbox: nothing lost, nothing doubled, order kept, rate limits honoured."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import event, update
from sqlmodel import select

from bot.core.db import Database
from bot.flows import tickets as ticket_flows
from bot.ids import OUTBOX_METADATA_EVENT, Action
from bot.outbox import render as outbox_render
from bot.outbox.worker import DeliveryPolicy, DeliveryWorker
from bot.services.actors import Actor
from models import (
    Member,
    Organization,
    OutboxMessage,
    OutboxStatus,
    SlackMessageRef,
    Ticket,
    utcnow,
)
from models.ticket import TicketCreate
from tests.e2e.conftest import World


class Clock:
    """A clock the test moves by hand, so backoffs pass without sleeping."""

    def __init__(self) -> None:
        # Ahead of the wall clock that stamps new rows, so rows written during the test
        # are due at once.
        self.now = utcnow() + timedelta(minutes=5)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def use_clock(world: World) -> Clock:
    clock = Clock()
    world.runtime.delivery.clock = clock
    return clock


def make_all_due(world: World) -> None:
    with world.db.session() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def test_rate_limit_defers_one_channel_and_not_the_rest(world: World):
    clock = use_clock(world)
    world.sim.rate_limit_next("chat.postMessage", retry_after=30, channel=world.staff_channel)
    world.file_ticket(world.alice, "First")
    world.deliver()
    # The card hit the 429; the requester's DM (another lane) went out regardless.
    assert world.cards() == []
    assert [m["text"] for m in world.dm(world.alice)] == ["Ticket #1 received: First"]
    card_row = next(o for o in world.outbox() if o.record_as == "staff_card")
    assert card_row.status == OutboxStatus.PENDING
    assert "ratelimited" in (card_row.last_error or "")
    # Before Retry-After has passed, nothing more is tried on that channel.
    clock.advance(10)
    world.deliver()
    assert world.cards() == []
    clock.advance(21)
    world.deliver()
    assert [c["text"] for c in world.cards()] == ["Ticket #1: First"]
    assert len(world.dm(world.alice)) == 1
    rate_limited = [c for c in world.sim.calls if c.error == "ratelimited"]
    assert len(rate_limited) == 1


def test_order_per_ticket_survives_an_outage(world: World):
    clock = use_clock(world)
    world.file_ticket(world.alice, "Keyboard")
    world.sim.set_outage("error")
    world.deliver()  # the card fails to post
    # Triage happens while Slack is down (the card's buttons were pressed earlier, say).
    world.sim.set_outage(None)
    card_row = next(o for o in world.outbox() if o.record_as == "staff_card")
    assert card_row.status == OutboxStatus.PENDING and card_row.attempts == 1
    world.sim.set_outage("error")
    clock.advance(600)
    world.deliver()
    world.sim.set_outage(None)
    clock.advance(600)
    world.deliver()
    (card,) = world.cards()
    for status in ("in_progress", "pending", "resolved"):
        world.driver.block_action(
            world.team,
            world.tech,
            Action.STATUS,
            selected_option_value=status,
            channel_id=world.staff_channel,
            message_ts=card["ts"],
        )
    world.sim.set_outage("error")
    world.deliver()
    world.sim.set_outage(None)
    clock.advance(600)
    world.deliver()
    lines = [m["text"] for m in world.sim.thread(world.staff_channel, card["ts"])[1:]]
    # (Slack was down when Tom's profile would have been read: he is named by his handle.)
    assert lines == [
        "Tech1 set status to *In progress*",
        "Tech1 set status to *Pending*",
        "Tech1 set status to *Resolved*",
    ]
    assert "Resolved" in str(world.cards()[0]["blocks"][1])
    assert all(o.status == OutboxStatus.SENT for o in world.outbox())
    assert len(world.cards()) == 1


def test_a_message_slack_took_before_a_crash_is_not_posted_again(world: World):
    world.file_ticket(world.alice, "Crashy")
    card_row = next(o for o in world.outbox() if o.record_as == "staff_card")
    # The state a crash leaves behind: the worker claimed the row and Slack accepted the
    # card, but the process died before recording it; its claim has since lapsed.
    token = world.runtime.settings.slack_bot_token
    assert token is not None
    bot = WebClient(token=token.get_secret_value(), base_url=world.sim.api_url)
    card = dict(card_row.payload)
    with world.db.read_session() as session:
        outbox_render.render(session, card_row, card)
    posted = bot.chat_postMessage(
        channel=world.staff_channel,
        text=card["text"],
        blocks=card["blocks"],
        metadata={"event_type": OUTBOX_METADATA_EVENT, "event_payload": {"outbox_id": card_row.id}},
    )
    with world.db.session() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == card_row.id)
            .values(attempts=1, claimed_until=utcnow() - timedelta(seconds=1))
        )
    world.deliver()
    assert [c["ts"] for c in world.cards()] == [posted["ts"]]
    with world.db.session() as session:
        ref = session.exec(
            select(SlackMessageRef).where(SlackMessageRef.role == "staff_card")
        ).one()
        row = session.get(OutboxMessage, card_row.id)
    assert ref.ts == posted["ts"]
    assert row.status == OutboxStatus.SENT and row.result_ts == posted["ts"]


def test_a_row_that_keeps_failing_ends_failed_and_healthz_counts_it(world: World):
    clock = use_clock(world)
    world.runtime.delivery.policy = DeliveryPolicy(max_attempts=3)
    world.file_ticket(world.alice, "Doomed")
    world.sim.fail_next("chat.postMessage", error="internal_error", count=100)
    for _ in range(5):
        world.deliver()
        clock.advance(600)
    rows = world.outbox()
    assert all(o.status == OutboxStatus.FAILED for o in rows)
    assert all("gave up after 3 attempts" in (o.last_error or "") for o in rows)
    health = world.http.get("/healthz")
    assert health.status_code == 200
    assert health.json()["outbox"] == {"pending": 0, "failed": 2}


def test_permanent_errors_fail_at_once(world: World):
    # (A staff channel Slack refuses is not one: its messages wait, see
    # tests/reliability/test_staff_channel.py.)
    world.file_ticket(world.alice, "Nowhere")
    world.sim.fail_next("chat.postMessage", error="invalid_blocks", channel=world.staff_channel)
    world.deliver()
    card_row = next(o for o in world.outbox() if o.record_as == "staff_card")
    assert card_row.status == OutboxStatus.FAILED
    assert card_row.last_error == "chat.postMessage: invalid_blocks"


def test_healthz_stays_up_while_slack_is_down(world: World):
    world.file_ticket(world.alice, "Before the outage")
    world.sim.set_outage("refuse")
    world.deliver()
    health = world.http.get("/healthz")
    assert health.status_code == 200
    assert health.json()["outbox"]["pending"] == 2
    world.sim.set_outage(None)


def test_two_workers_deliver_each_row_once(world: World):
    for n in range(12):
        world.file_ticket(world.bob, f"Storm {n}")
    url = str(world.db.engine.url.render_as_string(hide_password=False))
    second_db = Database.from_url(url) if not url.startswith("sqlite") else world.db
    workers = [
        world.runtime.delivery,
        DeliveryWorker(
            second_db, world.runtime.client_for, default_staff_channel=world.staff_channel
        ),
    ]
    threads = [threading.Thread(target=w.drain) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    world.deliver()
    titles = [c["text"] for c in world.cards()]
    assert sorted(titles) == sorted(f"Ticket #{n + 1}: Storm {n}" for n in range(12))
    assert len(world.dm(world.bob)) == 12
    assert all(o.status == OutboxStatus.SENT for o in world.outbox())


def test_a_requesters_dm_channel_is_opened_once(world: World):
    for title in ("First", "Second", "Third"):
        world.file_ticket(world.alice, title)
    world.deliver()
    assert [m["text"] for m in world.dm(world.alice)] == [
        "Ticket #1 received: First",
        "Ticket #2 received: Second",
        "Ticket #3 received: Third",
    ]
    opened = [c for c in world.sim.calls_to("conversations.open") if c.args.get("users")]
    assert len(opened) == 1


def test_a_card_delivered_late_is_drawn_from_the_ticket_as_it_is_then(world: World):
    """The filing transaction stores what to draw, not the drawing: a card that waited
    (outage, rate limit) shows the ticket as it is when it reaches Slack."""
    world.file_ticket(world.alice, "Printer <jammed>")
    card_row = next(o for o in world.outbox() if o.record_as == "staff_card")
    assert "blocks" not in card_row.payload and "text" not in card_row.payload
    with world.db.session() as session:
        session.execute(
            update(Ticket).values(title="Printer <jammed> & smoking", priority="urgent")
        )
    world.deliver()
    [card] = world.cards()
    assert "Printer &lt;jammed&gt; &amp; smoking" in card["text"]
    assert "Urgent" in json.dumps(card["blocks"])
    [received] = [m for m in world.dm(world.alice) if m["text"].startswith("Ticket #1 received")]
    assert "Printer &lt;jammed&gt; &amp; smoking" in json.dumps(received["blocks"])


def test_a_batch_is_sent_several_rows_at_a_time(world: World):
    """Slack answers each call in tens of milliseconds: the worker waits for several at
    once. Two posts must be in flight together to pass the barrier."""
    both_in_flight = threading.Barrier(2, timeout=10)
    real_client_for = world.runtime.delivery.client_for

    class WaitingForAnother(WebClient):
        def chat_postMessage(self, **kwargs):
            both_in_flight.wait()
            return super().chat_postMessage(**kwargs)

    def client_for(organization):
        real = real_client_for(organization)
        return WaitingForAnother(token=real.token, base_url=real.base_url)

    world.runtime.delivery.client_for = client_for
    world.file_ticket(world.alice, "Mouse")  # a card and a "received" DM: two lanes
    world.runtime.delivery.run_once()
    assert not both_in_flight.broken
    assert [c["text"] for c in world.cards()] == ["Ticket #1: Mouse"]
    assert any(m["text"].startswith("Ticket #1 received") for m in world.dm(world.alice))


def test_cards_reach_the_staff_channel_in_number_order_when_filed_at_once(world: World):
    """Filings that race for the organization's counter (PostgreSQL: its row lock) still
    get their cards posted in ticket-number order."""
    world.file_ticket(world.alice, "First")  # the workspace and its people exist
    with world.db.session() as session:
        organization = session.exec(
            select(Organization).where(Organization.slack_team_id == world.team)
        ).one()
        requester = session.exec(select(Member).where(Member.slack_user_id == world.alice)).one()
    threads, per_thread = 8, 12
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def file_some(index: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                with world.db.session() as session:
                    ticket_flows.file_ticket(
                        session,
                        organization=session.get(Organization, organization.id),
                        filer=Actor.for_member(requester),
                        requester=session.get(Member, requester.id),
                        request=TicketCreate(title=f"Storm {index}-{n}"),
                    )
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
            start.abort()

    workers = [threading.Thread(target=file_some, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    world.deliver()
    posted = [int(c["text"].split(":")[0].removeprefix("Ticket #")) for c in world.cards()]
    assert posted == list(range(1, threads * per_thread + 2))


def test_a_batch_of_cards_and_dms_is_drawn_in_one_read_a_few_statements_per_ticket(world: World):
    """The worker reads what a batch's cards and "received" DMs show for all its tickets
    at once (one statement per kind), and records each message with two: drawing a card
    does not cost a dozen statements per ticket. Each card still shows its own ticket."""
    world.file_ticket(world.alice, "Warm up")  # the workspace and its people exist
    world.deliver()
    with world.db.session() as session:
        organization = session.exec(
            select(Organization).where(Organization.slack_team_id == world.team)
        ).one()
        requester = session.exec(select(Member).where(Member.slack_user_id == world.alice)).one()
        for n in range(8):
            ticket_flows.file_ticket(
                session,
                organization=organization,
                filer=Actor.for_member(requester),
                requester=requester,
                request=TicketCreate(title=f"Batch {n}"),
            )
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(world.db.engine, "before_cursor_execute", count)
    try:
        world.runtime.delivery.drain()
    finally:
        event.remove(world.db.engine, "before_cursor_execute", count)
    assert [c["text"] for c in world.cards()][1:] == [
        f"Ticket #{n + 2}: Batch {n}" for n in range(8)
    ]
    assert len(world.dm(world.alice)) == 9
    # Per ticket: two messages recorded and the card's link (3 transactions, 8 statements
    # with their BEGINs), and a share of the claims and of the batch's one read (about 15
    # statements for all). Drawing each message on its own read about 25 more per ticket.
    assert len(statements) / 8 <= 11, statements
