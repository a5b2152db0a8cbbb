"""The unit of work on SQLite: writers queue, readers do not wait for them."""

from __future__ import annotations

import threading

from sqlmodel import select

from bot.db import Database
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
