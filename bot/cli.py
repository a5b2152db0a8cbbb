"""The `ticketbot` command."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot.settings import Settings

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

    from bot.app import create_app
    from bot.runtime import build_runtime
    from bot.web import create_web_app

    settings = _settings()
    _configure_logging(settings.log_level)
    if settings.slack_signing_secret is None:
        raise SystemExit("ticketbot serve: set SLACK_SIGNING_SECRET (Basic Information page)")
    if settings.slack_bot_token is None:
        raise SystemExit("ticketbot serve: set SLACK_BOT_TOKEN (OAuth & Permissions page)")
    runtime = build_runtime(settings)
    web = create_web_app(create_app(settings, runtime), runtime)
    # uvicorn turns SIGTERM and Ctrl-C into a clean shutdown, which stops the workers.
    uvicorn.run(web, host=args.host, port=args.port, log_level=settings.log_level.lower())
    return 0


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
    from bot import migrate
    from bot.db import make_engine

    settings = _settings()
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    print(f"database is at the newest schema ({_redact(settings.database_url)})")
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
    serve.set_defaults(func=cmd_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate to the newest schema")
    upgrade.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
