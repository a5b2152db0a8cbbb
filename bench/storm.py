"""Storm: a burst of ticket submissions through a real `ticketbot serve` while Slack is slow.

What happens, in one run:
1. The Slack simulator starts in this process; every Web API call it answers during the
   storm is delayed by --latency (50 ms).
2. `ticketbot serve` starts as a child process (so its memory can be read on its own) on
   SQLite (default) or the PostgreSQL database given with --database-url.
3. Each requester types `/ticket` (through the real server, which opens the modal with
   views.open); the view_submission of each modal is recorded, not sent yet.
4. Baseline: a bare Bolt app that only acks (bench/_bare_app.py, same server stack) gets
   the same submissions at the same concurrency.
5. Storm: the same submissions go to `ticketbot serve`, signed like Slack's.
6. The outbox worker delivers every card and DM; we wait for the last one to reach Slack.
   Delivery baseline: a plain slack_sdk WebClient posting the same messages (card; DM with
   conversations.open) at the storm's concurrency, i.e. what Slack's latency allows.
7. Correctness: numbers exactly 1..N, one card and one DM per ticket, outbox all sent.

Run: .venv/bin/python bench/storm.py [--quick] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import re
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as common
from _common import REPO, KeepAliveClient, ServerProcess, heading, ms, ratio, table, verdict

from bot.slacksim import DriverResponse, SlackDriver, SlackSimulator, compute_signature

TEAM = "T0STORM001"
BASELINE_TEAM = "T0STORMB01"
SIGNING_SECRET = "bench-storm-signing-secret"
CARD_NUMBER = re.compile(r"^Ticket #(\d+): ")
DM_NUMBER = re.compile(r"^Ticket #(\d+) received")
TARGET_P99_SECONDS = 0.300
TARGET_P99_SHARE = 4.0  # ack p99 at most this many times the bare app's
TARGET_THROUGHPUT_SHARE = 0.6
TARGET_CPU_SHARE = 1.5  # server CPU per submission at most this many times the bare app's
TARGET_DELIVERY_CPU_SECONDS = 0.005  # per ticket (its card and its DM)
TARGET_RSS_MB = 250
RECORDING_CONCURRENCY = 8
# Filed before the storm to warm Ticketbot up, as the bare app is (not measured).
WARM_UP_SUBMISSIONS = 64


@dataclass
class Storm:
    """What one storm of submissions measured."""

    latencies: list[float] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)  # unexpected answers (status, body)
    started: float = 0.0
    finished: float = 0.0

    @property
    def wall(self) -> float:
        return self.finished - self.started

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def p(self, q: float) -> float:
        return common.percentile(self.latencies, q)


# -- the world ----------------------------------------------------------------------------


@dataclass
class World:
    sim: SlackSimulator
    staff_channel: str
    tech: str
    requesters: list[str]
    baseline_channel: str
    baseline_users: list[str]
    baseline_token: str
    bot_token: str


def build_world(sim: SlackSimulator, users: int) -> World:
    team = sim.add_team(TEAM, name="Storm MSP", domain="storm-msp")
    tech = sim.add_user(TEAM, name="tech", real_name="Tess Tech", email="tess@storm-msp.com")["id"]
    staff = sim.add_channel(TEAM, name="it-staff", members=[tech, team.bot_user_id])["id"]
    requesters = [
        sim.add_user(TEAM, name=f"user{i}", real_name=f"User {i}", email=f"user{i}@client.example")[
            "id"
        ]
        for i in range(users)
    ]
    # A second workspace receives the delivery baseline's messages, so that they cannot be
    # mistaken for the product's in the correctness checks.
    base = sim.add_team(BASELINE_TEAM, name="Baseline", domain="baseline")
    base_staff = sim.add_channel(BASELINE_TEAM, name="it-staff", members=[base.bot_user_id])["id"]
    base_users = [
        sim.add_user(BASELINE_TEAM, name=f"buser{i}", real_name=f"B {i}")["id"]
        for i in range(users)
    ]
    return World(
        sim=sim,
        staff_channel=staff,
        tech=tech,
        requesters=requesters,
        baseline_channel=base_staff,
        baseline_users=base_users,
        baseline_token=base.bot_token,
        bot_token=team.bot_token,
    )


def start_ticketbot(
    world: World, database_url: str, scratch: Path, workers: int = 1
) -> ServerProcess:
    port = common.free_port()
    ticketbot = Path(sys.executable).with_name("ticketbot")
    argv = ([str(ticketbot)] if ticketbot.exists() else [sys.executable, "-m", "bot.cli"]) + [
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    env = {
        "SLACK_BOT_TOKEN": world.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": world.sim.api_url,
        "DATABASE_URL": database_url,
        "STAFF_CHANNEL_ID": world.staff_channel,
        "FILE_STORAGE_DIR": str(scratch / "files"),
        # Per-request access logs would cost both servers alike; neither writes them.
        "LOG_LEVEL": "WARNING",
    }
    server = common.start_server("ticketbot-serve", argv, env, port, scratch)
    server.wait_ready("/healthz")
    return server


def start_bare_app(scratch: Path) -> ServerProcess:
    port = common.free_port()
    argv = [sys.executable, str(REPO / "bench" / "_bare_app.py"), "--port", str(port)]
    env = {"SLACK_SIGNING_SECRET": SIGNING_SECRET}
    server = common.start_server("bare-bolt", argv, env, port, scratch)
    server.wait_ready("/healthz")
    return server


# -- submissions --------------------------------------------------------------------------


def record_submissions(world: World, server_url: str, count: int, concurrency: int) -> list[bytes]:
    """Open `count` new-ticket modals through the real app and record their submissions.

    Each requester files several tickets one after another (one open modal per person at a
    time, as in Slack); different requesters work in parallel.
    """
    opener = SlackDriver.over_http(world.sim, SIGNING_SECRET, server_url + "/slack/events")
    per_user: dict[str, list[int]] = collections.defaultdict(list)
    for i in range(count):
        per_user[world.requesters[i % len(world.requesters)]].append(i)
    bodies: list[bytes | None] = [None] * count

    def file_all(user: str) -> None:
        captured: list[bytes] = []

        def capture(body: bytes, headers: dict[str, str]) -> Any:
            captured.append(body)
            return DriverResponse(200, {}, b"")  # a plain ack: the simulator closes the modal

        recorder = SlackDriver(world.sim, SIGNING_SECRET, capture)
        for i in per_user[user]:
            answer = opener.slash_command(TEAM, user, text="")
            if answer.status != 200:
                raise RuntimeError(f"/ticket answered {answer.status}: {answer.text[:200]}")
            modal = world.sim.open_views(user, TEAM)[-1]
            recorder.submit_view(
                TEAM,
                user,
                modal["id"],
                {
                    "Title": f"Storm {i}: the VPN is down for the whole floor",
                    "Description": "Nobody on the 3rd floor can reach the file server since 9am.",
                    "Priority": "high",
                    "Category": "network",
                },
            )
            bodies[i] = captured[-1]

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(file_all, per_user))
    return [b for b in bodies if b is not None]


def storm(port: int, bodies: list[bytes], concurrency: int, expect_empty: bool) -> Storm:
    """Send every body once, `concurrency` at a time, and time each ack."""
    client = KeepAliveClient(port)
    result = Storm()
    lock = threading.Lock()
    next_index = iter(range(len(bodies)))
    start = threading.Barrier(concurrency + 1)

    def worker() -> None:
        start.wait()
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            body = bodies[i]
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": compute_signature(SIGNING_SECRET, timestamp, body),
            }
            began = time.perf_counter()
            try:
                status, answer = client.post("/slack/events", body, headers)
            except OSError as error:
                status, answer = 0, repr(error).encode()
            took = time.perf_counter() - began
            with lock:
                result.latencies.append(took)
                if status != 200 or (expect_empty and answer.strip()):
                    result.bad.append(f"{status} {answer[:200]!r}")

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    result.started = time.perf_counter()
    for thread in threads:
        thread.join()
    result.finished = time.perf_counter()
    return result


# -- delivery -----------------------------------------------------------------------------


def _bot_texts(world: World, channel_id: str) -> list[str]:
    """Texts of the bot's top-level messages in a channel (read without copying it all)."""
    ws = world.sim.workspace
    with ws.lock:
        channel = ws.channel(channel_id)
        return [
            m.get("text", "")
            for m in channel.messages
            if m.get("bot_id") and (not m.get("thread_ts") or m["thread_ts"] == m["ts"])
        ]


