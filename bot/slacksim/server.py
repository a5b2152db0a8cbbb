"""``SlackSimulator``: a local Slack Web API server for tests and ``ticketbot demo``.

Point slack_sdk's ``WebClient(base_url=sim.api_url)`` (or Bolt, via ``SLACK_API_URL``) at it.
It answers like Slack does -- same response shapes, same error codes and HTTP statuses --
keeps the workspace state those calls change, records every call, and can simulate failures
(errors, 429 rate limits, outages, slowness) so retry and outbox code can be tested for real.

Routes served on ``http://127.0.0.1:<port>``:
  ``/api/<method>``                Web API (POST form/JSON/multipart, or GET query)
  ``/response_url/<id>``           interaction response URLs (hooks.slack.com in real life)
  ``/upload/v1/<id>``              upload URLs from files.getUploadURLExternal
  ``/files-pri/<team>-<file>/...`` private file downloads (need the team's bot token)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import json
import logging
import threading
import time
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from . import webapi
from .blockkit import load_limits, validate_blocks
from .records import DEFAULT_BOT_SCOPES, OAuthApp, OAuthCode, RecordedCall, SlackError, Team
from .specs import default_spec_dir, load_method_specs
from .workspace import Workspace

logger = logging.getLogger(__name__)

OutageMode = Literal["error", "timeout", "refuse"]
# Names under which non-Web-API requests are recorded (and can be targeted by fail_next).
NON_API_METHODS = frozenset({"response_url", "file_upload", "file_download"})
_JSON = "application/json; charset=utf-8"
_LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Slack</title></head>"
    b"<body><h1>Sign in to your workspace</h1></body></html>"
)


@dataclass
class _Fault:
    """A pending injected failure (fail_next / rate_limit_next)."""

    method: str | None
    remaining: int
    error: str = "internal_error"
    retry_after: int | None = None
    channel: str | None = None  # only calls with this channel argument, if set

    def matches(self, method: str, channel: str | None) -> bool:
        if self.channel is not None and channel != self.channel:
            return False
        # method=None targets any Web API method, not response_url posts or file transfers.
        if self.method is None:
            return method not in NON_API_METHODS
        return self.method == method


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = _JSON
    headers: dict[str, str] | None = None

    @classmethod
    def json(cls, status: int, payload: dict[str, Any], **headers: str) -> _Reply:
        return cls(status, json.dumps(payload).encode(), _JSON, headers or None)


def _decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    """Args as recorded: no token/secret, JSON-document arguments decoded when possible."""
    recorded: dict[str, Any] = {}
    for name, value in args.items():
        if name == "token":
            continue
        if name == "client_secret":
            recorded[name] = "(redacted)"
            continue
        if name in webapi.JSON_ARGS and isinstance(value, str):
            with contextlib.suppress(ValueError):  # keep the raw string if it is not JSON
                value = json.loads(value)
        recorded[name] = value
    return recorded


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        is_file = part.get_filename() is not None
        fields[name] = payload if is_file else payload.decode("utf-8", "replace")
    return fields


def _content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name per RFC 6266/5987.

    Headers are latin-1 on the wire: a raw non-ASCII name (or a quote or line break in it)
    must never reach ``send_header``."""
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class _SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    sim: SlackSimulator


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so a "refuse" outage really refuses everything
    # (no keep-alive connection can outlive the closed listening socket).
    server: _SimHTTPServer
    server_version = "SlackSimulator/1.0"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("slacksim %s - " + format, self.address_string(), *args)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            reply = self.server.sim._serve(
                verb=self.command, target=self.path, headers=dict(self.headers.items()), body=body
            )
        except Exception:  # a simulator bug must surface as a 500, not a hung client
            logger.exception("slacksim failed on %s %s", self.command, self.path)
            reply = _Reply.json(500, {"ok": False, "error": "fatal_error"})
        if reply is None:  # the client has given up (timeout outage) or the sim is stopping
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in (reply.headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and went away; nothing to tell it


class SlackSimulator:
    """A Slack workspace and Web API on a random local port.

    >>> with SlackSimulator() as sim:
    ...     team = sim.add_team("T0ACME")
    ...     client = WebClient(token=team.bot_token, base_url=sim.api_url)
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        spec_dir: Path | None = None,
        trigger_ttl: float = 60.0,
    ) -> None:
        # spec_dir None -> the repository's ../shared/slack-specs when present; any missing
        # file falls back to the constants kept in code.
        spec_dir = spec_dir if spec_dir is not None else default_spec_dir()
        self.host = host
        self.method_specs = load_method_specs(spec_dir)
        self.workspace = Workspace(limits=load_limits(spec_dir), trigger_ttl=trigger_ttl)
        #: Seconds added before answering every Web API call and response_url post.
        self.latency = 0.0
        #: How long a "timeout" outage holds a request before answering (clients time out).
        self.timeout_sleep = 15.0
        self._fault_lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._outage: OutageMode | None = None
        self._outage_status = 503
        self._outage_error = "internal_error"
        self._server: _SimHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._stopping = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> SlackSimulator:
        if self._server is None and self._outage != "refuse":
            self._stopping.clear()
            self._bind(self._port or 0)
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes requests held by a "timeout" outage
        self._unbind()

    def __enter__(self) -> SlackSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _bind(self, port: int) -> None:
        server = _SimHTTPServer((self.host, port), _RequestHandler)
        server.sim = self
        self._server = server
        self._port = server.server_address[1]
        self.workspace.base_url = f"http://{self.host}:{self._port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"slacksim-{self._port}",
            daemon=True,
        )
        self._thread.start()

    def _unbind(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Pass as ``base_url`` to slack_sdk's WebClient (it appends the method name)."""
        return f"{self.base_url}/api/"

    # -- workspace set-up ---------------------------------------------------------------

    def add_team(
        self,
        team_id: str,
        name: str = "Acme",
        domain: str = "acme",
        bot_token: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        enterprise_id: str | None = None,
        *,
        enterprise_name: str | None = None,
        bot_name: str = "ticketbot",
        scopes: tuple[str, ...] = DEFAULT_BOT_SCOPES,
    ) -> Team:
        """A workspace with the app installed; its bot token, user and bot ids are generated
        unless given.  Returns a copy (read ``bot_token``, ``bot_user_id``, ``bot_id``)."""
        return self.workspace.add_team(
            team_id,
            name=name,
            domain=domain,
            bot_token=bot_token,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            enterprise_id=enterprise_id,
            enterprise_name=enterprise_name,
            bot_name=bot_name,
            scopes=scopes,
        )

    def team(self, team_id: str) -> Team:
        return copy.deepcopy(self.workspace.team(team_id))

    def add_user(
        self,
        team_id: str,
        user_id: str | None = None,
        *,
        name: str,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/London",
        is_bot: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
        home_team_id: str | None = None,
    ) -> dict[str, Any]:
        """A member of ``team_id``; returns Slack's user object (as users.info gives it).
        With ``home_team_id`` the person is an external Slack Connect member from there."""
        return self.workspace.add_user(
            team_id,
            user_id,
            name=name,
            real_name=real_name,
            email=email,
            tz=tz,
            is_bot=is_bot,
            is_admin=is_admin,
            is_owner=is_owner,
            home_team_id=home_team_id,
        )

    def add_channel(
        self,
        team_id: str,
        channel_id: str | None = None,
        *,
        name: str,
        members: list[str] | None = None,
        is_private: bool = False,
    ) -> dict[str, Any]:
        """A channel; the bot is a member only if its bot user id is in ``members``."""
        ws = self.workspace
        with ws.lock:
            channel = ws.add_channel(
                team_id, channel_id, name=name, members=members, is_private=is_private
            )
            return ws.channel_object(ws.teams[team_id], channel)

    def set_channel_members(self, team_id: str, channel_id: str, members: list[str]) -> None:
        """Replace a channel's member list (people joining/leaving, the bot being invited)."""
        with self.workspace.lock:
            self.workspace.channel(channel_id, team_id).members = list(dict.fromkeys(members))

    def dm_channel(self, team_id: str, user_id: str) -> str:
        """The id of the bot's DM with ``user_id`` (the one conversations.open returns)."""
        return self.workspace.dm_channel(team_id, user_id).id

    def post_user_message(
        self,
        team_id: str,
        channel_id: str,
        user_id: str,
        text: str,
        thread_ts: str | None = None,
        files: list[Any] | None = None,
    ) -> dict[str, Any]:
        """Put a person's message into a channel/DM/thread; returns the stored message.

        ``files`` are file ids or objects from ``add_file``; they are shared into the channel.
        """
        ws = self.workspace
        with ws.lock:
            channel = ws.channel(channel_id, team_id)
            ws.require_user(team_id, user_id)
            shared = [ws.lookup_file(f, team_id) for f in files or []]
            for stored in shared:
                ws.share_file(stored, channel)
            message = ws.post_message(
                channel,
                user=user_id,
                text=text,
                thread_ts=thread_ts,
                files=[ws.file_object(s) for s in shared] or None,
                subtype="file_share" if shared else None,
            )
            for stored in shared:
                ws.share_file(stored, channel, message["ts"], thread_ts)
            message["client_msg_id"] = ws.ids.opaque(16)
            message["blocks"] = [
                {
                    "type": "rich_text",
                    "block_id": ws.ids.short_id(4),
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                    ],
                }
            ]
            return copy.deepcopy(message)

    def new_trigger_id(self, team_id: str, user_id: str) -> str:
        """A trigger_id as Slack puts in interaction payloads (single use, ``trigger_ttl`` s)."""
        return self.workspace.new_trigger_id(team_id, user_id)

    def new_response_url(
        self,
        team_id: str,
        channel_id: str | None,
        user_id: str,
        message_ts: str | None = None,
    ) -> str:
        """A response_url; ``message_ts`` is the message that replace/delete_original target."""
        return self.workspace.new_response_url(team_id, channel_id, user_id, message_ts)

    def add_file(
        self,
        team_id: str,
        user_id: str,
        name: str,
        content: bytes,
        mimetype: str = "image/png",
        filetype: str = "png",
        *,
        title: str | None = None,
    ) -> dict[str, Any]:
        """A file uploaded by ``user_id``; returns Slack's file object (as files.info does)."""
        ws = self.workspace
        with ws.lock:
            stored = ws.add_file(
                team_id,
                user_id,
                name=name,
                content=content,
                mimetype=mimetype,
                filetype=filetype,
                title=title,
            )
            return ws.file_object(stored)

    def file_content(self, file_id: str) -> bytes:
        with self.workspace.lock:
            return self.workspace.files[file_id].content

    def register_oauth_app(
        self, client_id: str, client_secret: str, scopes: tuple[str, ...] = DEFAULT_BOT_SCOPES
    ) -> None:
        with self.workspace.lock:
            self.workspace.oauth_apps[client_id] = OAuthApp(client_id, client_secret, scopes)

    def revoke_bot_token(self, team_id: str) -> str:
        """The app was uninstalled from ``team_id``: its bot token now gets token_revoked.
        Returns the token a reinstall through OAuth will hand out."""
        return self.workspace.revoke_bot_token(team_id)

    def new_oauth_code(
        self,
        team_id: str,
        enterprise_id: str | None = None,
        *,
        user_id: str | None = None,
        client_id: str | None = None,
    ) -> str:
        """A one-time ``code`` as Slack appends to the OAuth redirect after an install."""
        ws = self.workspace
        with ws.lock:
            team = ws.team(team_id)
            installer = user_id or next(
                (u for u, info in ws.users[team_id].items() if not info["is_bot"]),
                team.bot_user_id,
            )
            code = f"{int(time.time())}.{ws.ids.opaque(12)}"
            ws.oauth_codes[code] = OAuthCode(team_id, enterprise_id, installer, client_id)
            return code

    # -- fault injection ----------------------------------------------------------------

    def fail_next(
        self,
        method: str | None = None,
        error: str = "internal_error",
        count: int = 1,
        *,
        channel: str | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` (any Web API method if None; only those
        naming ``channel``, if given) answer ``{"ok": false, "error": error}`` with HTTP
        200, as Slack reports failures."""
        with self._fault_lock:
            self._faults.append(_Fault(method, count, error=error, channel=channel))

    def rate_limit_next(
        self,
        method: str | None = None,
        retry_after: int = 1,
        count: int = 1,
        *,
        channel: str | None = None,
    ) -> None:
        """The next ``count`` calls (of ``method``, naming ``channel``, if given) get
        HTTP 429 with ``Retry-After`` and error ratelimited."""
        with self._fault_lock:
            self._faults.append(
                _Fault(method, count, error="ratelimited", retry_after=retry_after, channel=channel)
            )

    def set_outage(
        self,
        mode: OutageMode | None,
        *,
        http_status: int = 503,
        error: str = "internal_error",
    ) -> None:
        """Simulate Slack being down until ``set_outage(None)``.

        "error": every request gets ``http_status`` with ``{"ok": false, "error": error}``;
        "timeout": requests are held ``timeout_sleep`` seconds (clients time out);
        "refuse": the listening socket closes (connection refused); None re-binds the port.
        """
        with self._fault_lock:
            previous = self._outage
            self._outage = mode
            self._outage_status = http_status
            self._outage_error = error
        if mode == "refuse" and previous != "refuse":
            self._unbind()
        elif previous == "refuse" and mode != "refuse" and self._port is not None:
            self._stopping.clear()
            self._bind(self._port)

    def _take_fault(self, method: str, channel: str | None) -> _Fault | None:
        with self._fault_lock:
            for fault in self._faults:
                if fault.matches(method, channel):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
            return None

    # -- inspection ---------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        with self.workspace.lock:
            return list(self.workspace.calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    def reset_calls(self) -> None:
        with self.workspace.lock:
            self.workspace.calls.clear()

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Every message of the channel (top-level and replies) in posting order."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.channel(channel_id).messages)

    def thread(self, channel_id: str, thread_ts: str) -> list[dict[str, Any]]:
        """The thread's parent followed by its replies."""
        ws = self.workspace
        with ws.lock:
            return copy.deepcopy(ws.thread_messages(ws.channel(channel_id), thread_ts))

    def ephemerals(self, user_id: str) -> list[dict[str, Any]]:
        """Ephemeral messages shown to ``user_id`` (chat.postEphemeral and response_url)."""
        with self.workspace.lock:
            return copy.deepcopy(
                [e for e in self.workspace.ephemeral_messages if e["user"] == user_id]
            )

    def open_views(self, user_id: str, team_id: str | None = None) -> list[dict[str, Any]]:
        """The user's open modal stack, root first."""
        ws = self.workspace
        with ws.lock:
            return [
                copy.deepcopy(ws.views[view_id])
                for (stack_team, stack_user), stack in ws.modal_stacks.items()
                if stack_user == user_id and team_id in (None, stack_team)
                for view_id in stack
            ]

    def view(self, view_id: str) -> dict[str, Any]:
        with self.workspace.lock:
            try:
                return copy.deepcopy(self.workspace.views[view_id])
            except KeyError:
                raise KeyError(f"unknown view {view_id!r}") from None

    def home_view(self, team_id: str, user_id: str) -> dict[str, Any] | None:
        """The user's published App Home view, or None before the first views.publish."""
        ws = self.workspace
        with ws.lock:
            view_id = ws.home_views.get((team_id, user_id))
            return copy.deepcopy(ws.views[view_id]) if view_id else None

    # -- request handling (server threads) ----------------------------------------------

    def _serve(
        self, *, verb: str, target: str, headers: dict[str, str], body: bytes
    ) -> _Reply | None:
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in headers.items()}

        if path.startswith("/api/"):
            return self._serve_api(path.removeprefix("/api/"), verb, query, headers, body)
        if path.startswith("/response_url/") and verb == "POST":
            return self._serve_response_url(path.removeprefix("/response_url/"), headers, body)
        if path.startswith("/upload/v1/") and verb == "POST":
            return self._serve_upload(path.removeprefix("/upload/v1/"), headers, body)
        if path.startswith("/files-pri/") and verb == "GET":
            return self._serve_download(path.removeprefix("/files-pri/"), headers)
        return _Reply(404, b"not found", "text/plain")

    def _outage_reply(self, method: str, team_id: str | None, token: str | None) -> _Reply | None:
        """The reply while an outage is on (None when Slack is up).  Held for timeouts."""
        with self._fault_lock:
            mode, status, error = self._outage, self._outage_status, self._outage_error
        if mode is None:
            return None
        if mode == "timeout":
            # Recorded on arrival with http_status 0: the client gives up before any answer.
            self._record(method, {}, team_id, token, 0, "timeout")
            self._stopping.wait(self.timeout_sleep)
            return _Reply.json(503, {"ok": False, "error": "timeout"})
        self._record(method, {}, team_id, token, status, error)
        return _Reply.json(status, {"ok": False, "error": error})

    def _fault_reply(
        self, method: str, args: dict[str, Any], team_id: str | None, token: str | None
    ) -> _Reply | None:
        channel = args.get("channel")
        fault = self._take_fault(method, channel if isinstance(channel, str) else None)
        if fault is None:
            return None
        if fault.retry_after is not None:
            self._record(method, args, team_id, token, 429, "ratelimited")
            return _Reply.json(
                429,
                {"ok": False, "error": "ratelimited"},
                **{"retry-after": str(fault.retry_after)},
            )
        self._record(method, args, team_id, token, 200, fault.error)
        return _Reply.json(200, {"ok": False, "error": fault.error})

    def _record(
        self,
        method: str,
        args: dict[str, Any],
        team_id: str | None,
        token: str | None,
        http_status: int,
        error: str | None,
        response: dict[str, Any] | None = None,
        **target: str | None,
    ) -> None:
        self.workspace.record(
            RecordedCall(
                method=method,
                args=_decode_json_args(args),
                team_id=team_id,
                token=token,
                http_status=http_status,
                ok=error is None,
                error=error,
                at=time.monotonic(),
                response=copy.deepcopy(response),
                **target,
            )
        )

    def _serve_api(
        self,
        method: str,
        verb: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> _Reply | None:
        if self.latency:
            time.sleep(self.latency)
        content_type = headers.get("content-type", "")
        media_type = content_type.split(";")[0].strip().lower()
        json_body = media_type == "application/json"
        spec = self.method_specs.get(method)

        # Arguments: query string, then the body (form, multipart or JSON).  Slack ignores a
        # JSON body for methods without JSON support and never reads a token from one.
        args: dict[str, Any] = dict(query)
        note: str | None = None
        body_error: SlackError | None = None
        if verb == "POST" and body:
            try:
                if json_body:
                    decoded = json.loads(body)
                    if not isinstance(decoded, dict):
                        raise SlackError("json_not_object")
                    if spec is not None and not spec.json_body:
                        note = f"[ERROR] {method} does not read JSON bodies; send form arguments"
                    else:
                        args.update({k: v for k, v in decoded.items() if k != "token"})
                elif media_type == "multipart/form-data":
                    args.update(_parse_multipart(content_type, body))
                else:
                    args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            except SlackError as exc:
                body_error = exc
            except (ValueError, UnicodeDecodeError):
                body_error = SlackError("invalid_json" if json_body else "invalid_form_data")

        token, basic_auth = self._credentials(headers, args)
        team = self.workspace.team_for_token(token) if token else None
        team_id = team.id if team else None

        outage = self._outage_reply(method, team_id, token)
        if outage is not None:
            return None if self._stopping.is_set() else outage
        if spec is None or method not in webapi.SUPPORTED_METHODS:
            self._record(method, args, team_id, token, 404, "unknown_method")
            return _Reply.json(404, {"ok": False, "error": "unknown_method"})
        fault = self._fault_reply(method, args, team_id, token)
        if fault is not None:
            return fault

        try:
            if body_error is not None:
                raise body_error
            with self.workspace.lock:
                if method in webapi.TOKENLESS_METHODS:
                    webapi.check_arguments(spec, args)
                    response = webapi.oauth_v2_access(self.workspace, args, basic_auth)
                else:
                    if not token:
                        raise SlackError("not_authed")
                    if team is None:
                        raise SlackError(
                            "token_revoked"
                            if token in self.workspace.revoked_tokens
                            else "invalid_auth"
                        )
                    webapi.check_arguments(spec, args)
                    call = webapi.ApiCall(self.workspace, method, team, args)
                    response = webapi.HANDLERS[method](call)
        except SlackError as exc:
            if note and exc.error == "invalid_arguments":
                exc.messages.insert(0, note)
            body_out = exc.body()
            self._record(method, args, team_id, token, exc.http_status, exc.error, body_out)
            return _Reply.json(exc.http_status, body_out, **self._scope_header(team))
        self._record(method, args, team_id, token, 200, None, response)
        return _Reply.json(200, response, **self._scope_header(team))

    @staticmethod
    def _scope_header(team: Team | None) -> dict[str, str]:
        # Slack reports the token's scopes on every response; Bolt reads them from auth.test.
        # Slack's header names are lower-case (Bolt looks up "x-oauth-scopes" verbatim).
        return {"x-oauth-scopes": ",".join(team.scopes)} if team else {}

    @staticmethod
    def _credentials(
        headers: dict[str, str], args: dict[str, Any]
    ) -> tuple[str | None, tuple[str, str] | None]:
        """(bearer token, (client_id, client_secret) from Basic auth)."""
        authorization = headers.get("authorization", "")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            args.pop("token", None)
            return value.strip(), None
        token = args.pop("token", None)
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(value).decode().partition(":")
                return token, (client_id, secret)
            except (binascii.Error, UnicodeDecodeError):
                pass
        return (token if isinstance(token, str) and token else None), None

    # -- response_url, uploads, downloads ------------------------------------------------

    def _serve_response_url(
        self, url_id: str, headers: dict[str, str], body: bytes
    ) -> _Reply | None:
        if self.latency:
            time.sleep(self.latency)
        ws = self.workspace
        with ws.lock:
            target = ws.response_urls.get(url_id)
        team_id = target.team_id if target else None
        outage = self._outage_reply("response_url", team_id, None)
        if outage is not None:
            return None if self._stopping.is_set() else outage
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        args = payload if isinstance(payload, dict) else {}
        fault = self._fault_reply("response_url", args, team_id, None)
        if fault is not None:
            return fault
        recorded_target = {
            "channel_id": target.channel_id if target else None,
            "user_id": target.user_id if target else None,
        }

        def fail(status: int, error: str, *messages: str) -> _Reply:
            self._record("response_url", args, team_id, None, status, error, **recorded_target)
            text = error if not messages else f"{error}: {'; '.join(messages)}"
            return _Reply(status, text.encode(), "text/plain")

        if target is None:
            return fail(404, "no_service")
        if not isinstance(payload, dict):
            return fail(400, "invalid_payload")
        blocks = payload.get("blocks")
        if blocks is not None:
            problems = validate_blocks(blocks, "message", limits=ws.limits)
            if problems:
                return fail(400, "invalid_blocks", *problems)
        if not payload.get("delete_original") and not (payload.get("text") or blocks):
            return fail(400, "no_text")
        with ws.lock:
            self._apply_response_url(
                target.team_id, target.channel_id, target.user_id, target.message_ts, payload
            )
        self._record("response_url", args, team_id, None, 200, None, **recorded_target)
        return _Reply(200, b"ok", "text/html")

    def _apply_response_url(
        self,
        team_id: str,
        channel_id: str | None,
        user_id: str,
        message_ts: str | None,
        payload: dict[str, Any],
    ) -> None:
        """What Slack does with a response_url post (caller holds the lock)."""
        ws = self.workspace
        team = ws.teams[team_id]
        channel = ws.channels.get(channel_id) if channel_id else None
        original_ephemeral = ws.find_ephemeral(user_id, message_ts) if message_ts else None
        original = ws.find_message(channel, message_ts) if channel and message_ts else None
        if original is not None and not webapi.is_bots_message(team, original):
            original = None  # only the app's own messages can be replaced or deleted
        text = str(payload.get("text") or "")
        blocks = payload.get("blocks")

        if payload.get("delete_original"):
            if original_ephemeral is not None:
                ws.ephemeral_messages.remove(original_ephemeral)
            elif original is not None and channel is not None:
                ws.delete_message(channel, original)
            return
        if payload.get("replace_original"):
            target = original_ephemeral or original
            if target is not None:
                target["text"] = text
                if blocks is not None:
                    target["blocks"] = ws.assign_block_ids(blocks)
                else:
                    target.pop("blocks", None)
                return
        thread_ts = payload.get("thread_ts")
        if payload.get("response_type") == "in_channel" and channel is not None:
            ws.post_message(
                channel,
                user=team.bot_user_id,
                bot_id=team.bot_id,
                text=text,
                blocks=blocks,
                attachments=payload.get("attachments"),
                thread_ts=thread_ts,
            )
            return
        ws.add_ephemeral(
            team,
            channel_id=channel_id,
            user_id=user_id,
            source="response_url",
            text=text,
            blocks=blocks,
            attachments=payload.get("attachments"),
            thread_ts=thread_ts,
        )

    def _serve_upload(self, upload_id: str, headers: dict[str, str], body: bytes) -> _Reply | None:
        outage = self._outage_reply("file_upload", None, None)
        if outage is not None:
            return None if self._stopping.is_set() else outage
        content_type = headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            fields = _parse_multipart(content_type, body)
            body = next((v for v in fields.values() if isinstance(v, bytes)), b"")
        ws = self.workspace
        with ws.lock:
            upload = ws.uploads.get(upload_id)
            if upload is not None:
                upload.content = body
        team_id = upload.team_id if upload else None
        if upload is None:
            self._record("file_upload", {"upload_id": upload_id}, None, None, 404, "not_found")
            return _Reply(404, b"not found", "text/plain")
        self._record(
            "file_upload", {"file_id": upload.file_id, "size": len(body)}, team_id, None, 200, None
        )
        return _Reply(200, f"OK - {len(body)}".encode(), "text/plain")

    def _serve_download(self, rest: str, headers: dict[str, str]) -> _Reply | None:
        outage = self._outage_reply("file_download", None, None)
        if outage is not None:
            return None if self._stopping.is_set() else outage
        ws = self.workspace
        key = rest.split("/", 1)[0]
        team_id, _, file_id = key.rpartition("-")
        token, _ = self._credentials(headers, {})
        with ws.lock:
            stored = ws.files.get(file_id)
            team = ws.team_for_token(token) if token else None
        args = {"file": file_id}
        if stored is None or stored.team_id != team_id:
            self._record(
                "file_download", args, team.id if team else None, token, 404, "file_not_found"
            )
            return _Reply(404, b"not found", "text/plain")
        if team is None or team.id != stored.team_id:
            # Slack answers an unauthenticated download with its sign-in page (HTTP 200,
            # text/html) -- the classic way bots end up saving HTML as an "attachment".
            self._record("file_download", args, None, token, 200, "not_authed")
            return _Reply(200, _LOGIN_PAGE, "text/html; charset=utf-8")
        self._record("file_download", args, team.id, token, 200, None)
        return _Reply(
            200,
            stored.content,
            stored.mimetype,
            {"Content-Disposition": _content_disposition(stored.name)},
        )
