"""How searches are written for the indexes (bench/scale.py measures them at 1M tickets):
the open-ticket predicate is the partial index's own words, `due:` starts from the clock
index, a configured category is known without reading tickets, and SQLite reads the few
matches of words or unresolved statuses from their own index. Results are the table's
(test_search.py); these check the statements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from bot.core.db import Database
from bot.services import search
from bot.services.search import Scope
from tests.services.search.dataset import NOW, Seeded, seed


@pytest.fixture
def seeded(db: Database) -> Iterator[tuple[Database, Seeded]]:
    with db.session() as session:
        data = seed(session)
    yield db, data


def sent(db: Database, data: Seeded, text: str) -> list[str]:
    """The statements one search sends (one page and its total)."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    scope: Scope = search.scope_for(
        data.ws.organization, member=data.ws.tech, is_staff=True, now=NOW
    )
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.read_session() as session:
            search.search(session, text=text, scope=scope, limit=10)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return statements


def plan(db: Database, statement: str, parameters: Any) -> str:
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(str(row[3]) for row in rows)


def tickets_of(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM ticket" in s and ("count(*)" in s or "LIMIT" in s)]


def test_unresolved_is_written_as_the_partial_index_says(seeded) -> None:
    db, data = seeded
    for text in ("status:unresolved", "status:open,pending", "-status:unresolved"):
        for statement in tickets_of(sent(db, data, text)):
            # The values written out, not bound; a negation says NOT IN.
            assert "IN ('open', 'in_progress', 'pending')" in statement
            assert ") = 1" not in statement  # a boolean compared with 1 matches no index


def test_due_reads_the_organizations_running_clocks_by_due_instant(seeded) -> None:
    db, data = seeded
    for statement in tickets_of(sent(db, data, "due:<2h")):
        assert "sla_clock.organization_id = " in statement
        assert "ticket.id IN (SELECT sla_clock.ticket_id" in statement


def test_a_configured_category_is_known_without_reading_tickets(seeded) -> None:
    db, data = seeded
    statements = sent(db, data, "category:network status:unresolved")
    assert not [s for s in statements if "DISTINCT ticket.category" in s]


def test_a_created_bound_also_bounds_the_updated_instant(seeded) -> None:
    db, data = seeded
    for statement in tickets_of(sent(db, data, "created:<3d")):
        assert "ticket.updated_at >= " in statement


def test_sqlite_reads_matches_of_words_and_open_statuses_from_their_index(seeded) -> None:
    db, data = seeded
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner only")
    recorded: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        recorded.append((statement, parameters))

    scope = search.scope_for(data.ws.organization, member=data.ws.tech, is_staff=True, now=NOW)
    by_status = ("ix_ticket_org_open_assignee", "ix_ticket_org_status")
    for text, indexes in (
        ('"paper jam"', ("ticket_fts",)),
        ("status:unresolved category:network", by_status),
        ("status:open,pending", by_status),
        # A common word with unresolved statuses: the open tickets drive, each tested
        # against the set of the organization's matches (the smaller side).
        ("vpn status:unresolved", by_status),
    ):
        recorded.clear()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            with db.read_session() as session:
                search.search(session, text=text, scope=scope, limit=10)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        for statement, parameters in recorded:
            if "FROM ticket" not in statement or "DISTINCT" in statement:
                continue
            explained = plan(db, statement, parameters)
            assert any(index in explained for index in indexes), (text, explained)
            # Not the organization's tickets walked by date, nor all of them.
            assert "ix_ticket_org_updated" not in explained, (text, explained)
            assert "SCAN ticket " not in explained + " ", (text, explained)


def test_full_text_reads_one_organizations_matches_from_the_index(seeded) -> None:
    """Free text is scoped by organization inside the index (its FTS5 rowid range, its GIN
    lexeme), not by filtering every organization's matches afterwards."""
    db, data = seeded
    for text in ("vpn", '"paper jam"', "vpn status:unresolved"):
        statements = tickets_of(sent(db, data, text))
        assert statements
        for statement in statements:
            if db.engine.dialect.name == "sqlite":
                assert statement.count("rowid BETWEEN ") == 2  # tickets and comments
            else:
                assert statement.count("AS tsquery)") == 3  # tickets, replies, notes
    if db.engine.dialect.name == "sqlite":
        for statement in tickets_of(sent(db, data, "vpn status:unresolved")):
            assert "+ticket.id IN (" in statement


def test_app_home_counts_its_open_views_in_one_pass_over_the_open_tickets(seeded) -> None:
    """The built-in views and any view kept to unresolved statuses are one aggregate each
    over the organization's open tickets; other views a subquery each; the same text is
    counted once; one statement in all, with no category read from the organization."""
    db, data = seeded
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    texts = [
        "assignee:me status:unresolved",
        "status:pending",
        "vpn status:unresolved",
        "category:network status:unresolved",
        "updated:<24h",
        "assignee:me status:unresolved",
    ]
    scope = search.scope_for(data.ws.organization, member=data.ws.tech, is_staff=True, now=NOW)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.read_session() as session:
            search.counts(session, texts=texts, scope=scope)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    (statement,) = [s for s in statements if s.startswith("SELECT")]
    assert statement.count("count(*) FILTER (WHERE") == 4
    assert statement.count("count(*) AS") == 1  # updated:<24h
    if db.engine.dialect.name == "postgresql":
        # The words' matches among the tickets are read for the open ones only.
        assert "AND ticket.status IN ('open', 'in_progress', 'pending') AND (to_tsvector" in (
            statement
        )


def test_sqlite_counts_the_open_tickets_from_the_status_index_with_sampled_statistics(
    seeded,
) -> None:
    """SQLite's ANALYZE with `analysis_limit` (optimize_database) samples as many tickets
    per status as per organization (these are its figures at 1M tickets): the open views'
    pass still reads the open tickets by status, not every ticket of the organization
    through the covering index of assignee and status."""
    db, data = seeded
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner statistics")
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'ticket'")
        for index, stat in (
            ("ix_ticket_org_resolved", "859500 401 2"),
            ("ix_ticket_org_created", "463500 401 1"),
            ("ix_ticket_org_requester_updated", "375360 401 401 1"),
            ("ix_ticket_org_status", "1103463 401 401"),
            ("ix_ticket_org_open_assignee", "4512 101 10 1"),
            ("ix_ticket_org_updated", "463500 401 1"),
            ("ix_ticket_org_assignee_status", "1276496 401 401 401"),
            ("sqlite_autoindex_ticket_1", "1139712 401 1"),
        ):
            connection.exec_driver_sql(
                "INSERT INTO sqlite_stat1 VALUES ('ticket', ?, ?)", (index, stat)
            )
    db.engine.dispose()  # connections read the statistics when they open
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    scope = search.scope_for(data.ws.organization, member=data.ws.tech, is_staff=True, now=NOW)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.read_session() as session:
            search.counts(
                session,
                texts=["assignee:me status:unresolved", "is:unassigned status:unresolved"],
                scope=scope,
            )
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    (statement, parameters) = next((s, p) for s, p in statements if "FILTER" in s)
    assert "ix_ticket_org_status (organization_id=? AND status=?)" in plan(
        db, statement, parameters
    )
