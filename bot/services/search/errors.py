"""Errors of the query language: what is wrong, where, and the closest valid choice."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from bot.core.errors import InvalidInput


class QueryError(InvalidInput):
    """A query that cannot be run. `position` is 1-based (the character people count)."""

    def __init__(
        self, message: str, *, position: int, term: str = "", suggestion: str | None = None
    ) -> None:
        full = f"{message} (at character {position})"
        super().__init__(full, field="q")
        self.reason = message
        self.position = position
        self.term = term
        self.suggestion = suggestion


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice nearest to `word` (case-insensitive), if any is reasonably near."""
    options = list(dict.fromkeys(choices))
    by_lower = {c.lower(): c for c in options}
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.5)
    return by_lower[found[0]] if found else None


def unknown(
    what: str, word: str, choices: Iterable[str], *, position: int, term: str = ""
) -> QueryError:
    """ "unknown key `asignee` — did you mean `assignee`?" (or the valid choices)."""
    options = list(choices)
    suggestion = closest(word, options)
    message = f"unknown {what} `{word}`"
    if suggestion is not None:
        message += f" — did you mean `{suggestion}`?"
    elif options:
        shown = ", ".join(f"`{o}`" for o in options[:12])
        message += f" — choose from {shown}"
    return QueryError(message, position=position, term=term or word, suggestion=suggestion)
