"""bot.slack.files against a running SlackSimulator (real HTTP, real slack_sdk WebClient)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.core.errors import InvalidInput
from bot.slack.files import (
    DownloadedFile,
    DownloadFailed,
    FileTooLarge,
    allowed_file_hosts,
    download_slack_file,
    upload_to_thread,
)
from bot.slacksim import SlackSimulator

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20  # 5,128 bytes


@dataclass
class World:
    sim: SlackSimulator
    client: WebClient
    team_id: str
    token: str
    user: str
    channel: str
    hosts: frozenset[str]

    def add_file(self, name: str = "error.png", content: bytes = PNG, **kw: Any) -> dict:
        return self.sim.add_file(self.team_id, self.user, name, content, **kw)

    def download(self, file: dict, *, max_bytes: int = 1_000_000, **kw: Any) -> DownloadedFile:
        kw.setdefault("token", self.token)
        kw.setdefault("allowed_hosts", self.hosts)
        return download_slack_file(file, max_bytes=max_bytes, **kw)

    def downloads(self) -> list:
        return self.sim.calls_to("file_download")


@pytest.fixture
def world() -> Iterator[World]:
    with SlackSimulator() as sim:
        team = sim.add_team("T0ACME")
        user = sim.add_user("T0ACME", name="alice")["id"]
        channel = sim.add_channel("T0ACME", name="it-staff", members=[team.bot_user_id, user])
        yield World(
            sim=sim,
            client=WebClient(token=team.bot_token, base_url=sim.api_url),
            team_id=team.id,
            token=team.bot_token,
            user=user,
            channel=channel["id"],
            hosts=allowed_file_hosts(sim.api_url),
        )


@pytest.fixture
def other_sim() -> Iterator[tuple[SlackSimulator, dict]]:
    """A second Slack on another loopback address holding a file the same token could read."""
    with SlackSimulator(host="127.0.0.2") as sim:
        sim.add_team("T0ACME", bot_token="xoxb-shared-token")
        user = sim.add_user("T0ACME", name="mallory")["id"]
        yield sim, sim.add_file("T0ACME", user, "evil.png", b"evil")


class _Canned(BaseHTTPRequestHandler):
    """Answers every GET with the server's canned (status, headers, body); records requests."""

    protocol_version = "HTTP/1.0"  # a body without Content-Length ends when the socket closes

    def do_GET(self) -> None:
        server: Any = self.server
        server.requests.append((self.path, self.headers.get("Authorization")))
        status, headers, body = server.reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    server.daemon_threads = True
    server.requests = []
    server.reply = (200, {}, b"")
    server.host = f"127.0.0.1:{server.server_address[1]}"
    server.url = f"http://{server.host}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# -- allowed_file_hosts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        ("https://slack.com/api/", {"files.slack.com"}),
        ("https://acme.enterprise.slack.com/api/", {"files.slack.com"}),
        ("http://127.0.0.1:8123/api/", {"files.slack.com", "127.0.0.1:8123"}),
        ("https://Slack.Example:443/api/", {"files.slack.com", "slack.example"}),
        ("http://[::1]:9000/api/", {"files.slack.com", "[::1]:9000"}),
        ("not a url", {"files.slack.com"}),
    ],
)
def test_allowed_file_hosts(api_url: str, expected: set[str]) -> None:
    assert allowed_file_hosts(api_url) == frozenset(expected)


def test_allowed_file_hosts_of_the_simulator(world: World) -> None:
    assert world.hosts == {"files.slack.com", f"127.0.0.1:{world.sim.port}"}


# -- downloads that work --------------------------------------------------------------------


def test_download_returns_the_bytes_with_the_bot_token(world: World) -> None:
    file = world.add_file()

    got = world.download(file)

    assert got.content == PNG == world.sim.file_content(file["id"])
    assert got.sha256 == hashlib.sha256(PNG).hexdigest()
    assert (got.name, got.mimetype, got.size) == ("error.png", "image/png", len(PNG))
    [call] = world.downloads()
    assert (call.ok, call.token, call.args["file"]) == (True, world.token, file["id"])


