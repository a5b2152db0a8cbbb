"""Time report: a client's month of 10,000 time entries in a database of 1,000,000 tickets.

Data (SQLite in a temporary directory): one organization with --tickets tickets (1,000,000)
spread over 5 client companies, 10 technicians. The client under test has --entries time
entries (10,000) in the measured month, on 2,000 of its tickets; as many again fall in the
months before and after, and the other clients have 4x that in the same month, so the
report must find its rows by index rather than by reading the month or the client.

Measured: `services.time_tracking.monthly_report` (per ticket, actual and billable minutes;
what `GET /api/reports/time` and `/ticket time report` serve) inside an open unit of work,
against a hand-written SQL query returning the same per-ticket sums on a DB-API connection
(the baseline). As in scale.py, the service is timed twice: its SQL alone (the statements it
sent, replayed on the baseline's connection; the target "within 2x" is judged on this) and
end to end (with SQLAlchemy's row handling and the per-ticket rounding in Python). p50 and
p95 of --samples calls.
The plan of the service's aggregate statement is printed (it must use
ix_time_entry_org_client_started, not scan).

Run: .venv/bin/python bench/time_report.py [--quick] [--tickets N] [--entries N]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _common as common
from _common import heading, ms, ratio, table, verdict

COMPANIES = 5
TECHNICIANS = 10
MONTH = "2026-03"
MONTH_START = datetime(2026, 3, 1, tzinfo=UTC)
CLIENT = 1  # the client under test

HAND_WRITTEN = """
SELECT t.ticket_number, t.title, SUM(e.actual_minutes), SUM(e.billable_minutes)
FROM time_entry e JOIN ticket t ON t.id = e.ticket_id
WHERE e.organization_id = 1 AND e.client_company_id = ?
  AND e.started_at >= ? AND e.started_at < ?
  AND e.deleted_at IS NULL AND e.ended_at IS NOT NULL
