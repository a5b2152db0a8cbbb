"""The HTTP server app: Slack's request URL, health, and the REST API."""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from bot.api.routes import create_api_router
from bot.outbox import worker as delivery
from bot.runtime import Runtime
from bot.services import ical
from bot.slack import installs
from bot.slack import shape as slack_shape

# Slack's requests are far smaller; anything larger is not Slack's.
MAX_SLACK_BODY_BYTES = 1024 * 1024
# How old a signed request may be (Slack's own advice), against replays.
SIGNATURE_MAX_AGE_SECONDS = 5 * 60


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The request's body, or None as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            return None
    return bytes(received)


def _signed_by_slack(secret: bytes, body: bytes, headers: Any) -> bool:
    """Slack's v0 signature over the raw bytes (whatever their encoding)."""
    timestamp = headers.get("x-slack-request-timestamp") or ""
    signature = headers.get("x-slack-signature") or ""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SIGNATURE_MAX_AGE_SECONDS:
        return False
    expected = (
        "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, "sha256").hexdigest()
    )
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _bolt_request(request: Request, body: bytes) -> BoltRequest | None:
    """The body as Bolt reads it, or None when it is not something Slack sends: not UTF-8,
    not JSON or a form, JSON nested too deep or holding lone surrogates, a payload missing
    what Bolt relies on."""
    try:
        bolt_request = to_bolt_request(request, body)
    except (ValueError, AttributeError, TypeError, RecursionError):
        # Not UTF-8, not JSON, JSON deeper than the interpreter's recursion, or JSON that
        # is not an object (Bolt then fails on .get).
        return None
    parsed = bolt_request.body
    content_type = request.headers.get("content-type", "")
    if not isinstance(parsed, dict) or not slack_shape.well_formed(
        parsed, bolt_request.raw_body, content_type
    ):
        return None
    return bolt_request if slack_shape.acceptable(parsed) else None


def create_web_app(bolt_app: App, runtime: Runtime, *, run_background: bool = True) -> FastAPI:
    """An ASGI app serving POST /slack/events and GET /healthz.

    `run_background` starts the outbox worker and the scheduler with the server and stops
    them with it (tests drive delivery by hand instead).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_background:
            runtime.start_background()
        try:
            yield
        finally:
            if run_background:
                runtime.stop_background()

    # The OpenAPI document describes the REST API only: Slack's endpoints are not in it.
    web = FastAPI(title="Ticketbot", version="0.1.0", lifespan=lifespan)
    web.state.runtime = runtime  # what the REST routes depend on (bot.api.deps)

    secret = runtime.settings.slack_signing_secret
    signing_secret = secret.get_secret_value().encode() if secret else None

    def _answer(request: Request, body: bytes) -> Response:
        bolt_request = _bolt_request(request, body)
        if bolt_request is None:
            return JSONResponse({"error": "malformed body"}, status_code=400)
        return to_starlette_response(bolt_app.dispatch(bolt_request))

    @web.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        # Slack's requests are small: a larger body is refused before it is read (by its
        # declared length, or while it streams when it declares none).
        body = await _read_at_most(request, MAX_SLACK_BODY_BYTES)
        if body is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        # Only Slack may speak here; check the signature on the raw bytes before reading
        # them, so that nothing unsigned is ever parsed.
        if signing_secret is not None and not _signed_by_slack(
            signing_secret, body, request.headers
        ):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        # Parsing, checking and Bolt's dispatch (database, Slack calls) are synchronous and
        # take CPU: all of it runs off the event loop, which keeps reading requests.
        return await run_in_threadpool(_answer, request, body)

    oauth_flow = bolt_app.oauth_flow
    if oauth_flow is not None:
        # Multi-workspace mode: Slack's "Add to Slack" install and its redirect back.

        @web.get("/slack/install", include_in_schema=False)
        async def slack_install(request: Request) -> Response:
            bolt_request = to_bolt_request(request, await request.body())
            return to_starlette_response(
                await run_in_threadpool(oauth_flow.handle_installation, bolt_request)
            )

        @web.get("/slack/oauth_redirect", include_in_schema=False)
        async def slack_oauth_redirect(request: Request) -> Response:
            bolt_request = to_bolt_request(request, await request.body())
            return to_starlette_response(
                await run_in_threadpool(oauth_flow.handle_callback, bolt_request)
            )

    @web.get("/ical/{token}.ics", include_in_schema=False)
    async def ical_feed(token: str) -> Response:
        """A technician's time entries (bot.services.ical); unknown or revoked: 404."""

        def build() -> bytes | None:
            with runtime.db.read_session() as session:
                member = ical.feed_owner(session, token=token)
                return ical.feed(session, member=member) if member else None

        body = await run_in_threadpool(build)
        if body is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        return Response(body, media_type="text/calendar; charset=utf-8")

    @web.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        database_ok = await run_in_threadpool(runtime.db.ping)
        if not database_ok:
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        failed = await run_in_threadpool(delivery.failed_count, runtime.db)
        pending = await run_in_threadpool(delivery.pending_count, runtime.db)
        problems = await run_in_threadpool(
            functools.partial(
                installs.workspace_problems,
                runtime.db,
                default_staff_channel=runtime.settings.staff_channel_id,
            )
        )
        return JSONResponse(
            {
                "status": "ok",
                "database": "ok",
                "outbox": {"pending": pending, "failed": failed},
                **problems,
            }
        )

    # Last: routes are matched in order, and Slack's requests (bursts of them, each with a
    # 3-second deadline) should not be tried against every REST route first.
    web.include_router(create_api_router(runtime.settings), prefix="/api")
    return web
