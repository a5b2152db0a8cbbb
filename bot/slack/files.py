"""Slack file I/O: fetch the bytes of a file shared in Slack, upload a file into a thread.

Downloads are deliberately narrow.  The bot token goes only to Slack's own file host
(``files.slack.com``; the host of ``SLACK_API_URL`` when that points elsewhere, as with the
simulator), only over https (plain http only for such a non-slack.com host), redirects are
followed only to allowed hosts, and the body is read with a hard size cap.  Everything that
goes wrong ends as ``FileTooLarge`` or ``DownloadFailed``: domain errors whose ``message``
can be shown to the person who shared the file.  No database code here.
"""

from __future__ import annotations

import hashlib
import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

from slack_sdk import WebClient

from bot.core.errors import InvalidInput

SLACK_FILE_HOST = "files.slack.com"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CHUNK = 64 * 1024
_MAX_REDIRECTS = 5
_MAX_NAME_IN_MESSAGE = 80


# -- errors ---------------------------------------------------------------------------------


class FileTooLarge(InvalidInput):
    """The file is over the attachment size limit (declared by Slack or actually received)."""

    def __init__(self, message: str, *, size: int | None, limit: int) -> None:
        super().__init__(message, field="file")
        self.size = size  # None when only "more than limit" is known (download stopped early)
        self.limit = limit


class DownloadFailed(InvalidInput):
    """The bytes could not be fetched from Slack.

    ``reason`` is a short code (``http_404``, ``timeout``, ``connection``,
    ``html_instead_of_file``, ``host_not_allowed``, ``no_url``); ``detail`` is for logs.
    """

    def __init__(self, message: str, *, reason: str, detail: str | None = None) -> None:
        super().__init__(message, field="file")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class DownloadedFile:
    name: str
    mimetype: str
    size: int
    content: bytes = field(repr=False)
    sha256: str  # hex digest of content


# -- hosts ----------------------------------------------------------------------------------


def _is_slack_domain(hostname: str) -> bool:
    return hostname == "slack.com" or hostname.endswith(".slack.com")


def _host_key(parts: SplitResult) -> str | None:
    """``host`` or ``host:port`` (port only when not the scheme's default); None if unusable."""
    try:
        hostname, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number or out of range
        return None
    if not hostname:
        return None
    host = f"[{hostname}]" if ":" in hostname else hostname
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


def allowed_file_hosts(slack_api_url: str) -> frozenset[str]:
    """Hosts the bot token may be sent to for file downloads.

    Always ``files.slack.com``; plus the host (``host:port``) of ``slack_api_url`` when it is
    not Slack's own (``slack.com`` or a subdomain) -- the simulator, or a test double.
    """
    hosts = {SLACK_FILE_HOST}
    parts = urlsplit(slack_api_url.strip())
    key = _host_key(parts) if parts.scheme.lower() in _DEFAULT_PORTS else None
    if key is not None and not _is_slack_domain(parts.hostname or ""):
        hosts.add(key)
    return frozenset(hosts)


