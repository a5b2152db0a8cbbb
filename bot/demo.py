"""`ticketbot demo`: the real app against the Slack simulator, told as a story.

Everything runs for real: a `ticketbot serve` HTTP server on a loopback port, signed
requests like Slack's, the outbox worker, embedded SQLite. Only Slack is simulated.
"""

from __future__ import annotations

import logging
import re
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

from bot import jobs
from bot.app import create_app
from bot.core.settings import Settings
from bot.ids import Action, Callback
from bot.outbox import worker as delivery
from bot.runtime import Runtime, build_runtime
from bot.services import organizations as orgs
from bot.services import sla_admin
from bot.slacksim import SlackDriver, SlackSimulator
from bot.web import create_web_app
from models import saved_id
from models.base import clock

TEAM = "T0DEMO0001"
# A tiny valid PNG (1 by 1 pixel) standing in for Alice's screenshot.
DEMO_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
SIGNING_SECRET = "demo-signing-secret"
WIDTH = 78


class DemoServer:
    """`ticketbot serve` in a thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def __enter__(self) -> DemoServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


EMOJI = {
    "bar_chart": "📊",
    "ticket": "🎫",
    "white_circle": "⚪",
    "large_blue_circle": "🔵",
    "large_orange_circle": "🟠",
    "red_circle": "🔴",
    "inbox_tray": "📥",
    "checkered_flag": "🏁",
    "hammer_and_wrench": "🛠",
    "hourglass_flowing_sand": "⏳",
    "white_check_mark": "✅",
    "lock": "🔒",
    "outbox_tray": "📤",
    "speech_balloon": "💬",
    "paperclip": "📎",
    "bust_in_silhouette": "👤",
    "arrows_counterclockwise": "🔄",
    "warning": "⚠️",
    "envelope": "✉️",
}


class Transcript:
    """Renders what a person sees in Slack as plain text."""

    def __init__(self, sim: SlackSimulator, names: dict[str, str]) -> None:
        self.sim = sim
        self.names = names

    def _inline(self, text: str) -> str:
        def person(match: re.Match[str]) -> str:
            return "@" + self.names.get(match.group(1), match.group(1))

        def channel(match: re.Match[str]) -> str:
            try:
                return "#" + self.sim.workspace.channel(match.group(1)).name
            except KeyError:
                return match.group(0)

        text = re.sub(r"<@([A-Z0-9]+)>", person, text)
        text = re.sub(r"<#([A-Z0-9]+)>", channel, text)
        text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
        text = re.sub(r":([a-z_]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), text)
        text = re.sub(r"(?<!\w)[*_]([^*_\n]+)[*_](?!\w)", r"\1", text)  # bold, italics
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _block(self, block: dict[str, Any]) -> list[str]:
        kind = block.get("type")
        if kind == "header":
            return [f"┃ {block['text']['text']}"]
        if kind == "section":
            lines = []
            if block.get("text"):
                lines += self._inline(block["text"]["text"]).splitlines()
            fields = [
                self._inline(f["text"]).replace("\n", ": ", 1) for f in block.get("fields", [])
            ]
            for left, right in zip(fields[::2], [*fields[1::2], ""], strict=False):
                lines.append(f"{left:<38}{right}".rstrip())
            return lines
        if kind == "context":
            return ["  " + " · ".join(self._inline(e.get("text", "")) for e in block["elements"])]
        if kind == "actions":
            controls = []
            for element in block["elements"]:
                if element["type"] == "button":
                    primary = "*" if element.get("style") == "primary" else ""
                    controls.append(f"[{primary}{element['text']['text']}{primary}]")
                elif element["type"] == "overflow":
                    more = " · ".join(o["text"]["text"] for o in element["options"])
                    controls.append(f"[⋯ {more}]")
                elif element["type"] == "users_select":
                    chosen = element.get("initial_user")
                    controls.append(
                        f"[{'@' + self.names.get(chosen, chosen) if chosen else 'Assign to…'} ▾]"
                    )
                else:
                    chosen = (element.get("initial_option") or {}).get("text", {}).get("text")
                    controls.append(f"[{chosen or element['placeholder']['text']} ▾]")
            return [" ".join(controls)]
        return []

    def message(self, message: dict[str, Any], reply: bool = False) -> list[str]:
        author = self.names.get(message.get("user", ""), message.get("user", "?"))
        if message.get("bot_id"):
            author = "Ticketbot (app)"
        indent = "      " if reply else ""
        lines = [f"{'    └ ' if reply else ''}{author}:"]
        body = []
        for block in message.get("blocks") or []:
            body += self._block(block)
        if not body:
            body = self._inline(message.get("text", "")).splitlines()
        for file in message.get("files") or []:
            body.append(f"📎 {file.get('name')}")
        lines += [f"{indent}  {line}" for line in body]
        return lines

    def channel(self, channel_id: str) -> list[str]:
        lines: list[str] = []
        messages = self.sim.messages(channel_id)
        for message in messages:
            if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
                continue
            lines += self.message(message)
            for reply in messages:
                if reply.get("thread_ts") == message["ts"] and reply["ts"] != message["ts"]:
                    lines += self.message(reply, reply=True)
            lines.append("")
        return lines


def _timing_line(messages: list[dict[str, Any]], card_ts: str) -> str:
    """Who is timing, as the card shows it (its context block under the buttons)."""
    card = next(m for m in messages if m.get("ts") == card_ts)
    for block in card.get("blocks") or []:
        if str(block.get("block_id", "")).startswith("ticket_timer:"):
            return str(block["elements"][0]["text"])
    return "(nobody is timing)"


def _banner(title: str) -> str:
    return f"\n{'═' * WIDTH}\n  {title}\n{'═' * WIDTH}"


def _step(text: str) -> None:
    print(f"\n▶ {text}")


def _settle(runtime: Runtime, timeout: float = 15.0) -> None:
    """Wait until the background has read profiles and delivered the outbox."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runtime.delivery.wake()
        if delivery.pending_count(runtime.db) == 0:
            return
        time.sleep(0.05)
    raise RuntimeError("the outbox did not drain; see the log with --verbose")


