"""Text → typed `Query`: lark reads the grammar, then each term's values get their meaning.

Nothing here touches the database; names of people, companies and categories are checked
by the compiler, which knows the organization.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache, lru_cache

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from bot.core.text import unstorable_reason
from bot.services.search.describe import duration_words
from bot.services.search.errors import QueryError, unknown
from bot.services.search.grammar import GRAMMAR
from bot.services.search.query import (
    PRIORITY_ORDER,
    UNRESOLVED,
    Age,
    DueTerm,
    Flag,
    FlagTerm,
    Named,
    NamedTerm,
    NumberTerm,
    OnDates,
    Op,
    Person,
    PersonKind,
    PersonTerm,
    PriorityTerm,
    Query,
    SlaState,
    SlaTerm,
    SortKey,
    Span,
    StatusTerm,
    Term,
    TextTerm,
    TimeCondition,
    TimeTerm,
)
from models import TicketPriority, TicketStatus

MAX_QUERY_LENGTH = 1000
MAX_TICKET_NUMBER = 2**31 - 1
KEYS = (
    "status",
    "priority",
    "assignee",
    "requester",
    "client",
    "category",
    "created",
    "updated",
    "resolved",
    "due",
    "sla",
    "is",
    "has",
    "sort",
)
STATUS_WORDS = {
    **{s.value: (s,) for s in TicketStatus},
    "in-progress": (TicketStatus.IN_PROGRESS,),
    "unresolved": UNRESOLVED,
}
IS_FLAGS = (Flag.UNASSIGNED, Flag.OVERDUE, Flag.AWAITING_US)
HAS_FLAGS = (Flag.ATTACHMENT, Flag.TIME)
DURATION = re.compile(r"^(\d{1,6})(m|min|h|d|w)$")
UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
WORD_CHARACTERS = re.compile(r"[^\W_]+")


def words_of(text: str) -> tuple[str, ...]:
    """The words full-text search sees: letters and digits, lowercased (both backends)."""
    return tuple(WORD_CHARACTERS.findall(text.lower()))


@cache
def _lark() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True)


def parse(text: str | None) -> Query:
    """Read a query; raise `QueryError` naming the bad term, its place and a suggestion."""
    return _parse_source(text or "")


# A query is read again each time App Home counts a view: the same texts, mostly. A parsed
# `Query` is immutable and depends on its text alone (errors are not kept).
@lru_cache(maxsize=1024)
def _parse_source(source: str) -> Query:
    if len(source) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"the query is longer than {MAX_QUERY_LENGTH} characters",
            position=MAX_QUERY_LENGTH + 1,
        )
    reason = unstorable_reason(source)
    if reason is not None:
        position = next((i for i, c in enumerate(source) if unstorable_reason(c) is not None), 0)
        raise QueryError(f"the query {reason}", position=position + 1)
    try:
        tree = _lark().parse(source)
    except UnexpectedInput as error:
        raise _syntax_error(source, error) from None
    terms: list[Term] = []
    sort: SortKey | None = None
    sort_span: Span | None = None
    for node in tree.children:
        if not isinstance(node, Tree):
            continue
        term = _term(source, node)
        if isinstance(term, tuple):  # a sort
            if sort is not None:
                raise QueryError(
                    "give `sort:` only once", position=term[1].start + 1, term=term[1].text
                )
            sort, sort_span = term
        else:
            terms.append(term)
    return Query(
        source=source,
        terms=tuple(terms),
        sort=sort or SortKey.UPDATED_DESC,
        sort_span=sort_span,
    )


def _syntax_error(source: str, error: UnexpectedInput) -> QueryError:
    offset = getattr(error, "pos_in_stream", None) or 0
    position = offset + 1
    if isinstance(error, UnexpectedCharacters):
        character = source[offset] if offset < len(source) else ""
        if character == '"':
            return QueryError("a quote is not closed", position=position, term='"')
        return QueryError(f"`{character}` cannot go here", position=position, term=source)
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        stripped = source.rstrip()
        if stripped.endswith(":") or stripped.endswith(","):
            word = stripped.split()[-1] if stripped.split() else stripped
            return QueryError(f"`{word}` needs a value after it", position=len(stripped), term=word)
        if stripped.endswith("-"):
            return QueryError(
                "`-` needs a term after it (e.g. `-status:closed`)", position=len(stripped)
            )
        return QueryError("the query ends too early", position=len(stripped) or 1)
    if isinstance(error, UnexpectedToken):
        token = error.token
        start = (token.start_pos or 0) + 1
        if token.type == "_WS":
            return QueryError("a value is missing before the space", position=start)
        return QueryError(f"`{token}` cannot go here", position=start, term=str(token))
    return QueryError("the query cannot be read", position=position)


def _span(source: str, item: Tree[Token] | Token) -> Span:
    if isinstance(item, Token):
        start, end = item.start_pos or 0, item.end_pos or 0
    else:
        start, end = item.meta.start_pos, item.meta.end_pos
    return Span(start, end, source[start:end])


def _unquote(token: Token) -> str:
    text = str(token)
    return text[1:-1] if token.type == "QUOTED" else text


def _term(source: str, node: Tree[Token]) -> Term | tuple[SortKey, Span]:
    span = _span(source, node)
    children = list(node.children)
    negated = isinstance(children[0], Token) and children[0].type == "NEG"
    inner = children[-1]
    assert isinstance(inner, Tree)
    if inner.data == "number":
        token = inner.children[0]
        assert isinstance(token, Token)
        number = int(str(token)[1:])
        if number < 1 or number > MAX_TICKET_NUMBER:
            raise QueryError(f"there is no ticket `{token}`", position=span.start + 1, term=token)
        return NumberTerm(span=span, negated=negated, number=number)
    if inner.data in ("word", "phrase"):
        token = inner.children[0]
        assert isinstance(token, Token)
        text = _unquote(token)
        words = words_of(text)
        if not words:
            raise QueryError(
                f"`{token}` has no letters or digits to search for",
                position=(token.start_pos or 0) + 1,
                term=str(token),
            )
        return TextTerm(
            span=span, negated=negated, text=text, words=words, quoted=inner.data == "phrase"
        )
    key_token = inner.children[0]
    assert isinstance(key_token, Token)
    key = str(key_token)[:-1].lower()
    values = [_value(source, v) for v in inner.children[1:] if isinstance(v, Tree)]
    if key not in KEYS:
        raise unknown("key", key, KEYS, position=(key_token.start_pos or 0) + 1)
    if key == "sort":
        return _sort(span, negated, values)
    builder = _BUILDERS[key]
    return builder(span, negated, key, values)


# One value of a `key:` term: (operator or None, text, was it quoted, its span).
Value = tuple[Op | None, str, bool, Span]


def _value(source: str, node: Tree[Token]) -> Value:
    op: Op | None = None
    text_token: Token | None = None
    for child in node.children:
        assert isinstance(child, Token)
        if child.type == "OP":
            op = Op(str(child))
        else:
            text_token = child
    assert text_token is not None
    return op, _unquote(text_token), text_token.type == "QUOTED", _span(source, node)


def _no_operator(key: str, value: Value) -> None:
    op, text, _, span = value
    if op is not None:
        raise QueryError(
            f"`{key}:` does not compare with `{op}`; write `{key}:{text}`",
            position=span.start + 1,
            term=span.text,
        )


def _choice(key: str, value: Value, choices: tuple[str, ...], what: str) -> str:
    _no_operator(key, value)
    word = value[1].lower()
    if word not in choices:
        raise unknown(what, value[1], choices, position=value[3].start + 1, term=value[3].text)
    return word


def _status(span: Span, negated: bool, key: str, values: list[Value]) -> Term:
    statuses: list[TicketStatus] = []
    for value in values:
        statuses += STATUS_WORDS[_choice(key, value, tuple(STATUS_WORDS), "status")]
    written = [v[1].lower() for v in values]
    return StatusTerm(
        span=span,
        negated=negated,
        statuses=tuple(dict.fromkeys(statuses)),
        unresolved=written == ["unresolved"],
    )


def _priority(span: Span, negated: bool, key: str, values: list[Value]) -> Term:
    names = tuple(p.value for p in PRIORITY_ORDER)
    chosen: list[TicketPriority] = []
    for value in values:
        op, word, _, value_span = value
        if word.lower() not in names:
            raise unknown(
                "priority", word, names, position=value_span.start + 1, term=value_span.text
            )
        rank = names.index(word.lower())
        chosen += [p for r, p in enumerate(PRIORITY_ORDER) if _compares(r, op, rank)]
    ordered = tuple(p for p in PRIORITY_ORDER if p in chosen)
    return PriorityTerm(span=span, negated=negated, priorities=ordered)


def _compares(left: int, op: Op | None, right: int) -> bool:
    if op == Op.GT:
        return left > right
    if op == Op.GE:
        return left >= right
    if op == Op.LT:
        return left < right
    if op == Op.LE:
        return left <= right
    return left == right


def _person(span: Span, negated: bool, key: str, values: list[Value]) -> Term:
    people: list[Person] = []
    for value in values:
        _no_operator(key, value)
        _, text, quoted, value_span = value
        lowered = text.lower()
        if text.startswith("<@"):
            user_id = text[2:-1].split("|", 1)[0]
            people.append(Person(PersonKind.SLACK_USER, user_id, value_span))
        elif not quoted and lowered in ("me", "none"):
            people.append(Person(PersonKind(lowered), "", value_span))
        elif not quoted and SLACK_USER_ID.match(text):
            people.append(Person(PersonKind.SLACK_USER, text, value_span))
        else:
            people.append(Person(PersonKind.NAME, text.removeprefix("@"), value_span))
    return PersonTerm(span=span, negated=negated, role=key, people=tuple(people))


def _named(span: Span, negated: bool, key: str, values: list[Value]) -> Term:
    names: list[Named] = []
    for value in values:
        _no_operator(key, value)
        _, text, quoted, value_span = value
        none = not quoted and text.lower() == "none"
        names.append(Named(None if none else text, value_span))
    return NamedTerm(span=span, negated=negated, key=key, names=tuple(names))


def _duration(key: str, value: Value) -> Age | None:
    op, text, _, span = value
    match = DURATION.match(text.lower())
    if match is None:
        return None
    if op is None or op == Op.EQ:
        words = duration_words(text)
        raise QueryError(
            f"say `{key}:>{text}` (more than {words} ago) or `{key}:<{text}` "
            f"(less than {words} ago)"
            if key != "due"
            else f"say `due:<{text}` (due within {words}) or `due:>{text}`",
            position=span.start + 1,
            term=span.text,
        )
    return Age(op=op, seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)], text=text)


def _date(text: str, span: Span) -> date:
    if not DATE.match(text):
        raise QueryError(
            f"`{text}` is not a date (write it as 2026-03-31) or an age (like 7d, 24h, 30m, 2w)",
            position=span.start + 1,
            term=span.text,
        )
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QueryError(
            f"`{text}` is not a real date", position=span.start + 1, term=span.text
        ) from None


def _time(span: Span, negated: bool, key: str, values: list[Value]) -> Term:
    conditions: list[TimeCondition] = []
    for value in values:
        age = _duration(key, value)
        if age is not None:
            conditions.append(age)
            continue
        op, text, _, value_span = value
        if ".." in text:
            if op is not None:
                raise QueryError(
                    "a range of dates takes no `<` or `>`",
                    position=value_span.start + 1,
                    term=value_span.text,
                )
            first_text, _, last_text = text.partition("..")
            first = None if first_text in ("", "*") else _date(first_text, value_span)
            last = None if last_text in ("", "*") else _date(last_text, value_span)
            if first is not None and last is not None and first > last:
                raise QueryError(
                    f"the range `{text}` ends before it starts",
                    position=value_span.start + 1,
                    term=value_span.text,
                )
            conditions.append(OnDates(first, last))
            continue
        day = _date(text, value_span)
        conditions.append(_date_condition(op, day))
    return TimeTerm(span=span, negated=negated, key=key, conditions=tuple(conditions))


def _date_condition(op: Op | None, day: date) -> OnDates:
    if op is None or op == Op.EQ:
        return OnDates(day, day)
    if op == Op.GE:
        return OnDates(day, None)
    if op == Op.GT:
        return OnDates(day + timedelta(days=1), None)
    if op == Op.LE:
        return OnDates(None, day)
    return OnDates(None, day - timedelta(days=1))


def _due(span: Span, negated: bool, key: str, values: list[Value]) -> Term:
    conditions: list[Age] = []
    for value in values:
        age = _duration(key, value)
        if age is None:
            raise QueryError(
                f"`due:` takes a time from now, like `due:<2h` (not `{value[1]}`)",
                position=value[3].start + 1,
                term=value[3].text,
            )
        conditions.append(age)
    return DueTerm(span=span, negated=negated, conditions=tuple(conditions))


def _sla(span: Span, negated: bool, key: str, values: list[Value]) -> Term:
    choices = tuple(s.value for s in SlaState)
    states = tuple(SlaState(_choice(key, v, choices, "SLA state")) for v in values)
    return SlaTerm(span=span, negated=negated, states=tuple(dict.fromkeys(states)))


def _flags(span: Span, negated: bool, key: str, values: list[Value]) -> Term:
    allowed = IS_FLAGS if key == "is" else HAS_FLAGS
    choices = tuple(f.value for f in allowed)
    flags = tuple(Flag(_choice(key, v, choices, f"`{key}:` value")) for v in values)
    return FlagTerm(span=span, negated=negated, key=key, flags=tuple(dict.fromkeys(flags)))


def _sort(span: Span, negated: bool, values: list[Value]) -> tuple[SortKey, Span]:
    if negated or len(values) != 1:
        raise QueryError(
            "`sort:` takes one order, e.g. `sort:created-asc`",
            position=span.start + 1,
            term=span.text,
        )
    choices = tuple(s.value for s in SortKey)
    return SortKey(_choice("sort", values[0], choices, "sort order")), span


_BUILDERS = {
    "status": _status,
    "priority": _priority,
    "assignee": _person,
    "requester": _person,
    "client": _named,
    "category": _named,
    "created": _time,
    "updated": _time,
    "resolved": _time,
    "due": _due,
    "sla": _sla,
    "is": _flags,
    "has": _flags,
}
