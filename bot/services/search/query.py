"""The typed query: what a parsed search means, before any SQL.

Every term keeps where it was written (for error messages) and whether it was negated.
Values that name something in the database (people, companies, categories) stay names
here; the compiler looks them up in the organization and says so when one is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from models import TicketPriority, TicketStatus

PRIORITY_ORDER: tuple[TicketPriority, ...] = (
    TicketPriority.LOW,
    TicketPriority.MEDIUM,
    TicketPriority.HIGH,
    TicketPriority.URGENT,
)
UNRESOLVED: tuple[TicketStatus, ...] = (
    TicketStatus.OPEN,
    TicketStatus.IN_PROGRESS,
    TicketStatus.PENDING,
)


class Op(StrEnum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "="


@dataclass(frozen=True)
class Span:
    """Where a term or value was written: 0-based offsets into the query text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Age:
    """`>7d`: an instant more (GT) or less (LT) than `seconds` ago (for `due:`, ahead)."""

    op: Op
    seconds: int
    text: str  # "7d", kept for descriptions


@dataclass(frozen=True)
class OnDates:
    """Whole days in the viewer's zone, both ends included; None = open-ended."""

    first: date | None
    last: date | None


TimeCondition = Age | OnDates


class PersonKind(StrEnum):
    ME = "me"
    NONE = "none"
    SLACK_USER = "slack_user"
    NAME = "name"


@dataclass(frozen=True)
class Person:
    kind: PersonKind
    value: str = ""  # a Slack user id or a name/email
    span: Span | None = None


@dataclass(frozen=True)
class Named:
    """A client company or category by name; None means `none` (no value)."""

    name: str | None
    span: Span


class SortKey(StrEnum):
    UPDATED_DESC = "updated-desc"
    UPDATED_ASC = "updated-asc"
    CREATED_DESC = "created-desc"
    CREATED_ASC = "created-asc"
    PRIORITY_DESC = "priority-desc"
    PRIORITY_ASC = "priority-asc"
    DUE_ASC = "due-asc"


class SlaState(StrEnum):
    BREACHED = "breached"
    WARNING = "warning"
    PAUSED = "paused"
    MET = "met"
    NONE = "none"


class Flag(StrEnum):
    """`is:` and `has:` values."""

    UNASSIGNED = "unassigned"
    OVERDUE = "overdue"
    AWAITING_US = "awaiting-us"
    ATTACHMENT = "attachment"
    TIME = "time"


@dataclass(frozen=True)
class Term:
    span: Span
    negated: bool


@dataclass(frozen=True)
class StatusTerm(Term):
    statuses: tuple[TicketStatus, ...]
    unresolved: bool = False  # written as `status:unresolved` (for the description)


@dataclass(frozen=True)
class PriorityTerm(Term):
    priorities: tuple[TicketPriority, ...]


@dataclass(frozen=True)
class PersonTerm(Term):
    role: str  # "assignee" or "requester"
    people: tuple[Person, ...]


@dataclass(frozen=True)
class NamedTerm(Term):
    key: str  # "client" or "category"
    names: tuple[Named, ...]


@dataclass(frozen=True)
class TimeTerm(Term):
    key: str  # "created", "updated" or "resolved"
    conditions: tuple[TimeCondition, ...]


@dataclass(frozen=True)
class DueTerm(Term):
    conditions: tuple[Age, ...]


@dataclass(frozen=True)
class SlaTerm(Term):
    states: tuple[SlaState, ...]


@dataclass(frozen=True)
class FlagTerm(Term):
    key: str  # "is" or "has"
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class NumberTerm(Term):
    number: int


@dataclass(frozen=True)
class TextTerm(Term):
    """Free words or a quoted phrase: its words, in order, must appear next to each other."""

    text: str
    words: tuple[str, ...]
    quoted: bool = False


@dataclass(frozen=True)
class Query:
    source: str
    terms: tuple[Term, ...] = ()
    sort: SortKey = SortKey.UPDATED_DESC
    sort_span: Span | None = field(default=None, compare=False)

    def of_type(self, kind: type[Term]) -> list[Term]:
        return [t for t in self.terms if isinstance(t, kind)]