GROUP BY t.id ORDER BY t.ticket_number
"""


def sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def build(path: Path, tickets: int, entries: int) -> None:
    from bot.core import migrate
    from bot.core.db import make_engine

    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    connection = sqlite3.connect(path)
    now = sqlite_time(MONTH_START - timedelta(days=400))
    connection.execute(
        "INSERT INTO organization (id, slack_team_id, name, settings, last_ticket_number,"
        " created_at, updated_at) VALUES (1, 'T0BENCH', 'Bench', ?, ?, ?, ?)",
        ('{"time_rounding": {"increment": 15, "minimum": 15}}', tickets, now, now),
    )
    connection.executemany(
        "INSERT INTO client_company (id, organization_id, name, email_domains, created_at)"
        " VALUES (?, 1, ?, '[]', ?)",
        [(c, f"Client {c}", now) for c in range(1, COMPANIES + 1)],
    )
    connection.executemany(
        "INSERT INTO member (id, organization_id, name, role, slack_is_admin, created_at,"
        " updated_at) VALUES (?, 1, ?, 'technician', 0, ?, ?)",
        [(m, f"Tech {m}", now, now) for m in range(1, TECHNICIANS + 1)],
    )
    batch = 50_000
    for start in range(1, tickets + 1, batch):
        connection.executemany(
            "INSERT INTO ticket (id, organization_id, ticket_number, title, description, status,"
            " priority, client_company_id, created_at, updated_at)"
            " VALUES (?, 1, ?, ?, '', 'closed', 'medium', ?, ?, ?)",
            [
                (n, n, f"Ticket {n}", (n % COMPANIES) + 1, now, now)
                for n in range(start, min(start + batch, tickets + 1))
            ],
        )
    rows = []
    next_id = 1

    def add(ticket: int, client: int, started: datetime, minutes: int) -> None:
        nonlocal next_id
        ended = started + timedelta(minutes=minutes)
        billable = -(-max(minutes, 15) // 15) * 15
        rows.append(
            (
                next_id,
                ticket,
                1 + next_id % TECHNICIANS,
                client,
                sqlite_time(started),
                sqlite_time(ended),
                minutes,
                billable,
                sqlite_time(ended),
                sqlite_time(ended),
            )
        )
        next_id += 1

    # The client's tickets are those with n % COMPANIES == CLIENT - 1, newest first.
    client_tickets = [n for n in range(tickets, 0, -1) if n % COMPANIES == CLIENT - 1][:2000]
    other_tickets = [n for n in range(tickets, 0, -1) if n % COMPANIES != CLIENT - 1][:8000]
    for i in range(entries):
        ticket = client_tickets[i % len(client_tickets)]
        day = MONTH_START + timedelta(minutes=(i * 263) % (31 * 24 * 60 - 120))
        add(ticket, CLIENT, day, 5 + i % 120)
        add(ticket, CLIENT, day - timedelta(days=40), 30)  # the month before
        add(ticket, CLIENT, day + timedelta(days=40), 30)  # the month after
        for k in range(4):  # the other clients' month
            other = other_tickets[(i * 4 + k) % len(other_tickets)]
            add(other, (other % COMPANIES) + 1, day, 45)
    connection.executemany(
        "INSERT INTO time_entry (id, organization_id, ticket_id, technician_id,"
        " client_company_id, started_at, ended_at, actual_minutes, billable, billable_minutes,"
        " note, source, revision, created_at, updated_at)"
        " VALUES (?, 1, ?, ?, ?, ?, ?, ?, 1, ?, '', 'log', 0, ?, ?)",
        rows,
    )
    connection.commit()
    connection.execute("PRAGMA analysis_limit=400")
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="100,000 tickets, 10 samples")
    args = parser.parse_args(argv)
    if args.quick:
        args.tickets, args.samples = 100_000, 10
    common.print_machine()

    from sqlmodel import select

    from bot.core.db import Database
    from bot.services import time_tracking as tt
    from models import Organization

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        heading(f"Loading {args.tickets:,} tickets and {args.entries * 7:,} time entries")
        began = time.perf_counter()
        build(path, args.tickets, args.entries)
        print(f"loaded in {time.perf_counter() - began:.0f} s")
        database = Database.from_url(f"sqlite:///{path}")
        start, end = sqlite_time(MONTH_START), sqlite_time(datetime(2026, 4, 1, tzinfo=UTC))
        raw = sqlite3.connect(path)
        expected = raw.execute(HAND_WRITTEN, (CLIENT, start, end)).fetchall()

        service_times, sql_times = [], []
        with database.read_session() as session:
            organization = session.exec(select(Organization)).one()
            for _ in range(args.samples):
                t0 = time.perf_counter()
                report = tt.monthly_report(
                    session, organization=organization, month=MONTH, client_company_id=CLIENT
                )
                service_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                raw.execute(HAND_WRITTEN, (CLIENT, start, end)).fetchall()
                sql_times.append(time.perf_counter() - t0)
            statements: list[str] = []
            from sqlalchemy import event

            def record(conn, cursor, statement, parameters, context, executemany):
                statements.append((statement, parameters))

            event.listen(database.engine, "before_cursor_execute", record)
            tt.monthly_report(
                session, organization=organization, month=MONTH, client_company_id=CLIENT
            )
            event.remove(database.engine, "before_cursor_execute", record)
        replay_times = []
        for _ in range(args.samples):
            t0 = time.perf_counter()
            for statement, parameters in statements:
                raw.execute(statement, parameters).fetchall()
            replay_times.append(time.perf_counter() - t0)
        got = [(x.ticket_number, x.title, x.actual_minutes) for x in report.lines]
        assert got == [(n, t, a) for n, t, a, _ in expected], "service and SQL disagree"
        billable_sql = sum(row[3] for row in expected)
        heading("Monthly report of one client (per ticket, actual and billable)")
        print(
            f"{len(report.lines):,} tickets, {report.actual_minutes:,} min actual,"
            f" {report.billable_minutes:,} min billable (SQL billable sum {billable_sql:,})"
        )
        p50s, p95s = common.percentile(service_times, 50), common.percentile(service_times, 95)
        p50q, p95q = common.percentile(sql_times, 50), common.percentile(sql_times, 95)
        p50r, p95r = common.percentile(replay_times, 50), common.percentile(replay_times, 95)
        table(
            [
                [
                    f"service SQL ({len(statements)} statements)",
                    ms(p50r),
                    ms(p95r),
                    ratio(p95r, p95q),
                ],
                ["monthly_report end to end", ms(p50s), ms(p95s), ratio(p95s, p95q)],
                ["hand-written SQL", ms(p50q), ms(p95q), "1.00x"],
            ],
            ["query", "p50", "p95", "p95 vs SQL"],
        )
        aggregate = next(s for s in statements if "sum(" in s[0].lower())
        plan = raw.execute("EXPLAIN QUERY PLAN " + aggregate[0], aggregate[1]).fetchall()
        heading("Plan of the service's aggregate statement")
        for row in plan:
            print("  " + str(row[-1]))
        uses_index = any("ix_time_entry_org_client_started" in str(row[-1]) for row in plan)
        within = p95r <= 2 * p95q
        print(
            f"\nservice SQL within 2x of hand-written SQL: {verdict(within)};"
            f" by index ix_time_entry_org_client_started: {verdict(uses_index)}"
        )
        raw.close()
        database.dispose()
        return 0 if within and uses_index else 1


if __name__ == "__main__":
    sys.exit(main())
