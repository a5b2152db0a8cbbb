"""The Bolt app: authorization, tenant middleware, error rendering, handlers."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.exc import SQLAlchemyError

from bot.blocks.notices import notice_modal
from bot.blocks.setup import AUTOMATION_BLOCKS
from bot.core.errors import DomainError, PermissionDenied
from bot.core.settings import Settings
from bot.ids import BOT_SCOPES, Block, Callback
from bot.runtime import INTERACTIVE_TIMEOUT_SECONDS, Runtime, web_client
from bot.services import organizations as orgs
from bot.slack import installs
from bot.slack.dedupe import AlreadySubmitted
from bot.slack.tenant_cache import RecentTenants

log = logging.getLogger(__name__)

# How long an OAuth install may take between /slack/install and the redirect back.
OAUTH_STATE_SECONDS = 600
# Events that announce the app lost access: they must not count as the app being back.
DISCONNECTING_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})

# Domain error fields that are not a modal block of their own are shown on the title.
FIELD_TO_BLOCK = {
    "title": Block.TITLE,
    "description": Block.DESCRIPTION,
    "priority": Block.PRIORITY,
    "category": Block.CATEGORY,
    "requester": Block.REQUESTER,
    "staff_channel": Block.STAFF_CHANNEL,
    "categories": Block.CATEGORIES,
    "default_priority": Block.DEFAULT_PRIORITY,
    # The client company modal of /ticket setup.
    "company_name": Block.COMPANY_NAME,
    "company_domains": Block.COMPANY_DOMAINS,
    "company_team": Block.COMPANY_TEAM,
    "company_channels": Block.COMPANY_CHANNELS,
    "name": Block.VIEW_NAME,  # "Save as view"
    # Time tracking's Log time modal.
    "duration": Block.DURATION,
    "ended_at": Block.DURATION,
    "started_at": Block.DURATION,
    "work_type_id": Block.WORK_TYPE,
    "note": Block.TIME_NOTE,
    "csat_comment": Block.CSAT_COMMENT,
    # The automations' blocks are named after their settings.
    **{block.value: block for block in AUTOMATION_BLOCKS},
}
# What a person sees when their request could not be carried out.
DATABASE_DOWN = (
    "Ticketbot cannot reach its database right now, so nothing was saved. "
    "Please try again in a few minutes."
)
SOMETHING_WENT_WRONG = "Sorry, something went wrong on our side. Please try again in a moment."
# Comment modals show content errors on their one input.
# Modals with one input: every error of theirs is shown on it.
COMMENT_BLOCKS = {
    "internal_note_modal": Block.NOTE,
    "reply_to_requester_modal": Block.REPLY,
    "save_view_modal": Block.VIEW_NAME,
}


class _BotIdentity:
    """The bot's own user and bot ids (auth.test), learnt in the background.

    Never on the path to an ack: until Slack has answered, requests go on without the ids
    (the handlers also recognise the bot's own messages by their bot_id), and a failed
    attempt is retried at most once a minute.
    """

    RETRY_SECONDS = 60.0

    def __init__(self, client: Any, token: str) -> None:
        self._client = client
        self._token = token
        self._lock = threading.Lock()
        self._known: tuple[str | None, str | None] | None = None
        self._next_attempt = 0.0
        self._learning = False

    def get(self) -> tuple[str | None, str | None]:
        with self._lock:
            if self._known is not None:
                return self._known
            if not self._learning and time.monotonic() >= self._next_attempt:
                self._learning = True
                threading.Thread(target=self._learn, name="bot-identity", daemon=True).start()
        return None, None

    def _learn(self) -> None:
        try:
            response = self._client.auth_test(token=self._token)
            known = (response.get("user_id"), response.get("bot_id"))
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("auth.test failed, bot identity unknown for now: %s", error)
            known = None
        with self._lock:
            self._learning = False
            if known is None:
                self._next_attempt = time.monotonic() + self.RETRY_SECONDS
            else:
                self._known = known


def create_app(settings: Settings, runtime: Runtime, *, socket_mode: bool = False) -> App:
    """Build the Bolt app. HTTP mode needs the signing secret; Socket Mode does not.

    With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (and no SLACK_BOT_TOKEN) the app serves
    many workspaces, each installed through OAuth with its own bot token.
    """
    if not socket_mode and settings.slack_signing_secret is None:
        raise ValueError("SLACK_SIGNING_SECRET is required to receive requests over HTTP")
    # Bolt hands each listener a client carrying the token authorization found.
    client = web_client(
        settings, None, timeout=INTERACTIVE_TIMEOUT_SECONDS, retry_connection_errors=True
    )
    signing_secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    common: dict[str, Any] = {
        "signing_secret": signing_secret,
        "client": client,
        # The listener finishes (and its transaction commits) before Slack gets the ack.
        "process_before_response": True,
        "request_verification_enabled": not socket_mode,
        "name": "ticketbot",
    }
    if settings.oauth_enabled and runtime.installation_store is not None:
        app = App(
            oauth_settings=OAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=(
                    settings.slack_client_secret.get_secret_value()
                    if settings.slack_client_secret
                    else None
                ),
                scopes=list(BOT_SCOPES),
                installation_store=runtime.installation_store,
                state_store=SQLAlchemyOAuthStateStore(
                    expiration_seconds=OAUTH_STATE_SECONDS, engine=runtime.db.engine
                ),
                install_path="/slack/install",
                redirect_uri_path="/slack/oauth_redirect",
                installation_store_bot_only=True,
            ),
            **common,
        )
    else:
        app = App(authorize=_single_workspace_authorize(settings, client), **common)
    app.middleware(_tenant_middleware(runtime))
    app.error(_render_error)

    from handlers import actions, commands, events, setup, shortcuts, timers, views

    for module in (commands, shortcuts, views, actions, events, timers, setup):
        module.register(app)
    return app


def _single_workspace_authorize(settings: Settings, client: Any):
    """SLACK_BOT_TOKEN for every request, with the bot's own ids once Slack told them."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    identity = _BotIdentity(client, token) if token else None
    if identity is not None:
        identity.get()  # start learning now, before the first request

    def authorize(enterprise_id: str | None, team_id: str | None, logger: Any) -> AuthorizeResult:
        if token is None or identity is None:
            raise ValueError("SLACK_BOT_TOKEN is not set")
        bot_user_id, bot_id = identity.get()
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=token,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
        )

    return authorize


