"""Typed `Query` → one SQLAlchemy statement, the same for SQLite and PostgreSQL.

Only free text differs by backend (see `fulltext.py`). Every statement is scoped to the
organization, and a requester's to their own tickets' public side. "Now" is passed in.

Each positive condition is written so it is never NULL, so that its negation keeps the
tickets without a value (`-assignee:me` keeps the unassigned ones).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from bot.services.search.errors import QueryError, unknown
from bot.services.search.fulltext import matching_ticket_ids
from bot.services.search.query import (
    PRIORITY_ORDER,
    UNRESOLVED,
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
from models import (
    AuthorType,
    ClientCompany,
    CommentType,
    Member,
    Ticket,
    TicketAttachment,
    TicketComment,
)


def _optional_model(module: str, name: str) -> Any:
    """A model of a part of Ticketbot that may not be installed yet (None then)."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):  # pragma: no cover - until it is on main
        return None


# SLA clocks (issue 13) and time entries (issue 14) land separately.
SlaClock: Any = _optional_model("models.sla", "SlaClock")
TimeEntry: Any = _optional_model("models.time_entry", "TimeEntry")


# Spelt as the partial index of open tickets is (`status IN ('open', 'in_progress',
# 'pending')`, the values written into the statement, not bound), so that the index applies;
# an IN expression, not a boolean literal, which SQLite would compare with 1 (`(…) = 1`, a
# term no partial index matches).
def _state(name: str) -> Any:
    """A clock state written into the SQL, not bound: PostgreSQL plans a prepared statement
    once for every value after a few runs only when its estimates hold for any value, and
    `status = $1` is a guess where `status = 'running'` is read from the statistics."""
    return literal(name, literal_execute=True)


UNRESOLVED_PREDICATE: ColumnElement[bool] = col(Ticket.status).in_(
    bindparam("unresolved_statuses", [s.value for s in UNRESOLVED], literal_execute=True)
)


@dataclass(frozen=True)
class Scope:
    """Who is searching, in which organization, when, and in which time zone."""

    organization_id: int
    is_staff: bool
    member: Member | None = None  # None: a REST token (staff rights, nobody in person)
    now: datetime = field(default_factory=lambda: datetime.now(ZoneInfo("UTC")))
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    # The organization's configured categories, from the organization the caller already
    # holds (None: read them when a query names a category).
    categories: tuple[str, ...] | None = None

    @property
    def member_id(self) -> int | None:
        return self.member.id if self.member is not None else None


@dataclass
class Compiled:
    where: list[ColumnElement[bool]]
    order_by: list[Any]
    # Names found for the values of the query, for its plain-words description:
    # the span's start → "Tom Tech", "Acme Corp", …
    names: dict[int, str] = field(default_factory=dict)
    # Every ticket it finds is unresolved (a status term within the open ones): it counts
    # among the organization's open tickets, a few hundred whatever the history.
    unresolved_only: bool = False

    def select(self) -> Any:
        return select(Ticket).where(*self.where).order_by(*self.order_by)

    def count(self) -> Any:
        return select(func.count()).select_from(Ticket).where(*self.where)


def compile_query(session: Session, query: Query, scope: Scope) -> Compiled:
    compiler = _Compiler(session, scope)
    organization: Any = col(Ticket.organization_id)
    if _has_words(query) and _unresolved_only(query):
        # Words and unresolved statuses: the open tickets (the live queue, a few hundred at
        # most) are read from their partial index and each is looked up in the set of the
        # organization's matches, which for a common word grow with the history (1,250 of
        # 10,000 tickets): the smaller side drives, not one fetch by key per match.
        compiler.words_filter_only = True
    elif compiler.dialect == "sqlite" and _has_words(query):
        # Words: the matches come from FTS5 and are fetched by key; written `+organization_id`
        # so that SQLite does not walk the organization's tickets to test each against them.
        organization = literal_column("+ticket.organization_id")
    where: list[ColumnElement[bool]] = [organization == scope.organization_id]
    if not scope.is_staff:
        # A requester sees only the tickets they asked for (and nothing without a person).
        where.append(
            col(Ticket.requester_id) == scope.member_id if scope.member_id is not None else false()
        )
    window = _due_window(query)
    if window is not None:
        where.append(compiler.due_window(window[0]))
    for term in query.terms:
        if window is not None and term in window:
            continue
        compiler.negating = term.negated
        condition = compiler.term(term)
        where.append(not_(condition) if term.negated else condition)
    return Compiled(
        where=where,
        order_by=compiler.order(query),
        names=compiler.names,
        unresolved_only=_unresolved_only(query),
    )


