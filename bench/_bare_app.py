"""The storm's baseline: a bare Bolt app that only acknowledges, served like `ticketbot serve`.

Same stack as the product's HTTP mode (uvicorn, FastAPI, Bolt's Starlette adapter, dispatch
in the thread pool, signature verification, process_before_response) and nothing else: no
database, no Slack calls. Run: `python bench/_bare_app.py --port 3001` with
SLACK_SIGNING_SECRET set.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.authorization import AuthorizeResult
from starlette.concurrency import run_in_threadpool


def create_bare_app(signing_secret: str) -> FastAPI:
    def authorize(enterprise_id: str | None, team_id: str | None, logger: Any) -> AuthorizeResult:
        # A fixed answer: the product learns its bot identity once too (auth.test, cached).
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token="xoxb-bare-baseline",
            bot_user_id="UBAREBOT",
            bot_id="BBAREBOT",
        )

    bolt = App(
        signing_secret=signing_secret,
        authorize=authorize,
        process_before_response=True,
        name="bare-baseline",
    )

    def just_ack(ack: Any) -> None:
        ack()

    bolt.view(re.compile(".*"))(just_ack)
    bolt.command(re.compile(".*"))(just_ack)
    bolt.event(re.compile(".*"))(just_ack)

    web = FastAPI()

    @web.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        bolt_response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    @web.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return web


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web = create_bare_app(os.environ["SLACK_SIGNING_SECRET"])
    uvicorn.run(web, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
