"""Group commit: queued work shares transactions, each caller returns after its commit, and
a failure stays with the work (or the batch) it belongs to."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from bot.core.db import Database
from bot.core.group_commit import GroupCommitter
from bot.services import organizations as orgs
from models import Organization


def team_ids(db: Database) -> set[str]:
    with db.read_session() as session:
        return {o.slack_team_id for o in session.exec(select(Organization)).all()}


def create(team_id: str):
    def work(session: Session) -> str:
        orgs.get_or_create_organization(session, team_id=team_id)
        return team_id

    return work


def test_concurrent_work_commits_in_fewer_transactions_and_each_caller_sees_its_commit(
    db: Database,
):
    started, gate = threading.Event(), threading.Event()
    seen_after_return: dict[str, bool] = {}

    def blocker(session: Session) -> None:
        started.set()
        gate.wait(timeout=10)  # hold the writer so that the others queue behind it

    def call(team_id: str) -> None:
        db.grouped(create(team_id))
        # Returned: the row is committed, visible to any other connection.
        seen_after_return[team_id] = team_id in team_ids(db)

    first = threading.Thread(target=db.grouped, args=(blocker,))
    first.start()
    assert started.wait(timeout=10)
    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(call, f"T0GC{n:03d}") for n in range(20)]
        while len(db.group_commit._queue) < 20:
            threading.Event().wait(0.01)
        gate.set()
        for future in futures:
            future.result(timeout=30)
    first.join(timeout=10)
    assert seen_after_return == {f"T0GC{n:03d}": True for n in range(20)}
    # The blocker's transaction, then the twenty queued ones together (at most 32 a batch).
    assert db.group_commit.batches == 2


def test_work_that_raises_fails_alone_and_its_writes_are_rolled_back(db: Database):
    started, gate = threading.Event(), threading.Event()

    def blocker(session: Session) -> None:
        started.set()
        gate.wait(timeout=10)

    def half_then_fail(session: Session) -> None:
        orgs.get_or_create_organization(session, team_id="T0HALF")
        raise ValueError("no")

    holder = threading.Thread(target=db.grouped, args=(blocker,))
    holder.start()
    assert started.wait(timeout=10)
    with ThreadPoolExecutor(max_workers=3) as pool:
        before = pool.submit(db.grouped, create("T0BEFORE"))
        while len(db.group_commit._queue) < 1:
            threading.Event().wait(0.01)
        failing = pool.submit(db.grouped, half_then_fail)
        while len(db.group_commit._queue) < 2:
            threading.Event().wait(0.01)
        after = pool.submit(db.grouped, create("T0AFTER"))
        while len(db.group_commit._queue) < 3:
            threading.Event().wait(0.01)
        gate.set()
        assert before.result(timeout=30) == "T0BEFORE"
        with pytest.raises(ValueError, match="no"):
            failing.result(timeout=30)
        assert after.result(timeout=30) == "T0AFTER"
    holder.join(timeout=10)
    assert team_ids(db) == {"T0BEFORE", "T0AFTER"}
    assert db.group_commit.batches == 2  # the three were one batch


def test_a_failed_commit_fails_every_caller_of_its_batch_and_only_those(sqlite_db: Database):
    transactions = 0

    @contextmanager
    def second_one_cannot_commit() -> Iterator[Session]:
        nonlocal transactions
        transactions += 1
        with sqlite_db.session() as session:
            yield session
            if transactions == 2:  # as if the disk were full at COMMIT: all is rolled back
                raise OperationalError("COMMIT", {}, Exception("database or disk is full"))

    committer = GroupCommitter(second_one_cannot_commit)
    try:
        assert committer.run(create("T0ONE")) == "T0ONE"
        with pytest.raises(OperationalError):
            committer.run(create("T0TWO"))
        assert committer.run(create("T0THREE")) == "T0THREE"
    finally:
        committer.stop()
    assert team_ids(sqlite_db) == {"T0ONE", "T0THREE"}


def test_work_cannot_queue_work_of_its_own(sqlite_db: Database):
    def nested(session: Session) -> None:
        sqlite_db.grouped(create("T0INNER"))

    with pytest.raises(RuntimeError, match="wait on itself"):
        sqlite_db.grouped(nested)
    assert sqlite_db.grouped(create("T0LATER")) == "T0LATER"  # the writer lives on


def test_work_whose_failed_flush_ends_the_transaction_fails_alone_and_the_rest_runs_again(
    db: Database,
):
    """A failed flush rolls the whole session back (SQLAlchemy's rule): the work before it
    in the batch is lost with it, so it runs again, and the work after it too."""
    started, gate = threading.Event(), threading.Event()
    runs: dict[str, int] = {}

    def blocker(session: Session) -> None:
        started.set()
        gate.wait(timeout=10)

    def counted(team_id: str):
        def work(session: Session) -> str:
            runs[team_id] = runs.get(team_id, 0) + 1
            return create(team_id)(session)

        return work

    def duplicate(session: Session) -> None:
        session.add(Organization(slack_team_id="T0FIRST", name="Copy"))
        session.flush()  # IntegrityError: T0FIRST was created earlier in the same batch

    holder = threading.Thread(target=db.grouped, args=(blocker,))
    holder.start()
    assert started.wait(timeout=10)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = []
        for work in (counted("T0FIRST"), duplicate, counted("T0LAST")):
            futures.append(pool.submit(db.grouped, work))
            while len(db.group_commit._queue) < len(futures):
                threading.Event().wait(0.01)
        gate.set()
        assert futures[0].result(timeout=30) == "T0FIRST"
        with pytest.raises(IntegrityError):
            futures[1].result(timeout=30)
        assert futures[2].result(timeout=30) == "T0LAST"
    holder.join(timeout=10)
    assert team_ids(db) == {"T0FIRST", "T0LAST"}
    assert runs == {"T0FIRST": 2, "T0LAST": 1}
