"""Scale: the read paths people wait on, over a growing history of tickets.

Data: --orgs organizations (100) with 10 staff, 200 requesters and 5 client companies
each; --tickets tickets (1,000,000) spread evenly over them, 3 comments per ticket
(3,000,000) and one staff-card reference per ticket (for App Home's links). The history is
built newest first: every size shares the same most recent tickets and only adds older
ones, as a helpdesk's history grows while its open backlog stays about the same size. The
newest 100 tickets of an organization are a live mix of statuses; older ones are resolved or
closed except for 0.5% left open or pending (the stragglers every helpdesk has). One
requester per organization files a tenth of its tickets; the requester App Home is theirs.

Queries, each against a hand-written SQL query returning the same rows (the baseline; it
runs on one open DB-API connection with no ORM):
- ticket list: services `list_tickets` as staff, default order (newest activity first), 50;
- my open tickets: `list_tickets` with assigned_staff_id = me and the open statuses, 50;
- staff App Home: `ticket_views.home_view` for a technician (three lists of 10, names, card links);
- requester App Home: `ticket_views.home_view` for a requester (10 tickets and their public
  conversations).
- ten searches of the query language (DESIGN §10) through `search.search`, what `/ticket
  find` and `GET /api/tickets?q=` call (a page of 10 and the total), as a technician with
  now = the newest ticket's time: see SEARCHES (free text, `due:`, `sla:`, dates, people,
  client, category, priority); each against hand-written SQL on the index it needs (the
  page's ids in order and the total must be equal);
- staff App Home with 10 saved views (4 shared, 6 the technician's, the ten searches) and
  their live counts, against the same App Home with no saved views, in alternating blocks.
The data also has SLA clocks (a resolution clock per ticket, a first-response one per open
ticket; met, breached, paused or running with due and warning instants) and full text the
product's way (SQLite: its FTS5 triggers fill the index as rows are loaded; PostgreSQL: its
GIN expression indexes); 5% of the newest tickets carry a rare phrase ("Zscaler tunnel").
Timings are per call inside an open unit of work (the connection is already made), p95 of
--samples calls spread over several organizations and people. Growth is p95 at the largest
size over p95 at the smallest, divided by the drift of a reference query (a ticket by primary
key, whose cost cannot depend on the size). The plans (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE)
of every statement the service sends are checked for table scans, organization-wide index
walks and sorts, and printed for the largest size.

Each service call is timed twice: end to end (SQL, building the ORM objects, drawing the
view) and its SQL alone (the statements it sent, replayed on the hand-written queries' DB-API
connection). The target "within 2x of hand-written SQL" is about the queries: the SQL ratio;
the end-to-end ratio shows what the ORM and the Block Kit drawing add on top. Planner
statistics come the product's way: on SQLite the scheduled `optimize_database` job (ANALYZE),
on PostgreSQL ANALYZE, as autovacuum would after a bulk load.

Run: .venv/bin/python bench/scale.py [--quick | --tickets N] [--database-url postgresql+psycopg://...]
(SQLite in a temporary directory by default; PostgreSQL databases are named tb_bench_*,
created and dropped by the script.)
"""

from __future__ import annotations

import argparse
import inspect
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _common as common
from _common import heading, ms, ratio, table, verdict

STAFF_PER_ORG = 10
REQUESTERS_PER_ORG = 200
COMPANIES_PER_ORG = 5
COMMENTS_PER_TICKET = 3
RECENT_WINDOW = 100  # the newest tickets of an organization: the live part of the queue
# One requester per organization files a tenth of its tickets (the office manager who files
# for everyone): the requester App Home is measured for that person, whose page is full
# (10 tickets) at every size while their history grows with the organization's.
FREQUENT_SHARE = 0.10
STALE_OPEN_SHARE = 0.005  # older tickets that were never closed
HISTORY = timedelta(days=3 * 365)  # the full history spans three years
END = datetime(2026, 6, 1, tzinfo=UTC)
LIST_LIMIT = 50
OPEN = ("open", "in_progress", "pending")
CATEGORIES = ("hardware", "software", "network", "email", "account & access", "other")
PRIORITIES = ("low", "medium", "high", "urgent")
TOPICS = (
    "VPN drops every few minutes",
    "Outlook keeps asking for my password",
    "Printer on 3rd floor jams",
    "New starter needs a laptop",
    "Cannot open the shared drive",
    "Teams calls have no audio",
    "Password reset for the CRM",
    "Monitor flickers after docking",
)
# The hand-written queries name the index they are written for; on SQLite it is enforced
# with INDEXED BY (its planner has no statistics unless ANALYZE ran), PostgreSQL's planner
# is left to choose with the statistics ANALYZE gave it.
BY_ORG = "ix_ticket_org_updated"
BY_ASSIGNEE = "ix_ticket_org_open_assignee"  # partial: open tickets only
BY_REQUESTER = "ix_ticket_org_requester_updated"
TARGET_RATIO = 2.0
TARGET_GROWTH = 2.0


# -- deterministic data -------------------------------------------------------------------

MASK = (1 << 64) - 1


def _mix(o: int, n: int, k: int) -> float:
    """A fixed pseudo-random number in [0, 1) for (organization, ticket number, purpose):
    splitmix64, so that every size and backend get exactly the same tickets."""
    x = ((o << 40) ^ (n << 8) ^ k) & MASK
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return (x ^ (x >> 31)) / 2**64


