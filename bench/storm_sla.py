"""Storm with and without SLAs, side by side: does configuring SLAs slow the ack path?

Issue 13 asks that the storm's ack figures regress by at most 10 % with SLAs configured.
Two separate `bench/storm.py` runs differ by more than that on this shared machine from
one minute to the next, so this script measures both in the same window:

1. Two Slack simulators and two `ticketbot serve` processes, each with its own database:
   "plain" (no SLA policy) and "sla" (a default policy on a split-shift New York calendar
   with a target for every priority and metric: every filing starts two clocks and every
   card draws an SLA line; `storm.configure_sla`).
2. Each server's modals are opened and their submissions recorded (not measured); both are
   warmed up with 64 filings, delivered before measuring.
3. Rounds: the submissions are split into --rounds chunks; each round storms both servers
   one after the other, in alternating order, and waits until every card and DM of the
   round is in Slack before the next storm starts (so each storm has the machine to itself,
   as in storm.py, and the delivery's CPU is measured apart).
4. The acks of all rounds are pooled per server; the SLA server's figures are compared with
   the plain server's.

Run: .venv/bin/python bench/storm_sla.py [--quick] [--database-url postgresql+psycopg://…/tb_bench_x]
(with PostgreSQL, databases <name>_plain and <name>_sla are created and dropped).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import _common as common
import storm as base
from _common import heading, ms, ratio, table, verdict

from bot.slacksim import SlackSimulator

TARGET_REGRESSION = 1.10  # the SLA server's ack p50 and p99 at most 10 % above the plain one's


@dataclass
class Side:
    """One server of the comparison and what its storms measured."""

    name: str
    database_url: str
    sim: SlackSimulator
    world: base.World
    app: common.ServerProcess
    bodies: list[bytes] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    storm_cpu: float = 0.0
    delivery_cpu: float = 0.0
    delivered: int = 0  # tickets whose card and DM are in Slack
    bad: list[str] = field(default_factory=list)

    def p(self, q: float) -> float:
        return common.percentile(self.latencies, q)

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0


@contextlib.contextmanager
def databases(args: argparse.Namespace, scratch: Path) -> Iterator[tuple[str, str]]:
    if args.database_url and common.is_postgres(args.database_url):
        with (
            common.scratch_postgres(args.database_url + "_plain") as plain,
            common.scratch_postgres(args.database_url + "_sla") as sla,
        ):
            yield plain, sla
    else:
        yield f"sqlite:///{scratch / 'plain.db'}", f"sqlite:///{scratch / 'sla.db'}"


def start_side(
    name: str, database_url: str, sim: SlackSimulator, scratch: Path, args: argparse.Namespace
) -> Side:
    world = base.build_world(sim, args.users)
    (scratch / name).mkdir()
    app = base.start_ticketbot(world, database_url, scratch / name)
    return Side(name, database_url, sim, world, app)


def storm_round(side: Side, bodies: list[bytes], concurrency: int) -> None:
    cpu = common.cpu_seconds(side.app.pid)
    result = base.storm(side.app.port, bodies, concurrency, expect_empty=True)
    storm_end = common.cpu_seconds(side.app.pid)
    side.latencies += result.latencies
    side.wall += result.wall
    side.bad += result.bad
    side.storm_cpu += storm_end - cpu
    cards, dms = (len(texts) for texts in base.delivered(side.world))
    side.delivered += len(bodies)
    expected = base.WARM_UP_SUBMISSIONS + side.delivered
    if base.wait_delivered(side.world, expected, result.started, 300) is None:
        side.bad.append(f"round not delivered in 300 s ({cards} cards, {dms} DMs at its end)")
    side.delivery_cpu += common.cpu_seconds(side.app.pid) - storm_end


def clocks_per_ticket(database_url: str) -> float:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            clocks = connection.execute(text("SELECT count(*) FROM sla_clock")).scalar_one()
            tickets = connection.execute(text("SELECT count(*) FROM ticket")).scalar_one()
    finally:
        engine.dispose()
    return clocks / max(tickets, 1)


def run(args: argparse.Namespace, scratch: Path) -> bool:
    common.print_machine(args.database_url)
    print(
        f"storm with and without SLAs: {args.submissions} submissions per server in "
        f"{args.rounds} rounds, concurrency {args.concurrency}, {args.users} requesters, "
        f"Slack latency {args.latency * 1000:.0f} ms"
    )
    with (
        databases(args, scratch) as (plain_url, sla_url),
        SlackSimulator() as plain_sim,
        SlackSimulator() as sla_sim,
    ):
        sides = [
            start_side("plain", plain_url, plain_sim, scratch, args),
            start_side("sla", sla_url, sla_sim, scratch, args),
        ]
        try:
            heading("recording submissions (not measured)")
            total = args.submissions + base.WARM_UP_SUBMISSIONS
            for side in sides:
                side.bodies = base.record_submissions(
                    side.world, side.app.url, total, base.RECORDING_CONCURRENCY
                )
            base.configure_sla(sla_url)
            for side in sides:
                side.sim.latency = args.latency
                base.storm(side.app.port, side.bodies[: base.WARM_UP_SUBMISSIONS], 32, True)
            for side in sides:
                if base.wait_delivered(side.world, base.WARM_UP_SUBMISSIONS, 0, 120) is None:
                    print(f"warning: {side.name}'s warm-up was not all delivered in 120 s")
            heading("rounds")
            measured = [side.bodies[base.WARM_UP_SUBMISSIONS :] for side in sides]
            size = -(-args.submissions // args.rounds)
            for r in range(args.rounds):
                order = [0, 1] if r % 2 == 0 else [1, 0]
                for i in order:
                    chunk = measured[i][r * size : (r + 1) * size]
                    storm_round(sides[i], chunk, args.concurrency)
                print(
                    f"round {r + 1}: "
                    + ", ".join(
                        f"{s.name} p50 {ms(s.p(50))} p99 {ms(s.p(99))} (so far)" for s in sides
                    ),
                    flush=True,
                )
            checks = []
            for side in sides:
                checks += [
                    (f"{side.name}: {name}", ok, detail)
                    for name, ok, detail in base.check(
                        side.world, side.database_url, total, _pooled(side)
                    )
                ]
            clocks = clocks_per_ticket(sla_url)
        finally:
            for side in sides:
                side.app.stop()

    plain, sla = sides
    n = args.submissions
    heading("results")
    table(
        [
            # Columns: without, with; the ratio is SLA over no SLA.
            *[[name, b, a, r] for name, a, b, r in base.ack_rows(sla, plain, (50, 90, 99))],
            [
                "server CPU per submission (storms)",
                ms(plain.storm_cpu / n),
                ms(sla.storm_cpu / n),
                ratio(sla.storm_cpu, plain.storm_cpu),
            ],
            [
                "delivery CPU per ticket (between storms)",
                ms(plain.delivery_cpu / n),
                ms(sla.delivery_cpu / n),
                ratio(sla.delivery_cpu, plain.delivery_cpu),
            ],
        ],
        ["figure", "no SLA", "SLA", "SLA / no SLA"],
    )
    heading("targets and correctness")
    rows = [
        (
            f"ack p50 with SLAs at most {TARGET_REGRESSION:.2f}x without",
            sla.p(50) <= TARGET_REGRESSION * plain.p(50),
            ratio(sla.p(50), plain.p(50)),
        ),
        (
            f"ack p99 with SLAs at most {TARGET_REGRESSION:.2f}x without",
            sla.p(99) <= TARGET_REGRESSION * plain.p(99),
            ratio(sla.p(99), plain.p(99)),
        ),
        ("every SLA ticket has its two clocks", clocks == 2, f"{clocks:.2f} per ticket"),
        *checks,
    ]
    table([[verdict(ok), name, detail] for name, ok, detail in rows], ["", "check", "measured"])
    for side in sides:
        if side.bad:
            print(f"{side.name}: first unexpected answers:", *side.bad[:3], sep="\n  ")
    return all(ok for _, ok, _ in rows) and not plain.bad and not sla.bad


def _pooled(side: Side) -> base.Storm:
    pooled = base.Storm(latencies=list(side.latencies), bad=list(side.bad))
    pooled.finished = side.wall
    return pooled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=1000, help="per server")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--users", type=int, default=100, help="distinct requesters")
    parser.add_argument("--latency", type=float, default=0.050, help="seconds per Web API call")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL URL (database named tb_bench_*; <name>_plain and <name>_sla are "
        "created and dropped); default: SQLite files in a temporary directory",
    )
    parser.add_argument("--quick", action="store_true", help="200 per server, 40 requesters")
    args = parser.parse_args()
    if args.quick:
        args.submissions, args.users = 200, 40
    with tempfile.TemporaryDirectory(prefix="tb-bench-storm-sla-") as tmp:
        ok = run(args, Path(tmp))
    return 0 if ok else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
