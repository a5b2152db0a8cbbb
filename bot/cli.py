"""The `ticketbot` command."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.core.errors import DomainError, NotFound
from bot.core.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlmodel import Session

    from models import Organization

log = logging.getLogger("ticketbot")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in error.errors()
        )
        raise SystemExit(f"ticketbot: bad configuration: {problems}") from None


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    _configure_logging(settings.log_level)
    if settings.slack_signing_secret is None:
        raise SystemExit("ticketbot serve: set SLACK_SIGNING_SECRET (Basic Information page)")
    if settings.slack_bot_token is None and not settings.oauth_enabled:
        raise SystemExit(
            "ticketbot serve: set SLACK_BOT_TOKEN (OAuth & Permissions page), or "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install in many workspaces"
        )
    log_level = settings.log_level.lower()
    if args.workers <= 1:
        # uvicorn turns SIGTERM and Ctrl-C into a clean shutdown, which stops the workers.
        uvicorn.run(_web_app(settings), host=args.host, port=args.port, log_level=log_level)
        return 0
    # Several processes (one Python process uses one core): the schema is migrated once,
    # here, then each process builds its own app, outbox worker and scheduler.
    from bot.core import migrate
    from bot.core.db import make_engine

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    uvicorn.run(
        "bot.cli:serve_process_app",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level=log_level,
    )
    return 0


def _web_app(settings: Settings, *, migrate_schema: bool = True) -> FastAPI:
    from bot.app import create_app
    from bot.runtime import build_runtime
    from bot.web import create_web_app

    runtime = build_runtime(settings, migrate_schema=migrate_schema)
    return create_web_app(create_app(settings, runtime), runtime)


def serve_process_app() -> FastAPI:
    """The app of one process of `ticketbot serve --workers N` (uvicorn calls this)."""
    settings = _settings()
    _configure_logging(settings.log_level)
    return _web_app(settings, migrate_schema=False)


def cmd_run(args: argparse.Namespace) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app
    from bot.runtime import build_runtime

    settings = _settings()
    _configure_logging(settings.log_level)
    if settings.slack_app_token is None:
        raise SystemExit(
            "ticketbot run: set SLACK_APP_TOKEN (an xapp- token with connections:write)"
        )
    if settings.slack_bot_token is None:
        raise SystemExit("ticketbot run: set SLACK_BOT_TOKEN (OAuth & Permissions page)")
    runtime = build_runtime(settings)
    app = create_app(settings, runtime, socket_mode=True)
    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    runtime.start_background()
    try:
        handler.start()
    except KeyboardInterrupt:
        log.info("shutting down")
    finally:
        handler.close()
        runtime.stop_background()
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.core import migrate
    from bot.core.db import make_engine

    settings = _settings()
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    print(f"database is at the newest schema ({_redact(settings.database_url)})")
    return 0


@contextmanager
def _workspace_unit_of_work(
    team_id: str, *, create: bool = False
) -> Iterator[tuple[Session, Organization]]:
    """A unit of work on the (migrated) database and the organization of Slack team
    `team_id`, created when `create` says so. Domain errors end the command with their
    message. Only the database is used, so this works while `serve` runs."""
    from bot.core import migrate
    from bot.core.db import Database, make_engine
    from bot.services import organizations as orgs

    if not re.fullmatch(r"[A-Z0-9]{2,32}", team_id):
        raise SystemExit(f"ticketbot api-token: {team_id!r} is not a Slack team id (T0123ABCD).")
    database = Database(make_engine(_settings().database_url))
    try:
        migrate.upgrade(database.engine)
        with database.session() as session:
            found = (
                orgs.get_or_create_organization(session, team_id=team_id)
                if create
                else orgs.get_organization_by_team(session, team_id=team_id)
            )
            if found is None:
                raise NotFound(f"Ticketbot has never seen a workspace {team_id}.")
            yield session, found
    except DomainError as error:
        raise SystemExit(f"ticketbot api-token: {error.message}") from None
    finally:
        database.dispose()


def cmd_api_token_create(args: argparse.Namespace) -> int:
    from bot.api import tokens

    with _workspace_unit_of_work(args.team, create=True) as (session, organization):
        issued = tokens.create_api_token(session, organization=organization, name=args.name)
    # Printed once committed: a token that is shown exists.
    print(
        f"API token {issued.record.id} ({issued.record.token_prefix}…) named "
        f"{issued.record.name!r} for workspace {organization.slack_team_id}."
    )
    print("It is shown only now: keep it secret. Send it as 'Authorization: Bearer <token>'.")
    print(issued.secret)
    return 0


def cmd_api_token_revoke(args: argparse.Namespace) -> int:
    from bot.api import tokens

    with _workspace_unit_of_work(args.team) as (session, organization):
        token = tokens.revoke_api_token(session, organization=organization, id_or_prefix=args.token)
    print(f"API token {token.id} ({token.token_prefix}…) {token.name!r} is revoked.")
    return 0


def cmd_api_token_list(args: argparse.Namespace) -> int:
    from bot.api import tokens

    with _workspace_unit_of_work(args.team) as (session, organization):
        found = tokens.list_api_tokens(session, organization=organization)
    if not found:
        print(f"Workspace {args.team} has no API tokens.")
    for token in found:
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        print(
            f"{token.id}\t{token.token_prefix}…\t{token.name}\t"
            f"created {token.created_at:%Y-%m-%d %H:%M}\tlast used {used}\t{state}"
        )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot import demo

    return demo.run_demo(database_path=args.database, verbose=args.verbose)


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ticketbot", description="A Slack-native IT helpdesk.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="walk through Ticketbot with a simulated Slack")
    demo.add_argument("--database", help="SQLite file to use (default: a temporary one)")
    demo.add_argument("--verbose", action="store_true", help="show the app's log")
    demo.set_defaults(func=cmd_demo)

    run = commands.add_parser("run", help="connect to Slack in Socket Mode")
    run.set_defaults(func=cmd_run)

    serve = commands.add_parser("serve", help="serve Slack's HTTP requests")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (PostgreSQL, or SQLite on one machine); default 1",
    )
    serve.set_defaults(func=cmd_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate to the newest schema")
    upgrade.set_defaults(func=cmd_db_upgrade)

    api_token = commands.add_parser("api-token", help="REST API tokens of a workspace")
    token_commands = api_token.add_subparsers(dest="api_token_command", required=True)
    create = token_commands.add_parser(
        "create", help="make a token; it is printed once, as the last line"
    )
    create.add_argument("--team", required=True, help="the workspace's Slack team id (T…)")
    create.add_argument(
        "--name", default="integration", help="who uses it (comments show 'API: NAME')"
    )
    create.set_defaults(func=cmd_api_token_create)
    revoke = token_commands.add_parser("revoke", help="revoke a token for good")
    revoke.add_argument("token", metavar="TOKEN_ID_OR_PREFIX")
    revoke.add_argument("--team", required=True, help="the workspace's Slack team id (T…)")
    revoke.set_defaults(func=cmd_api_token_revoke)
    listing = token_commands.add_parser("list", help="list a workspace's tokens")
    listing.add_argument("--team", required=True, help="the workspace's Slack team id (T…)")
    listing.set_defaults(func=cmd_api_token_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
