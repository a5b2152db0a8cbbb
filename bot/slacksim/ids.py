"""Identifiers in Slack's formats: ids (T…, U…, C…), tokens, message ``ts``, trigger ids.

Ids are sequential so test failures are readable and runs are reproducible; the parts that
Slack makes unguessable (token secrets, trigger suffixes, view hashes) are random.
"""

from __future__ import annotations

import itertools
import secrets
import string
import threading
import time

_BASE36 = string.digits + string.ascii_uppercase
_ALNUM = string.ascii_letters + string.digits


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, remainder = divmod(number, 36)
        digits = _BASE36[remainder] + digits
        if number == 0:
            return digits


def random_alnum(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class IdFactory:
    """Thread-safe generator of Slack-shaped identifiers for one simulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._last_ts = (0, 0)

    def new_id(self, prefix: str) -> str:
        """E.g. ``U00000000A1``: a Slack id prefix and 10 base-36 characters."""
        with self._lock:
            number = next(self._counter)
        return f"{prefix}{_base36(number).rjust(10, '0')}"

    def next_ts(self) -> str:
        """A message ``ts`` ("<unix seconds>.<6 digits>"), strictly increasing per simulator.

        Slack's ts values are unique per channel and sort by posting time; making them
        unique across the whole simulator is a simple way to guarantee both.
        """
        with self._lock:
            seconds = int(time.time())
            last_seconds, last_micros = self._last_ts
            if seconds > last_seconds:
                candidate = (seconds, 1)
            elif last_micros < 999_999:
                candidate = (last_seconds, last_micros + 1)
            else:
                candidate = (last_seconds + 1, 0)
            self._last_ts = candidate
        return f"{candidate[0]}.{candidate[1]:06d}"

    def bot_token(self) -> str:
        return (
            f"xoxb-{random_alnum(12, string.digits)}-{random_alnum(13, string.digits)}-"
            f"{random_alnum(24)}"
        )

    def trigger_id(self) -> str:
        # Slack's shape: "<digits>.<digits>.<32 hex>", e.g. 12345.98765.abcd2358fdea...
        return (
            f"{random_alnum(13, string.digits)}.{random_alnum(10, string.digits)}."
            f"{secrets.token_hex(16)}"
        )

    def view_hash(self) -> str:
        return f"{int(time.time())}.{random_alnum(8)}"

    def event_id(self) -> str:
        return "Ev" + random_alnum(10, _BASE36)

    def short_id(self, length: int = 5) -> str:
        """Slack's auto-generated block_id/action_id look like ``hspI`` or ``maBWU``."""
        return random_alnum(length, string.ascii_letters)

    def opaque(self, length: int = 24) -> str:
        return secrets.token_urlsafe(length)