def _user_name(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict):
        return user.get("name") or user.get("username")
    return body.get("user_name")


def _tenant_middleware(runtime: Runtime):
    """Resolve the workspace to its Organization and the Slack user to a Member.

    Only the database is consulted, so a Slack outage cannot hold up the ack; people seen
    in the last moments are not even looked up again (see `RecentTenants`).
    """
    recent = RecentTenants()

    def tenant(context: Any, body: dict[str, Any], next: Any) -> Any:
        """Listeners receive `runtime`, `organization`, `member` and `actor` by name.

        An event may come without a person (`member` and `actor` are None); a command, a
        click or a submission always has one, or it is refused here.
        """
        context["runtime"] = runtime
        organization = member = None
        team_id = context.team_id
        if team_id:
            organization, member = _known(team_id, context.user_id)
            known = organization is not None and (member is not None or not context.user_id)
            if not known or organization.slack_disconnected_at is not None:
                organization, member = _first_sight(context, body)
        if body.get("type") != "event_callback" and (organization is None or member is None):
            raise PermissionDenied("I could not tell which workspace or person this came from.")
        context["organization"] = organization
        context["member"] = member
        context["actor"] = (
            runtime.directory.actor(organization, member) if organization and member else None
        )
        return next()

    def _known(team_id: str, user_id: str | None) -> tuple[Any, Any]:
        """The usual case, read without taking SQLite's write lock."""
        if user_id:
            seen = recent.get(team_id, user_id)
            if seen is not None:
                return seen
        generation = recent.generation()
        with runtime.db.read_session() as session:
            organization, member = orgs.find_workspace_member(
                session, team_id=team_id, slack_user_id=user_id
            )
        if organization is not None and member is not None:
            runtime.directory.refresh_if_stale(organization, member)
            if user_id and organization.slack_disconnected_at is None:
                recent.remember(
                    team_id, user_id, organization, member, read_at_generation=generation
                )
        return organization, member

    def _first_sight(context: Any, body: dict[str, Any]) -> tuple[Any, Any]:
        """A workspace or person seen for the first time (or a workspace back again)."""
        with runtime.db.session() as session:
            organization = orgs.get_or_create_organization(
                session,
                team_id=context.team_id,
                enterprise_id=context.enterprise_id,
                name=(body.get("team") or {}).get("domain")
                if isinstance(body.get("team"), dict)
                else body.get("team_domain"),
            )
            event_type = (body.get("event") or {}).get("type")
            if (
                organization.slack_disconnected_at is not None
                and event_type not in DISCONNECTING_EVENTS
            ):
                # Slack sent us a request from the workspace: the app is installed again.
                installs.reconnect(session, organization=organization)
                organization.slack_disconnected_at = None
            member = None
            if context.user_id:
                member = runtime.directory.member_for(
                    session, organization, context.user_id, _user_name(body)
                )
        return organization, member

    return tenant


