"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, inspect, text

import models
from bot.core import migrate
from bot.core.db import make_engine
from tests.conftest import POSTGRES_URL

FTS5_TABLES = ("ticket_fts", "comment_fts")


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_schema_engine() -> Iterator[Engine]:
    """An engine on a brand-new schema of its own (not the one the other tests share)."""
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = f"migration_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _not_full_text(name: str | None, type_: str, parent_names: dict) -> bool:
    """SQLite's FTS5 tables (and their shadow tables) are built by triggers' DDL, not models."""
    return not (type_ == "table" and name is not None and name.startswith(FTS5_TABLES))


def _differences(engine: Engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _not_full_text}
        )
        return compare_metadata(context, models.metadata)


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _head(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(migrate.alembic_config(engine)).get_current_head()


def _check_upgrade(engine: Engine) -> None:
    assert inspect(engine).get_table_names() == []  # really empty to start with
    migrate.upgrade(engine)
    assert _current_revision(engine) == _head(engine)
    assert set(models.metadata.tables) <= set(inspect(engine).get_table_names())
    assert _differences(engine) == []

    # A second upgrade changes nothing: no DDL, same revision, still no differences.
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        migrate.upgrade(engine)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    ddl = [s for s in statements if s.lstrip().upper().startswith(("CREATE", "ALTER", "DROP"))]
    assert ddl == []
    assert _current_revision(engine) == _head(engine)
    assert _differences(engine) == []


def test_sqlite_upgrade_matches_the_models(sqlite_engine):
    _check_upgrade(sqlite_engine)


def test_sqlite_has_wal_and_foreign_keys(sqlite_engine):
    migrate.upgrade(sqlite_engine)
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # Foreign keys are enforced, not just declared.
    with pytest.raises(Exception, match="FOREIGN KEY"), sqlite_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO client_company (name, email_domains, organization_id, created_at)"
                " VALUES ('x', '[]', 424242, '2024-01-01 00:00:00')"
            )
        )


@pytest.mark.postgres
def test_postgres_upgrade_matches_the_models(postgres_schema_engine):
    _check_upgrade(postgres_schema_engine)


# -- full-text structures rebuilt for existing rows (revision 6f1b3d8e2a47) ---------------

BEFORE_SCOPED_FULLTEXT = "a4c9e2f17b30"


def _text_cases() -> list:
    from tests.services.search.cases import CASES, REQUESTER_CASES

    def has_words(query: str) -> bool:
        return any(":" not in part for part in query.replace('"', " ").split() if part)

    return [c for c in CASES if has_words(c.query)], [
        c for c in REQUESTER_CASES if has_words(c.query)
    ]


def _check_fulltext_rebuilt(engine: Engine) -> None:
    """Rows written under the first (unscoped) structures are found, and only in their own
    organization, once the upgrade has rebuilt them; and again after a downgrade."""
    from bot.core.db import Database
    from bot.services import search
    from tests.services.search.dataset import NOW, seed

    migrate.upgrade(engine, BEFORE_SCOPED_FULLTEXT)
    database = Database(engine)
    with database.session() as session:
        data = seed(session)
    staff_cases, requester_cases = _text_cases()
    assert len(staff_cases) >= 5 and requester_cases

    def check() -> None:
        for cases, member, staff in (
            (staff_cases, data.ws.tech, True),
            (requester_cases, data.ws.alice, False),
        ):
            scope = search.scope_for(data.ws.organization, member=member, is_staff=staff, now=NOW)
            for case in cases:
                with database.read_session() as session:
                    result = search.search(session, text=case.query, scope=scope, limit=200)
                keys = {k for t in result.tickets for k, v in data.tickets.items() if v.id == t.id}
                assert keys == case.expected, case.query

    migrate.upgrade(engine)
    check()
    with engine.begin() as connection:
        config = migrate.alembic_config(engine)
        config.attributes["connection"] = connection
        from alembic import command

        command.downgrade(config, BEFORE_SCOPED_FULLTEXT)
        command.upgrade(config, "head")
    check()


def test_sqlite_upgrade_rebuilds_full_text_for_existing_rows(sqlite_engine):
    _check_fulltext_rebuilt(sqlite_engine)


@pytest.mark.postgres
def test_postgres_upgrade_rebuilds_full_text_for_existing_rows(postgres_schema_engine):
    _check_fulltext_rebuilt(postgres_schema_engine)
