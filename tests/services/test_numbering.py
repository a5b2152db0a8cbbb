"""Ticket numbers per organization: 1, 2, 3… with no gap or repeat, under contention too."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from bot.core.db import Database
from bot.flows import tickets as ticket_flows
from bot.services import tickets
from bot.services.actors import Actor
from models import Member, Organization, Ticket
from models.ticket import TicketCreate
from tests.conftest import POSTGRES_URL, truncate_all
from tests.services.factories import file_ticket, make_workspace

THREADS = 8
PER_THREAD = 25
PROCESSES = 4
PER_PROCESS = 100


def _numbers(db: Database, organization_id: int) -> list[int]:
    with db.session() as session:
        return sorted(
            session.exec(
                select(Ticket.ticket_number).where(Ticket.organization_id == organization_id)
            ).all()
        )


def _create_one(
    session: Session, organization_id: int, requester_id: int, title: str, *, filing: bool = False
) -> int:
    """One ticket, numbered first (`create_ticket`) or, with `filing`, last, the way the
    Slack and REST intake files it (`ticket_flows.file_ticket`: outbox rows, then the number)."""
    # Each transaction reads its own copies: nothing ORM-loaded is shared between threads.
    organization = session.get(Organization, organization_id)
    requester = session.get(Member, requester_id)
    assert organization is not None and requester is not None
    if filing:
        return ticket_flows.file_ticket(
            session,
            organization=organization,
            filer=Actor.for_member(requester),
            requester=requester,
            request=TicketCreate(title=title),
        ).ticket_number
    ticket = tickets.create_ticket(
        session,
        organization=organization,
        requester=requester,
        actor=Actor.integration("load test"),
        request=TicketCreate(title=title),
    )
    return ticket.ticket_number


def test_a_rolled_back_number_is_given_again(db):
    with db.session() as session:
        ws = make_workspace(session)
        assert file_ticket(session, ws).ticket_number == 1

    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.session() as session:
        assert file_ticket(session, ws).ticket_number == 2
        raise Boom
    with db.session() as session:
        assert file_ticket(session, ws).ticket_number == 2
        assert session.get(Organization, ws.organization.id).last_ticket_number == 2
    assert _numbers(db, ws.organization.id) == [1, 2]


def test_a_filing_takes_its_number_after_its_rows_and_gives_it_back_on_rollback(db):
    with db.session() as session:
        ws = make_workspace(session)
        org_id, alice_id = ws.organization.id, ws.alice.id

    class Boom(Exception):
        pass

    statements: list[str] = []
    with pytest.raises(Boom), db.session() as session:
        event.listen(session.connection(), "before_cursor_execute", _recorder(statements))
        assert _create_one(session, org_id, alice_id, "Rolled back", filing=True) == 1
        raise Boom
    # The counter comes after the ticket's rows: with the ticket's number (PostgreSQL, one
    # statement) or just before it (SQLite); after it only the outbox rows (so the card
    # rows' ids follow the numbers), each a single INSERT.
    counter = next(
        i for i, s in enumerate(statements) if s.startswith(("UPDATE organization", "WITH counter"))
    )
    assert any(s.startswith("INSERT INTO ticket ") for s in statements[:counter])
    after = statements[counter + 1 :]
    if statements[counter].startswith("WITH counter"):
        assert "UPDATE ticket SET ticket_number" in statements[counter]
    else:
        assert after[0].startswith("UPDATE ticket SET ticket_number")
        after = after[1:]
    assert after and all(s.startswith("INSERT INTO outbox_message") for s in after), after
    with db.session() as session:
        assert _create_one(session, org_id, alice_id, "Kept", filing=True) == 1
    assert _numbers(db, org_id) == [1]


def _recorder(statements: list[str]):
    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()))

    return record


def test_threads_get_distinct_consecutive_numbers_on_sqlite(sqlite_db):
    db = sqlite_db
    with db.session() as session:
        a = make_workspace(session, "TA")
        b = make_workspace(session, "TB")
    a_org, a_user = a.organization.id, a.alice.id
    b_org, b_user = b.organization.id, b.bob.id
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    b_created = [0] * THREADS

    def work(index: int) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                with db.session() as session:
                    _create_one(session, a_org, a_user, f"A {index}-{i}", filing=bool(index % 2))
                if i % 5 == index % 5:  # the other organization files now and then
                    with db.session() as session:
                        _create_one(session, b_org, b_user, f"B {index}-{i}")
                    b_created[index] += 1
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
            start.abort()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total_b = sum(b_created)
    assert total_b > 0
    assert _numbers(db, a_org) == list(range(1, THREADS * PER_THREAD + 1))
    assert _numbers(db, b_org) == list(range(1, total_b + 1))


def _process_worker(
    url: str, organization_id: int, requester_id: int, count: int, start, filing: bool
) -> None:
    db = Database.from_url(url)
    try:
        start.wait()
        for i in range(count):
            with db.session() as session:
                _create_one(session, organization_id, requester_id, f"P {i}", filing=filing)
    finally:
        db.dispose()


@pytest.mark.postgres
def test_processes_get_distinct_consecutive_numbers_on_postgres(postgres_engine):
    assert POSTGRES_URL
    db = Database(postgres_engine)
    truncate_all(db)
    with db.session() as session:
        ws = make_workspace(session)
        other = make_workspace(session, "TOTHER")
        file_ticket(session, other)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    workers = [
        context.Process(
            target=_process_worker,
            args=(POSTGRES_URL, ws.organization.id, ws.alice.id, PER_PROCESS, start, n % 2 == 1),
        )
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    assert _numbers(db, ws.organization.id) == list(range(1, PROCESSES * PER_PROCESS + 1))
    assert _numbers(db, other.organization.id) == [1]
    with db.session() as session:
        assert session.get(Organization, ws.organization.id).last_ticket_number == 400
        distinct = session.exec(
            select(col(Ticket.id)).where(Ticket.organization_id == ws.organization.id)
        ).all()
        assert len(distinct) == PROCESSES * PER_PROCESS
    truncate_all(db)