def _refusal(url: str, allowed_hosts: Collection[str]) -> str | None:
    """Why ``url`` must not get the bot token, or None when it may."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return "not an http(s) URL"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL"
    key = _host_key(parts)
    if key is None or key not in allowed_hosts:
        return f"host {key or '(none)'} is not Slack's file host"
    if scheme == "http" and _is_slack_domain(parts.hostname or ""):
        return "Slack files are only fetched over https"
    return None


# -- download -------------------------------------------------------------------------------


class _Refused(Exception):
    """A URL (first or redirected) that the bot token must not be sent to."""


class _AllowedRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = _MAX_REDIRECTS

    def __init__(self, allowed_hosts: Collection[str]) -> None:
        self.allowed_hosts = allowed_hosts

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        reason = _refusal(newurl, self.allowed_hosts)
        if reason is not None:
            fp.close()
            raise _Refused(f"redirected elsewhere: {reason}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(allowed_hosts: Collection[str]) -> urllib.request.OpenerDirector:
    # Built by hand so only http(s) is spoken (no file:, ftp:, data: handlers).
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),  # honours HTTPS_PROXY / NO_PROXY, like slack_sdk
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _AllowedRedirects(allowed_hosts),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _display_name(name: str) -> str:
    name = " ".join(name.split()) or "the file"
    if len(name) > _MAX_NAME_IN_MESSAGE:
        name = name[: _MAX_NAME_IN_MESSAGE - 1] + "…"
    return name


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"
        value /= 1024
    return f"{value:.1f}".rstrip("0").rstrip(".") + " GB"


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def download_slack_file(
    file: Mapping[str, Any],
    *,
    token: str,
    allowed_hosts: Collection[str],
    max_bytes: int,
    timeout: float = 30,
) -> DownloadedFile:
    """Fetch the bytes of a Slack file object (as in events and ``files.info``).

    Only ``url_private_download`` (else ``url_private``) is used, and only when its host is
    in ``allowed_hosts`` (see ``allowed_file_hosts``).  ``timeout`` bounds the whole download.
    Raises ``FileTooLarge`` or ``DownloadFailed`` (both ``InvalidInput``, field "file").
    """
    name = str(file.get("name") or file.get("title") or "file")
    shown = _display_name(name)
    expected_type = _media_type(file.get("mimetype"))

    def failed(reason: str, why: str, detail: str | None = None) -> DownloadFailed:
        return DownloadFailed(
            f"I couldn't download {shown} from Slack ({why}).", reason=reason, detail=detail
        )

    def too_large(size: int | None) -> FileTooLarge:
        limit = _human_size(max_bytes)
        if size is None:
            text = f"{shown} is larger than the {limit} limit for attachments."
        else:
            text = f"{shown} is {_human_size(size)}; attachments are limited to {limit}."
        return FileTooLarge(text, size=size, limit=max_bytes)

    declared = file.get("size")
    if isinstance(declared, int) and not isinstance(declared, bool) and declared > max_bytes:
        raise too_large(declared)

    url = file.get("url_private_download") or file.get("url_private")
    if not isinstance(url, str) or not url:
        raise failed("no_url", "Slack gave no download link for it")
    refusal = _refusal(url, allowed_hosts)
    if refusal is not None:
        raise failed("host_not_allowed", "its link is not a Slack file URL", f"{url}: {refusal}")

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + timeout
    try:
        with _opener(allowed_hosts).open(request, timeout=timeout) as response:
            final_refusal = _refusal(response.geturl(), allowed_hosts)
            if final_refusal is not None:  # belt and braces: the redirect handler checks too
                raise _Refused(final_refusal)
            content_type = _media_type(response.headers.get("Content-Type"))
            if content_type == "text/html" and expected_type != "text/html":
                raise failed(
                    "html_instead_of_file",
                    "Slack sent a sign-in page instead of the file; "
                    "so the bot's token was not accepted",
                )
            length = response.headers.get("Content-Length")
            if length is not None and length.strip().isdigit() and int(length) > max_bytes:
                raise too_large(int(length))
            chunks: list[bytes] = []
            received = 0
            while True:
                if time.monotonic() > deadline:
                    raise failed("timeout", "Slack took too long to send it")
                chunk = response.read(min(_CHUNK, max_bytes + 1 - received))
                if not chunk:
                    break
                chunks.append(chunk)
                received += len(chunk)
                if received > max_bytes:
                    raise too_large(None)
    except _Refused as exc:
        raise failed(
            "host_not_allowed", "it was not served from a Slack file URL", str(exc)
        ) from None
    except urllib.error.HTTPError as exc:
        exc.close()
        raise failed(f"http_{exc.code}", f"Slack answered HTTP {exc.code}") from None
    except TimeoutError:
        raise failed("timeout", "Slack did not answer in time") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise failed("timeout", "Slack did not answer in time") from None
        raise failed("connection", "Slack could not be reached", str(exc.reason)) from None
    except (http.client.HTTPException, OSError) as exc:
        raise failed("connection", "the connection to Slack broke off", repr(exc)) from None

    content = b"".join(chunks)
    return DownloadedFile(
        name=name,
        mimetype=str(file.get("mimetype") or content_type or "application/octet-stream"),
        size=len(content),
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


# -- upload ---------------------------------------------------------------------------------


def upload_to_thread(
    client: WebClient,
    *,
    channel: str,
    thread_ts: str | None,
    filename: str,
    content: bytes,
    title: str | None = None,
    initial_comment: str | None = None,
) -> str:
    """Upload ``content`` and share it into ``channel`` (in the thread ``thread_ts`` if given).

    Slack's external-upload flow via slack_sdk's ``files_upload_v2``: files.getUploadURLExternal,
    a POST of the bytes to the returned ``upload_url`` (an absolute URL, so the simulator's own
    when the client points at it), then files.completeUploadExternal.  Returns the file id.
    Slack errors propagate (``SlackApiError``; urllib/``SlackRequestError`` for the byte POST).
    """
    response = client.files_upload_v2(
        channel=channel,
        thread_ts=thread_ts,
        filename=filename,
        file=bytes(content),
        title=title or filename,
        initial_comment=initial_comment,
    )
    files = response.get("files") or []
    if not files or not files[0].get("id"):
        raise RuntimeError("files.completeUploadExternal returned no file")
    return str(files[0]["id"])


def upload_files(
    client: WebClient,
    *,
    channel: str,
    files: list[tuple[str, bytes]],
    initial_comment: str | None = None,
) -> list[str]:
    """Upload several files (name, content) and share them in one message of `channel`,
    through Slack's external-upload flow (one files.completeUploadExternal for all).
    Returns the file ids."""
    response = client.files_upload_v2(
        channel=channel,
        file_uploads=[
            {"file": bytes(content), "filename": name, "title": name} for name, content in files
        ],
        initial_comment=initial_comment,
    )
    uploaded = [str(f["id"]) for f in response.get("files") or [] if f.get("id")]
    if len(uploaded) != len(files):
        raise RuntimeError("files.completeUploadExternal did not return every file")
    return uploaded
