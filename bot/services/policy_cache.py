"""Which SLA policy is in force, remembered for a moment.

Every filing asks which policy applies (the ticket's own, its company's, else the
default) before Slack's acknowledgement. In a burst the answer is the same for every
filing of a company, so it is kept for `ttl` seconds per database. Any SLA policy,
target, calendar or client company this process changes (an ORM flush, or an UPDATE or
DELETE statement on their tables) empties it at once, and a reader that began before such
a change does not keep what it read. Another process's change of which policy applies (a
company's or the default) can go unseen for at most `ttl` seconds, as with the tenant's
rows (`bot/slack/tenant_cache.py`); a remembered policy that another process edited or
removed is never used, since the clocks' insert checks its version (`sla.on_ticket_created`).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session

from models import BusinessCalendar, ClientCompany, SlaPolicy, SlaTarget

_POLICY_MODELS = (SlaPolicy, SlaTarget, BusinessCalendar, ClientCompany)
_CHANGED = "ticketbot_sla_policies_changed"


class PoliciesInForce:
    def __init__(self, ttl: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = (
            weakref.WeakKeyDictionary()
        )
        self.generation = 0

    def get(self, bind: Any, key: tuple[Any, ...]) -> tuple[bool, Any]:
        """(found, the row remembered for `key`) for database `bind`."""
        with self._lock:
            entry = self._entries.get(bind, {}).get(key)
        if entry is None or self.clock() - entry[0] > self.ttl:
            return False, None
        return True, entry[1]

    def remember(self, bind: Any, key: tuple[Any, ...], row: Any, *, read_at: int) -> None:
        """Keep `row`, read after `generation` was `read_at`, unless a change came since."""
        with self._lock:
            if read_at != self.generation:
                return
            entries = self._entries.setdefault(bind, {})
            if len(entries) >= 4096:  # many organizations: start again rather than grow
                entries.clear()
            entries[key] = (self.clock(), row)

    def forget(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()


IN_FORCE = PoliciesInForce()


@event.listens_for(Session, "after_flush")
def _note_flushed_policies(session: Session, _context: Any) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(instance, _POLICY_MODELS) for instance in changed):
        session.info[_CHANGED] = True
        IN_FORCE.forget()


@event.listens_for(Session, "do_orm_execute")
def _note_policy_statements(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in _POLICY_MODELS for mapper in state.all_mappers
    ):
        state.session.info[_CHANGED] = True
        IN_FORCE.forget()


@event.listens_for(Session, "after_commit")
def _forget_committed_policies(session: Session) -> None:
    # Again after the commit: a filing may have read (and kept) the old rows meanwhile.
    if session.info.pop(_CHANGED, False):
        IN_FORCE.forget()