def run_demo(database_path: str | None = None, verbose: bool = False) -> int:
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR)
    # The story's clock: hours pass at once for the SLA steps.
    clock.set(datetime.now(UTC).replace(second=0, microsecond=0))
    try:
        with tempfile.TemporaryDirectory(prefix="ticketbot-demo-") as scratch:
            path = Path(database_path) if database_path else Path(scratch) / "ticketbot.db"
            with SlackSimulator() as sim:
                return _story(sim, path, Path(scratch) / "files")
    finally:
        clock.reset()


def _sla_policy(runtime: Runtime) -> None:
    """The workspace's SLA: answers within an hour (high) or four (medium), real time."""
    with runtime.db.session() as session:
        organization = orgs.get_or_create_organization(
            session, team_id=TEAM, name="Acme IT Services"
        )
        if sla_admin.list_policies(session, organization_id=saved_id(organization)):
            return
        sla_admin.save_policy(
            session,
            organization=organization,
            values={"name": "Standard", "is_default": True},
            targets=[
                sla_admin.TargetInput(priority, metric, minutes, False)
                for priority, metric, minutes in (
                    ("high", "first_response", 60),
                    ("high", "resolution", 480),
                    ("medium", "first_response", 240),
                    ("medium", "resolution", 1440),
                )
            ],
        )


