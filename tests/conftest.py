"""Shared fixtures: a database on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text

import models
import models.base
from bot.core import migrate
from bot.core.db import Database, make_engine
from bot.services import policy_cache
from models.base import Clock

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


def sqlite_database(path: str) -> Database:
    database = Database.from_url(f"sqlite:///{path}")
    models.metadata.create_all(database.engine)
    return database


@pytest.fixture(scope="session")
def postgres_engine():
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def truncate_all(database: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in models.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    # Ids start again at 1, which no running process ever sees: what was remembered of the
    # last test's policies must not answer for this one's.
    policy_cache.IN_FORCE.forget()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """A fresh, empty database of each backend."""
    if request.param == "sqlite":
        database = sqlite_database(str(tmp_path / "ticketbot.db"))
        yield database
        database.dispose()
    else:
        engine = request.getfixturevalue("postgres_engine")
        database = Database(engine)
        truncate_all(database)
        yield database
        database.group_commit.stop()  # the engine is shared: only this database's writer ends


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The controllable clock `utcnow()` reads; real time again after the test."""
    models.base.clock.reset()
    yield models.base.clock
    models.base.clock.reset()


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:
    database = sqlite_database(str(tmp_path / "ticketbot.db"))
    yield database
    database.dispose()
