"""A query in plain words: "Open, high or urgent, assigned to you, created more than
7 days ago". Plain text; escape it before putting it in mrkdwn."""

from __future__ import annotations

from bot.services.search.query import (
    Age,
    DueTerm,
    Flag,
    FlagTerm,
    NamedTerm,
    NumberTerm,
    OnDates,
    Op,
    PersonKind,
    PersonTerm,
    PriorityTerm,
    Query,
    SlaState,
    SlaTerm,
    SortKey,
    StatusTerm,
    Term,
    TextTerm,
    TimeTerm,
)

UNITS = {"m": "minute", "min": "minute", "h": "hour", "d": "day", "w": "week"}
SORTS = {
    SortKey.UPDATED_DESC: "",
    SortKey.UPDATED_ASC: "least recently updated first",
    SortKey.CREATED_DESC: "newest first",
    SortKey.CREATED_ASC: "oldest first",
    SortKey.PRIORITY_DESC: "most urgent first",
    SortKey.PRIORITY_ASC: "least urgent first",
    SortKey.DUE_ASC: "soonest due first",
}
FLAGS = {
    Flag.UNASSIGNED: ("unassigned", "assigned"),
    Flag.OVERDUE: ("overdue", "not overdue"),
    Flag.AWAITING_US: ("waiting on us", "not waiting on us"),
    Flag.ATTACHMENT: ("with attachments", "without attachments"),
    Flag.TIME: ("with time logged", "without time logged"),
}
SLA_WORDS = {
    SlaState.BREACHED: "SLA breached",
    SlaState.WARNING: "SLA warning",
    SlaState.PAUSED: "SLA paused",
    SlaState.MET: "SLA met",
    SlaState.NONE: "no SLA",
}


def duration_words(text: str) -> str:
    """ "7d" → "7 days", "1h" → "1 hour"."""
    digits = "".join(c for c in text if c.isdigit())
    unit = UNITS.get(text[len(digits) :].lower(), text[len(digits) :])
    return f"{int(digits)} {unit}{'' if int(digits) == 1 else 's'}"


def _or(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def describe(query: Query, names: dict[int, str] | None = None) -> str:
    """The query as understood. `names` (from the compiler) gives people and companies
    their real names; without it they are shown as written."""
    names = names or {}
    parts: list[str] = []
    texts = [t for t in query.terms if isinstance(t, TextTerm) and not t.negated]
    for term in query.terms:
        if isinstance(term, TextTerm) and not term.negated:
            if term is texts[0]:
                parts.append("mentioning " + " and ".join(f'"{t.text}"' for t in texts))
            continue
        parts.append(_term(term, names))
    sort = SORTS[query.sort]
    if sort:
        parts.append(sort)
    sentence = ", ".join(p for p in parts if p) or "all tickets"
    return sentence[0].upper() + sentence[1:]


def _negate(words: str, negated: bool) -> str:
    return f"not {words}" if negated else words


def _term(term: Term, names: dict[int, str]) -> str:
    if isinstance(term, StatusTerm):
        words = (
            "unresolved"
            if term.unresolved
            else _or([s.value.replace("_", " ") for s in term.statuses])
        )
        return _negate(words, term.negated)
    if isinstance(term, PriorityTerm):
        return _negate(_or([p.value for p in term.priorities]) or "no priority", term.negated)
    if isinstance(term, PersonTerm):
        return _person(term, names)
    if isinstance(term, NamedTerm):
        return _named(term, names)
    if isinstance(term, TimeTerm):
        words = _or([_time_words(c) for c in term.conditions])
        return _negate(f"{term.key} {words}", term.negated)
    if isinstance(term, DueTerm):
        return _negate(_or([_due_words(c) for c in term.conditions]), term.negated)
    if isinstance(term, SlaTerm):
        return _negate(_or([SLA_WORDS[s] for s in term.states]), term.negated)
    if isinstance(term, FlagTerm):
        if len(term.flags) == 1:
            return FLAGS[term.flags[0]][1 if term.negated else 0]
        return _negate(_or([FLAGS[f][0] for f in term.flags]), term.negated)
    if isinstance(term, NumberTerm):
        return _negate(f"ticket #{term.number}", term.negated)
    assert isinstance(term, TextTerm)
    return f'not mentioning "{term.text}"'


def _person(term: PersonTerm, names: dict[int, str]) -> str:
    assignee = term.role == "assignee"
    words: list[str] = []
    for person in term.people:
        if person.kind == PersonKind.NONE:
            words.append("unassigned" if assignee else "without a requester")
            continue
        if person.kind == PersonKind.ME:
            who = "you"
        else:
            start = person.span.start if person.span else -1
            who = names.get(start) or person.value
        words.append(f"{'assigned to' if assignee else 'requested by'} {who}")
    return _negate(_or(words), term.negated)


def _named(term: NamedTerm, names: dict[int, str]) -> str:
    words: list[str] = []
    for named in term.names:
        if named.name is None:
            words.append("without a client" if term.key == "client" else "without a category")
        else:
            shown = names.get(named.span.start, named.name)
            words.append(f"for {shown}" if term.key == "client" else f"in {shown}")
    return _negate(_or(words), term.negated)


def _time_words(condition: Age | OnDates) -> str:
    if isinstance(condition, Age):
        span = duration_words(condition.text)
        return {
            Op.GT: f"more than {span} ago",
            Op.GE: f"{span} ago or earlier",
            Op.LT: f"in the last {span}",
            Op.LE: f"in the last {span}",
        }[condition.op]
    first, last = condition.first, condition.last
    if first is not None and last is not None:
        return f"on {first}" if first == last else f"from {first} to {last}"
    if first is not None:
        return f"on or after {first}"
    if last is not None:
        return f"on or before {last}"
    return "at any time"


def _due_words(age: Age) -> str:
    span = duration_words(age.text)
    if age.op in (Op.LT, Op.LE):
        return f"due within {span} (overdue included)"
    return f"due in more than {span}"


def count_words(count: int) -> str:
    return f"{count:,} ticket{'' if count == 1 else 's'}"


def headline(query: Query, count: int, names: dict[int, str] | None = None) -> str:
    """The answer's first line: "Open, assigned to you — 12 tickets"."""
    return f"{describe(query, names)} — {count_words(count)}"
