"""Harness for the reliability tests: the in-process `world` of the end-to-end tests, real
`ticketbot serve` processes against the Slack simulator, dedicated PostgreSQL databases for
them, and checks over what Slack ended up showing.

Nothing here patches the product: servers are started as users start them (`python -m
bot.cli serve`), talk to the simulator through SLACK_API_URL, and are reached with signed
HTTP requests. Waiting is always a bounded polling loop (`wait_until`), never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

import models
from bot.core.db import Database
from bot.core.settings import Settings
from bot.ids import OUTBOX_METADATA_EVENT
from bot.slacksim import SlackDriver, SlackSimulator
from tests.e2e.conftest import World, make_world

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
SIGNING_SECRET = "reliability-signing-secret"
TEAM = "T0REL0001"

needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="TEST_DATABASE_URL is not set")


# -- waiting ------------------------------------------------------------------------------


def wait_until(
    condition: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll `condition` until it returns something truthy (returned); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f}s waiting for {what or condition!r}")
        time.sleep(interval)


# -- the simulator, able to hold one answer back ------------------------------------------


class HoldingSimulator(SlackSimulator):
    """The Slack simulator, which can also hold back one chat.postMessage: either before
    carrying it out (a post still in flight) or after (Slack accepted the message and the
    app has not heard so yet); and stall every call of a method after the next few. Held
    and stalled requests go on when the test sets `release`."""

    def __init__(self) -> None:
        super().__init__()
        self._hold_lock = threading.Lock()
        self._hold: str | None = None  # "before" or "after" carrying the post out
        self._hold_skip = 0  # posts to let through first
        self._hold_channel: str | None = None  # only a post to this channel, if set
        self.held = threading.Event()
        self.release = threading.Event()
        self.held_response: dict[str, Any] = {}
        self._stall: tuple[str, int] | None = None  # (method, calls still let through)
        self.stalled = 0

    def stall(self, method: str, *, after: int) -> None:
        """Let `after` more calls of `method` through, then hold every later one."""
        with self._hold_lock:
            self._stall = (method, after)
            self.stalled = 0
        self.release.clear()

    def _take_stall(self, method: str) -> bool:
        with self._hold_lock:
            if self._stall is None or self._stall[0] != method:
                return False
            if self._stall[1] > 0:
                self._stall = (method, self._stall[1] - 1)
                return False
            self.stalled += 1
            return True

    def hold_next_post(self, *, accepted: bool, skip: int = 0, channel: str | None = None) -> None:
        """Hold the next chat.postMessage (to `channel`, if given; after letting `skip`
        through). The outbox sends several rows at once, so which post comes next is
        otherwise a matter of timing."""
        with self._hold_lock:
            self._hold = "after" if accepted else "before"
            self._hold_skip = skip
            self._hold_channel = channel
        self.held.clear()
        self.release.clear()

    def _take_hold(self, method: str, when: str, channel: str | None) -> bool:
        with self._hold_lock:
            if method != "chat.postMessage" or self._hold != when:
                return False
            if self._hold_channel is not None and channel != self._hold_channel:
                return False
            if self._hold_skip > 0:
                self._hold_skip -= 1
                return False
            self._hold = None
            return True

    def _serve_api(self, method: str, verb: str, query: dict, headers: dict, body: bytes):  # type: ignore[override]
        if self._take_stall(method):
            self.release.wait(timeout=60)
        channel = _channel_of(query, body)
        if self._take_hold(method, "before", channel):
            self.held.set()
            self.release.wait(timeout=60)
        reply = super()._serve_api(method, verb, query, headers, body)
        if (
            reply is not None
            and reply.status == 200
            and self._take_hold(method, "after", json.loads(reply.body).get("channel"))
        ):
            self.held_response = json.loads(reply.body)
            self.held.set()
            self.release.wait(timeout=60)
        return reply


def _channel_of(query: dict, body: bytes) -> str | None:
    """The channel argument of a Web API request (JSON or form-encoded)."""
    try:
        arguments = json.loads(body) if body.startswith(b"{") else dict(parse_qsl(body.decode()))
    except ValueError:
        return None
    channel = arguments.get("channel") or query.get("channel")
    if isinstance(channel, list):
        channel = channel[0] if channel else None
    return channel if isinstance(channel, str) else None


@pytest.fixture
def sim() -> Iterator[HoldingSimulator]:
    simulator = HoldingSimulator()
    simulator.start()
    yield simulator
    simulator.release.set()
    simulator.set_outage(None)
    simulator.stop()


# -- the in-process world ------------------------------------------------------------------


@pytest.fixture
def world(db: Database, sim: SlackSimulator, tmp_path: Path) -> Iterator[World]:
    """The app behind FastAPI's TestClient, delivery driven by `world.deliver()`."""
    built = make_world(db, sim, tmp_path / "files")
    yield built
    built.runtime.directory.close()


