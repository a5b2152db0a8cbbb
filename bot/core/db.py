"""Engine and unit of work.

Services only `flush`; the unit of work owns commit and rollback, so one user action is one
transaction: the domain rows and the Slack messages they cause (outbox) commit together.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from bot.core.group_commit import GroupCommitter

T = TypeVar("T")

# Execution option marking a unit of work that only reads.
READ_ONLY_OPTION = "ticketbot_read_only"
# How long a SQLite writer waits for another writer before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and serialised writers."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
        raise ValueError("use a SQLite file: an in-memory database is private to one connection")
    # A small pool: each checkout has its connection to itself (check_same_thread is off
    # because pooled connections move between threads), and the PRAGMAs run once per
    # connection instead of once per unit of work.
    kwargs.setdefault("poolclass", QueuePool)
    kwargs.setdefault("pool_size", 8)
    kwargs.setdefault("max_overflow", 8)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that we can say
        # BEGIN IMMEDIATE below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes can fail at once with
        # "database is locked" when another writer got there first (busy_timeout does not
        # apply to the lock upgrade). Taking the write lock up front makes writers queue.
        # Read-only units of work (Database.read_session) need no lock: WAL lets them read
        # beside the writer.
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """The engine plus the unit of work every request, job and CLI command goes through."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read_only_engine = engine.execution_options(**{READ_ONLY_OPTION: True})
        # SQLite has one writer at a time and its waiters sleep-poll (busy_timeout), so the
        # lock sits idle while they sleep. Writers of this process queue here instead and
        # are handed the lock as soon as it is free; BEGIN IMMEDIATE still keeps other
        # processes out. Reentrant: a unit of work inside another on the same thread waits
        # on SQLite as before rather than on itself.
        self._sqlite_writers = threading.RLock() if self.is_sqlite else None
        self._after_commit: list[tuple[str, Callable[[], None]]] = []
        # The ack path's writes (a storm of filings) commit in shared transactions.
        self.group_commit = GroupCommitter(self.session)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(make_engine(url, **kwargs))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def on_commit(self, callback: Callable[[], None], *, marked: str) -> None:
        """Run `callback` after each successful commit of a unit of work that was marked
        with `mark(session, marked)` (the outbox worker's wake-up after new rows).

        Only marked units of work: a callback that itself commits (the worker claiming
        rows) would otherwise call itself again after its own commit, for ever.
        """
        self._after_commit.append((marked, callback))

    @staticmethod
    def mark(session: Session, key: str) -> None:
        """Have the `on_commit` callbacks registered for `key` run after this commit."""
        session.info[key] = True

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commits when the block ends, rolls back when it raises."""
        with (
            self._sqlite_writers or contextlib.nullcontext(),
            Session(self.engine, expire_on_commit=False) as session,
        ):
            try:
                yield session
                marks = {key for key, value in session.info.items() if value is True}
                session.commit()
            except BaseException:
                session.rollback()
                raise
        for key, callback in self._after_commit:
            if key in marks:
                callback()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A writing transaction on a bare connection, for Core statements on hot paths
        (no Session, no identity map); commits when the block ends. No commit hooks run."""
        with self._sqlite_writers or contextlib.nullcontext(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A unit of work that only reads (views, lists): on SQLite it does not queue
        behind writers. Anything it changes is rolled back; what it loaded stays usable,
        detached, after it ends."""
        with Session(self._read_only_engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                # Detach what was only read, first: a rollback would expire it.
                changed = {id(x) for x in (*session.new, *session.dirty, *session.deleted)}
                for instance in list(session):
                    if id(instance) not in changed:
                        session.expunge(instance)
                session.rollback()

    def ping(self) -> bool:
        try:
            with self._read_only_engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def grouped(self, work: Callable[[Session], T]) -> T:
        """`work(session)` committed together with other requests' queued work (see
        `bot.core.group_commit`); returns once committed. Like `session()`, one
        transaction's worth of work, without Slack calls in it (others wait for it)."""
        return self.group_commit.run(work)

    def dispose(self) -> None:
        self.group_commit.stop()
        self.engine.dispose()