def test_download_falls_back_to_url_private(world: World) -> None:
    file = world.add_file()
    del file["url_private_download"]
    assert world.download(file).content == PNG


def test_download_of_a_non_ascii_file_name(world: World) -> None:
    # macOS screenshot names contain U+202F; the simulator must still serve them.
    file = world.add_file("Снимок экрана\u202f10.png", b"pixels")
    assert world.download(file).content == b"pixels"


def test_redirect_to_an_allowed_host_is_followed(world: World, canned: Any) -> None:
    file = world.add_file()
    canned.reply = (302, {"Location": file["url_private_download"]}, b"")

    got = world.download(
        {**file, "url_private_download": f"{canned.url}/files-pri/x"},
        allowed_hosts=world.hosts | {canned.host},
    )

    assert got.content == PNG
    assert [c.token for c in world.downloads()] == [world.token]


# -- refused hosts: the token goes nowhere but Slack ----------------------------------------


def test_file_on_another_host_is_refused_without_a_request(world: World, other_sim) -> None:
    sim2, evil = other_sim

    with pytest.raises(DownloadFailed) as caught:
        world.download(evil, token="xoxb-shared-token")

    assert caught.value.reason == "host_not_allowed"
    assert caught.value.message == (
        "I couldn't download evil.png from Slack (its link is not a Slack file URL)."
    )
    assert sim2.calls_to("file_download") == []


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/files-pri/T0ACME-F1/x.png",
        "https://files.slack.com.evil.example/files-pri/x.png",
        "https://files.slack.com@evil.example/files-pri/x.png",
        "http://files.slack.com/files-pri/x.png",  # Slack's own host: https only
        "ftp://files.slack.com/x.png",
        "file:///etc/passwd",
        "SIM:1/files-pri/x.png",  # the simulator's host on another port
    ],
)
def test_crafted_urls_are_refused(world: World, url: str) -> None:
    file = world.add_file()
    url = url.replace("SIM:1", f"http://127.0.0.1:{world.sim.port + 1}")

    with pytest.raises(DownloadFailed) as caught:
        world.download({**file, "url_private_download": url}, timeout=0.5)

    assert caught.value.reason == "host_not_allowed"
    assert caught.value.field == "file"


def test_url_private_is_not_tried_when_url_private_download_is_refused(world: World) -> None:
    file = world.add_file()
    with pytest.raises(DownloadFailed):
        world.download({**file, "url_private_download": "https://evil.example/x.png"})
    assert world.downloads() == []


def test_redirect_to_another_host_is_not_followed(world: World, other_sim, canned: Any) -> None:
    sim2, evil = other_sim
    canned.reply = (302, {"Location": evil["url_private_download"]}, b"")
    file = world.add_file()

    with pytest.raises(DownloadFailed) as caught:
        world.download(
            {**file, "url_private_download": f"{canned.url}/files-pri/x"},
            allowed_hosts=world.hosts | {canned.host},
        )

    assert caught.value.reason == "host_not_allowed"
    assert len(canned.requests) == 1
    assert sim2.calls_to("file_download") == []


# -- failures -------------------------------------------------------------------------------


def test_wrong_token_gets_the_sign_in_page_and_fails(world: World) -> None:
    file = world.add_file()

    with pytest.raises(DownloadFailed) as caught:
        world.download(file, token="xoxb-not-a-real-token")

    error = caught.value
    assert isinstance(error, InvalidInput)
    assert error.reason == "html_instead_of_file"
    assert error.message.startswith("I couldn't download error.png from Slack (")
    assert "sign-in page" in error.message


def test_an_html_file_is_not_mistaken_for_the_sign_in_page(world: World) -> None:
    file = world.add_file("page.html", b"<html>hi</html>", mimetype="text/html", filetype="html")
    assert world.download(file).content == b"<html>hi</html>"


def test_unknown_file_is_a_failed_download(world: World) -> None:
    file = world.add_file()
    url = file["url_private_download"].replace(file["id"], "F0NOTHERE")
    with pytest.raises(DownloadFailed) as caught:
        world.download({**file, "url_private_download": url})
    assert caught.value.reason == "http_404"
    assert "HTTP 404" in caught.value.message