class _Compiler:
    def __init__(self, session: Session, scope: Scope) -> None:
        self.session = session
        self.scope = scope
        self.dialect = session.get_bind().dialect.name
        self.names: dict[int, str] = {}
        self._texts = 0
        # Test tickets read by another index against the words' matches, rather than fetch
        # the matches by key: `+ticket.id IN (…)` (SQLite), `ticket.id + 0 IN (…)`
        # (PostgreSQL), which neither planner can seek the primary key by.
        self.words_filter_only = False
        self.negating = False  # compiling a term written with a minus

    def _among(self, column: Any, values: list[Any]) -> ColumnElement[bool]:
        """`column IN values`. Under a minus, NOT of a comparison with NULL is NULL (no
        match): an empty column must be false, not NULL, for `-client:Acme` to keep the
        tickets of no client. Only then, since `IS NOT NULL` next to an IN list makes the
        planners range-scan the assignee index and sort, where `IN (?)` reads it in order."""
        if self.negating:
            return and_(column.is_not(None), column.in_(values))
        among: ColumnElement[bool] = column.in_(values)
        return among

    def term(self, term: Term) -> ColumnElement[bool]:
        handlers: dict[type[Term], Callable[[Any], ColumnElement[bool]]] = {
            StatusTerm: self._status,
            PriorityTerm: self._priority,
            PersonTerm: self._person,
            NamedTerm: self._named,
            TimeTerm: self._time,
            DueTerm: self._due,
            SlaTerm: self._sla,
            FlagTerm: self._flags,
            NumberTerm: self._number,
            TextTerm: self._text,
        }
        return handlers[type(term)](term)

    # -- fields of the ticket -------------------------------------------------------------

    def _status(self, term: StatusTerm) -> ColumnElement[bool]:
        if set(term.statuses) == set(UNRESOLVED):
            return UNRESOLVED_PREDICATE
        chosen = col(Ticket.status).in_([s.value for s in term.statuses])
        if set(term.statuses) <= set(UNRESOLVED):
            # Unresolved ones only (`status:open,pending`): say so in the partial index's
            # words too, so that it serves them (a few rows, whatever the closed history).
            return and_(UNRESOLVED_PREDICATE, chosen)
        return chosen

    def _priority(self, term: PriorityTerm) -> ColumnElement[bool]:
        if not term.priorities:
            return false()
        return col(Ticket.priority).in_([p.value for p in term.priorities])

    def _number(self, term: NumberTerm) -> ColumnElement[bool]:
        return col(Ticket.ticket_number) == term.number

    def _person(self, term: PersonTerm) -> ColumnElement[bool]:
        column = col(Ticket.assigned_staff_id if term.role == "assignee" else Ticket.requester_id)
        ids: list[int] = []
        conditions: list[ColumnElement[bool]] = []
        for person in term.people:
            assert person.span is not None
            if person.kind == PersonKind.NONE:
                conditions.append(column.is_(None))
            elif person.kind == PersonKind.ME:
                if self.scope.member_id is None:
                    raise QueryError(
                        f"`{term.role}:me` means nobody here: an API token is not a person; "
                        f"name them instead, e.g. `{term.role}:<@U123>` or "
                        f'`{term.role}:"Tom Tech"`',
                        position=person.span.start + 1,
                        term=person.span.text,
                    )
                ids.append(self.scope.member_id)
            else:
                found = self._members(person.kind, person.value, person.span)
                ids += [m.id for m in found if m.id is not None]
                self.names[person.span.start] = " or ".join(m.name for m in found)
        if ids:
            conditions.append(self._among(column, ids))
        return or_(*conditions) if len(conditions) > 1 else conditions[0]

    def _members(self, kind: PersonKind, value: str, span: Any) -> list[Member]:
        members = select(Member).where(Member.organization_id == self.scope.organization_id)
        if kind == PersonKind.SLACK_USER:
            found = list(self.session.exec(members.where(Member.slack_user_id == value)).all())
            if not found:
                raise QueryError(
                    f"`{span.text}` is nobody Ticketbot knows in this workspace",
                    position=span.start + 1,
                    term=span.text,
                )
            return found
        lowered = value.lower()
        found = list(
            self.session.exec(
                members.where(
                    or_(func.lower(Member.name) == lowered, func.lower(Member.email) == lowered)
                )
            ).all()
        )
        if not found:
            names = self.session.exec(
                select(Member.name).where(Member.organization_id == self.scope.organization_id)
            ).all()
            raise unknown("person", value, names, position=span.start + 1, term=span.text)
        return found

    def _named(self, term: NamedTerm) -> ColumnElement[bool]:
        if term.key == "client":
            return self._clients(term)
        configured = self._configured_categories()
        organization_categories: list[str] | None = None  # read only when needed
        conditions: list[ColumnElement[bool]] = []
        values: list[str] = []
        for named in term.names:
            if named.name is None:
                conditions.append(col(Ticket.category).is_(None))
                continue
            # A configured category is known without reading the tickets; a name that is
            # not (an old category still on tickets) is looked up among those in use.
            match = next((c for c in configured if c.lower() == named.name.lower()), None)
            if match is None:
                if organization_categories is None:
                    organization_categories = self._categories()
                match = next(
                    (c for c in organization_categories if c.lower() == named.name.lower()), None
                )
            if match is None:
                raise unknown(
                    "category",
                    named.name,
                    organization_categories or configured,
                    position=named.span.start + 1,
                    term=named.span.text,
                )
            values.append(match)
            self.names[named.span.start] = match
        if values:
            conditions.append(self._among(col(Ticket.category), values))
        return or_(*conditions) if len(conditions) > 1 else conditions[0]

    def _configured_categories(self) -> list[str]:
        from models import Organization

        if self.scope.categories is not None:
            return list(self.scope.categories)
        organization = self.session.get(Organization, self.scope.organization_id)
        return organization.categories if organization is not None else []

    def _categories(self) -> list[str]:
        configured = self._configured_categories()
        used = self.session.exec(
            select(Ticket.category)
            .where(Ticket.organization_id == self.scope.organization_id)
            .where(col(Ticket.category).is_not(None))
            .distinct()
        ).all()
        return list(dict.fromkeys([*configured, *(u for u in used if u)]))

    def _clients(self, term: NamedTerm) -> ColumnElement[bool]:
        companies = self.session.exec(
            select(ClientCompany).where(ClientCompany.organization_id == self.scope.organization_id)
        ).all()
        conditions: list[ColumnElement[bool]] = []
        ids: list[int] = []
        for named in term.names:
            if named.name is None:
                conditions.append(col(Ticket.client_company_id).is_(None))
                continue
            match = [c for c in companies if c.name.lower() == named.name.lower()]
            if not match:
                raise unknown(
                    "client",
                    named.name,
                    [c.name for c in companies],
                    position=named.span.start + 1,
                    term=named.span.text,
                )
            ids += [c.id for c in match if c.id is not None]
            self.names[named.span.start] = match[0].name
        if ids:
            conditions.append(self._among(col(Ticket.client_company_id), ids))
        return or_(*conditions) if len(conditions) > 1 else conditions[0]

    # -- time -----------------------------------------------------------------------------

    def _time(self, term: TimeTerm) -> ColumnElement[bool]:
        column = col(
            {
                "created": Ticket.created_at,
                "updated": Ticket.updated_at,
                "resolved": Ticket.resolved_at,
            }[term.key]
        )
        conditions = []
        for condition in term.conditions:
            if isinstance(condition, Age):
                found = _age_condition(column, condition, self.scope.now)
                since = _age_since(condition, self.scope.now)
            else:
                found = self._dates_condition(column, condition)
                since = self._start_of(condition.first) if condition.first else None
            if term.key == "created" and since is not None:
                # A ticket is updated when it is created and after: created since X implies
                # updated since X, which bounds the walk of the updated index that the
                # default order reads (else a few matches walk the whole history).
                found = and_(found, col(Ticket.updated_at) >= since)
            conditions.append(found)
        return or_(*conditions) if len(conditions) > 1 else conditions[0]

    def _start_of(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.scope.zone)

    def _dates_condition(self, column: Any, dates: OnDates) -> ColumnElement[bool]:
        parts = [column.is_not(None)]
        if dates.first is not None:
            parts.append(column >= self._start_of(dates.first))
        if dates.last is not None:
            parts.append(column < self._start_of(dates.last + timedelta(days=1)))
        return and_(*parts)

    # -- SLA, time, attachments, conversation ----------------------------------------------

    def _clocks(self, term: Term, what: str) -> Any:
        if SlaClock is None:
            raise QueryError(
                f"`{what}` is not available yet: SLA clocks are not part of Ticketbot yet",
                position=term.span.start + 1,
                term=term.span.text,
            )
        return SlaClock

    def _running_due_before(
        self, clock: Any, instant: datetime, *, inclusive: bool
    ) -> ColumnElement[bool]:
        """The ticket has a running clock due before `instant`: the organization's running
        clocks due by then are a range of `ix_sla_clock_org_status_due` (a handful whatever
        the history; met and breached clocks are not in it), read first."""
        due_by = self._running_clocks_due(clock, instant, inclusive=inclusive)
        return col(Ticket.id).in_(due_by.scalar_subquery())

    def _running_clocks_due(self, clock: Any, instant: datetime, *, inclusive: bool) -> Any:
        """The tickets of the organization's running clocks due before `instant`."""
        due = col(clock.due_at)
        return select(clock.ticket_id).where(
            clock.organization_id == self.scope.organization_id,
            clock.status == _state("running"),
            due <= instant if inclusive else due < instant,
        )

    def due_window(self, term: DueTerm) -> ColumnElement[bool]:
        """`due:<X -is:overdue` ("Breaching soon"): a running clock due before X and none due
        by now, read as one range of the clock index (those due before X, grouped by ticket,
        whose soonest is still ahead) instead of two, each planned and run on its own."""
        clock = self._clocks(term, "due:")
        (age,) = term.conditions
        instant = self.scope.now + timedelta(seconds=age.seconds)
        due_in_window = (
            self._running_clocks_due(clock, instant, inclusive=age.op == Op.LE)
            .group_by(clock.ticket_id)
            .having(func.min(col(clock.due_at)) > self.scope.now)
        )
        return col(Ticket.id).in_(due_in_window.scalar_subquery())

    def _due(self, term: DueTerm) -> ColumnElement[bool]:
        clock = self._clocks(term, "due:")
        conditions = []
        for age in term.conditions:
            instant = self.scope.now + timedelta(seconds=age.seconds)
            if age.op in (Op.LT, Op.LE):
                conditions.append(
                    self._running_due_before(clock, instant, inclusive=age.op == Op.LE)
                )
            else:  # the next due instant is later than that: none before, one running
                running = exists().where(
                    clock.ticket_id == Ticket.id, clock.status == _state("running")
                )
                sooner = self._running_due_before(clock, instant, inclusive=age.op == Op.GT)
                conditions.append(and_(running, not_(sooner)))
        return or_(*conditions) if len(conditions) > 1 else conditions[0]

    def _sla(self, term: SlaTerm) -> ColumnElement[bool]:
        clock = self._clocks(term, "sla:")
        of_ticket = clock.ticket_id == Ticket.id
        conditions: list[ColumnElement[bool]] = []
        for state in term.states:
            if state == SlaState.BREACHED:
                conditions.append(exists().where(of_ticket, col(clock.breached_at).is_not(None)))
            elif state == SlaState.WARNING:
                conditions.append(
                    exists().where(
                        of_ticket,
                        clock.status == _state("running"),
                        col(clock.breached_at).is_(None),
                        col(clock.warn_75_at).is_not(None),
                        col(clock.warn_75_at) <= self.scope.now,
                    )
                )
            elif state == SlaState.PAUSED:
                conditions.append(exists().where(of_ticket, clock.status == _state("paused")))
            elif state == SlaState.MET:
                conditions.append(
                    exists().where(
                        of_ticket, clock.status == _state("met"), col(clock.breached_at).is_(None)
                    )
                )
            else:
                conditions.append(
                    not_(exists().where(of_ticket, clock.status != _state("cancelled")))
                )
        return or_(*conditions) if len(conditions) > 1 else conditions[0]

    def _flags(self, term: FlagTerm) -> ColumnElement[bool]:
        conditions: list[ColumnElement[bool]] = [self._flag(term, flag) for flag in term.flags]
        return or_(*conditions) if len(conditions) > 1 else conditions[0]

    def _flag(self, term: FlagTerm, flag: Flag) -> ColumnElement[bool]:
        if flag == Flag.UNASSIGNED:
            return col(Ticket.assigned_staff_id).is_(None)
        if flag == Flag.OVERDUE:
            clock = self._clocks(term, "is:overdue")
            return self._running_due_before(clock, self.scope.now, inclusive=True)
        if flag == Flag.AWAITING_US:
            return self._awaiting_us()
        if flag == Flag.ATTACHMENT:
            attached = exists().where(col(TicketAttachment.ticket_id) == col(Ticket.id))
            if not self.scope.is_staff:
                attached = attached.where(col(TicketAttachment.is_internal).is_(False))
            return attached
        if TimeEntry is None:
            raise QueryError(
                "`has:time` is not available yet: time tracking is not part of Ticketbot yet",
                position=term.span.start + 1,
                term=term.span.text,
            )
        return exists().where(TimeEntry.ticket_id == Ticket.id)

    def _awaiting_us(self) -> ColumnElement[bool]:
        public = and_(
            col(TicketComment.ticket_id) == col(Ticket.id),
            col(TicketComment.comment_type) == CommentType.PUBLIC_REPLY.value,
        )
        staff_replied = exists().where(
            public, col(TicketComment.author_type) == AuthorType.STAFF.value
        )
        latest_author = (
            select(TicketComment.author_type)
            .where(public)
            .order_by(col(TicketComment.created_at).desc(), col(TicketComment.id).desc())
            .limit(1)
            .scalar_subquery()
        )
        return and_(
            UNRESOLVED_PREDICATE,
            or_(
                not_(staff_replied),
                func.coalesce(latest_author, "") == AuthorType.END_USER.value,
            ),
        )

    def _text(self, term: TextTerm) -> ColumnElement[bool]:
        self._texts += 1
        ids = matching_ticket_ids(
            self.dialect,
            term.words,
            organization_id=self.scope.organization_id,
            include_internal=self.scope.is_staff,
            name=f"text_{self._texts}",
            unresolved_only=self.words_filter_only,
        )
        if self.words_filter_only:
            unseekable = "+ticket.id" if self.dialect == "sqlite" else "(ticket.id + 0)"
            return literal_column(unseekable).in_(ids)
        return col(Ticket.id).in_(ids)

    # -- order ------------------------------------------------------------------------------

    def order(self, query: Query) -> list[Any]:
        sort = query.sort
        if sort == SortKey.UPDATED_ASC:
            return [col(Ticket.updated_at).asc(), col(Ticket.id).asc()]
        if sort == SortKey.CREATED_DESC:
            return [col(Ticket.created_at).desc(), col(Ticket.id).desc()]
        if sort == SortKey.CREATED_ASC:
            return [col(Ticket.created_at).asc(), col(Ticket.id).asc()]
        if sort in (SortKey.PRIORITY_DESC, SortKey.PRIORITY_ASC):
            rank = case(
                {p.value: i for i, p in enumerate(PRIORITY_ORDER)}, value=col(Ticket.priority)
            )
            direction = rank.desc() if sort == SortKey.PRIORITY_DESC else rank.asc()
            return [direction, col(Ticket.updated_at).desc(), col(Ticket.id).desc()]
        if sort == SortKey.DUE_ASC:
            if SlaClock is None:
                span = query.sort_span
                raise QueryError(
                    "`sort:due-asc` is not available yet: SLA clocks are not part of Ticketbot yet",
                    position=(span.start + 1) if span else 1,
                    term=span.text if span else "sort:due-asc",
                )
            next_due = (
                select(func.min(SlaClock.due_at))
                .where(SlaClock.ticket_id == Ticket.id, SlaClock.status == _state("running"))
                .scalar_subquery()
            )
            # NULLS LAST rather than a CASE on the subquery: written once, planned once.
            return [next_due.asc().nulls_last(), col(Ticket.id).asc()]
        if self.dialect == "sqlite" and _narrowed(query) and not _one_assignees_open(query):
            # Written `+updated_at` so that SQLite's planner does not walk the organization's
            # tickets by date (reading them all when fewer than a page match) but reads the
            # few matches from their own index (full text, open tickets) and sorts them.
            return [literal_column("+ticket.updated_at").desc(), col(Ticket.id).desc()]
        return [col(Ticket.updated_at).desc(), col(Ticket.id).desc()]