def delivered(world: World) -> tuple[list[str], list[str]]:
    """(card texts in the staff channel, "received" DM texts to requesters)."""
    cards = [t for t in _bot_texts(world, world.staff_channel) if CARD_NUMBER.match(t)]
    dms: list[str] = []
    for user in world.requesters:
        dms += [
            t for t in _bot_texts(world, world.sim.dm_channel(TEAM, user)) if DM_NUMBER.match(t)
        ]
    return cards, dms


def wait_delivered(world: World, expected: int, since: float, timeout: float) -> float | None:
    """Seconds from `since` until every card and DM is in Slack (None: gave up)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        cards, dms = delivered(world)
        if len(cards) >= expected and len(dms) >= expected:
            return time.perf_counter() - since
        time.sleep(0.2)
    return None


def baseline_delivery(world: World, count: int, concurrency: int) -> float:
    """Seconds a plain WebClient needs to post `count` cards and `count` DMs (with
    conversations.open each, as the outbox does) at `concurrency`: Slack's latency floor."""
    from slack_sdk import WebClient

    client = WebClient(token=world.baseline_token, base_url=world.sim.api_url, timeout=30)

    def card(i: int) -> None:
        client.chat_postMessage(channel=world.baseline_channel, text=f"Ticket #{i + 1}: storm")

    def dm(i: int) -> None:
        user = world.baseline_users[i % len(world.baseline_users)]
        channel = client.conversations_open(users=user)["channel"]["id"]
        client.chat_postMessage(channel=channel, text=f"Ticket #{i + 1} received: storm")

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda i: (card(i), dm(i)), range(count)))
    return time.perf_counter() - began


