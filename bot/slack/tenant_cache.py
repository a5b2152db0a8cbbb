"""The organization and member of recent requests, kept for a moment.

Every request from Slack starts by finding its workspace's organization and the person's
member row. In a burst (an outage: fifty people filing at once) the same few people ask
again and again, so their rows are kept for `ttl` seconds. Each request gets its own
detached copy (handlers may change and save it); any change to an organization or member
saved by this process empties the cache, so only another process's change can go unseen,
for at most `ttl` seconds.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel

from models import Member, Organization

T = TypeVar("T", bound=SQLModel)
_caches: weakref.WeakSet[RecentTenants] = weakref.WeakSet()
# Bumped whenever an organization or member is saved: a row read before a change must not
# be remembered after it (the reader may finish after the change emptied the caches).
_generation = itertools.count()
_current_generation = 0


def _values(instance: SQLModel) -> dict[str, Any]:
    mapper = inspect(type(instance))
    return _copied({attr.key: getattr(instance, attr.key) for attr in mapper.column_attrs})


def _copied(values: dict[str, Any]) -> dict[str, Any]:
    """Column values, the mutable ones (JSON settings, lists) copied."""
    return {
        key: copy.deepcopy(value) if isinstance(value, (dict, list)) else value
        for key, value in values.items()
    }


def _detached_copy(cls: type[T], values: dict[str, Any]) -> T:
    """A new instance holding `values`, as if just loaded (saving it updates its row).

    Built the way SQLAlchemy builds a loaded row (no __init__): the model's constructor
    runs its field handling for every column, three times the cost of the copy itself,
    on every request of a burst."""
    instance = inspect(cls).class_manager.new_instance()
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    instance.__dict__.update(_copied(values))
    make_transient_to_detached(instance)
    return instance


class RecentTenants:
    def __init__(self, ttl: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, dict[str, Any], dict[str, Any]]] = {}
        _caches.add(self)

    @staticmethod
    def generation() -> int:
        """Take this before reading the rows to `remember`."""
        return _current_generation

    def get(self, team_id: str, user_id: str) -> tuple[Organization, Member] | None:
        with self._lock:
            entry = self._entries.get((team_id, user_id))
        if entry is None or self.clock() - entry[0] > self.ttl:
            return None
        return _detached_copy(Organization, entry[1]), _detached_copy(Member, entry[2])

    def remember(
        self,
        team_id: str,
        user_id: str,
        organization: Organization,
        member: Member,
        *,
        read_at_generation: int,
    ) -> None:
        """Keep rows read after `generation()` returned `read_at_generation`, unless an
        organization or member was saved since."""
        entry = (self.clock(), _values(organization), _values(member))
        with self._lock:
            if read_at_generation == _current_generation:
                self._entries[(team_id, user_id)] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_CHANGED = "ticketbot_tenants_changed"


def _forget_all() -> None:
    global _current_generation
    _current_generation = next(_generation) + 1
    for cache in list(_caches):
        cache.clear()


@event.listens_for(Session, "after_flush")
def _note_changed_tenants(session: Session, _context: Any) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(instance, (Organization, Member)) for instance in changed):
        session.info[_CHANGED] = True
        _forget_all()


@event.listens_for(Session, "after_commit")
def _forget_committed_tenants(session: Session) -> None:
    # Again after the commit: a request may have read (and kept) the old rows meanwhile.
    if session.info.pop(_CHANGED, False):
        _forget_all()