def _story(sim: SlackSimulator, database: Path, files: Path) -> int:
    team = sim.add_team(TEAM, name="Acme IT Services", domain="acme-it")
    tom = sim.add_user(TEAM, name="tom", real_name="Tom (technician)", email="tom@acme-it.com")[
        "id"
    ]
    alice = sim.add_user(TEAM, name="alice", real_name="Alice Martin", email="alice@globex.com")[
        "id"
    ]
    bob = sim.add_user(TEAM, name="bob", real_name="Bob Chen", email="bob@globex.com")["id"]
    staff = sim.add_channel(TEAM, name="it-staff", members=[tom, team.bot_user_id])["id"]
    general = sim.add_channel(TEAM, name="general", members=[alice, bob, tom, team.bot_user_id])[
        "id"
    ]
    names = {tom: "Tom", alice: "Alice", bob: "Bob", team.bot_user_id: "Ticketbot"}

    settings = Settings(
        _env_file=None,
        slack_bot_token=team.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=sim.api_url,
        database_url=f"sqlite:///{database}",
        staff_channel_id=staff,
        file_storage_dir=files,
    )
    runtime = build_runtime(settings)
    _sla_policy(runtime)
    web = create_web_app(create_app(settings, runtime), runtime)
    transcript = Transcript(sim, names)
    print(_banner("Ticketbot demo — a simulated Slack workspace, the real app"))
    print(f"  Database: {database}   Staff channel: #it-staff   Team: Alice, Bob; IT: Tom")

    with DemoServer(web) as server:
        driver = SlackDriver.over_http(sim, SIGNING_SECRET, server.url)

        _step("Alice types `/ticket My laptop won't connect to the VPN` and submits the form")
        driver.slash_command(TEAM, alice, text="My laptop won't connect to the VPN")
        form = sim.open_views(alice)[-1]
        driver.submit_view(
            TEAM,
            alice,
            form["id"],
            {
                "Description": "Since this morning the VPN client says 'authentication failed'.",
                "Priority": "high",
                "Category": "network",
            },
        )
        _settle(runtime)

        _step("Bob posts in #general; Tom files it with the “Create ticket” message shortcut")
        note = sim.post_user_message(
            TEAM, general, bob, "The 3rd floor printer jams on every page\nTried reloading paper."
        )
        driver.message_shortcut(TEAM, tom, Callback.CREATE_TICKET_FROM_MESSAGE, general, note["ts"])
        driver.submit_view(TEAM, tom, sim.open_views(tom)[-1]["id"], {"Priority": "medium"})
        _settle(runtime)

        _step("Tom claims ticket #1 with “Assign to me”")
        card = next(m for m in sim.messages(staff) if m.get("text", "").startswith("Ticket #1"))
        driver.block_action(TEAM, tom, Action.ASSIGN_TO_ME, channel_id=staff, message_ts=card["ts"])
        _settle(runtime)

        _step(
            "Tom adds an internal note (the card's ⋯ menu), then replies to Alice with "
            "“Send and set Pending”"
        )
        driver.block_action(
            TEAM,
            tom,
            Action.CARD_MORE,
            selected_option_value="note",
            channel_id=staff,
            message_ts=card["ts"],
        )
        driver.submit_view(
            TEAM,
            tom,
            sim.open_views(tom)[-1]["id"],
            {"Note": "Her VPN certificate expired yesterday; renewing it."},
        )
        driver.block_action(
            TEAM, tom, Action.REPLY_TO_REQUESTER, channel_id=staff, message_ts=card["ts"]
        )
        driver.submit_view(
            TEAM,
            tom,
            sim.open_views(tom)[-1]["id"],
            {
                "Reply": "I renewed your VPN certificate. Could you try again and send a "
                "screenshot?",
                "Then": "pending",
            },
        )
        _settle(runtime)

        _step("Three hours pass and nobody has answered Bob (the SLA job runs every minute)")
        clock.advance(hours=3)
        jobs.send_sla_alerts(runtime.db)
        _settle(runtime)
        _step("Another hour: ticket #2's first response breaches")
        clock.advance(hours=1)
        jobs.send_sla_alerts(runtime.db)
        _step("Tom starts the timer on ticket #1's card, works 20 minutes, and stops it")
        driver.block_action(TEAM, tom, Action.START_TIMER, channel_id=staff, message_ts=card["ts"])
        _settle(runtime)
        timing = _timing_line(sim.messages(staff), card["ts"])
        print(f"  The card says: {timing}")
        clock.advance(minutes=20)
        driver.block_action(TEAM, tom, Action.STOP_TIMER, channel_id=staff, message_ts=card["ts"])
        _settle(runtime)
        _step("Tom logs the 25 minutes the certificate took: `/ticket time log 1 25m`")
        driver.slash_command(TEAM, tom, text="time log 1 25m Renewed the VPN certificate")
        _settle(runtime)

        _step("Alice answers in her DM thread with a screenshot")
        dm = sim.dm_channel(TEAM, alice)
        received = next(m for m in sim.messages(dm) if "Ticket #1 received" in m.get("text", ""))
        screenshot = sim.add_file(TEAM, alice, "vpn-connected.png", DEMO_PNG, "image/png", "png")
        driver.event(
            TEAM,
            driver.message_event(
                TEAM,
                dm,
                alice,
                "Connected now, thank you!",
                thread_ts=received["ts"],
                files=[screenshot],
            ),
        )
        _settle(runtime)

        _step("Tom resolves ticket #1")
        driver.block_action(
            TEAM,
            tom,
            Action.STATUS,
            selected_option_value="resolved",
            channel_id=staff,
            message_ts=card["ts"],
        )
        _settle(runtime)

        notice = next(m for m in sim.messages(dm) if "is resolved" in m.get("text", ""))
        print("  Alice sees:")
        print("\n".join(f"    {line}" for line in transcript.message(notice)))

        _step('Alice presses "It\'s fixed"; the notice then asks "How did we do?"')
        driver.block_action(
            TEAM, alice, Action.REQUESTER_FIXED, channel_id=dm, message_ts=notice["ts"]
        )
        _settle(runtime)

        _step('Alice answers "How did we do?" with Good and a comment')
        survey = next(m for m in sim.messages(dm) if "How did we do?" in m.get("text", ""))
        driver.block_action(TEAM, alice, Action.CSAT_GOOD, channel_id=dm, message_ts=survey["ts"])
        driver.block_action(
            TEAM, alice, Action.CSAT_COMMENT, channel_id=dm, message_ts=survey["ts"]
        )
        driver.submit_view(
            TEAM,
            alice,
            sim.open_views(alice)[-1]["id"],
            {"csat_comment": "Fixed within the hour, thanks Tom."},
        )
        _settle(runtime)

        print(_banner("What Tom sees in #it-staff (cards and their threads)"))
        print("\n".join(transcript.channel(staff)))
        print(_banner("What Alice sees in her DM with Ticketbot"))
        print("\n".join(transcript.channel(sim.dm_channel(TEAM, alice))))
        print(_banner("What Bob sees: his DM with Ticketbot, and the thread in #general"))
        print("\n".join(transcript.channel(sim.dm_channel(TEAM, bob))))
        print("\n".join(transcript.channel(general)))
        failed = delivery.failed_count(runtime.db)
    print(
        f"Done: 2 tickets filed, one worked through to resolved; "
        f"{failed} Slack messages failed to deliver."
    )
    return 0 if failed == 0 else 1
