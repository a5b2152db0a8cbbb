"""The HTTP server app: Slack's request URL, health, and the REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier
from starlette.concurrency import run_in_threadpool

from bot.api.routes import create_api_router
from bot.outbox import worker as delivery
from bot.runtime import Runtime


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
    web.include_router(create_api_router(runtime.settings), prefix="/api")

    secret = runtime.settings.slack_signing_secret
    verifier = SignatureVerifier(secret.get_secret_value()) if secret else None

    @web.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        # Only Slack may speak here; check the signature on the raw bytes before reading
        # them, so that nothing unsigned is ever parsed.
        if verifier is not None and not verifier.is_valid_request(body, dict(request.headers)):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            bolt_request = to_bolt_request(request, body)
        except (ValueError, AttributeError, TypeError):
            # Not JSON, not UTF-8, or JSON that is not an object (Bolt then fails on .get).
            return JSONResponse({"error": "malformed body"}, status_code=400)
        if not isinstance(bolt_request.body, dict):
            return JSONResponse({"error": "malformed body"}, status_code=400)
        # Bolt's dispatch is synchronous (database, Slack calls): run it off the event loop.
        bolt_response = await run_in_threadpool(bolt_app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

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

    @web.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        database_ok = await run_in_threadpool(runtime.db.ping)
        if not database_ok:
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        failed = await run_in_threadpool(delivery.failed_count, runtime.db)
        pending = await run_in_threadpool(delivery.pending_count, runtime.db)
        return JSONResponse(
            {
                "status": "ok",
                "database": "ok",
                "outbox": {"pending": pending, "failed": failed},
            }
        )

    return web