def _due_window(query: Query) -> tuple[DueTerm, FlagTerm] | None:
    """A `due:<X` (or `<=`) term and an `-is:overdue` one, both at the top level: the
    tickets whose soonest running clock falls between now and X."""
    before = next(
        (
            t
            for t in query.terms
            if isinstance(t, DueTerm)
            and not t.negated
            and len(t.conditions) == 1
            and t.conditions[0].op in (Op.LT, Op.LE)
        ),
        None,
    )
    not_overdue = next(
        (
            t
            for t in query.terms
            if isinstance(t, FlagTerm) and t.negated and t.flags == (Flag.OVERDUE,)
        ),
        None,
    )
    return None if before is None or not_overdue is None else (before, not_overdue)


def _has_words(query: Query) -> bool:
    return any(isinstance(t, TextTerm) and not t.negated for t in query.terms)


def _keeps_only_unresolved(term: Term) -> bool:
    return (
        isinstance(term, StatusTerm) and not term.negated and set(term.statuses) <= set(UNRESOLVED)
    )


def _unresolved_only(query: Query) -> bool:
    """The query keeps only unresolved tickets (the partial index of open tickets)."""
    return any(_keeps_only_unresolved(term) for term in query.terms)


def _narrowed(query: Query) -> bool:
    """The query keeps only tickets an index of their own finds: words (full text) or
    unresolved statuses (the partial index of open tickets)."""
    return any(
        (isinstance(term, TextTerm) and not term.negated) or _keeps_only_unresolved(term)
        for term in query.terms
    )


