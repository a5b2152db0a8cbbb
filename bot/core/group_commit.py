"""Group commit: one writer thread runs queued units of work in shared transactions.

Many requests writing at once (a storm of new tickets while a client's network is down)
would otherwise each take the database's write lock, begin, commit and hand the lock on, one
at a time, with every waiting thread woken in turn. Here they queue; the writer takes
whatever is queued (up to a batch), runs each piece of work in a savepoint of one
transaction, commits once, and only then tells each caller its outcome. So:

- a caller returns only after the commit that holds its work: what it acknowledges is
  durable;
- work that raises rolls back its own savepoint and fails alone, its batch goes on;
- a commit that fails fails every piece of work of that batch, and no other.

The writer is one thread per process; on PostgreSQL several processes each have their own,
and row locks order them as before (an organization's ticket counter is held from its first
filing in a batch to that batch's commit).
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlmodel import Session

log = logging.getLogger(__name__)

T = TypeVar("T")

# Enough to absorb a burst at Slack's concurrency; a batch's callers wait for all of it, so
# not so many that the first in line waits long for the last.
MAX_BATCH = 32


@dataclass
class _Work(Generic[T]):
    run: Callable[[Session], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    error: BaseException | None = None


class GroupCommitter:
    """Runs work for `unit_of_work` (a transaction that commits when its block ends)."""

    def __init__(
        self,
        unit_of_work: Callable[[], AbstractContextManager[Session]],
        *,
        max_batch: int = MAX_BATCH,
        name: str = "group-commit",
    ) -> None:
        self._unit_of_work = unit_of_work
        self._max_batch = max_batch
        self._name = name
        self._queue: collections.deque[_Work[Any]] = collections.deque()
        self._ready = threading.Condition()
        self._writer: threading.Thread | None = None
        self._stopping = False
        self.batches = 0  # how many transactions carried work (tests and benchmarks read it)

    def run(self, work: Callable[[Session], T]) -> T:
        """`work(session)` in a transaction shared with other queued work; returns its
        result once that transaction committed, or raises what it raised (or the commit's
        failure)."""
        if threading.current_thread() is self._writer:
            raise RuntimeError("group commit work cannot queue more work: it would wait on itself")
        item: _Work[T] = _Work(work)
        with self._ready:
            if self._stopping:
                raise RuntimeError("the database is closing")
            self._start_writer()
            self._queue.append(item)
            self._ready.notify()
        item.done.wait()
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[return-value]

    def stop(self) -> None:
        """Let the writer finish what is queued, then end it."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
            writer = self._writer
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout=30)

    def _start_writer(self) -> None:
        if self._writer is None or not self._writer.is_alive():
            self._writer = threading.Thread(target=self._write, name=self._name, daemon=True)
            self._writer.start()

    def _write(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if not self._queue:
                    return
                batch = list(self._take(self._max_batch))
            self._commit(batch)

    def _take(self, count: int) -> Iterator[_Work[Any]]:
        while self._queue and count:
            count -= 1
            yield self._queue.popleft()

    def _commit(self, batch: list[_Work[Any]]) -> None:
        retry: list[_Work[Any]] = []
        try:
            with self._unit_of_work() as session:
                for index, item in enumerate(batch):
                    if not self._run_in_savepoint(session, item):
                        # Its failure took the transaction with it (a failed flush rolls
                        # the session back): the work done so far is gone; the rest of
                        # the batch runs again in the next one.
                        retry = [other for other in batch if other is not item]
                        for other in retry:
                            other.result = None
                        raise _Retry(index)
            self.batches += 1
        except _Retry:
            pass
        except BaseException as error:  # the transaction itself failed: all of its work did
            log.warning("a group commit of %d units of work failed: %s", len(batch), error)
            for item in batch:
                if item.error is None:
                    item.error = error
                    item.result = None
        finally:
            with self._ready:
                self._queue.extendleft(reversed(retry))
            for item in batch:
                if item not in retry:
                    item.done.set()

    @staticmethod
    def _run_in_savepoint(session: Session, item: _Work[Any]) -> bool:
        """Run one piece of work between a SAVEPOINT and its release; if it raises, undo
        only it. False when its failure also ended the transaction.

        The savepoint is the driver's own statement: SQLAlchemy's (`begin_nested`) costs
        a third of a filing in bookkeeping, and nothing here needs it, since the work is
        flushed before the release and, on failure, everything the session still holds
        is dropped (what earlier work wrote is flushed already and stays)."""
        driver = session.connection().connection.driver_connection
        assert driver is not None
        driver.execute("SAVEPOINT group_commit_item")
        try:
            item.result = item.run(session)
            session.flush()
        except Exception as error:
            item.error = error
            item.result = None
            session.expunge_all()
            if not session.is_active:
                return False
            driver.execute("ROLLBACK TO SAVEPOINT group_commit_item")
        driver.execute("RELEASE SAVEPOINT group_commit_item")
        return True


class _Retry(Exception):
    """The batch's transaction was lost to one piece of work's failure (see `_commit`)."""
