"""Numbering: several processes file tickets in one organization at once.

Each of --processes worker processes files --per-process tickets through the ticket service,
twice, in two organizations: numbered first (`create_ticket`: the organization's counter is
bumped with UPDATE ... RETURNING, then the ticket and its event-log line are inserted) and
numbered last (`create_ticket(number_last=True)` + `number_ticket`, as Slack and REST
filings do: the rows first, the counter in the last statement before the commit). One
transaction per ticket, as one Slack submission. The numbers must come out exactly 1..N,
without a gap or a repeat, both ways.

Baseline, same processes, same run: the same rows (ticket + event-log line, one transaction
each) inserted with numbers handed out in advance, so no counter row is locked. The ratio
is what numbering costs under contention.

Run: .venv/bin/python bench/numbering.py [--quick] [--database-url postgresql+psycopg://...]
(default: PostgreSQL on 127.0.0.1, database tb_bench_numbering, created and dropped).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common as common
from _common import heading, ms, ratio, table, verdict

BASELINE_TEAM = "T0NUMBASE1"
NUMBERED_TEAM = "T0NUMBERS1"
LAST_TEAM = "T0NUMLAST1"


@dataclass
class Timing:
    """One worker's phase: when it started and finished, and each ticket's commit time."""

    started: float
    finished: float
    latencies: list[float]


def _setup(url: str) -> None:
    """The schema, three organizations (one per phase) and a requester in each."""
    from bot.core import migrate
    from bot.core.db import Database
    from bot.services import organizations as orgs

    database = Database.from_url(url)
    migrate.upgrade(database.engine)
    with database.session() as session:
        for team in (BASELINE_TEAM, NUMBERED_TEAM, LAST_TEAM):
            organization = orgs.get_or_create_organization(session, team_id=team, name=team)
            orgs.create_member(
                session,
                organization=organization,
                name="Rita Requester",
                email=f"rita@{team.lower()}.example",
                slack_user_id=f"U{team}",
            )
    database.dispose()


def _load(session: Any, team: str) -> tuple[Any, Any]:
    from sqlmodel import select

    from models import Member, Organization

    organization = session.exec(
        select(Organization).where(Organization.slack_team_id == team)
    ).one()
    member = session.exec(select(Member).where(Member.organization_id == organization.id)).one()
    return organization, member


def worker(
    url: str, index: int, count: int, barrier: Any, results: Any
) -> None:  # pragma: no cover - runs in a child process
    """The phases in one process: the baseline, then numbering first, then last."""
    from bot.core.db import Database
    from bot.services import tickets as ticket_service
    from bot.services.actors import Actor
    from models import Ticket, TicketEvent, TicketStatus, utcnow
    from models.ticket import TicketCreate

    database = Database.from_url(url)
    with database.session() as session:
        base_org, base_member = _load(session, BASELINE_TEAM)
        numbered_org, numbered_member = _load(session, NUMBERED_TEAM)
        last_org, last_member = _load(session, LAST_TEAM)
    actor = Actor.for_member(numbered_member)
    last_actor = Actor.for_member(last_member)

    def timed(phase: str, file_one: Any) -> None:
        latencies = []
        barrier.wait()  # every process starts the phase together
        started = time.perf_counter()
        for i in range(count):
            began = time.perf_counter()
            with database.session() as session:
                file_one(session, i)
            latencies.append(time.perf_counter() - began)
        results.put((phase, index, Timing(started, time.perf_counter(), latencies)))

    def preassigned(session: Any, i: int) -> None:
        # The rows create_ticket writes, but with a number decided in advance.
        now = utcnow()
        ticket = Ticket(
            organization_id=base_org.id,
            ticket_number=index * count + i + 1,
            title=f"Worker {index} ticket {i}",
            description="Filed by the numbering benchmark.",
            status=TicketStatus.OPEN,
            priority=base_org.default_priority,
            requester_id=base_member.id,
            client_company_id=base_member.client_company_id,
            created_at=now,
            updated_at=now,
        )
        session.add(ticket)
        session.flush()
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                organization_id=base_org.id,
                actor_id=base_member.id,
                actor_name=base_member.name,
                field="created",
                new_value=ticket.title,
            )
        )

    def numbered(session: Any, i: int) -> None:
        ticket_service.create_ticket(
            session,
            organization=numbered_org,
            requester=numbered_member,
            actor=actor,
            request=TicketCreate(
                title=f"Worker {index} ticket {i}", description="Filed by the numbering benchmark."
            ),
        )

    def numbered_last(session: Any, i: int) -> None:
        # How Slack and REST filings number (workflows.file_ticket): rows first, the
        # counter as the last statement before the commit.
        ticket = ticket_service.create_ticket(
            session,
            organization=last_org,
            requester=last_member,
            actor=last_actor,
            number_last=True,
            request=TicketCreate(
                title=f"Worker {index} ticket {i}", description="Filed by the numbering benchmark."
            ),
        )
        ticket_service.number_ticket(session, ticket=ticket)

    timed("baseline", preassigned)
    timed("numbered", numbered)
    timed("numbered last", numbered_last)
    database.dispose()


def _phase_figures(timings: list[Timing]) -> tuple[float, float, float, float]:
    """(tickets per second over the phase's wall time, p50, p99, wall seconds)."""
    wall = max(t.finished for t in timings) - min(t.started for t in timings)
    latencies = [x for t in timings for x in t.latencies]
    return (
        len(latencies) / wall,
        common.percentile(latencies, 50),
        common.percentile(latencies, 99),
        wall,
    )


def _numbers(url: str, team: str) -> tuple[list[int], int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        numbers = common.ticket_numbers(connection, team)
        counter = connection.execute(
            text("SELECT last_ticket_number FROM organization WHERE slack_team_id = :team"),
            {"team": team},
        ).scalar_one()
    engine.dispose()
    return numbers, int(counter)


def run(args: argparse.Namespace, url: str) -> bool:
    common.print_machine(url)
    backend = "postgresql" if common.is_postgres(url) else "sqlite"
    total = args.processes * args.per_process
    print(f"numbering: {args.processes} processes x {args.per_process} tickets, {backend}")
    _setup(url)
    context = multiprocessing.get_context("spawn")  # fresh interpreters, like separate servers
    barrier = context.Barrier(args.processes)
    results = context.Queue()
    processes = [
        context.Process(target=worker, args=(url, i, args.per_process, barrier, results))
        for i in range(args.processes)
    ]
    for process in processes:
        process.start()
    collected: dict[str, list[Timing]] = {"baseline": [], "numbered": [], "numbered last": []}
    for _ in range(3 * args.processes):
        phase, _index, timing = results.get(timeout=args.timeout)
        collected[phase].append(timing)
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a worker process failed (exit code {process.exitcode})")

    base_rate, base_p50, base_p99, base_wall = _phase_figures(collected["baseline"])
    rate, p50, p99, wall = _phase_figures(collected["numbered"])
    last_rate, last_p50, last_p99, last_wall = _phase_figures(collected["numbered last"])
    numbers, counter = _numbers(url, NUMBERED_TEAM)
    last_numbers, last_counter = _numbers(url, LAST_TEAM)
    base_numbers, _ = _numbers(url, BASELINE_TEAM)
    expected = list(range(1, total + 1))

    heading(f"results ({backend})")
    table(
        [
            [
                "tickets/s",
                f"{rate:.0f}",
                ratio(rate, base_rate),
                f"{last_rate:.0f}",
                ratio(last_rate, base_rate),
                f"{base_rate:.0f}",
            ],
            [
                "commit p50",
                ms(p50),
                ratio(p50, base_p50),
                ms(last_p50),
                ratio(last_p50, base_p50),
                ms(base_p50),
            ],
            [
                "commit p99",
                ms(p99),
                ratio(p99, base_p99),
                ms(last_p99),
                ratio(last_p99, base_p99),
                ms(base_p99),
            ],
            [
                "wall time",
                f"{wall:.1f} s",
                ratio(wall, base_wall),
                f"{last_wall:.1f} s",
                ratio(last_wall, base_wall),
                f"{base_wall:.1f} s",
            ],
        ],
        [
            "figure",
            "numbered first",
            "ratio",
            "numbered last",
            "ratio",
            "baseline (pre-assigned)",
        ],
    )
    checks = [
        (f"numbers are exactly 1..{total}", numbers == expected, f"{len(set(numbers))} distinct"),
        ("the counter says the same", counter == total, f"last_ticket_number={counter}"),
        (
            f"numbered last: exactly 1..{total}",
            last_numbers == expected and last_counter == total,
            f"{len(set(last_numbers))} distinct, last_ticket_number={last_counter}",
        ),
        ("baseline inserted every row", base_numbers == expected, f"{len(base_numbers)} rows"),
    ]
    heading("correctness")
    table([[verdict(ok), name, detail] for name, ok, detail in checks], ["", "check", "measured"])
    return all(ok for _, ok, _ in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--per-process", type=int, default=500)
    parser.add_argument(
        "--database-url",
        default=common.default_pg_url("numbering"),
        help="PostgreSQL URL (its tb_bench_* database is created and dropped), or sqlite:// "
        "to use a SQLite file in a temporary directory",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per phase")
    parser.add_argument("--quick", action="store_true", help="100 tickets per process")
    args = parser.parse_args()
    if args.quick:
        args.per_process = 100
    if common.is_postgres(args.database_url):
        with common.scratch_postgres(args.database_url) as url:
            return 0 if run(args, url) else 1
    with tempfile.TemporaryDirectory(prefix="tb-bench-numbering-") as tmp:
        return 0 if run(args, f"sqlite:///{Path(tmp) / 'numbering.db'}") else 1


if __name__ == "__main__":
    sys.exit(main())
