"""Everything a running Ticketbot holds: settings, database, Slack clients, workers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot import jobs
from bot.core import migrate
from bot.core.db import Database
from bot.core.settings import Settings
from bot.core.storage import ContentStore
from bot.flows.attachments import FETCH_FILE, SHARE_FILE, SlackFileJobs
from bot.flows.reactions import FILE_REACTED_MESSAGE, ReactionJobs
from bot.flows.reports import MONTHLY_REPORT, ReportJobs
from bot.flows.time_reports import TIME_REPORT, TimeReportJob
from bot.outbox import rows as outbox
from bot.outbox.worker import DeliveryWorker
from bot.services import organizations as orgs
from bot.slack import installs
from bot.slack.files import allowed_file_hosts
from bot.slack.installs import InstallationStore
from bot.slack.people import SlackDirectory
from bot.slack.web_client import DirectWebClient
from models import Organization, utcnow

log = logging.getLogger(__name__)

# Slack calls made while a person waits (opening a modal) must fail fast.
INTERACTIVE_TIMEOUT_SECONDS = 5
WORKER_TIMEOUT_SECONDS = 10


def web_client(
    settings: Settings, token: str | None, *, timeout: int, retry_connection_errors: bool
) -> WebClient:
    """A Web API client on SLACK_API_URL (sending with http.client: see DirectWebClient).

    The outbox worker's client never retries by itself: a retried chat.postMessage whose
    first try reached Slack would post twice, and the outbox retries with a look-up of
    what was already posted instead. Interactive calls retry a reset connection once.
    """
    handlers: list[RetryHandler] = (
        [ConnectionErrorRetryHandler(max_retry_count=1)] if retry_connection_errors else []
    )
    return DirectWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=handlers,
        logger=_web_client_logger(),
    )


def _web_client_logger() -> logging.Logger:
    """slack_sdk formats a debug line of every request and response (their whole JSON
    bodies) whenever its logger's *own* level is unset, even when no handler would print
    it: about a tenth of a delivery's CPU. Its clients get a logger whose level is what
    slack_sdk's logger lets through now, so those lines are only made when DEBUG is on."""
    logger = logging.getLogger("slack_sdk.web.ticketbot")
    effective = logging.getLogger("slack_sdk.web.base_client").getEffectiveLevel()
    logger.setLevel(effective if effective > logging.DEBUG else logging.NOTSET)
    return logger


@dataclass
class Runtime:
    settings: Settings
    db: Database
    delivery: DeliveryWorker
    directory: SlackDirectory
    scheduler: BackgroundScheduler | None = None
    # OAuth multi-workspace mode: where each workspace's bot token is kept.
    installation_store: InstallationStore | None = None
    _clients: dict[str, WebClient] = field(default_factory=dict)
    # "Now" for what depends on it (searches by age); tests put it at a known instant.
    clock: Callable[[], datetime] = utcnow

    def bot_token_for(self, organization: Organization) -> str | None:
        if organization.slack_disconnected_at is not None:
            return None  # uninstalled or revoked: deliveries wait for a reinstall
        return self.stored_bot_token(organization)

    def stored_bot_token(self, organization: Organization) -> str | None:
        """The bot token kept for the workspace, even while it is disconnected."""
        if self.installation_store is not None:
            return self.installation_store.bot_token_for(organization)
        token = self.settings.slack_bot_token
        return token.get_secret_value() if token else None

    def client_for(self, organization: Organization) -> WebClient | None:
        """The bot's Web API client for an organization's workspace (None: no token)."""
        key = self.bot_token_for(organization)
        if key is None:
            return None
        client = self._clients.get(key)
        if client is None:
            client = web_client(
                self.settings, key, timeout=WORKER_TIMEOUT_SECONDS, retry_connection_errors=False
            )
            self._clients[key] = client
        return client

    def check_disconnected(self) -> int:
        """Ask Slack (auth.test) whether the workspaces Ticketbot lost access to answer its
        stored token again, and reconnect those that do (their deliveries resume); returns
        how many. A single refusal from Slack then pauses a workspace for minutes at most,
        not until someone there happens to use Ticketbot."""
        with self.db.read_session() as session:
            paused = orgs.disconnected_organizations(session)
        back = 0
        for organization in paused:
            token = self.stored_bot_token(organization)
            if token is None:
                continue  # uninstalled: only an install brings it back
            client = web_client(
                self.settings, token, timeout=WORKER_TIMEOUT_SECONDS, retry_connection_errors=False
            )
            if not installs.token_works(client, organization):
                continue
            with self.db.session() as session:
                installs.reconnect(session, organization=organization)
            back += 1
        return back

    def start_background(self) -> None:
        """Start the outbox worker and the scheduled jobs (serve, run, demo), and read the
        staff lists of connected workspaces ahead of their first requests."""
        self.delivery.start()
        with self.db.read_session() as session:
            connected = orgs.connected_organizations(session)
        self.directory.warm_up(connected)
        if self.scheduler is None:
            self.scheduler = BackgroundScheduler(timezone="UTC")
            jobs.register(self.scheduler, self)
            self.scheduler.start()

    def stop_background(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        self.delivery.stop()
        self.directory.close()


def build_runtime(
    settings: Settings,
    *,
    db: Database | None = None,
    migrate_schema: bool = True,
    background_profiles: bool = True,
) -> Runtime:
    """Wire a runtime from settings. The database is migrated to the newest schema first,
    so that starting on an empty SQLite file just works."""
    database = db or Database.from_url(settings.database_url)
    if migrate_schema:
        migrate.upgrade(database.engine)
    holder: dict[str, Runtime] = {}

    def client_for(organization: Organization) -> WebClient | None:
        return holder["runtime"].client_for(organization)

    delivery = DeliveryWorker(database, client_for, default_staff_channel=settings.staff_channel_id)
    directory = SlackDirectory(
        database,
        client_for,
        default_staff_channel=settings.staff_channel_id,
        staff_cache_seconds=settings.staff_cache_seconds,
        background=background_profiles,
    )
    runtime = Runtime(
        settings=settings,
        db=database,
        delivery=delivery,
        directory=directory,
        installation_store=(
            InstallationStore(settings.slack_client_id or "", database)
            if settings.oauth_enabled
            else None
        ),
    )
    holder["runtime"] = runtime
    store = ContentStore(settings.file_storage_dir)
    files = SlackFileJobs(
        database,
        store,
        allowed_hosts=allowed_file_hosts(settings.slack_api_url),
        max_bytes=settings.max_attachment_bytes,
    )
    delivery.register_job(FETCH_FILE, files.fetch)
    delivery.register_job(SHARE_FILE, files.share)
    delivery.register_job(FILE_REACTED_MESSAGE, ReactionJobs(database, directory, store).file)
    delivery.register_job(TIME_REPORT, TimeReportJob(database))
    delivery.register_job(MONTHLY_REPORT, ReportJobs(database).upload)
    database.on_commit(delivery.wake, marked=outbox.ROWS_WRITTEN)
    return runtime
