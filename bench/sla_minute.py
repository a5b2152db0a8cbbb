"""SLA minute job: what is due, found by index over many running clocks.

Data: --tickets tickets (1,000,000) in --orgs organizations (100); every tenth ticket is
open with a running first-response and resolution clock (--tickets / 10 tickets, so
200,000 running clocks at the default size), the rest are closed with a met resolution
clock. Running clocks are 4 hours to 30 days long and each is somewhere in its life: the
warnings whose instant passed earlier were sent by earlier runs (a quarter of the running
clocks are past 75 %); what came due in the last minute is this run's work.

Measured: the product's claim (`bot.services.sla.claim_alerts`: breaches, then 90 % and
75 % warnings, each a conditional UPDATE … RETURNING over an index range) inside a
transaction that is rolled back, so every sample claims the same rows; against a
hand-written query doing the same claims (four UPDATE … RETURNING in plain SQL, one
DB-API connection, rolled back too). p50 and p95 of --samples runs. The plans (EXPLAIN QUERY PLAN /
EXPLAIN) of every statement the claim sends are printed and checked: each must read
sla_clock through an index, never scan it.

Run: .venv/bin/python bench/sla_minute.py [--quick] [--database-url postgresql+psycopg://…/tb_bench_sla]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _common as common
from _common import heading, ms, ratio, table, verdict
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine

from bot.core import migrate
from bot.core.db import Database
from bot.services import sla
from models import (
    ClockStatus,
    Organization,
    SlaClock,
    SlaMetric,
    Ticket,
    table_of,
)

NOW = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)
BATCH = 20_000


def build(db: Database, *, tickets: int, orgs: int, seed: int = 7) -> dict[str, int]:
    """Bulk-load the tickets and clocks (Core inserts: the product's rules are not what is
    measured here, the minute job's read is)."""
    rng = random.Random(seed)
    org_table, ticket_table, clock_table = (
        table_of(Organization),
        table_of(Ticket),
        table_of(SlaClock),
    )
    with db.engine.begin() as connection:
        connection.execute(
            insert(org_table),
            [
                {
                    "slack_team_id": f"T{i:08d}",
                    "name": f"Org {i}",
                    "settings": {},
                    "last_ticket_number": 0,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(orgs)
            ],
        )
    org_ids = list(range(1, orgs + 1))
    counts = {"tickets": 0, "running_clocks": 0, "clocks": 0, "due_now": 0, "warn_now": 0}
    ticket_id = 0
    while ticket_id < tickets:
        ticket_rows: list[dict[str, Any]] = []
        clock_rows: list[dict[str, Any]] = []
        for _ in range(min(BATCH, tickets - ticket_id)):
            ticket_id += 1
            org = org_ids[ticket_id % orgs]
            open_ = ticket_id % 10 == 0
            created = NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
            ticket_rows.append(
                {
                    "id": ticket_id,
                    "organization_id": org,
                    "ticket_number": ticket_id // orgs + 1,
                    "title": f"Ticket {ticket_id}",
                    "description": "",
                    "status": "open" if open_ else "closed",
                    "priority": "medium",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if not open_:
                clock_rows.append(
                    _clock(ticket_id, org, SlaMetric.RESOLUTION, created, None, met=True)
                )
                continue
            for metric in (SlaMetric.FIRST_RESPONSE, SlaMetric.RESOLUTION):
                # Steady state: each clock somewhere in its life (4 h to 30 days long);
                # warnings whose instant passed more than a minute ago were sent by earlier
                # runs; what came due in the last minute is this run's work.
                span = timedelta(minutes=rng.randint(240, 60 * 24 * 30))
                started = NOW - span * rng.random() * 1.0001
                row = _clock(ticket_id, org, metric, started, started + span)
                for instant_key, told_key in (
                    ("warn_75_at", "warned_75_at"),
                    ("warn_90_at", "warned_90_at"),
                ):
                    if row[instant_key] <= NOW - timedelta(minutes=1):
                        row[told_key] = row[instant_key]
                    elif row[instant_key] <= NOW:
                        counts["warn_now"] += 1
                if row["due_at"] <= NOW:
                    counts["due_now"] += 1
                clock_rows.append(row)
                counts["running_clocks"] += 1
        with db.engine.begin() as connection:
            connection.execute(insert(ticket_table), ticket_rows)
            connection.execute(insert(clock_table), clock_rows)
        counts["tickets"] += len(ticket_rows)
        counts["clocks"] += len(clock_rows)
    with db.engine.begin() as connection:
        if db.is_sqlite:
            connection.exec_driver_sql("ANALYZE")
        else:
            connection.exec_driver_sql("ANALYZE sla_clock")
            connection.exec_driver_sql("ANALYZE ticket")
    return counts


def _clock(
    ticket_id: int,
    org: int,
    metric: SlaMetric,
    started: datetime,
    due: datetime | None,
    *,
    met: bool = False,
) -> dict[str, Any]:
    span = (due - started) if due else timedelta(hours=8)
    return {
        "organization_id": org,
        "ticket_id": ticket_id,
        "metric": metric.value,
        "cycle": 1,
        "status": (ClockStatus.MET if met else ClockStatus.RUNNING).value,
        "target_minutes": int(span.total_seconds() // 60) or 1,
        "business_hours": False,
        "started_at": started,
        "due_at": due,
        "warn_75_at": started + span * 3 / 4 if due else None,
        "warn_90_at": started + span * 9 / 10 if due else None,
        "warned_75_at": None,
        "warned_90_at": None,
        "fulfilled_at": started + timedelta(hours=1) if met else None,
        "breached_at": None,
        "breach_notified_at": None,
        "excluded_seconds": 0,
        "excluded_periods": [],
        "due_overridden": False,
        "created_at": started,
        "updated_at": started,
    }


# The same claims written by hand: each UPDATE … RETURNING takes the rows its index range
# finds (the job's semantics, without the ORM or SQLAlchemy's statement building).
HAND_WRITTEN = (
    "UPDATE sla_clock SET status = 'breached', breached_at = coalesce(breached_at, due_at), "
    "breach_notified_at = :now, warned_75_at = coalesce(warned_75_at, :now), "
    "warned_90_at = coalesce(warned_90_at, :now), updated_at = :now "
    "WHERE id IN (SELECT id FROM sla_clock WHERE status = 'running' AND due_at <= :now "
    "ORDER BY due_at LIMIT 500) RETURNING id",
    "UPDATE sla_clock SET breach_notified_at = :now, updated_at = :now "
    "WHERE id IN (SELECT id FROM sla_clock WHERE status = 'breached' "
    "AND breach_notified_at IS NULL ORDER BY id LIMIT 500) RETURNING id",
    "UPDATE sla_clock SET warned_90_at = :now, warned_75_at = coalesce(warned_75_at, :now), "
    "updated_at = :now WHERE id IN (SELECT id FROM sla_clock WHERE status = 'running' "
    "AND warn_90_at <= :now AND warned_90_at IS NULL ORDER BY warn_90_at LIMIT 500) "
    "RETURNING id",
    "UPDATE sla_clock SET warned_75_at = :now, updated_at = :now WHERE id IN (SELECT id "
    "FROM sla_clock WHERE status = 'running' AND warn_75_at <= :now AND warned_75_at IS NULL "
    "ORDER BY warn_75_at LIMIT 500) RETURNING id",
)


@contextmanager
def recording(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def product_claim(db: Database) -> tuple[float, list[tuple[int, int]]]:
    """One run of the claim, rolled back so the next sample sees the same rows."""
    with db.engine.connect() as connection:
        from sqlmodel import Session

        transaction = connection.begin()
        session = Session(bind=connection)
        started = time.perf_counter()
        claimed = sla.claim_alerts(session, now=NOW)
        elapsed = time.perf_counter() - started
        session.close()
        transaction.rollback()
    return elapsed, claimed


def hand_written(db: Database) -> tuple[float, set[int]]:
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        marker = ":now" if db.is_sqlite else "%(now)s"
        now = NOW.replace(tzinfo=None) if db.is_sqlite else NOW
        started = time.perf_counter()
        ids: set[int] = set()
        for query in HAND_WRITTEN:
            cursor.execute(query.replace(":now", marker), {"now": now})
            ids.update(row[0] for row in cursor.fetchall())
        elapsed = time.perf_counter() - started
        raw.rollback()
    finally:
        raw.close()
    return elapsed, ids


def plans(db: Database) -> list[tuple[str, str]]:
    """(statement, plan) of every statement the claim sends, in a rolled-back transaction."""
    with recording(db.engine) as sent:
        product_claim(db)
    found = []
    with db.engine.connect() as connection:
        transaction = connection.begin()
        for statement, parameters in sent:
            if not statement.lstrip().upper().startswith(("UPDATE", "SELECT")):
                continue
            prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
            cursor = connection.connection.cursor()
            cursor.execute(prefix + statement, parameters)
            rows = cursor.fetchall()
            plan = "\n".join(str(r[-1]) if db.is_sqlite else str(r[0]) for r in rows)
            found.append((statement, plan))
        transaction.rollback()
    return found


def scans_sla_clock(plan: str, is_sqlite: bool) -> bool:
    if is_sqlite:
        return any(line.strip().startswith("SCAN sla_clock") for line in plan.splitlines())
    return "Seq Scan on sla_clock" in plan


def run(url: str, *, tickets: int, orgs: int, samples: int) -> bool:
    db = Database.from_url(url)
    try:
        migrate.upgrade(db.engine)
        started = time.perf_counter()
        counts = build(db, tickets=tickets, orgs=orgs)
        heading(f"Data ({time.perf_counter() - started:.0f} s to load)")
        table([(k, f"{v:,}") for k, v in counts.items()], ("what", "rows"))

        _, claimed = product_claim(db)
        _, expected = hand_written(db)
        same = {clock_id for clock_id, _ in claimed} == expected and len(claimed) == len(expected)
        heading("Correctness")
        table(
            [
                ("claimed by the product", f"{len(claimed)}"),
                ("found by the hand-written queries", f"{len(expected)}"),
                ("same clocks, each once", verdict(same)),
            ],
            ("check", "result"),
        )
        product_times = [product_claim(db)[0] for _ in range(samples)]
        baseline_times = [hand_written(db)[0] for _ in range(samples)]
        p50, p95 = common.percentile(product_times, 50), common.percentile(product_times, 95)
        b50, b95 = common.percentile(baseline_times, 50), common.percentile(baseline_times, 95)
        heading(f"Minute job's claim, {samples} samples")
        table(
            [
                ("claim_alerts (product)", ms(p50), ms(p95), ratio(p95, b95)),
                ("hand-written UPDATE … RETURNING", ms(b50), ms(b95), "1.0x"),
            ],
            ("query", "p50", "p95", "p95 vs hand-written"),
        )
        heading("Plans of the claim's statements")
        scanned = False
        for statement, plan in plans(db):
            print("  " + " ".join(statement.split())[:160])
            for line in plan.splitlines():
                print("      " + line)
            scanned |= scans_sla_clock(plan, db.is_sqlite)
        heading("Verdict")
        table(
            [("no scan of sla_clock", verdict(not scanned)), ("same rows", verdict(same))],
            ("target", "result"),
        )
        return same and not scanned
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="100,000 tickets")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    tickets = 100_000 if args.quick else args.tickets
    common.print_machine(args.database_url)
    if args.database_url and common.is_postgres(args.database_url):
        with common.scratch_postgres(args.database_url) as url:
            ok = run(url, tickets=tickets, orgs=args.orgs, samples=args.samples)
    else:
        with tempfile.TemporaryDirectory(prefix="tb-bench-sla-") as scratch:
            url = f"sqlite:///{Path(scratch) / 'sla.db'}"
            ok = run(url, tickets=tickets, orgs=args.orgs, samples=args.samples)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
