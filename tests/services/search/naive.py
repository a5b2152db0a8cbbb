"""The query language's meaning written plainly in Python, over the dataset's specs: the
oracle the SQL compiler is checked against."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.services.search.parser import words_of
from bot.services.search.query import (
    UNRESOLVED,
    Age,
    DueTerm,
    Flag,
    FlagTerm,
    NamedTerm,
    NumberTerm,
    Op,
    PersonKind,
    PersonTerm,
    PriorityTerm,
    Query,
    SlaState,
    SlaTerm,
    StatusTerm,
    Term,
    TextTerm,
    TimeTerm,
)
from tests.services.search.dataset import NOW, SPECS, ZONE, Spec

CLIENT_NAMES = {"acme": "Acme Corp", "globex": "Globex"}
PEOPLE = {
    # key → (name, email, slack user id) in the first workspace (make_workspace's)
    "admin": ("Ada Admin", "admin@example.com", "UT0001A"),
    "tech": ("Tom Tech", "tech@example.com", "UT0001T"),
    "alice": ("Alice", "alice@client-T0001.com", "UT00011"),
    "bob": ("Bob", "bob@client-T0001.com", "UT00012"),
}


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def _person_matches(person_key: str | None, kind: PersonKind, value: str, me: str | None) -> bool:
    if kind == PersonKind.NONE:
        return person_key is None
    if person_key is None:
        return False
    if kind == PersonKind.ME:
        return person_key == me
    name, email, slack = PEOPLE[person_key]
    if kind == PersonKind.SLACK_USER:
        return slack == value
    return value.lower() in (name.lower(), email.lower())


def _age(value: datetime | None, age: Age, now: datetime) -> bool:
    if value is None:
        return False
    threshold = now - timedelta(seconds=age.seconds)
    return {
        Op.GT: value < threshold,
        Op.GE: value <= threshold,
        Op.LT: value > threshold,
        Op.LE: value >= threshold,
    }[age.op]


def _term(spec: Spec, term: Term, me: str | None, staff: bool) -> bool:
    zone = ZoneInfo(ZONE)
    if isinstance(term, StatusTerm):
        return spec.status in term.statuses
    if isinstance(term, PriorityTerm):
        return spec.priority in term.priorities
    if isinstance(term, NumberTerm):
        return spec in SPECS and SPECS.index(spec) + 1 == term.number
    if isinstance(term, PersonTerm):
        key = spec.assignee if term.role == "assignee" else spec.requester
        return any(_person_matches(key, p.kind, p.value, me) for p in term.people)
    if isinstance(term, NamedTerm):
        value = CLIENT_NAMES.get(spec.client or "") if term.key == "client" else spec.category
        return any(
            value is None if n.name is None else (value or "").lower() == n.name.lower()
            for n in term.names
        )
    if isinstance(term, TimeTerm):
        value = {
            "created": spec.created,
            "updated": spec.updated or spec.created,
            "resolved": spec.resolved,
        }[term.key]
        for condition in term.conditions:
            if isinstance(condition, Age):
                if _age(value, condition, NOW):
                    return True
                continue
            if value is None:
                continue
            local = value.astimezone(zone).date()
            if (condition.first is None or local >= condition.first) and (
                condition.last is None or local <= condition.last
            ):
                return True
        return False
    if isinstance(term, DueTerm):
        running = [c[2] for c in spec.clocks if c[1] == "running" and c[2] is not None]
        for age in term.conditions:
            horizon = NOW + timedelta(seconds=age.seconds)
            if age.op == Op.LT and any(d < horizon for d in running):
                return True
            if age.op == Op.LE and any(d <= horizon for d in running):
                return True
            if age.op == Op.GT and running and min(running) > horizon:
                return True
            if age.op == Op.GE and running and min(running) >= horizon:
                return True
        return False
    if isinstance(term, SlaTerm):
        clocks = spec.clocks
        checks = {
            SlaState.BREACHED: any(c[4] is not None for c in clocks),
            SlaState.WARNING: any(
                c[1] == "running" and c[4] is None and c[3] is not None and c[3] <= NOW
                for c in clocks
            ),
            SlaState.PAUSED: any(c[1] == "paused" for c in clocks),
            SlaState.MET: any(c[1] == "met" and c[4] is None for c in clocks),
            SlaState.NONE: not any(c[1] != "cancelled" for c in clocks),
        }
        return any(checks[s] for s in term.states)
    if isinstance(term, FlagTerm):
        return any(_flag(spec, f, staff) for f in term.flags)
    assert isinstance(term, TextTerm)
    documents = [words_of(f"{spec.title} {spec.description}")]
    for kind, _, content, _ in spec.comments:
        if kind == "public" or staff:
            documents.append(words_of(content))
    return any(_contains(d, term.words) for d in documents)


def _flag(spec: Spec, flag: Flag, staff: bool) -> bool:
    if flag == Flag.UNASSIGNED:
        return spec.assignee is None
    if flag == Flag.OVERDUE:
        return any(c[1] == "running" and c[2] is not None and c[2] <= NOW for c in spec.clocks)
    if flag == Flag.ATTACHMENT:
        return any(staff or not internal for internal in spec.attachments)
    if flag == Flag.TIME:
        return spec.minutes_logged > 0
    public = sorted((c for c in spec.comments if c[0] == "public"), key=lambda c: c[3])
    if spec.status not in UNRESOLVED:
        return False
    staff_replied = any(c[1] == "staff" for c in public)
    return not staff_replied or public[-1][1] == "user"


def matches(spec: Spec, query: Query, *, me: str | None, staff: bool) -> bool:
    if not staff and (me is None or spec.requester != me):
        return False
    return all(_term(spec, term, me, staff) != term.negated for term in query.terms)


def expected(query: Query, *, me: str | None = "tech", staff: bool = True) -> set[str]:
    return {s.key for s in SPECS if matches(s, query, me=me, staff=staff)}


__all__ = ["expected", "matches"]
