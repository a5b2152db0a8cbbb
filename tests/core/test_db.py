"""The unit of work on SQLite: writers queue, readers do not wait for them."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from bot.core.db import Database
from bot.outbox import rows as outbox
from bot.outbox.worker import DeliveryWorker
from bot.services import organizations as orgs
from models import Organization


def test_a_reader_does_not_wait_for_a_writer(sqlite_db: Database):
    with sqlite_db.session() as session:
        orgs.get_or_create_organization(session, team_id="T0READ")
    read_done = threading.Event()
    seen: list[str] = []

    def read() -> None:
        with sqlite_db.read_session() as session:
            seen.extend(o.slack_team_id for o in session.exec(select(Organization)).all())
        assert sqlite_db.ping()
        read_done.set()

    with sqlite_db.session() as writing:
        orgs.get_or_create_organization(writing, team_id="T0WRITE")  # holds the write lock
        reader = threading.Thread(target=read)
        reader.start()
        # A reader that queued behind the writer would wait the whole busy timeout (30 s).
        assert read_done.wait(timeout=10)
    reader.join()
    assert seen == ["T0READ"]  # the writer's row was not committed yet


def test_read_sessions_write_nothing(sqlite_db: Database):
    with sqlite_db.read_session() as session:
        orgs.get_or_create_organization(session, team_id="T0NEVER")
    with sqlite_db.session() as session:
        assert session.exec(select(Organization)).all() == []


def test_commit_hooks_run_after_marked_units_of_work_only(sqlite_db: Database):
    calls: list[str] = []
    sqlite_db.on_commit(lambda: calls.append("wrote"), marked="wrote_rows")
    with sqlite_db.session() as session:
        orgs.get_or_create_organization(session, team_id="T0PLAIN")
    assert calls == []
    with sqlite_db.session() as session:
        orgs.get_or_create_organization(session, team_id="T0MARKED")
        Database.mark(session, "wrote_rows")
    assert calls == ["wrote"]
    with pytest.raises(RuntimeError), sqlite_db.session() as session:
        Database.mark(session, "wrote_rows")
        raise RuntimeError("rolled back")
    assert calls == ["wrote"]  # nothing was committed, nothing to deliver


def test_the_delivery_worker_does_not_wake_itself(sqlite_db: Database):
    """An idle worker whose own claim woke it again would spin, a CPU core for ever."""
    wakes: list[int] = []
    sqlite_db.on_commit(lambda: wakes.append(1), marked=outbox.ROWS_WRITTEN)
    worker = DeliveryWorker(sqlite_db, lambda organization: None)
    for _ in range(3):
        assert worker.run_once() == 0
    assert wakes == []
    with sqlite_db.session() as session:
        organization = orgs.get_or_create_organization(session, team_id="T0WAKE")
        outbox.enqueue(
            session,
            organization=organization,
            ticket=None,
            method="chat.postMessage",
            payload={"channel": "C0WAKE", "text": "hello"},
        )
    assert wakes == [1]  # new rows wake it
    assert worker.run_once() == 1  # no client: the row is deferred, and that is no news
    assert wakes == [1]
