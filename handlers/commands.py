"""The /ticket slash command."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.error import URLError

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.text import escape
from bot.blocks.tickets import ModalPrefill, usage_text
from bot.flows import reports as report_flows
from bot.flows import search as search_flows
from bot.flows import setup as setup_flow
from bot.flows import tickets as ticket_flows
from bot.flows import views as ticket_views
from bot.ids import Command
from bot.runtime import Runtime
from bot.services.actors import Actor
from bot.slack.people import is_workspace_admin
from handlers import timers
from handlers.common import open_ticket_modal
from models import Member, Organization

MAX_TICKET_NUMBER_DIGITS = 9
# Slack gives up on a command not answered within 3 seconds.
MODAL_OPEN_TIMEOUT_SECONDS = 1.5  # per socket step (connect, then the answer)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParsedCommand:
    kind: str  # "new" (open the modal), "help", "mine", "setup", "show", or a SUBCOMMANDS word
    title: str = ""
    word: str = ""
    number: int | None = None
    rest: str = ""  # what follows a sub-command that takes arguments


# Sub-commands that stand alone, and those that take arguments (DESIGN §9 to §11).
ALONE = ("help", "mine", "setup")
WITH_ARGUMENTS = ("time", "find", "view", "report")


def parse_ticket_command(text: str | None) -> ParsedCommand:
    """Read `/ticket` text: only an exact sub-command (`help`, `mine`, `setup`, a ticket
    number, `time …`, `find …`, `view …`, `report …`) is a command; any other text is the
    new ticket's title, whole (`/ticket New laptop for Dana`, `/ticket printer`)."""
    raw = (text or "").strip()
    text = " ".join(raw.split())
    if not text:
        return ParsedCommand("new")
    first, _, rest = text.partition(" ")
    if first in ALONE and not rest:
        return ParsedCommand(first)
    if first in WITH_ARGUMENTS:  # the rest as typed: quoted text keeps its spaces
        return ParsedCommand(first, word=first, rest=raw[len(first) :].strip())
    digits = first.removeprefix("#")
    if not rest and digits.isdigit() and len(digits) <= MAX_TICKET_NUMBER_DIGITS:
        return ParsedCommand("show", number=int(digits))
    return ParsedCommand("new", title=text)


def ticket_command(
    ack: Ack,
    command: dict[str, Any],
    client: Any,
    respond: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
) -> None:
    parsed = parse_ticket_command(command.get("text"))
    if parsed.kind == "setup":
        ack()
        open_setup_modal(client, runtime, organization, member, command)
    elif parsed.kind in ("find", "view"):
        ack()
        respond(**search_answer(runtime, organization, member, actor, parsed))
    elif parsed.kind in ANSWERED_IN_THE_ACK:
        answer = ANSWERED_IN_THE_ACK[parsed.kind]
        ack(**answer(runtime, organization, member, actor, parsed))
    else:
        ack(**_open_form(client, runtime, organization, member, actor, parsed, command))


def search_answer(
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
    parsed: ParsedCommand,
) -> dict[str, Any]:
    """`/ticket find <query>` and `/ticket view …`: an ephemeral answer (sent through the
    response URL, so that its buttons can replace it)."""
    with runtime.db.session() as session:
        answer = search_flows.command_answer(
            session,
            organization=organization,
            viewer=actor,
            member=member,
            find=parsed.kind == "find",
            text=parsed.rest,
            now=runtime.clock(),
        )
    return {"response_type": "ephemeral", "text": answer.text, "blocks": answer.blocks}


def _time_answer(
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
    parsed: ParsedCommand,
) -> dict[str, Any]:
    """`/ticket time …`."""
    text = timers.time_command_text(parsed.rest, runtime, organization, member, actor)
    return {"response_type": "ephemeral", "text": text}


def _ticket_list_answer(
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
    parsed: ParsedCommand,
) -> dict[str, Any]:
    """`/ticket mine`, `/ticket 42`."""
    text, blocks = _ticket_list(runtime, organization, actor, parsed)
    return {"response_type": "ephemeral", "text": text, "blocks": blocks}


def _help_answer(
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
    parsed: ParsedCommand,
) -> dict[str, Any]:
    """`/ticket help`."""
    return {"response_type": "ephemeral", "text": usage_text(unknown=parsed.word or None)}


def _report_answer(
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
    parsed: ParsedCommand,
) -> dict[str, Any]:
    """`/ticket report [YYYY-MM] [client]`."""
    text = _request_report(runtime, organization, actor, parsed)
    return {"response_type": "ephemeral", "text": text}


def _request_report(
    runtime: Runtime, organization: Organization, actor: Actor, parsed: ParsedCommand
) -> str:
    """`/ticket report [YYYY-MM] [client]`: the report goes to the asker's DM."""
    with runtime.db.session() as session:
        month = report_flows.request_report(
            session, organization=organization, actor=actor, text=parsed.rest
        )
    return f"Your report for {month} is on its way to your direct messages with Ticketbot."


