"""Helpers the benchmarks share: statistics, machine facts, scratch databases, processes.

The machine the benchmarks run on is shared and noisy, so no absolute figure means much on
its own: every script measures a baseline in the same run and prints ratios against it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/x.py` from a fresh clone finds bot/ and models/
    sys.path.insert(0, str(REPO))

# Databases the benchmarks create carry this prefix; nothing else is ever created or dropped.
PG_PREFIX = "tb_bench_"
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# -- statistics and printing ---------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear between the closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(value: float, baseline: float) -> str:
    if not baseline:
        return "n/a"
    return f"{value / baseline:.2f}x"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def heading(title: str) -> None:
    print(f"\n== {title}", flush=True)


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> None:
    """A plain aligned text table (also valid Markdown, for pasting into the README)."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    lines = [line(row) for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\n".join(lines), flush=True)


# -- the machine ---------------------------------------------------------------------------


def machine(database_url: str | None = None) -> dict[str, str]:
    """What the figures were measured on (printed by every script, copied to the README)."""
    info = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": str(os.cpu_count()),
        "memory": _meminfo_gb(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    if database_url and database_url.startswith("postgresql"):
        info["postgresql"] = postgres_version(database_url)
    return info


def print_machine(database_url: str | None = None) -> None:
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine(database_url).items()))


def _meminfo_gb() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.0f} GB"
    return "?"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (a server started with several worker processes)."""
    tree, i = [pid], 0
    while i < len(tree):
        for task in Path(f"/proc/{tree[i]}/task").iterdir():
            children = (task / "children").read_text().split()
            tree.extend(int(child) for child in children)
        i += 1
    return tree


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (VmRSS summed), in MiB; psutil is
    not a dependency."""
    total = 0
    for member in process_tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its children have used so far (from
    /proc/<pid>/stat)."""
    total = 0
    for member in process_tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


# -- scratch databases ---------------------------------------------------------------------


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres://"))


def psycopg_dsn(url: str) -> str:
    """A SQLAlchemy URL as psycopg wants it (no "+psycopg" driver suffix)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def _server_dsn(url: str) -> tuple[str, str]:
    """(DSN of the server's maintenance database, name of the database in `url`)."""
    parts = urlsplit(psycopg_dsn(url))
    name = parts.path.lstrip("/")
    return parts._replace(path="/postgres").geturl(), name


def postgres_version(url: str) -> str:
    import psycopg

    server, _ = _server_dsn(url)
    with psycopg.connect(server, autocommit=True) as connection:
        return str(connection.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]


@contextlib.contextmanager
def scratch_postgres(url: str) -> Iterator[str]:
    """Create the database named in `url`, yield `url`, drop it afterwards.

    Only names starting with tb_bench_ are created or dropped; a leftover of an interrupted
    run with such a name is dropped and made afresh, any other existing database is refused.
    """
    import psycopg

    server, name = _server_dsn(url)
    if not name.startswith(PG_PREFIX) or not name.replace("_", "").isalnum():
        raise SystemExit(f"the benchmark database name must start with {PG_PREFIX} (got {name!r})")
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def default_pg_url(purpose: str) -> str:
    return DEFAULT_PG_SERVER.rsplit("/", 1)[0] + f"/{PG_PREFIX}{purpose}"


# -- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    """A server started as a child process (so its memory can be read on its own)."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.url + path, timeout=2) as response,
            ):
                if response.status < 500:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {path} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # uvicorn shuts down cleanly on SIGTERM
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    name: str, argv: list[str], env: dict[str, str], port: int, cwd: Path
) -> ServerProcess:
    log_path = cwd / f"{name}.log"
    full_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    log = log_path.open("wb")
    process = subprocess.Popen(argv, env=full_env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    return ServerProcess(name=name, process=process, port=port, log_path=log_path)


# -- a load generator ----------------------------------------------------------------------


class KeepAliveClient:
    """One keep-alive HTTP connection per thread, as a Slack edge keeps to an app."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self._local.connection = connection
        return connection

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        # No retry: a re-sent submission could be filed twice and blur the correctness check.
        connection = self._connection()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (http.client.HTTPException, OSError):
            connection.close()
            self._local.connection = None
            raise


def ticket_numbers(connection: Any, team: str) -> list[int]:
    """The ticket numbers of workspace `team`, in order (a SQLAlchemy connection)."""
    from sqlalchemy import text

    return [
        row[0]
        for row in connection.execute(
            text(
                "SELECT t.ticket_number FROM ticket t JOIN organization o"
                " ON o.id = t.organization_id WHERE o.slack_team_id = :team"
                " ORDER BY t.ticket_number"
            ),
            {"team": team},
        )
    ]