def test_no_url_is_a_failed_download(world: World) -> None:
    with pytest.raises(DownloadFailed) as caught:
        world.download({"id": "F1", "name": "gone.png", "mode": "tombstone"})
    assert caught.value.reason == "no_url"


@pytest.mark.parametrize(
    ("outage", "reason"),
    [("refuse", "connection"), ("error", "http_503"), ("timeout", "timeout")],
)
def test_slack_outage_is_a_failed_download(world: World, outage: str, reason: str) -> None:
    file = world.add_file()
    world.sim.timeout_sleep = 1.0
    world.sim.set_outage(outage)  # type: ignore[arg-type]

    with pytest.raises(DownloadFailed) as caught:
        world.download(file, timeout=0.3)

    assert caught.value.reason == reason
    assert caught.value.message.startswith("I couldn't download error.png from Slack (")


# -- size limit -----------------------------------------------------------------------------


def test_declared_size_over_the_limit_is_refused_before_downloading(world: World) -> None:
    file = world.add_file()

    with pytest.raises(FileTooLarge) as caught:
        world.download(file, max_bytes=len(PNG) - 1)

    error = caught.value
    assert isinstance(error, InvalidInput)
    assert (error.field, error.size, error.limit) == ("file", len(PNG), len(PNG) - 1)
    assert error.message == "error.png is 5 KB; attachments are limited to 5 KB."
    assert world.downloads() == []


def test_a_file_whose_declared_size_lies_is_stopped(world: World) -> None:
    file = world.add_file(content=b"x" * 5000)

    with pytest.raises(FileTooLarge) as caught:
        world.download({**file, "size": 10}, max_bytes=1000)

    assert caught.value.message == "error.png is 4.9 KB; attachments are limited to 1000 bytes."


def test_a_body_without_length_is_cut_at_the_limit(world: World, canned: Any) -> None:
    canned.reply = (200, {"Content-Type": "image/png"}, b"x" * 50_000)
    file = {"name": "big.png", "mimetype": "image/png", "size": 10}

    with pytest.raises(FileTooLarge) as caught:
        world.download(
            {**file, "url_private_download": f"{canned.url}/big.png"},
            allowed_hosts={canned.host},
            max_bytes=1000,
        )

    assert caught.value.size is None
    assert caught.value.message == "big.png is larger than the 1000 bytes limit for attachments."


def test_a_file_exactly_at_the_limit_is_fine(world: World) -> None:
    assert world.download(world.add_file(), max_bytes=len(PNG)).size == len(PNG)


# -- uploads --------------------------------------------------------------------------------


def test_upload_to_thread_shares_the_file_in_that_thread(world: World) -> None:
    parent = world.client.chat_postMessage(channel=world.channel, text="Ticket #7")["ts"]

    file_id = upload_to_thread(
        world.client,
        channel=world.channel,
        thread_ts=parent,
        filename="screenshot.png",
        content=PNG,
        title="Requester's screenshot",
        initial_comment="From the requester",
    )

    assert world.sim.file_content(file_id) == PNG
    reply = world.sim.thread(world.channel, parent)[-1]
    assert reply["thread_ts"] == parent
    assert reply["text"] == "From the requester"
    [shared] = reply["files"]
    assert (shared["id"], shared["title"], shared["name"]) == (
        file_id,
        "Requester's screenshot",
        "screenshot.png",
    )
    # ...and the bot can read it back through the download path.
    info = world.client.files_info(file=file_id)["file"]
    assert world.download(info).content == PNG


def test_upload_without_thread_posts_top_level(world: World) -> None:
    file_id = upload_to_thread(
        world.client, channel=world.channel, thread_ts=None, filename="a.txt", content=b"hi"
    )
    [message] = world.sim.messages(world.channel)
    assert "thread_ts" not in message
    assert message["files"][0]["id"] == file_id
    assert message["files"][0]["title"] == "a.txt"