def _one_assignees_open(query: Query) -> bool:
    """Unresolved tickets of one assignee (`me`, a Slack mention) or of none: the partial
    index of open tickets (organization, assignee, updated_at) reads them newest first."""
    one = any(
        not term.negated
        and (
            (
                isinstance(term, PersonTerm)
                and term.role == "assignee"
                and len(term.people) == 1
                and term.people[0].kind in (PersonKind.ME, PersonKind.SLACK_USER, PersonKind.NONE)
            )
            or (isinstance(term, FlagTerm) and term.flags == (Flag.UNASSIGNED,))
        )
        for term in query.terms
    )
    return one and any(_keeps_only_unresolved(term) for term in query.terms)


def _age_since(age: Age, now: datetime) -> datetime | None:
    """The earliest instant an age condition allows (`<24h`: now - 24 h), if it has one."""
    if age.op in (Op.LT, Op.LE):
        return now - timedelta(seconds=age.seconds)
    return None


def _age_condition(column: Any, age: Age, now: datetime) -> ColumnElement[bool]:
    """`>7d`: more than 7 days ago (earlier than now - 7 d); `<24h`: within the last 24 h."""
    threshold = now - timedelta(seconds=age.seconds)
    comparison = {
        Op.GT: column < threshold,
        Op.GE: column <= threshold,
        Op.LT: column > threshold,
        Op.LE: column >= threshold,
    }[age.op]
    return and_(column.is_not(None), comparison)