def _render_error(
    error: Exception, body: dict[str, Any], respond: Any, client: Any, logger: Any
) -> BoltResponse:
    """One place that turns errors into what the person sees.

    An event whose handling failed is refused (a 5xx), so that Slack delivers it again
    later: its de-duplication receipt was rolled back with the rest of its transaction, so
    the retry does the work once. Everything a person did gets an answer saying to try
    again, never silence.
    """
    if isinstance(error, AlreadySubmitted):
        return BoltResponse(status=200, body="")  # as the first time: the modal closes
    if isinstance(error, DomainError):
        message = error.message
    elif isinstance(error, SQLAlchemyError):
        logger.error("database unavailable while handling a Slack request: %s", error)
        message = DATABASE_DOWN
    else:
        logger.exception("unexpected error while handling a Slack request", exc_info=error)
        message = SOMETHING_WENT_WRONG
    kind = body.get("type")
    if kind == "event_callback":
        if isinstance(error, DomainError):
            return BoltResponse(status=200, body="")
        return BoltResponse(status=500, body=json.dumps({"error": "not processed, retry"}))
    if kind == "view_submission":
        field = getattr(error, "field", None)
        callback_id = (body.get("view") or {}).get("callback_id", "")
        block = COMMENT_BLOCKS.get(callback_id) or FIELD_TO_BLOCK.get(field or "", Block.TITLE)
        if callback_id in COMMENT_BLOCKS and field == "duration":
            block = Block.LOG_TIME  # the reply and note modals' "Log time" field
        elif callback_id == Callback.LOG_TIME_MODAL and block == Block.TITLE:
            block = Block.DURATION
        return _json_response({"response_action": "errors", "errors": {block: message[:150]}})
    if body.get("command") and not isinstance(error, DomainError):
        # Something is wrong on our side: the command's own answer is the surest way to be
        # seen (it needs no further request).
        return _json_response({"response_type": "ephemeral", "text": message})
    if body.get("response_url") or body.get("response_urls"):
        try:
            respond(text=message, response_type="ephemeral", replace_original=False)
        except Exception:
            logger.warning("could not tell the user about an error", exc_info=True)
    elif kind == "shortcut" and body.get("trigger_id"):
        # A global shortcut has nowhere to answer but a modal of its own.
        try:
            client.views_open(trigger_id=body["trigger_id"], view=notice_modal(message))
        except Exception:
            logger.warning("could not tell the user about an error", exc_info=True)
    return BoltResponse(status=200, body="")


def _json_response(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200,
        body=json.dumps(payload),
        headers={"content-type": "application/json;charset=utf-8"},
    )
