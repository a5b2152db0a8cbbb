"""The query language against the seeded data set, on SQLite and PostgreSQL: each query of
the table finds exactly its tickets; errors name the term and suggest; tenancy holds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.core.db import Database
from bot.services import search
from bot.services.search import QueryError, Scope, compile_text, parse
from bot.services.search.compile import SlaClock, TimeEntry
from models import Member
from tests.services.search import naive
from tests.services.search.cases import CASES, ERROR_CASES, REQUESTER_CASES, Case
from tests.services.search.dataset import NOW, SPECS, Seeded, seed

NEEDED = {"sla": SlaClock is not None, "time": TimeEntry is not None}


def runnable(cases: list[Case]) -> list[Case]:
    return [c for c in cases if c.needs is None or NEEDED[c.needs]]


@pytest.fixture
def seeded(db: Database) -> Iterator[tuple[Database, Seeded]]:
    with db.session() as session:
        data = seed(session)
    yield db, data


def scope_of(data: Seeded, member: Member | None, *, staff: bool) -> Scope:
    return search.scope_for(data.ws.organization, member=member, is_staff=staff, now=NOW)


def found(db: Database, data: Seeded, text: str, scope: Scope) -> list[str]:
    with db.read_session() as session:
        result = search.search(session, text=text, scope=scope, limit=200)
        keys = [k for t in result.tickets for k, v in data.tickets.items() if v.id == t.id]
        assert result.total == len(keys)
        return keys


@pytest.mark.parametrize("case", runnable(CASES), ids=lambda c: c.query or "(empty)")
def test_each_query_finds_its_tickets(seeded, case: Case) -> None:
    db, data = seeded
    keys = found(db, data, case.query, scope_of(data, data.ws.tech, staff=True))
    assert set(keys) == case.expected
    if case.order is not None:
        assert tuple(keys) == case.order
    # The oracle agrees with the table (so the property test below checks the right thing).
    assert naive.expected(parse(case.query)) == case.expected


@pytest.mark.parametrize("case", runnable(REQUESTER_CASES), ids=lambda c: c.query or "(empty)")
def test_a_requester_searches_only_their_tickets_public_side(seeded, case: Case) -> None:
    db, data = seeded
    keys = found(db, data, case.query, scope_of(data, data.ws.alice, staff=False))
    assert set(keys) == case.expected
    assert naive.expected(parse(case.query), me="alice", staff=False) == case.expected


def test_the_default_order_is_latest_activity_first(seeded) -> None:
    db, data = seeded
    keys = found(db, data, "", scope_of(data, data.ws.tech, staff=True))
    ordered = sorted(SPECS, key=lambda s: (s.updated or s.created, SPECS.index(s)), reverse=True)
    assert keys == [s.key for s in ordered]


@pytest.mark.parametrize(("query", "words"), ERROR_CASES, ids=[q for q, _ in ERROR_CASES])
def test_a_bad_query_names_the_term_and_suggests(seeded, query: str, words) -> None:
    db, data = seeded
    with db.read_session() as session, pytest.raises(QueryError) as raised:
        compile_text(session, query, scope_of(data, data.ws.tech, staff=True))
    for word in words:
        assert word in raised.value.message


def test_me_means_nobody_for_a_token(seeded) -> None:
    db, data = seeded
    with db.read_session() as session, pytest.raises(QueryError) as raised:
        compile_text(session, "assignee:me", scope_of(data, None, staff=True))
    assert "`assignee:me` means nobody" in raised.value.message


def test_paging_and_the_headline(seeded) -> None:
    db, data = seeded
    scope = scope_of(data, data.ws.tech, staff=True)
    with db.read_session() as session:
        first = search.search(session, text="status:unresolved", scope=scope, limit=5)
        second = search.search(session, text="status:unresolved", scope=scope, limit=5, offset=5)
        assert first.total == second.total == 9
        assert len(first.tickets) == 5 and len(second.tickets) == 4
        assert not {t.id for t in first.tickets} & {t.id for t in second.tickets}
        assert first.headline == "Unresolved — 9 tickets"
        named = search.search(
            session,
            text="status:open,pending priority:>=high assignee:<@UT0001T> created:>7d "
            'client:"acme corp"',
            scope=scope,
        )
        assert named.headline == (
            "Open or pending, high or urgent, assigned to Tom Tech, created more than 7 days "
            "ago, for Acme Corp — 1 ticket"
        )


def test_another_organizations_tickets_are_never_found(seeded) -> None:
    db, data = seeded
    other_ids = {data.tickets[k].id for k in ("other-jam", "other-vpn")}
    for text in ("", "printer", "ZEBRA42", "confidential", '"paper jam"', "#1", "vpn"):
        for scope in (
            scope_of(data, data.ws.tech, staff=True),
            scope_of(data, None, staff=True),
            scope_of(data, data.ws.alice, staff=False),
        ):
            with db.read_session() as session:
                result = search.search(session, text=text, scope=scope, limit=200)
            assert not {t.id for t in result.tickets} & other_ids


def test_a_requester_never_matches_words_only_in_internal_notes(seeded) -> None:
    db, data = seeded
    scope = scope_of(data, data.ws.alice, staff=False)
    internal_only = {"vendor", "zebra42", "licence", "vault", "confidential", "cable", "swap"}
    for word in internal_only:
        assert found(db, data, word, scope) == []
        assert found(db, data, f'"{word}"', scope) == []
    # …while staff find them.
    assert set(found(db, data, "cable swap", scope_of(data, data.ws.tech, staff=True))) == {
        "monitor"
    }


def test_full_text_follows_edits(seeded) -> None:
    """The indexes follow new comments and changed titles (triggers / GIN on the rows)."""
    from models import AuthorType, CommentType, TicketComment

    db, data = seeded
    staff = scope_of(data, data.ws.tech, staff=True)
    with db.session() as session:
        ticket = session.get(type(data.tickets["wifi"]), data.tickets["wifi"].id)
        assert ticket is not None
        ticket.title = "Wireless slow in lobby"
        session.add(ticket)
        session.add(
            TicketComment(
                ticket_id=ticket.id,  # type: ignore[arg-type]
                organization_id=ticket.organization_id,
                author_id=data.ws.tech.id,
                author_name="Tom Tech",
                author_type=AuthorType.STAFF,
                comment_type=CommentType.PUBLIC_REPLY,
                content="Replaced the access point with a Ubiquiti one",
            )
        )
    assert found(db, data, "wireless", staff) == ["wifi"]
    assert found(db, data, "wifi", staff) == []
    assert found(db, data, "ubiquiti", staff) == ["wifi"]


def test_counts_of_many_queries_in_one_statement_equal_each_querys_own_total(seeded) -> None:
    """App Home counts all of a person's views together: every query of the table (several
    with words, with `due:`, `sla:`, unresolved statuses and not) in one call gives each
    exactly its own tickets' number, and a query that does not run its error in its place."""
    db, data = seeded
    cases = runnable(CASES)
    broken = [query for query, _ in ERROR_CASES][:3]
    texts = [*broken[:1], *(c.query for c in cases), *broken[1:], cases[1].query]
    with db.read_session() as session:
        counted = search.counts(
            session, texts=texts, scope=scope_of(data, data.ws.tech, staff=True)
        )
    expected = {c.query: len(c.expected) for c in cases}
    for text, count in zip(texts, counted, strict=True):
        if text in broken:
            assert isinstance(count, QueryError), text
        else:
            assert count == expected[text], text
    requester = runnable(REQUESTER_CASES)
    with db.read_session() as session:
        counted = search.counts(
            session,
            texts=[c.query for c in requester],
            scope=scope_of(data, data.ws.alice, staff=False),
        )
    assert counted == [len(c.expected) for c in requester]