@dataclass(frozen=True)
class Layout:
    """Ids of everything, derived from the organization and ticket number (no look-ups)."""

    orgs: int
    per_org: int  # tickets per organization at the largest size

    def company_id(self, o: int, c: int) -> int:
        return (o - 1) * COMPANIES_PER_ORG + c + 1

    def member_id(self, o: int, m: int) -> int:
        # members 0..9 are staff, 10.. are requesters
        return (o - 1) * (STAFF_PER_ORG + REQUESTERS_PER_ORG) + m + 1

    def ticket_id(self, o: int, n: int) -> int:
        return (n - 1) * self.orgs + o  # grows with the number, i.e. with time

    def numbers(self, size: int) -> range:
        """The ticket numbers each organization holds at `size` tickets in all."""
        return range(self.per_org - size // self.orgs + 1, self.per_org + 1)


@dataclass
class Rows:
    tickets: list[tuple[Any, ...]] = field(default_factory=list)
    comments: list[tuple[Any, ...]] = field(default_factory=list)
    refs: list[tuple[Any, ...]] = field(default_factory=list)
    clocks: list[tuple[Any, ...]] = field(default_factory=list)


TICKET_COLUMNS = (
    "id, organization_id, ticket_number, title, description, status, priority, category, "
    "requester_id, assigned_staff_id, client_company_id, first_response_at, resolved_at, "
    "closed_at, created_at, updated_at"
)
COMMENT_COLUMNS = (
    "id, ticket_id, organization_id, author_id, author_name, author_type, comment_type, "
    "content, created_at, updated_at"
)
REF_COLUMNS = "id, organization_id, ticket_id, role, channel_id, ts, permalink, created_at"
CLOCK_COLUMNS = (
    "id, organization_id, ticket_id, metric, cycle, status, target_minutes, business_hours, "
    "started_at, due_at, warn_75_at, warn_90_at, fulfilled_at, breached_at, paused_at, "
    "excluded_seconds, excluded_periods, due_overridden, created_at, updated_at"
)
# SLA targets (calendar time) per priority: first response and resolution.
FIRST_RESPONSE_TARGET = {
    "urgent": timedelta(hours=1),
    "high": timedelta(hours=2),
    "medium": timedelta(hours=4),
    "low": timedelta(hours=8),
}
RESOLUTION_TARGET = {
    "urgent": timedelta(hours=8),
    "high": timedelta(days=1),
    "medium": timedelta(days=3),
    "low": timedelta(days=7),
}
# A phrase only some of the newest tickets carry (this week's outage): a free-text search
# whose answer does not grow with the history.
RARE_TOPIC = "Zscaler tunnel will not connect"
RARE_SHARE = 0.05


def clock_row(
    clock_id: int,
    o: int,
    tid: int,
    metric: str,
    target: timedelta,
    created: datetime,
    fulfilled: datetime | None,
    paused: datetime | None,
    when: Callable[[datetime], Any],
) -> tuple[Any, ...]:
    """One SLA clock as the product keeps it: met (maybe late), paused, breached (the
    minute job marked it at its due instant) or running with its warning instants."""
    due = created + target
    breached = due if (fulfilled or END) > due and paused is None else None
    if fulfilled is not None:
        status = "breached" if breached else "met"
    elif paused is not None:
        status = "paused"
    else:
        status = "breached" if breached else "running"
    running = status == "running"
    return (
        clock_id,
        o,
        tid,
        metric,
        1,
        status,
        int(target.total_seconds() // 60),
        False,
        when(created),
        when(due),
        when(created + target * 0.75) if running else None,
        when(created + target * 0.9) if running else None,
        when(fulfilled) if fulfilled else None,
        when(breached) if breached else None,
        when(paused) if paused else None,
        0,
        "[]",
        False,
        when(created),
        when(fulfilled or paused or created),
    )


def ticket_rows(layout: Layout, o: int, numbers: range, when: Callable[[datetime], Any]) -> Rows:
    """Tickets `numbers` of organization `o` with their comments and card references."""
    rows = Rows()
    spacing = HISTORY / layout.per_org
    for n in numbers:
        age = layout.per_org - n  # 0 is the newest ticket
        created = END - spacing * age - spacing * _mix(o, n, 1)
        recent = age < RECENT_WINDOW
        pick = _mix(o, n, 2)
        if recent:
            status = (
                "open"
                if pick < 0.30
                else "in_progress"
                if pick < 0.50
                else "pending"
                if pick < 0.65
                else "resolved"
                if pick < 0.85
                else "closed"
            )
        elif pick < STALE_OPEN_SHARE:
            status = OPEN[int(_mix(o, n, 3) * 3)]
        else:
            status = "resolved" if pick < 0.17 else "closed"
        is_open = status in OPEN
        # Open tickets were touched within days; the others a few days after filing.
        updated = min(created + timedelta(days=(2 if is_open else 5) * _mix(o, n, 4)), END)
        assigned = _mix(o, n, 5) < (0.75 if recent else 0.95)
        staff = int(_mix(o, n, 6) * STAFF_PER_ORG)
        who = _mix(o, n, 7)
        requester = STAFF_PER_ORG + (
            0 if who < FREQUENT_SHARE else 1 + int(_mix(o, n, 11) * (REQUESTERS_PER_ORG - 1))
        )
        tid = layout.ticket_id(o, n)
        replied = created + (updated - created) / 3
        priority = PRIORITIES[int(_mix(o, n, 9) * 4)]
        topic = TOPICS[int(_mix(o, n, 8) * len(TOPICS))]
        if recent and _mix(o, n, 12) < RARE_SHARE:
            topic = RARE_TOPIC
        # SLA clocks: a resolution clock for every ticket, a first-response one for the open.
        rows.clocks.append(
            clock_row(
                2 * tid - 1,
                o,
                tid,
                "resolution",
                RESOLUTION_TARGET[priority],
                created,
                None if is_open else updated,
                updated if status == "pending" else None,
                when,
            )
        )
        if is_open:
            rows.clocks.append(
                clock_row(
                    2 * tid,
                    o,
                    tid,
                    "first_response",
                    FIRST_RESPONSE_TARGET[priority],
                    created,
                    replied if assigned else None,
                    None,
                    when,
                )
            )
        rows.tickets.append(
            (
                tid,
                o,
                n,
                f"{topic} (#{n})",
                "Steps tried: restarted, logged out and in, checked the cable. " * 3,
                status,
                priority,
                CATEGORIES[int(_mix(o, n, 10) * len(CATEGORIES))],
                layout.member_id(o, requester),
                layout.member_id(o, staff) if assigned else None,
                layout.company_id(o, requester % COMPANIES_PER_ORG),
                when(replied) if assigned else None,
                when(updated) if status in ("resolved", "closed") else None,
                when(updated) if status == "closed" else None,
                when(created),
                when(updated),
            )
        )
        author_staff = layout.member_id(o, staff)
        for k, (author, kind, who, text) in enumerate(
            (
                (layout.member_id(o, requester), "public_reply", "end_user", "It happened again"),
                (author_staff, "internal_note", "staff", "Checked the logs, looks like DHCP"),
                (author_staff, "public_reply", "staff", "Could you try again now, please?"),
            )
        ):
            at = created + (updated - created) * (k + 1) / (COMMENTS_PER_TICKET + 1)
            rows.comments.append(
                (
                    tid * COMMENTS_PER_TICKET - k,
                    tid,
                    o,
                    author,
                    f"Person {author}",
                    who,
                    kind,
                    f"{text} (ticket {n}, comment {k + 1}).",
                    when(at),
                    when(at),
                )
            )
        ts = f"{created.timestamp():.6f}"
        rows.refs.append(
            (
                tid,
                o,
                tid,
                "staff_card",
                f"C{o:08d}",
                ts,
                f"https://example.slack.com/archives/C{o:08d}/p{ts.replace('.', '')}",
                when(created),
            )
        )
    return rows


# -- backends -----------------------------------------------------------------------------


class Backend:
    """Loading and raw access for one database; subclasses know their dialect."""

    name = ""
    placeholder = "?"

    def __init__(self, url: str) -> None:
        self.url = url
        # The index each hand-written query is written for (the proposal adds a better one).
        self.indexes = {"org": BY_ORG, "assignee": BY_ASSIGNEE, "requester": BY_REQUESTER}

    def when(self, value: datetime) -> Any:
        return value

    def connect(self) -> Any:
        raise NotImplementedError

    def load(self, connection: Any, table_name: str, columns: str, rows: list[tuple]) -> None:
        raise NotImplementedError

    def explain(self, connection: Any, statement: str, parameters: Any) -> list[str]:
        raise NotImplementedError

    def analyze(self, connection: Any) -> None:
        pass

    def sql(self, text: str, index: str = "") -> str:
        return text.format(index=self.hint(index)).replace("?", self.placeholder)

    def hint(self, index: str) -> str:
        return ""


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.path = url.removeprefix("sqlite:///")

    def hint(self, index: str) -> str:
        return f"INDEXED BY {index}" if index else ""

    def when(self, value: datetime) -> str:
        # SQLAlchemy's storage format for naive UTC datetimes on SQLite (see UTCDateTime).
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def load(self, connection: Any, table_name: str, columns: str, rows: list[tuple]) -> None:
        marks = ", ".join("?" * len(rows[0]))
        connection.execute("PRAGMA synchronous=OFF")  # a benchmark database: speed over safety
        connection.execute("BEGIN")
        connection.executemany(f"INSERT INTO {table_name} ({columns}) VALUES ({marks})", rows)
        connection.execute("COMMIT")

    def analyze(self, connection: Any) -> None:
        pass  # the product's own job does it on SQLite (see run)

    def explain(self, connection: Any, statement: str, parameters: Any) -> list[str]:
        plan = connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        return [row[3] for row in plan]


class PostgresBackend(Backend):
    name = "postgresql"
    placeholder = "%s"

    def connect(self) -> Any:
        import psycopg

        connection = psycopg.connect(common.psycopg_dsn(self.url), autocommit=True)
        return connection

    def load(self, connection: Any, table_name: str, columns: str, rows: list[tuple]) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
            with cursor.copy(f"COPY {table_name} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def analyze(self, connection: Any) -> None:
        # What autovacuum does shortly after a bulk load; done now so plans are settled.
        connection.execute("ANALYZE")

    def explain(self, connection: Any, statement: str, parameters: Any) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
            plan = [row[0] for row in cursor.fetchall()]
        scanned = sorted(set(re.findall(r"Seq Scan on (\w+)", "\n".join(plan))))
        if not scanned:
            return plan
        # Would an index serve these scans if the table were big? The plan the planner
        # makes when sequential scans cost it dearly tells (see `plan_problems`).
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN (COSTS OFF) " + statement, parameters)
            without = "\n".join(row[0] for row in cursor.fetchall())
        for table_name in scanned:
            if re.search(rf"Seq Scan on {table_name}\b", without):
                plan.append(f"[seq scans off: {table_name} is still scanned, no index serves it]")
            else:
                plan.append(f"[seq scans off: {table_name} is read by index]")
        return plan


def _open_ticket_indexes() -> frozenset[str]:
    """The partial indexes of the open tickets (the live queue: a few hundred rows per
    organization whatever its history), read from the schema."""
    from models import Ticket
    from models.ticket import OPEN_STATUS_PREDICATE

    return frozenset(
        str(index.name)
        for index in Ticket.__table__.indexes  # type: ignore[attr-defined]
        if str(index.dialect_options["sqlite"]["where"]) == OPEN_STATUS_PREDICATE
    )


# Seeking one organization's rows in these and filtering the rest reads its open tickets
# only, not its history: not an organization-wide walk.
OPEN_TICKET_INDEXES = _open_ticket_indexes()


def plan_problems(backend: Backend, statement: str, plan: Sequence[str]) -> list[str]:
    """What in a plan makes a query's cost grow with the table rather than the answer:
    "scan" (a whole table or index is read), "filter" (an index range is walked and rows
    are thrown away one by one), "sort" (the matching rows are sorted, fine while few)."""
    problems = []
    if backend.name == "sqlite":
        flat = " ".join(statement.split())  # SQLAlchemy breaks lines before WHERE and ORDER BY
        where = flat.split(" WHERE ", 1)[1].split(" ORDER BY ")[0] if " WHERE " in flat else ""
        # A subquery in FROM (a co-routine or materialized) is read back with "SCAN <its
        # name>": its rows, whose cost is its own plan's lines (one row for an aggregate).
        subqueries = set(re.findall(r"(?:CO-ROUTINE|MATERIALIZE) (\w+)", "\n".join(plan)))
        for line in plan:
            # An FTS5 MATCH reads its index (idxStr "M…"), not the table.
            fts_match = re.search(r"VIRTUAL TABLE INDEX \d+:M", line)
            scanned = re.match(r"\s*SCAN (\w+)", line)
            if scanned and scanned.group(1) in subqueries:
                continue
            if scanned and "CONSTANT" not in line and not fts_match:
                problems.append(f"scan: {line.strip()}")
            elif "TEMP B-TREE" in line:
                problems.append(f"sort: {line.strip()}")
            found = re.match(r"\s*SEARCH (\w+) USING (?:COVERING )?INDEX (\w+) \((.*)\)", line)
            if found and found.group(2) not in OPEN_TICKET_INDEXES:
                used = set(re.findall(r"(\w+)[=<>]", found.group(3)))
                filtered = set(re.findall(rf"\b{found.group(1)}\.(\w+)\b", where)) - used
                # Walking a whole organization's rows grows with its history; a filter
                # after a narrower seek (a ticket's three comments) does not.
                # saved_view: the views of one organization (a few rows, not its tickets);
                # SQLite names the partial index of shared views and filters the owner.
                if filtered and used <= {"organization_id"} and found.group(1) != "saved_view":
                    problems.append(f"filter: {line.strip()}, then {', '.join(sorted(filtered))}")
        return problems
    small_scans = _small_indexed_scans(plan)
    for i, line in enumerate(plan):
        removed = re.search(r"Rows Removed by Filter: (\d+)", line)
        if i in small_scans:
            continue
        if "Seq Scan" in line:
            problems.append(f"scan: {line.strip()}")
        elif removed and int(removed.group(1)) >= 100:
            problems.append(f"filter: {line.strip()}")
        elif re.match(r"\s*(->\s*)?Sort \(", line):  # a full sort (incremental ones are fine)
            problems.append(f"sort: {line.strip()}")
    return problems


# A PostgreSQL Seq Scan that reads fewer rows than this, of a table an index would serve, is
# the planner's right choice for a tiny table, not a query whose cost grows: every table that
# grows with the tickets (ticket, ticket_comment, sla_clock, slack_message_ref) has at least
# 10,000 rows at the smallest size, and member 21,000, so a scan of any of them is flagged.
SMALL_TABLE_ROWS = 1_000


def _small_indexed_scans(plan: Sequence[str]) -> set[int]:
    """The lines (node and details) of the plan's Seq Scans that read fewer than
    SMALL_TABLE_ROWS rows in all (returned and removed by the filter, times loops) of a table
    that the plan with sequential scans disabled reads by index (`PostgresBackend.explain`)."""
    lines: set[int] = set()
    for i, line in enumerate(plan):
        found = re.search(r"Seq Scan on (\w+)", line)
        if not found or f"[seq scans off: {found.group(1)} is read by index]" not in plan:
            continue
        depth = len(line) - len(line.lstrip(" ->"))
        node = [i]
        for j in range(i + 1, len(plan)):
            detail = plan[j]
            indent = len(detail) - len(detail.lstrip())
            if detail.lstrip().startswith(("->", "[")) or indent < depth:
                break
            node.append(j)
        counted = re.search(r"rows=(\d+) loops=(\d+)", line)
        returned, loops = (int(counted.group(1)), int(counted.group(2))) if counted else (0, 0)
        removed = sum(
            int(m.group(1))
            for j in node
            if (m := re.search(r"Rows Removed by Filter: (\d+)", plan[j]))
        )
        if (returned + removed) * loops < SMALL_TABLE_ROWS:
            lines.update(node)
    return lines


# -- building the world -------------------------------------------------------------------


def create_schema(url: str) -> None:
    from bot.core import migrate
    from bot.core.db import make_engine

    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()


def load_people(backend: Backend, connection: Any, layout: Layout) -> None:
    now = backend.when(END - HISTORY)
    orgs, companies, members = [], [], []
    for o in range(1, layout.orgs + 1):
        orgs.append((o, f"T{o:08d}", f"Org {o}", f"C{o:08d}", "{}", layout.per_org, now, now))
        for c in range(COMPANIES_PER_ORG):
            companies.append((layout.company_id(o, c), o, f"Client {c}", "[]", now))
        for m in range(STAFF_PER_ORG + REQUESTERS_PER_ORG):
            staff = m < STAFF_PER_ORG
            role = ("admin" if m == 0 else "technician") if staff else "end_user"
            members.append(
                (
                    layout.member_id(o, m),
                    o,
                    f"Person {layout.member_id(o, m)}",
                    f"p{m}@org{o}.example",
                    role,
                    None if staff else layout.company_id(o, m % COMPANIES_PER_ORG),
                    f"U{o:04d}{m:05d}",
                    now,
                    now,
                    now,
                )
            )
    backend.load(
        connection,
        "organization",
        "id, slack_team_id, name, staff_channel_id, settings, last_ticket_number, "
        "created_at, updated_at",
        orgs,
    )
    backend.load(
        connection,
        "client_company",
        "id, organization_id, name, email_domains, created_at",
        companies,
    )
    backend.load(
        connection,
        "member",
        "id, organization_id, name, email, role, client_company_id, slack_user_id, "
        "slack_profile_synced_at, created_at, updated_at",
        members,
    )


def load_tickets(backend: Backend, connection: Any, layout: Layout, numbers: range) -> None:
    """Load ticket numbers `numbers` of every organization, a few organizations at a time."""
    batch = Rows()

    def flush() -> None:
        backend.load(connection, "ticket", TICKET_COLUMNS, batch.tickets)
        backend.load(connection, "ticket_comment", COMMENT_COLUMNS, batch.comments)
        backend.load(connection, "slack_message_ref", REF_COLUMNS, batch.refs)
        backend.load(connection, "sla_clock", CLOCK_COLUMNS, batch.clocks)
        batch.clocks.clear()
        batch.tickets.clear()
        batch.comments.clear()
        batch.refs.clear()

    for o in range(1, layout.orgs + 1):
        rows = ticket_rows(layout, o, numbers, backend.when)
        batch.tickets += rows.tickets
        batch.comments += rows.comments
        batch.refs += rows.refs
        batch.clocks += rows.clocks
        if len(batch.tickets) >= 50_000:
            flush()
    if batch.tickets:
        flush()


# -- the queries --------------------------------------------------------------------------


@dataclass
class Viewer:
    """One organization and the two people whose views are measured in it."""

    organization: Any
    staff: Any  # a technician Member
    requester: Any  # an end-user Member
    newest_ticket_id: int = 0


TICKET_SELECT = "SELECT t.* FROM ticket t {index}"
ORDER = " ORDER BY t.updated_at DESC, t.id DESC LIMIT "


def home_sql(where: str, limit: int) -> str:
    """A page of tickets with the names and card link each shows: the page is picked first
    (on the index), then joined, so the joins touch only its rows."""
    return (
        "SELECT p.*, r.name, r.slack_user_id, a.name, a.slack_user_id, c.name, ref.permalink"
        f" FROM ({TICKET_SELECT} WHERE {where}{ORDER}{limit}) p"
        " LEFT JOIN member r ON r.id = p.requester_id"
        " LEFT JOIN member a ON a.id = p.assigned_staff_id"
        " LEFT JOIN client_company c ON c.id = p.client_company_id"
        " LEFT JOIN slack_message_ref ref ON ref.ticket_id = p.id AND ref.role = 'staff_card'"
        " ORDER BY p.updated_at DESC, p.id DESC"
    )


OPEN_IN = "t.status IN ('open', 'in_progress', 'pending')"


def hand_by_id(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    sql = backend.sql("SELECT * FROM ticket WHERE id = ?")
    return [r[0] for r in _rows(cursor, sql, (v.newest_ticket_id,))]


def hand_ticket_list(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    sql = TICKET_SELECT + " WHERE t.organization_id = ?" + ORDER + str(LIST_LIMIT)
    return [
        r[0] for r in _rows(cursor, backend.sql(sql, backend.indexes["org"]), (v.organization.id,))
    ]


def hand_my_open(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    sql = (
        TICKET_SELECT
        + f" WHERE t.organization_id = ? AND t.assigned_staff_id = ? AND {OPEN_IN}"
        + ORDER
        + str(LIST_LIMIT)
    )
    parameters = (v.organization.id, v.staff.id)
    return [r[0] for r in _rows(cursor, backend.sql(sql, backend.indexes["assignee"]), parameters)]


def hand_staff_home(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    """What the technician's App Home shows, each part on its index: the three lists of 10
    with names and card links, the running timer and today's entries, the saved views, the
    counts of the five built-in views (now = the clock's now, as the Home's) and the
    notification switches. Returns the lists' ids, then the counts."""
    org, staff = v.organization.id, v.staff.id
    found: list[int] = []
    for where, index, parameters in (
        (
            f"t.organization_id = ? AND t.assigned_staff_id = ? AND {OPEN_IN}",
            BY_ASSIGNEE,
            (org, staff),
        ),
        (
            f"t.organization_id = ? AND t.assigned_staff_id IS NULL AND {OPEN_IN}",
            BY_ASSIGNEE,
            (org,),
        ),
        ("t.organization_id = ?", BY_ORG, (org,)),
    ):
        sql = home_sql(where, 10)
        found += [r[0] for r in _rows(cursor, backend.sql(sql, index), parameters)]
    now = datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)  # organizations run in UTC
    for sql, parameters in (
        ("SELECT * FROM time_entry WHERE technician_id = ? AND ended_at IS NULL LIMIT 1", (staff,)),
        (
            "SELECT started_at, ended_at, actual_minutes FROM time_entry WHERE organization_id = ?"
            " AND technician_id = ? AND started_at >= ? AND started_at < ?"
            " AND deleted_at IS NULL",
            (org, staff, backend.when(day), backend.when(day + timedelta(days=1))),
        ),
        (
            "SELECT * FROM saved_view WHERE organization_id = ?"
            " AND (owner_id IS NULL OR owner_id = ?)",
            (org, staff),
        ),
        ("SELECT muted FROM notification_preference WHERE member_id = ?", (staff,)),
    ):
        cursor.execute(backend.sql(sql), parameters)
        cursor.fetchall()
    return found + hand_builtin_counts(backend, cursor, org, staff, now)


def hand_builtin_counts(
    backend: Backend, cursor: Any, org: int, staff: int, now: datetime
) -> list[int]:
    """The five built-in views' counts (saved_views.BUILTIN_VIEWS), one indexed count each."""
    open_tickets = (
        f"SELECT count(*) FROM ticket t {{index}} WHERE t.organization_id = ? AND {OPEN_IN}"
    )
    due_soon = (
        "SELECT count(*) FROM (SELECT t.id FROM sla_clock c {index}"
        " JOIN ticket t ON t.id = c.ticket_id"
        f" WHERE c.organization_id = ? AND c.status = 'running' AND c.due_at < ? AND {OPEN_IN}"
        " GROUP BY t.id HAVING min(c.due_at) > ?) g"
    )
    breached = (
        " AND EXISTS (SELECT 1 FROM sla_clock c"
        " WHERE c.ticket_id = t.id AND c.breached_at IS NOT NULL)"
    )
    counts = []
    for sql, index, parameters in (
        (open_tickets + " AND t.assigned_staff_id = ?", BY_ASSIGNEE, (org, staff)),
        (open_tickets + " AND t.assigned_staff_id IS NULL", BY_ASSIGNEE, (org,)),
        (
            "SELECT count(*) FROM ticket t {index}"
            " WHERE t.organization_id = ? AND t.status = 'pending'",
            BY_ORG_STATUS,
            (org,),
        ),
        (due_soon, BY_CLOCK_DUE, (org, backend.when(now + timedelta(hours=2)), backend.when(now))),
        (open_tickets + breached, BY_ASSIGNEE, (org,)),
    ):
        cursor.execute(backend.sql(sql, index), parameters)
        counts.append(int(cursor.fetchone()[0]))
    return counts


def hand_requester_home(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    sql = home_sql("t.organization_id = ? AND t.requester_id = ?", 10)
    parameters = (v.organization.id, v.requester.id)
    tickets = [
        r[0] for r in _rows(cursor, backend.sql(sql, backend.indexes["requester"]), parameters)
    ]
    if not tickets:
        return []
    marks = ", ".join("?" * len(tickets))
    comments = _rows(
        cursor,
        backend.sql(
            "SELECT id, ticket_id, author_name, author_type, comment_type, content, created_at"
            f" FROM ticket_comment WHERE ticket_id IN ({marks})"
            " AND comment_type = 'public_reply' ORDER BY ticket_id, created_at, id"
        ),
        tuple(tickets),
    )
    return sorted(tickets) + sorted(r[0] for r in comments)


# -- searches (DESIGN §10): the product's search path against hand-written SQL ------------

SEARCH_PAGE = 10  # /ticket find's page
NOW = END  # the searches' "now": the newest ticket was filed just before it
BY_ORG_STATUS = "ix_ticket_org_status"
BY_CREATED = "ix_ticket_org_created"
BY_CLOCK_DUE = "ix_sla_clock_org_status_due"
SEARCH_CLIENT = 2  # client:"Client 2"
DEFAULT_ORDER = "t.updated_at DESC, t.id DESC"


@dataclass(frozen=True)
class Search:
    label: str
    text: str  # what a technician types after /ticket find
    hand: Callable[[Backend, Any, Viewer], list[int]]


def _page_and_count(
    backend: Backend,
    cursor: Any,
    where: str,
    parameters: tuple,
    index: str = "",
    order: str = DEFAULT_ORDER,
) -> list[int]:
    """The page's ticket ids in order, then the total (what `search.search` returns)."""
    source = "ticket t {index}"
    page = _rows(
        cursor,
        backend.sql(
            f"SELECT t.id FROM {source} WHERE {where} ORDER BY {order} LIMIT {SEARCH_PAGE}", index
        ),
        parameters,
    )
    cursor.execute(backend.sql(f"SELECT count(*) FROM {source} WHERE {where}", index), parameters)
    return [r[0] for r in page] + [int(cursor.fetchone()[0])]


def hand_find_mine(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    where = f"t.organization_id = ? AND t.assigned_staff_id = ? AND {OPEN_IN}"
    return _page_and_count(backend, cursor, where, (v.organization.id, v.staff.id), BY_ASSIGNEE)


def hand_find_unassigned_high(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    where = (
        f"t.organization_id = ? AND t.assigned_staff_id IS NULL AND {OPEN_IN}"
        " AND t.priority IN ('high', 'urgent')"
    )
    return _page_and_count(backend, cursor, where, (v.organization.id,), BY_ASSIGNEE)


def hand_find_client(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    org = v.organization.id
    cursor.execute(  # the query names the client
        backend.sql("SELECT id FROM client_company WHERE organization_id = ? AND lower(name) = ?"),
        (org, f"client {SEARCH_CLIENT}"),
    )
    company = cursor.fetchone()[0]
    where = "t.organization_id = ? AND t.status IN ('open', 'pending') AND t.client_company_id = ?"
    return _page_and_count(backend, cursor, where, (org, company), BY_ORG_STATUS)


def hand_find_category(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    where = f"t.organization_id = ? AND {OPEN_IN} AND t.category = 'network'"
    return _page_and_count(backend, cursor, where, (v.organization.id,), BY_ASSIGNEE)


def hand_find_updated(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    where = "t.organization_id = ? AND t.updated_at > ?"
    parameters = (v.organization.id, backend.when(NOW - timedelta(hours=24)))
    return _page_and_count(backend, cursor, where, parameters, BY_ORG)


def hand_find_urgent_new(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    where = "t.organization_id = ? AND t.created_at > ? AND t.priority = 'urgent'"
    parameters = (v.organization.id, backend.when(NOW - timedelta(days=3)))
    return _page_and_count(backend, cursor, where, parameters, BY_CREATED)


def hand_find_due_soon(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    """Running clocks of the organization due before now + 2 h (the clock index's range),
    their open tickets, none of whose running clocks is already due."""
    grouped = (
        "SELECT t.id, min(c.due_at) AS next_due FROM sla_clock c {index}"
        " JOIN ticket t ON t.id = c.ticket_id"
        f" WHERE c.organization_id = ? AND c.status = 'running' AND c.due_at < ? AND {OPEN_IN}"
        " GROUP BY t.id HAVING min(c.due_at) > ?"
    )
    parameters = (v.organization.id, backend.when(NOW + timedelta(hours=2)), backend.when(NOW))
    page = _rows(
        cursor,
        backend.sql(f"{grouped} ORDER BY next_due, t.id LIMIT {SEARCH_PAGE}", BY_CLOCK_DUE),
        parameters,
    )
    cursor.execute(backend.sql(f"SELECT count(*) FROM ({grouped}) g", BY_CLOCK_DUE), parameters)
    return [r[0] for r in page] + [int(cursor.fetchone()[0])]


def hand_find_breached(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    """Open tickets (partial index) with a breached clock (by ticket), next due first."""
    where = (
        f"t.organization_id = ? AND {OPEN_IN} AND EXISTS (SELECT 1 FROM sla_clock c"
        " WHERE c.ticket_id = t.id AND c.breached_at IS NOT NULL)"
    )
    next_due = (
        "(SELECT min(n.due_at) FROM sla_clock n WHERE n.ticket_id = t.id AND n.status = 'running')"
    )
    org = v.organization.id
    page = _rows(
        cursor,
        backend.sql(
            f"SELECT id FROM (SELECT t.id, {next_due} AS next_due FROM ticket t {{index}}"
            f" WHERE {where}) p ORDER BY CASE WHEN next_due IS NULL THEN 1 ELSE 0 END,"
            f" next_due, id LIMIT {SEARCH_PAGE}",
            BY_ASSIGNEE,
        ),
        (org,),
    )
    cursor.execute(
        backend.sql(f"SELECT count(*) FROM ticket t {{index}} WHERE {where}", BY_ASSIGNEE), (org,)
    )
    return [r[0] for r in page] + [int(cursor.fetchone()[0])]


def _phrase_matches(backend: Backend, phrase: str, ticket: str) -> tuple[str, tuple]:
    """A condition: ticket `ticket` holds `phrase` in its title and description or in one
    of its comments (staff: public replies and internal notes), checked ticket by ticket."""
    if backend.name == "sqlite":
        # An FTS5 rowid is (organization id << 32) + the row's id (models/fulltext.py).
        organization = ticket.replace(".id", ".organization_id")
        return (
            f"(EXISTS (SELECT 1 FROM ticket_fts"
            f" WHERE ticket_fts.rowid = ({organization} << 32) + {ticket}"
            " AND ticket_fts MATCH ?) OR EXISTS (SELECT 1 FROM ticket_comment c"
            " JOIN comment_fts ON comment_fts.rowid = (c.organization_id << 32) + c.id"
            f" WHERE c.ticket_id = {ticket} AND comment_fts MATCH ?))",
            (f'"{phrase}"', f'{{public_text internal_text}} : "{phrase}"'),
        )
    from models.fulltext import PG_COMMENT_WORDS, PG_TICKET_WORDS

    query = "phraseto_tsquery('simple'::regconfig, ?)"
    return (
        f"({PG_TICKET_WORDS.replace('title', 't.title').replace('description', 't.description')}"
        f" @@ {query} OR EXISTS (SELECT 1 FROM ticket_comment c WHERE c.ticket_id = {ticket}"
        " AND c.comment_type IN ('public_reply', 'internal_note')"
        f" AND {PG_COMMENT_WORDS.replace('content', 'c.content')} @@ {query}))",
        (phrase, phrase),
    )


def _matching_ids(backend: Backend, phrase: str, org: int) -> tuple[str, tuple]:
    """The organization's tickets holding `phrase`, from the full-text indexes first (a rare
    phrase: its few matches, then their tickets by key). The indexes are read for the one
    organization: its FTS5 rowid range, its lexeme in the GIN documents."""
    if backend.name == "sqlite":
        first, last = org << 32, (org << 32) + (1 << 32) - 1
        return (
            "t.id IN (SELECT rowid - ? FROM ticket_fts WHERE ticket_fts MATCH ?"
            " AND rowid BETWEEN ? AND ?"
            " UNION SELECT c.ticket_id FROM comment_fts JOIN ticket_comment c"
            " ON c.id = comment_fts.rowid - ? WHERE comment_fts MATCH ?"
            " AND comment_fts.rowid BETWEEN ? AND ?)",
            (
                first,
                f'"{phrase}"',
                first,
                last,
                first,
                f'{{public_text internal_text}} : "{phrase}"',
                first,
                last,
            ),
        )
    from models.fulltext import PG_COMMENT_DOCUMENT, PG_TICKET_DOCUMENT

    query = "(phraseto_tsquery('simple'::regconfig, ?) && CAST(? AS tsquery))"
    lexeme = f"'#{org}'"
    return (
        f"t.id IN (SELECT id FROM ticket WHERE organization_id = ?"
        f" AND {PG_TICKET_DOCUMENT} @@ {query}"
        " UNION SELECT ticket_id FROM ticket_comment WHERE organization_id = ?"
        f" AND comment_type = 'public_reply' AND {PG_COMMENT_DOCUMENT} @@ {query}"
        " UNION SELECT ticket_id FROM ticket_comment WHERE organization_id = ?"
        f" AND comment_type = 'internal_note' AND {PG_COMMENT_DOCUMENT} @@ {query})",
        (org, phrase, lexeme, org, phrase, lexeme, org, phrase, lexeme),
    )


def _escape_braces(sql: str) -> str:
    return sql.replace("{", "{{").replace("}", "}}")


def hand_find_text_open(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    if backend.name == "sqlite":
        # FTS5 has no per-row look-up cheaper than its phrase query: read the phrase's
        # matches in the organization's rowid range once, then keep the open tickets.
        condition, parameters = _matching_ids(backend, "vpn", v.organization.id)
        where = f"t.organization_id = ? AND {OPEN_IN} AND {_escape_braces(condition)}"
        return _page_and_count(backend, cursor, where, (v.organization.id, *parameters))
    condition, parameters = _phrase_matches(backend, "vpn", "t.id")
    where = f"t.organization_id = ? AND {OPEN_IN} AND {_escape_braces(condition)}"
    return _page_and_count(backend, cursor, where, (v.organization.id, *parameters), BY_ASSIGNEE)


def hand_find_text_rare(backend: Backend, cursor: Any, v: Viewer) -> list[int]:
    condition, parameters = _matching_ids(backend, "zscaler tunnel", v.organization.id)
    where = f"t.organization_id = ? AND {_escape_braces(condition)}"
    return _page_and_count(backend, cursor, where, (v.organization.id, *parameters))


SEARCHES: tuple[Search, ...] = (
    Search("find: my open work", "assignee:me status:unresolved", hand_find_mine),
    Search(
        "find: unassigned, high+",
        "is:unassigned status:unresolved priority:>=high",
        hand_find_unassigned_high,
    ),
    Search(
        "find: client, open/pending",
        f'client:"Client {SEARCH_CLIENT}" status:open,pending',
        hand_find_client,
    ),
    Search("find: category, unresolved", "category:network status:unresolved", hand_find_category),
    Search("find: updated < 24h", "updated:<24h", hand_find_updated),
    Search("find: urgent, created < 3d", "priority:urgent created:<3d", hand_find_urgent_new),
    Search(
        "find: due < 2h (Breaching soon)",
        "due:<2h -is:overdue status:unresolved sort:due-asc",
        hand_find_due_soon,
    ),
    Search(
        "find: sla breached (Breached)",
        "sla:breached status:unresolved sort:due-asc",
        hand_find_breached,
    ),
    Search("find: text + unresolved", "vpn status:unresolved", hand_find_text_open),
    Search("find: text phrase", '"zscaler tunnel"', hand_find_text_rare),
)


def _rows(cursor: Any, sql: str, parameters: tuple) -> list[tuple]:
    cursor.execute(sql, parameters)
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    # Put the ticket id first whatever the table's column order, so callers can read r[0].
    position = names.index("id")
    return [(r[position], *r) for r in rows]


def service_calls() -> dict[str, Callable[[Any, Viewer], list[int]]]:
    """The product's code for each view; each returns the ids it produced (for checking)."""
    from bot.flows import views as ticket_views
    from bot.services import comments as comment_service
    from bot.services import saved_views
    from bot.services import search as search_service
    from bot.services import tickets as ticket_service
    from bot.services.actors import Actor
    from bot.services.tickets import OPEN_STATUSES, TicketFilter
    from models import Ticket

    def by_id(session: Any, v: Viewer) -> list[int]:
        ticket = session.get(Ticket, v.newest_ticket_id)
        return [ticket.id]

    def ticket_list(session: Any, v: Viewer) -> list[int]:
        found = ticket_service.list_tickets(
            session,
            organization_id=v.organization.id,
            viewer=Actor.for_member(v.staff),
            limit=LIST_LIMIT,
        )
        return [t.id for t in found]

    def my_open(session: Any, v: Viewer) -> list[int]:
        found = ticket_service.list_tickets(
            session,
            organization_id=v.organization.id,
            viewer=Actor.for_member(v.staff),
            filters=TicketFilter(status=list(OPEN_STATUSES), assigned_staff_id=v.staff.id),
            limit=LIST_LIMIT,
        )
        return [t.id for t in found]

    # home_view's signature is still moving; pass the staff channel where it is asked for.
    extra = (
        {"staff_channel": True}
        if "staff_channel" in inspect.signature(ticket_views.home_view).parameters
        else {}
    )

    def home(session: Any, v: Viewer, member: Any) -> None:
        kwargs = {"staff_channel": v.organization.staff_channel_id} if extra else {}
        ticket_views.home_view(
            session, organization=v.organization, viewer=Actor.for_member(member), **kwargs
        )

    def staff_home(session: Any, v: Viewer) -> list[int]:
        home(session, v, v.staff)
        return []

    def requester_home(session: Any, v: Viewer) -> list[int]:
        home(session, v, v.requester)
        return []

    def staff_home_rows(session: Any, v: Viewer) -> list[int]:
        # The lists home_view asks for, to check the hand-written query returns the same.
        viewer = Actor.for_member(v.staff)
        found: list[int] = []
        for filters in (
            TicketFilter(status=list(OPEN_STATUSES), assigned_staff_id=v.staff.id),
            TicketFilter(status=list(OPEN_STATUSES), unassigned=True),
            TicketFilter(),
        ):
            found += [
                t.id
                for t in ticket_service.list_tickets(
                    session,
                    organization_id=v.organization.id,
                    viewer=viewer,
                    filters=filters,
                    limit=ticket_views.HOME_LIST_SIZE,
                )
            ]
        # and the built-in views' counts, with the Home's now
        scope = search_service.scope_for(
            v.organization, member=v.staff, is_staff=True, now=datetime.now(UTC)
        )
        counted = search_service.counts(
            session, texts=[b.query for b in saved_views.BUILTIN_VIEWS], scope=scope
        )
        return found + [int(c) for c in counted]  # type: ignore[arg-type]

    def requester_home_rows(session: Any, v: Viewer) -> list[int]:
        viewer = Actor.for_member(v.requester)
        tickets = ticket_service.list_tickets(
            session,
            organization_id=v.organization.id,
            viewer=viewer,
            limit=ticket_views.HOME_LIST_SIZE,
        )
        comments = [
            c.id
            for t in tickets
            for c in comment_service.list_comments(session, ticket=t, viewer=viewer)
        ]
        return sorted(t.id for t in tickets) + sorted(comments)

    def finder(text: str) -> Callable[[Any, Viewer], list[int]]:
        def find(session: Any, v: Viewer) -> list[int]:
            scope = search_service.scope_for(v.organization, member=v.staff, is_staff=True, now=NOW)
            found = search_service.search(session, text=text, scope=scope, limit=SEARCH_PAGE)
            return [t.id for t in found.tickets] + [found.total]

        return find

    return {
        **{s.label: finder(s.text) for s in SEARCHES},
        REFERENCE: by_id,
        "ticket list": ticket_list,
        "my open tickets": my_open,
        "staff App Home": staff_home,
        "requester App Home": requester_home,
        "staff App Home (rows)": staff_home_rows,
        "requester App Home (rows)": requester_home_rows,
    }


# A query whose cost cannot depend on the data's size (a ticket by primary key): how much
# it "grows" between sizes is the machine's drift, which the summary divides out.
REFERENCE = "ticket by id (reference)"
HAND_CALLS: dict[str, Callable[[Backend, Any, Viewer], list[int]]] = {
    REFERENCE: hand_by_id,
    "ticket list": hand_ticket_list,
    "my open tickets": hand_my_open,
    "staff App Home": hand_staff_home,
    "requester App Home": hand_requester_home,
    **{s.label: s.hand for s in SEARCHES},
}
# Which service call's rows the hand-written query must reproduce.
CHECK_AGAINST = {
    REFERENCE: REFERENCE,
    "ticket list": "ticket list",
    "my open tickets": "my open tickets",
    "staff App Home": "staff App Home (rows)",
    "requester App Home": "requester App Home (rows)",
    **{s.label: s.label for s in SEARCHES},
}


# -- measuring ----------------------------------------------------------------------------


@dataclass
class Figure:
    size: int
    query: str
    variant: str  # "schema"
    service_p95: float  # end to end: SQL, ORM objects, drawing
    hand_p95: float
    service_p50: float
    hand_p50: float
    sql_p95: float  # the service's statements alone, replayed on the DB-API connection
    sql_p50: float
    statements: int  # SQL statements one service call issues
    flagged: list[str]  # plan lines with a scan or sort
    same_rows: bool


class Recorder:
    """Collects the SQL statements the service sends while `active`."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.active = False
        self.statements: list[tuple[str, Any]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if self.active:
                self.statements.append((statement, parameters))

    def capture(self, call: Callable[[], Any]) -> list[tuple[str, Any]]:
        self.statements = []
        self.active = True
        try:
            call()
        finally:
            self.active = False
        return self.statements


def pick_viewers(database: Any, layout: Layout, count: int) -> list[Viewer]:
    """In `count` organizations spread over all: the frequent requester and a technician,
    the same people at every size."""
    from models import Member, Organization

    viewers = []
    with database.session() as session:
        for i in range(count):
            o = 1 + (i * layout.orgs) // count
            requester = STAFF_PER_ORG  # the frequent requester
            staff = 1 + i % (STAFF_PER_ORG - 1)  # technicians 1..9 (0 is the admin)
            viewers.append(
                Viewer(
                    session.get(Organization, o),
                    session.get(Member, layout.member_id(o, staff)),
                    session.get(Member, layout.member_id(o, requester)),
                    layout.ticket_id(o, layout.per_org),
                )
            )
    return viewers


def measure_size(
    backend: Backend,
    size: int,
    variant: str,
    database: Any,
    recorder: Recorder,
    raw: Any,
    viewers: list[Viewer],
    samples: int,
    plans: dict[str, list[str]],
) -> list[Figure]:
    service = service_calls()
    figures = []
    cursor = raw.cursor()
    for query, hand in HAND_CALLS.items():
        # Same rows: the hand-written query against the service, for every viewer.
        same = True
        for v in viewers:
            with database.session() as session:
                expected = service[CHECK_AGAINST[query]](session, v)
            same &= hand(backend, cursor, v) == expected
        # Plans of every distinct statement one service call sends.
        with database.session() as session:
            session.connection()  # BEGIN is not the query's
            call = service[query]
            statements = recorder.capture(lambda s=session, c=call: c(s, viewers[0]))
        flagged: list[str] = []
        seen: set[str] = set()
        for statement, parameters in statements:
            if statement in seen:
                continue
            seen.add(statement)
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = backend.explain(raw, statement, parameters)
            plans[f"{query}: {statement}"] = plan
            flagged += plan_problems(backend, statement, plan)
        service_times, hand_times, sql_times = [], [], []
        sent_by_viewer = {}
        for v in viewers:
            with database.session() as session:
                session.connection()
                sent_by_viewer[id(v)] = recorder.capture(
                    lambda s=session, c=service[query], v=v: c(s, v)
                )
        for i in range(samples + samples // 10):  # the first tenth warms the caches up
            v = viewers[i % len(viewers)]
            with database.session() as session:
                session.connection()  # the unit of work's connection is open before timing
                began = time.perf_counter()
                service[query](session, v)
                took = time.perf_counter() - began
            began = time.perf_counter()
            hand(backend, cursor, v)
            hand_took = time.perf_counter() - began
            began = time.perf_counter()
            for statement, parameters in sent_by_viewer[id(v)]:
                cursor.execute(statement, parameters)
                cursor.fetchall()
            sql_took = time.perf_counter() - began
            if i >= samples // 10:
                service_times.append(took)
                hand_times.append(hand_took)
                sql_times.append(sql_took)
        figures.append(
            Figure(
                size=size,
                query=query,
                variant=variant,
                service_p95=common.percentile(service_times, 95),
                hand_p95=common.percentile(hand_times, 95),
                service_p50=common.percentile(service_times, 50),
                hand_p50=common.percentile(hand_times, 50),
                sql_p95=common.percentile(sql_times, 95),
                sql_p50=common.percentile(sql_times, 50),
                statements=len(statements),
                flagged=sorted(set(flagged)),
                same_rows=same,
            )
        )
    cursor.close()
    return figures


@dataclass
class HomeFigure:
    """The staff App Home without saved views (as today) and with 10 (live counts)."""

    size: int
    base_p95: float
    views_p95: float
    base_p50: float
    views_p50: float
    base_statements: int
    views_statements: int
    flagged: list[str]


SHARED_VIEWS = 4  # of the 10: shared by an admin; the other 6 are the technician's own


def _add_views(backend: Backend, raw: Any, viewers: list[Viewer]) -> None:
    now = backend.when(END)
    rows = []
    for v in viewers:
        org = v.organization.id
        admin = (org - 1) * (STAFF_PER_ORG + REQUESTERS_PER_ORG) + 1
        for i, found in enumerate(SEARCHES):
            shared = i < SHARED_VIEWS
            name = f"View {i + 1}: {found.label.removeprefix('find: ')}"
            owner = None if shared else v.staff.id
            rows.append((name, found.text, org, owner, name.lower(), admin, now, now))
    backend.load(
        raw,
        "saved_view",
        "name, query, organization_id, owner_id, name_key, created_by_id, created_at, updated_at",
        rows,
    )


def _drop_views(raw: Any) -> None:
    raw.execute("DELETE FROM saved_view")


def measure_home_views(
    backend: Backend,
    size: int,
    database: Any,
    recorder: Recorder,
    raw: Any,
    viewers: list[Viewer],
    samples: int,
    plans: dict[str, list[str]],
) -> HomeFigure:
    """The staff App Home with no saved views, then with 10 (4 shared, 6 personal, the ten
    searches above), in alternating blocks so that the machine's drift falls on both."""
    home = service_calls()["staff App Home"]

    def timed(count: int) -> list[float]:
        times = []
        for i in range(count + count // 10):
            v = viewers[i % len(viewers)]
            with database.session() as session:
                session.connection()
                began = time.perf_counter()
                home(session, v)
                took = time.perf_counter() - began
            if i >= count // 10:
                times.append(took)
        return times

    def sent() -> list[tuple[str, Any]]:
        with database.session() as session:
            session.connection()
            return recorder.capture(lambda: home(session, viewers[0]))

    base: list[float] = []
    with_views: list[float] = []
    base_sent: list[tuple[str, Any]] = []
    views_sent: list[tuple[str, Any]] = []
    for _ in range(2):
        base_sent = sent()
        base += timed(samples // 2)
        _add_views(backend, raw, viewers)
        try:
            views_sent = sent()
            with_views += timed(samples // 2)
        finally:
            _drop_views(raw)
    flagged: list[str] = []
    _add_views(backend, raw, viewers)
    try:
        for statement, parameters in views_sent:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = backend.explain(raw, statement, parameters)
            plans[f"staff App Home, 10 views: {statement}"] = plan
            flagged += plan_problems(backend, statement, plan)
    finally:
        _drop_views(raw)
    return HomeFigure(
        size=size,
        base_p95=common.percentile(base, 95),
        views_p95=common.percentile(with_views, 95),
        base_p50=common.percentile(base, 50),
        views_p50=common.percentile(with_views, 50),
        base_statements=len(base_sent),
        views_statements=len(views_sent),
        flagged=sorted(set(flagged)),
    )


def _print_home(figure: HomeFigure) -> None:
    table(
        [
            [
                "staff App Home",
                ms(figure.base_p95),
                ms(figure.views_p95),
                ratio(figure.views_p95, figure.base_p95),
                ratio(figure.views_p50, figure.base_p50),
                f"{figure.base_statements} -> {figure.views_statements}",
                (len(figure.flagged) and "; ".join(x.split(":")[0] for x in figure.flagged)) or "-",
            ]
        ],
        [
            "end to end",
            "no views p95",
            "10 views p95",
            "ratio p95",
            "ratio p50",
            "stmts",
            "plan issues",
        ],
    )


def sizes_for(total: int, explicit: str | None) -> list[int]:
    if explicit:
        return sorted(int(s) for s in explicit.split(","))
    sizes = []
    size = 10_000
    while size < total:
        sizes.append(size)
        size *= 10
    return [*sizes, total]


def run(args: argparse.Namespace, url: str) -> bool:
    from bot import jobs
    from bot.core.db import Database

    common.print_machine(url)
    backend: Backend = PostgresBackend(url) if common.is_postgres(url) else SQLiteBackend(url)
    sizes = sizes_for(args.tickets, args.sizes)
    layout = Layout(orgs=args.orgs, per_org=sizes[-1] // args.orgs)
    print(
        f"scale: sizes {', '.join(f'{s:,}' for s in sizes)} tickets over {args.orgs} "
        f"organizations, {COMMENTS_PER_TICKET} comments each, {backend.name}, "
        f"p95 of {args.samples} calls"
    )
    create_schema(url)
    raw = backend.connect()
    load_people(backend, raw, layout)
    database = Database.from_url(url)
    recorder = Recorder(database.engine)
    figures: list[Figure] = []
    homes: list[HomeFigure] = []
    plans: dict[str, list[str]] = {}
    loaded = 0
    for size in sizes:
        heading(f"{size:,} tickets")
        began = time.perf_counter()
        per_org_before = loaded // args.orgs
        numbers = layout.numbers(size)
        load_tickets(backend, raw, layout, range(numbers.start, numbers.stop - per_org_before))
        loaded = size
        backend.analyze(raw)
        jobs.optimize_database(database)  # SQLite: the product's scheduled ANALYZE
        raw.close()  # a SQLite connection reads planner statistics when it opens
        raw = backend.connect()
        print(
            f"loaded {size:,} tickets and {size * COMMENTS_PER_TICKET:,} comments in all "
            f"(+{time.perf_counter() - began:.0f}s)",
            flush=True,
        )
        viewers = pick_viewers(database, layout, args.viewers)
        plans = {}
        figures += measure_size(
            backend, size, "schema", database, recorder, raw, viewers, args.samples, plans
        )
        _print_size(figures, size, "schema")
        homes.append(
            measure_home_views(backend, size, database, recorder, raw, viewers, args.samples, plans)
        )
        _print_home(homes[-1])
    database.dispose()

    for title, shown in (("schema", plans),):
        if not shown:
            continue
        heading(f"plans at {sizes[-1]:,} tickets ({backend.name}, {title}), one per statement")
        for key, plan in shown.items():
            query, statement = key.split(": ", 1)
            print(f"-- {query}: {_shorten(statement)}")
            problems = plan_problems(backend, statement, plan)
            for line in plan:
                print(f"     {line}")
            for problem in problems:
                print(f"     !! {problem}")
    raw.close()
    ok = _summary(backend, figures, sizes)
    return _home_summary(homes) and ok


def _home_summary(homes: list[HomeFigure]) -> bool:
    heading("staff App Home with 10 saved views and their live counts, against no views")
    ok = True
    rows = []
    for figure in homes:
        within = figure.views_p95 <= TARGET_RATIO * figure.base_p95
        clean = not any(x.startswith(("scan", "filter")) for x in figure.flagged)
        ok &= within and clean
        rows.append(
            [
                f"{figure.size:,}",
                ms(figure.base_p95),
                ms(figure.views_p95),
                f"{ratio(figure.views_p95, figure.base_p95)} {verdict(within)}",
                verdict(clean),
            ]
        )
    table(
        rows,
        [
            "tickets",
            "no views p95",
            "10 views p95",
            f"ratio (<= {TARGET_RATIO:.0f}x)",
            "plan: no scan/filter",
        ],
    )
    return ok


def _shorten(statement: str) -> str:
    """A statement without its long column list, for reading plans."""
    text = " ".join(statement.split())
    return re.sub(r"^SELECT .*? FROM ", "SELECT ... FROM ", text)[:300]


def _print_size(figures: list[Figure], size: int, variant: str) -> None:
    rows = [
        [
            f.query,
            ms(f.sql_p95),
            ms(f.hand_p95),
            ratio(f.sql_p95, f.hand_p95),
            ms(f.service_p95),
            ratio(f.service_p95, f.hand_p95),
            f.statements,
            "yes" if f.same_rows else "NO",
            (len(f.flagged) and "; ".join(x.split(":")[0] for x in f.flagged)) or "-",
        ]
        for f in figures
        if f.size == size and f.variant == variant
    ]
    print(f"[{variant}]")
    table(
        rows,
        [
            "query",
            "service SQL p95",
            "hand SQL p95",
            "ratio",
            "service end to end p95",
            "ratio",
            "stmts",
            "same rows",
            "plan issues",
        ],
    )


def _summary(backend: Backend, figures: list[Figure], sizes: list[int]) -> bool:
    heading(
        f"summary ({backend.name}): ratio to hand-written SQL at {sizes[-1]:,} tickets, "
        f"growth {sizes[0]:,} -> {sizes[-1]:,}"
    )
    ok = True
    rows = []
    for variant in ("schema",):

        def at(query: str, size: int, variant: str = variant) -> Figure | None:
            return next(
                (f for f in figures if (f.query, f.size, f.variant) == (query, size, variant)),
                None,
            )

        reference_first, reference_last = at(REFERENCE, sizes[0]), at(REFERENCE, sizes[-1])
        if reference_first is None or reference_last is None:
            continue
        # Growth is divided by the reference's (its median: a p95 of a 0.1 ms query is mostly
        # scheduler noise), which only the machine's drift between sizes can change.
        drift = reference_last.service_p50 / reference_first.service_p50
        hand_drift = reference_last.hand_p50 / reference_first.hand_p50
        for query in HAND_CALLS:
            first, last = at(query, sizes[0]), at(query, sizes[-1])
            if first is None or last is None or query == REFERENCE:
                continue
            growth = last.service_p95 / first.service_p95 / drift
            within = last.sql_p95 <= TARGET_RATIO * last.hand_p95
            flat = growth <= TARGET_GROWTH
            clean = not any(x.startswith(("scan", "filter")) for x in last.flagged)
            same = all(f.same_rows for f in figures if (f.query, f.variant) == (query, variant))
            if variant == "schema":
                ok &= within and flat and clean and same
            rows.append(
                [
                    query,
                    f"{ratio(last.sql_p95, last.hand_p95)} {verdict(within)}",
                    ratio(last.service_p95, last.hand_p95),
                    f"{growth:.2f}x {verdict(flat)}",
                    f"{last.hand_p95 / first.hand_p95 / hand_drift:.2f}x",
                    verdict(clean),
                    verdict(same),
                ]
            )
        print(
            f"[{variant}] drift divided out: {drift:.2f}x (service), {hand_drift:.2f}x (hand), "
            f"from the median of '{REFERENCE}'"
        )
    table(
        rows,
        [
            "query",
            f"service SQL/hand SQL (<= {TARGET_RATIO:.0f}x)",
            "end to end/hand SQL",
            f"service growth (<= {TARGET_GROWTH:.0f}x)",
            "hand growth",
            "plan: no scan/filter",
            "same rows",
        ],
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000, help="the largest size")
    parser.add_argument("--sizes", help="comma-separated sizes (default: 10k, x10 ..., --tickets)")
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--samples", type=int, default=200, help="timed calls per query and size")
    parser.add_argument("--viewers", type=int, default=10, help="organizations sampled")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL URL whose database (named tb_bench_*) is created and dropped; "
        "default: SQLite in a temporary directory",
    )
    parser.add_argument(
        "--sqlite-path", help="build the SQLite database here and keep it (default: temporary)"
    )
    parser.add_argument("--quick", action="store_true", help="10k and 100k tickets, 100 samples")
    args = parser.parse_args()
    if args.quick:
        args.tickets, args.samples = 100_000, 100
    if args.database_url and common.is_postgres(args.database_url):
        with common.scratch_postgres(args.database_url) as url:
            return 0 if run(args, url) else 1
    if args.sqlite_path:
        if Path(args.sqlite_path).exists():
            raise SystemExit(f"{args.sqlite_path} exists; the benchmark builds a new database")
        return 0 if run(args, f"sqlite:///{Path(args.sqlite_path).resolve()}") else 1
    with tempfile.TemporaryDirectory(prefix="tb-bench-scale-") as tmp:
        return 0 if run(args, f"sqlite:///{Path(tmp) / 'scale.db'}") else 1


if __name__ == "__main__":
    sys.exit(main())