# -- correctness --------------------------------------------------------------------------


def check(world: World, database_url: str, count: int, acks: Storm) -> list[tuple[str, bool, str]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        numbers = common.ticket_numbers(connection, TEAM)
        outbox = {
            status: n
            for status, n in connection.execute(
                text("SELECT status, count(*) FROM outbox_message GROUP BY status")
            )
        }
    engine.dispose()
    cards, dms = delivered(world)
    posted_order = [int(CARD_NUMBER.match(t).group(1)) for t in cards]  # type: ignore[union-attr]
    inversions = sum(1 for a, b in itertools.pairwise(posted_order) if a > b)
    card_numbers = collections.Counter(int(CARD_NUMBER.match(t).group(1)) for t in cards)  # type: ignore[union-attr]
    dm_numbers = collections.Counter(int(DM_NUMBER.match(t).group(1)) for t in dms)  # type: ignore[union-attr]
    expected = list(range(1, count + 1))
    sent, pending, failed = (outbox.get(s, 0) for s in ("sent", "pending", "failed"))
    return [
        ("every submission acked with a plain 200", not acks.bad, f"{len(acks.bad)} not"),
        (
            f"ticket numbers are exactly 1..{count}",
            numbers == expected,
            f"{len(numbers)} tickets, {len(set(numbers))} distinct",
        ),
        (
            "one card per ticket",
            sorted(card_numbers) == expected and max(card_numbers.values(), default=0) == 1,
            f"{len(cards)} cards, {len(card_numbers)} distinct",
        ),
        (
            "cards posted in ticket-number order",
            inversions == 0,
            f"{inversions} of {max(len(posted_order) - 1, 0)} adjacent pairs inverted",
        ),
        (
            "one 'received' DM per ticket",
            sorted(dm_numbers) == expected and max(dm_numbers.values(), default=0) == 1,
            f"{len(dms)} DMs, {len(dm_numbers)} distinct",
        ),
        (
            "outbox: all sent, none pending or failed",
            pending == 0 and failed == 0 and sent >= 2 * count,
            f"sent={sent} pending={pending} failed={failed}",
        ),
    ]


def call_counts(world: World, team_id: str, since: float) -> collections.Counter[str]:
    ws = world.sim.workspace
    with ws.lock:
        return collections.Counter(
            c.method for c in ws.calls if c.team_id == team_id and c.at >= since
        )


# -- main ---------------------------------------------------------------------------------


def configure_sla(database_url: str) -> None:
    """A default SLA policy on a business calendar with a target for every priority and
    metric, so every filing also computes and stores its clocks (--sla)."""
    from bot.core.db import Database
    from bot.services import organizations as orgs
    from bot.services import sla_admin

    db = Database.from_url(database_url)
    try:
        with db.session() as session:
            organization = orgs.get_organization_by_team(session, team_id=TEAM)
            assert organization is not None, "the storm's workspace exists after recording"
            weekdays = ("mon", "tue", "wed", "thu", "fri")
            calendar = sla_admin.save_calendar(
                session,
                organization=organization,
                values={
                    "name": "Office",
                    "timezone": "America/New_York",
                    "hours": {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in weekdays},
                    "holidays": ["2026-12-25"],
                },
            )
            sla_admin.save_policy(
                session,
                organization=organization,
                values={"name": "Standard", "calendar_id": calendar.id, "is_default": True},
                targets=[
                    sla_admin.TargetInput(priority, metric, minutes, True)
                    for priority in ("low", "medium", "high", "urgent")
                    for metric, minutes in (
                        ("first_response", 240),
                        ("next_response", 480),
                        ("resolution", 1920),
                    )
                ],
            )
    finally:
        db.dispose()


def run(args: argparse.Namespace, database_url: str, scratch: Path) -> bool:
    common.print_machine(database_url)
    backend = "postgresql" if common.is_postgres(database_url) else "sqlite"
    print(
        f"storm: {args.submissions} submissions, concurrency {args.concurrency}, "
        f"{args.users} requesters, Slack latency {args.latency * 1000:.0f} ms, {backend}, "
        f"ticketbot serve --workers {args.workers}" + (", SLA configured" if args.sla else "")
    )
    with SlackSimulator() as sim:
        world = build_world(sim, args.users)
        app = start_ticketbot(world, database_url, scratch, args.workers)
        bare: ServerProcess | None = None
        try:
            idle_rss = common.rss_mb(app.pid)
            heading("recording submissions (each requester opens the modal with /ticket)")
            began = time.perf_counter()
            # Not measured; gently, so that every form opens within the 2 s /ticket gives
            # views.open (the server's first sight of each person is a write as well).
            recorded = record_submissions(
                world, app.url, args.submissions + WARM_UP_SUBMISSIONS, RECORDING_CONCURRENCY
            )
            warm_up, bodies = recorded[:WARM_UP_SUBMISSIONS], recorded[WARM_UP_SUBMISSIONS:]
            print(f"{len(recorded)} modals opened in {time.perf_counter() - began:.1f}s")
            time.sleep(1.0)  # let the background profile reads (users.info) settle
            if args.sla:
                configure_sla(database_url)
                print("SLA configured: every ticket gets first-response and resolution clocks")

            sim.latency = args.latency
            heading("baseline: bare Bolt app, ack only")
            bare = start_bare_app(scratch)
            storm(bare.port, bodies[: min(64, len(bodies))], args.concurrency, True)  # warm-up
            cpu = common.cpu_seconds(bare.pid)
            base = storm(bare.port, bodies, args.concurrency, expect_empty=True)
            base_cpu = (common.cpu_seconds(bare.pid) - cpu) / len(bodies)
            bare_rss = common.rss_mb(bare.pid)
            bare.stop()
            bare = None

            heading("storm: ticketbot serve")
            # Warmed like the bare app: its first filings (imports, pools, statements) are
            # not part of the storm. They are tickets #1.., delivered before the storm.
            storm(app.port, warm_up, args.concurrency, expect_empty=True)
            if wait_delivered(world, len(warm_up), time.perf_counter(), 120) is None:
                print("warning: the warm-up tickets were not all delivered in 120 s")
            calls_since = time.monotonic()
            print(f"warm-up delivered; storming with {len(bodies)} submissions", flush=True)
            cpu = common.cpu_seconds(app.pid)
            result = storm(app.port, bodies, args.concurrency, expect_empty=True)
            # Includes the outbox worker's share while the storm lasts: it runs in the process.
            app_cpu = (common.cpu_seconds(app.pid) - cpu) / len(bodies)
            print(f"acked all in {result.wall:.1f}s; waiting for every card and DM ...")
            storm_end_cpu = common.cpu_seconds(app.pid)
            cards_then, dms_then = (len(texts) for texts in delivered(world))
            until_delivered = wait_delivered(
                world, len(recorded), result.started, args.delivery_timeout
            )
            # Most of the delivery happens after the last ack (Slack's latency dominates);
            # what the worker did during the storm is in the storm's own figure.
            # Per ticket (a card and a DM) of those still to deliver when the storm ended.
            left = max((2 * len(recorded) - cards_then - dms_then) / 2, 1)
            delivery_cpu = (common.cpu_seconds(app.pid) - storm_end_cpu) / left
            app_calls = call_counts(world, TEAM, calls_since)
            time.sleep(0.5)  # the last deliveries' bookkeeping commits
            app_rss = common.rss_mb(app.pid)

            heading("delivery baseline: plain WebClient, same messages, same concurrency")
            floor = baseline_delivery(world, len(bodies), args.concurrency)

            checks = check(world, database_url, len(recorded), result)
        finally:
            if bare is not None:
                bare.stop()
            app.stop()

    heading(f"results ({backend})")
    delivered_text = f"{until_delivered:.1f} s" if until_delivered else "not within timeout"
    table(
        [
            *ack_rows(result, base, (50, 90, 99, 100)),
            [
                "all cards+DMs in Slack (from storm start)",
                delivered_text,
                f"{floor:.1f} s",
                ratio(until_delivered or 0, floor),
            ],
            ["server CPU per submission", ms(app_cpu), ms(base_cpu), ratio(app_cpu, base_cpu)],
            [
                "delivery CPU per ticket (card + DM, after the storm)",
                ms(delivery_cpu),
                "",
                "",
            ],
            [
                "RSS after storm",
                f"{app_rss:.0f} MB",
                f"{bare_rss:.0f} MB",
                ratio(app_rss, bare_rss),
            ],
        ],
        ["figure", "ticketbot", "baseline", "ratio"],
    )
    print(f"ticketbot RSS when idle before the storm: {idle_rss:.0f} MB")
    print(
        "Web API calls made for the storm: "
        + ", ".join(f"{m}={n}" for m, n in sorted(app_calls.items()))
    )
    heading("targets and correctness")
    rows = [
        (
            f"ack p99 under {TARGET_P99_SECONDS * 1000:.0f} ms",
            result.p(99) < TARGET_P99_SECONDS,
            ms(result.p(99)),
        ),
        (
            f"ack p99 at most {TARGET_P99_SHARE:.0f}x the bare app's",
            result.p(99) <= TARGET_P99_SHARE * base.p(99),
            ratio(result.p(99), base.p(99)),
        ),
        (
            f"throughput at least {TARGET_THROUGHPUT_SHARE}x the bare app's",
            result.per_second >= TARGET_THROUGHPUT_SHARE * base.per_second,
            ratio(result.per_second, base.per_second),
        ),
        (
            f"server CPU per submission at most {TARGET_CPU_SHARE}x the bare app's",
            app_cpu <= TARGET_CPU_SHARE * base_cpu,
            ratio(app_cpu, base_cpu),
        ),
        (
            f"delivery CPU per ticket at most {ms(TARGET_DELIVERY_CPU_SECONDS)}",
            delivery_cpu <= TARGET_DELIVERY_CPU_SECONDS,
            ms(delivery_cpu),
        ),
        (f"RSS under {TARGET_RSS_MB} MB", app_rss < TARGET_RSS_MB, f"{app_rss:.0f} MB"),
        ("every card and DM delivered", until_delivered is not None, delivered_text),
        *checks,
    ]
    table([[verdict(ok), name, detail] for name, ok, detail in rows], ["", "check", "measured"])
    if result.bad:
        print("first unexpected answers:", *result.bad[:3], sep="\n  ")
    return all(ok for _, ok, _ in rows)


def ack_rows(measured: Any, baseline: Any, percentiles: tuple[int, ...]) -> list[list[str]]:
    """Table rows comparing two sets of acks (anything with `p(q)` and `per_second`): the
    percentiles, then the throughput."""
    return [
        *(
            [
                "ack max" if q == 100 else f"ack p{q}",
                ms(measured.p(q)),
                ms(baseline.p(q)),
                ratio(measured.p(q), baseline.p(q)),
            ]
            for q in percentiles
        ),
        [
            "submissions/s",
            f"{measured.per_second:.0f}",
            f"{baseline.per_second:.0f}",
            ratio(measured.per_second, baseline.per_second),
        ],
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--users", type=int, default=100, help="distinct requesters")
    parser.add_argument("--latency", type=float, default=0.050, help="seconds per Web API call")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL URL whose database (named tb_bench_*) is created and dropped "
        "(or a sqlite:/// URL of a new file); default: SQLite in a temporary directory",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="`ticketbot serve --workers N` processes (the bare app keeps one)",
    )
    parser.add_argument("--delivery-timeout", type=float, default=900.0)
    parser.add_argument(
        "--sla", action="store_true", help="configure a default SLA policy before the storm"
    )
    parser.add_argument("--quick", action="store_true", help="200 submissions, 40 requesters")
    args = parser.parse_args()
    if args.quick:
        args.submissions, args.users = 200, 40
    with tempfile.TemporaryDirectory(prefix="tb-bench-storm-") as tmp:
        scratch = Path(tmp)
        if args.database_url and common.is_postgres(args.database_url):
            with common.scratch_postgres(args.database_url) as url:
                ok = run(args, url, scratch)
        else:
            ok = run(args, args.database_url or f"sqlite:///{scratch / 'ticketbot.db'}", scratch)
    return 0 if ok else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