class DatabaseOutage:
    """The database going away under a running app, and coming back: while `down`, every
    statement on `database`'s engine fails as a lost connection does (the DB-API's
    OperationalError, wrapped by SQLAlchemy as usual). Nothing else is touched, so the
    machine's PostgreSQL server keeps serving everyone else."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.down = False
        dbapi = database.engine.dialect.dbapi
        assert dbapi is not None
        self._error = dbapi.OperationalError

        def refuse(*_args: Any, **_kwargs: Any) -> None:
            if self.down:
                raise self._error("server closed the connection unexpectedly (test outage)")

        self._refuse = refuse
        event.listen(database.engine, "before_cursor_execute", refuse)

    @contextlib.contextmanager
    def during(self) -> Iterator[None]:
        self.down = True
        try:
            yield
        finally:
            self.down = False

    def remove(self) -> None:
        self.down = False
        event.remove(self.database.engine, "before_cursor_execute", self._refuse)


@pytest.fixture
def db_outage(db: Database) -> Iterator[DatabaseOutage]:
    outage = DatabaseOutage(db)
    yield outage
    outage.remove()


def row_counts(db: Database) -> dict[str, int]:
    """Rows per table: two equal snapshots mean nothing was written (or only updated)."""
    counts: dict[str, int] = {}
    with db.engine.connect() as connection:
        for table in models.metadata.sorted_tables:
            counts[table.name] = int(
                connection.execute(select(func.count()).select_from(table)).scalar_one()
            )
    return counts


# -- a Slack workspace for real servers ---------------------------------------------------


@dataclass
class Slack:
    """One simulated workspace with a staff channel, a general channel and people."""

    sim: SlackSimulator
    team: str
    bot_token: str
    bot_user: str
    staff_channel: str
    general: str
    tech: str
    tech2: str
    users: list[str]  # end users

    def dm(self, user_id: str) -> list[dict[str, Any]]:
        return self.sim.messages(self.sim.dm_channel(self.team, user_id))

    def cards(self) -> list[dict[str, Any]]:
        """The tickets' cards: the staff channel's top-level messages, less the morning
        queue digest (the server's minute job posts it from 08:30 whatever the test does)."""
        return [
            m
            for m in self.sim.messages(self.staff_channel)
            if not is_reply(m) and m.get("text", "").startswith("Ticket #")
        ]

    def card_for(self, number: int) -> dict[str, Any]:
        (card,) = [c for c in self.cards() if c.get("text", "").startswith(f"Ticket #{number}:")]
        return card

    def card_thread(self, number: int) -> list[dict[str, Any]]:
        return self.sim.thread(self.staff_channel, self.card_for(number)["ts"])[1:]


def make_slack(sim: SlackSimulator, *, end_users: int = 4, team_id: str = TEAM) -> Slack:
    team = sim.add_team(team_id, name="Reliable IT", domain="reliable-it")
    tech = sim.add_user(team_id, name="tech1", real_name="Tom Tech", email="tom@rel-it.com")["id"]
    tech2 = sim.add_user(team_id, name="tech2", real_name="Tia Tech", email="tia@rel-it.com")["id"]
    users: list[str] = []
    for n in range(end_users):
        user = sim.add_user(team_id, name=f"user{n}", real_name=f"User {n}", email=f"u{n}@c.com")
        users.append(user["id"])
    staff = sim.add_channel(team_id, name="it-staff", members=[tech, tech2, team.bot_user_id])
    general = sim.add_channel(team_id, name="general", members=[*users, tech, team.bot_user_id])
    return Slack(
        sim=sim,
        team=team_id,
        bot_token=team.bot_token,
        bot_user=team.bot_user_id,
        staff_channel=staff["id"],
        general=general["id"],
        tech=tech,
        tech2=tech2,
        users=users,
    )


def is_reply(message: dict[str, Any]) -> bool:
    return bool(message.get("thread_ts")) and message["thread_ts"] != message["ts"]


def outbox_ids_posted(sim: SlackSimulator) -> Counter[int]:
    """How many messages Slack holds for each outbox row (from the metadata the outbox
    attaches to everything it posts), over every channel and DM of the simulator."""
    seen: Counter[int] = Counter()
    with sim.workspace.lock:
        channel_ids = list(sim.workspace.channels)
    for channel_id in channel_ids:
        for message in sim.messages(channel_id):
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == OUTBOX_METADATA_EVENT:
                seen[int(metadata["event_payload"]["outbox_id"])] += 1
    return seen


# -- real `ticketbot serve` processes ------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _clean_environment() -> dict[str, str]:
    """The test's environment minus anything Ticketbot's settings would read."""
    ours = {name.upper() for name in Settings.model_fields}
    return {k: v for k, v in os.environ.items() if k.upper() not in ours}


def http_get(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """(status, parsed JSON body or None); status 0 when the server does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None
    except (OSError, ValueError):
        return 0, None


@dataclass
class ServeProcess:
    """`ticketbot serve` in a subprocess, as an operator runs it."""

    slack: Slack
    database_url: str
    workdir: Path
    name: str = "serve"
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}-{self.starts}.log"

    def environment(self) -> dict[str, str]:
        env = _clean_environment()
        env.update(
            SLACK_BOT_TOKEN=self.slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=self.slack.sim.api_url,
            STAFF_CHANNEL_ID=self.slack.staff_channel,
            DATABASE_URL=self.database_url,
            FILE_STORAGE_DIR=str(self.workdir / "files"),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> ServeProcess:
        """Start the process (not waiting for it: see `wait_ready`)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--port", str(self.port)],
                env=self.environment(),
                # No stray .env is read, and relative paths land in the test's directory.
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def healthz(self) -> tuple[int, Any]:
        return http_get(f"{self.base_url}/healthz", timeout=10.0)

    def wait_ready(self, timeout: float = 60.0) -> ServeProcess:
        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            return self.healthz()[0] == 200

        wait_until(ready, timeout=timeout, interval=0.1, what=f"{self.name} /healthz")
        return self

    def driver(self, timeout: float = 30.0) -> SlackDriver:
        return SlackDriver.over_http(
            self.slack.sim, SIGNING_SECRET, f"{self.base_url}/slack/events", timeout=timeout
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, in-flight work simply stops."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def servers() -> Iterator[list[ServeProcess]]:
    """Register started servers here; whatever is still running is stopped afterwards."""
    started: list[ServeProcess] = []
    yield started
    for server in started:
        server.stop()


# -- dedicated PostgreSQL databases ----------------------------------------------------------

_database_numbers = itertools.count(1)


@contextlib.contextmanager
def dedicated_postgres_database() -> Iterator[str]:
    """A new, empty database beside TEST_DATABASE_URL's (for servers that migrate their
    own schema), dropped afterwards. Its name derives from that database's name."""
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    base = make_url(POSTGRES_URL)
    name = f"{base.database}_rel{os.getpid()}_{next(_database_numbers)}"
    maintenance = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with maintenance.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        maintenance.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for `ticketbot serve` to migrate: a SQLite file, or a dedicated
    PostgreSQL database (skipped without TEST_DATABASE_URL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'serve.db'}"
    else:
        with dedicated_postgres_database() as url:
            yield url


def open_database(url: str) -> Database:
    return Database.from_url(url)


__all__ = [
    "POSTGRES_URL",
    "SIGNING_SECRET",
    "DatabaseOutage",
    "HoldingSimulator",
    "ServeProcess",
    "Slack",
    "World",
    "dedicated_postgres_database",
    "is_reply",
    "make_slack",
    "needs_postgres",
    "open_database",
    "outbox_ids_posted",
    "row_counts",
    "wait_until",
]
