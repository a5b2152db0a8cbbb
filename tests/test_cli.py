"""The `ticketbot` command: configuration errors, migrations, and `serve` from an empty
directory with only the contract's environment variables."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from sqlalchemy import inspect

from bot.cli import main
from bot.core.db import make_engine
from bot.slacksim import SlackDriver, SlackSimulator


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("SLACK_") or name in ("DATABASE_URL", "STAFF_CHANNEL_ID"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_needs_an_app_token(clean_env, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(SystemExit, match="SLACK_APP_TOKEN"):
        main(["run"])


def test_serve_needs_a_signing_secret(clean_env):
    with pytest.raises(SystemExit, match="SLACK_SIGNING_SECRET"):
        main(["serve"])


def test_serve_needs_a_bot_token_or_oauth(clean_env, monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'oauth.db'}")
    with pytest.raises(SystemExit, match=r"SLACK_BOT_TOKEN.*SLACK_CLIENT_ID"):
        main(["serve"])
    # Multi-workspace mode has a token per installed workspace instead, and serves.
    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    served = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: served.append((app, kwargs)))
    assert main(["serve", "--port", "3999"]) == 0
    [(web, kwargs)] = served
    assert kwargs["port"] == 3999
    assert {getattr(route, "path", None) for route in web.routes} >= {
        "/slack/events",
        "/slack/install",
    }


def test_bad_configuration_is_a_message_not_a_traceback(clean_env, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-bot-token")
    with pytest.raises(SystemExit, match=r"SLACK_BOT_TOKEN: .*xoxb"):
        main(["serve"])


def test_db_upgrade_creates_the_schema(clean_env, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'fresh.db'}")
    assert main(["db", "upgrade"]) == 0
    assert "newest schema" in capsys.readouterr().out
    tables = set(inspect(make_engine(f"sqlite:///{clean_env / 'fresh.db'}")).get_table_names())
    assert {"organization", "ticket", "ticket_comment", "outbox_message"} <= tables


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, deadline: float) -> dict:
    import json

    while time.monotonic() < deadline:
        assert process.poll() is None, "ticketbot serve exited early"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError("ticketbot serve did not become healthy")


@pytest.mark.slow
def test_serve_starts_in_an_empty_directory_and_stops_cleanly(tmp_path):
    with SlackSimulator() as sim:
        team = sim.add_team("T0SERVE01")
        user = sim.add_user("T0SERVE01", name="sam")["id"]
        staff = sim.add_channel("T0SERVE01", name="it", members=[team.bot_user_id])["id"]
        port = _free_port()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("SLACK_") and key not in ("DATABASE_URL", "STAFF_CHANNEL_ID")
        }
        env.update(
            SLACK_BOT_TOKEN=team.bot_token,
            SLACK_SIGNING_SECRET="serve-secret",
            SLACK_API_URL=sim.api_url,
            STAFF_CHANNEL_ID=staff,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            health = _wait_healthy(
                f"http://127.0.0.1:{port}/healthz", process, time.monotonic() + 30
            )
            assert health["status"] == "ok"
            assert (tmp_path / "ticketbot.db").exists()  # created and migrated on start
            driver = SlackDriver.over_http(
                sim, "serve-secret", f"http://127.0.0.1:{port}/slack/events"
            )
            driver.slash_command("T0SERVE01", user, text="")
            view = sim.open_views(user)[-1]
            assert (
                driver.submit_view("T0SERVE01", user, view["id"], {"title": "Served"}).status == 200
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not sim.messages(staff):
                time.sleep(0.1)  # the background worker delivers the card
            assert [m["text"] for m in sim.messages(staff)] == ["Ticket #1: Served"]
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
        log = output.decode(errors="replace")
        # uvicorn finishes its shutdown, then exits by the same signal so that process
        # managers see why it stopped.
        assert process.returncode in (0, -signal.SIGTERM), log[-2000:]
        assert "Application shutdown complete" in log
        assert "Scheduler has been shut down" in log


@pytest.mark.slow
def test_serve_with_two_processes_delivers_each_card_once(tmp_path):
    """`serve --workers 2`: two processes, two outbox workers, one SQLite file."""
    with SlackSimulator() as sim:
        team = sim.add_team("T0SERVE02")
        users = [sim.add_user("T0SERVE02", name=f"u{i}")["id"] for i in range(6)]
        staff = sim.add_channel("T0SERVE02", name="it", members=[team.bot_user_id])["id"]
        port = _free_port()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("SLACK_") and key not in ("DATABASE_URL", "STAFF_CHANNEL_ID")
        }
        env.update(
            SLACK_BOT_TOKEN=team.bot_token,
            SLACK_SIGNING_SECRET="serve-secret",
            SLACK_API_URL=sim.api_url,
            STAFF_CHANNEL_ID=staff,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/healthz", process, time.monotonic() + 60)
            driver = SlackDriver.over_http(
                sim, "serve-secret", f"http://127.0.0.1:{port}/slack/events"
            )
            for user in users:
                assert driver.slash_command("T0SERVE02", user, text="").status == 200
                view = sim.open_views(user)[-1]
                title = f"From {user}"
                assert (
                    driver.submit_view("T0SERVE02", user, view["id"], {"title": title}).status
                    == 200
                )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(sim.messages(staff)) < len(users):
                time.sleep(0.1)
            time.sleep(1.0)  # a duplicate, if any, would arrive now
            texts = sorted(m["text"] for m in sim.messages(staff))
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=60)
        log = output.decode(errors="replace")
        # Filed one after another: ticket n is the n-th person's, each card there once.
        assert texts == sorted(f"Ticket #{n}: From {u}" for n, u in enumerate(users, 1))
        assert process.returncode in (0, -signal.SIGTERM), log[-2000:]
        assert log.count("Application shutdown complete") == 2, log[-2000:]