def _ticket_list(
    runtime: Runtime, organization: Organization, viewer: Actor, parsed: ParsedCommand
) -> tuple[str, list[dict[str, Any]]]:
    """`/ticket mine` and `/ticket 42`."""
    with runtime.db.read_session() as session:
        if parsed.number is None:
            blocks = ticket_views.my_tickets_blocks(
                session, organization=organization, viewer=viewer
            )
            return "Your tickets", blocks
        blocks = ticket_views.ticket_blocks(
            session, organization=organization, viewer=viewer, number=parsed.number
        )
        return f"Ticket #{parsed.number}", blocks


def _open_form(
    client: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
    parsed: ParsedCommand,
    command: dict[str, Any],
) -> dict[str, Any]:
    """Open the new-ticket form; returns the command's answer (empty once it opened).

    The form opens before the ack: the answer to the command is the only way left to tell
    the person anything when Slack's Web API is not answering."""
    prefill = ModalPrefill(title=parsed.title, channel=command.get("channel_id"))
    try:
        open_ticket_modal(
            _answering_in_time(client), runtime, organization, actor, command["trigger_id"], prefill
        )
    except (SlackClientError, OSError) as error:
        log.warning("the new-ticket form did not open: %r", error)
        if _may_have_opened(error):
            return {"response_type": "ephemeral", "text": MAYBE_OPENED}
        text = _without_the_form(runtime, organization, member, parsed, command)
        return {"response_type": "ephemeral", "text": text}
    return {}


TYPE_IT_INSTEAD = (
    "Type what is wrong after the command, e.g. `/ticket the printer on 3 jams`, and I "
    "will file it straight away."
)
FORM_DID_NOT_OPEN = "Slack did not open the ticket form in time; it may be having trouble."
MAYBE_OPENED = (
    ":hourglass_flowing_sand: Slack is slow to answer: the ticket form may open in a moment. "
    f"If it does not: {TYPE_IT_INSTEAD}"
)


def _answering_in_time(client: WebClient) -> WebClient:
    """The same client, trying once and giving up in time for the command's own answer to
    reach Slack."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=MODAL_OPEN_TIMEOUT_SECONDS,  # type: ignore[arg-type]
        proxy=client.proxy,
        ssl=client.ssl,
        retry_handlers=[],
    )


def _may_have_opened(error: Exception) -> bool:
    """A request that reached Slack and got no answer (a timeout, a dropped connection)
    may have opened the form; filing the typed text as well would make two tickets once
    it is submitted. Certain failures: Slack answered with an error, or the connection
    never got through (urllib wraps those in URLError)."""
    return not isinstance(error, (SlackApiError, URLError))


def _without_the_form(
    runtime: Runtime,
    organization: Organization,
    member: Member,
    parsed: ParsedCommand,
    command: dict[str, Any],
) -> str:
    """When Slack cannot open the form (down, or slow): file what was typed, or say how."""
    if not parsed.title:
        return f":warning: {FORM_DID_NOT_OPEN} {TYPE_IT_INSTEAD}"
    with runtime.db.session() as session:
        ticket = ticket_flows.file_typed_text(
            session,
            organization=organization,
            member=member,
            text=parsed.title,
            channel=command.get("channel_id"),
        )
        number, title = ticket.ticket_number, ticket.title
    return (
        f":ticket: Slack did not open the ticket form in time, so I filed what you typed as "
        f"ticket #{number}: {escape(title)}. The IT team has it; I will DM you about it."
    )


def open_setup_modal(
    client: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
    command: dict[str, Any],
) -> None:
    """`/ticket setup`: the settings modal, for workspace admins and Ticketbot admins (asked
    of Slack now: being made a workspace admin must work without waiting)."""
    slack_user = client.users_info(user=command["user_id"])["user"]
    slack_admin = is_workspace_admin(slack_user, organization)
    with runtime.db.session() as session:
        setup_flow.record_slack_admin(session, member=member, slack_admin=slack_admin)
        setup_flow.ensure_can_configure(member, slack_admin=slack_admin)
        view = setup_flow.setup_view(
            session,
            organization=organization,
            staff_channel=runtime.directory.staff_channel(organization),
        )
    client.views_open(trigger_id=command["trigger_id"], view=view)


# Sub-commands answered in the command's own reply (the others open a modal or answer
# through response_url).
ANSWERED_IN_THE_ACK: dict[str, Callable[..., dict[str, Any]]] = {
    "help": _help_answer,
    "mine": _ticket_list_answer,
    "show": _ticket_list_answer,
    "time": _time_answer,
    "report": _report_answer,
}


def register(app: App) -> None:
    app.command(Command.TICKET)(ticket_command)
