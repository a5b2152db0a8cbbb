"""Modal submissions."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlmodel import Session

from bot.blocks.conversation import ticket_id_from_metadata
from bot.blocks.search import view_saved_modal
from bot.blocks.setup import SlaPicks, read_automation_section, read_sla_picks
from bot.core.errors import InvalidInput
from bot.core.text import from_slack
from bot.flows import csat as csat_flows
from bot.flows import search as search_flows
from bot.flows import setup as setup_flow
from bot.flows import tickets as ticket_flows
from bot.flows import time_tracking as time_flows
from bot.flows.reactions import fetch_message
from bot.flows.tickets import source_files
from bot.ids import Block, Callback, Field
from bot.runtime import Runtime
from bot.services.actors import Actor
from bot.slack.dedupe import submit_once
from models import Member, Organization
from models.ticket import TicketCreate


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The modal's private_metadata, as we wrote it (or empty if it is not ours)."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return metadata if isinstance(metadata, dict) else {}


def _source_files_again(source: Any, client: Any) -> dict[str, Any]:
    """The source message as remembered, with its files read again from Slack when there
    were too many to remember."""
    if not isinstance(source, dict):
        return {}
    if not source.pop("files_in_message", False) or client is None:
        return source
    try:
        message = fetch_message(client, str(source.get("channel")), str(source.get("ts")))
    except (SlackApiError, SlackClientError, OSError):
        raise InvalidInput(
            "Slack did not let me read the message's files just now. Please submit again."
        ) from None
    return {**source, "files": source_files(message or {})}


class NewTicketForm(BaseModel):
    """What the "New ticket" modal submitted."""

    title: str = ""
    description: str = ""
    priority: str | None = None
    category: str | None = None
    requester: str | None = None
    client_company_id: int | None = None
    channel: str | None = None
    source: dict[str, Any] = {}

    @classmethod
    def from_view(cls, view: dict[str, Any], client: Any = None) -> NewTicketForm:
        """The submitted form (a message's files too many to remember are read again)."""
        values = (view.get("state") or {}).get("values") or {}

        def element(block: Block) -> dict[str, Any]:
            return (values.get(block) or {}).get(Field.VALUE) or {}

        def selected(block: Block) -> str | None:
            option = element(block).get("selected_option") or {}
            return option.get("value")

        metadata = _metadata(view)
        source = _source_files_again(metadata.get("source"), client)
        company = selected(Block.CLIENT_COMPANY)
        channel = metadata.get("channel")
        return cls(
            title=from_slack(element(Block.TITLE).get("value")),
            description=from_slack(element(Block.DESCRIPTION).get("value")),
            priority=selected(Block.PRIORITY),
            category=selected(Block.CATEGORY),
            requester=element(Block.REQUESTER).get("selected_user"),
            client_company_id=int(company) if company and company.isdigit() else None,
            channel=channel if isinstance(channel, str) else None,
            source=source if isinstance(source, dict) else {},
        )

    def requester_in(
        self, session: Session, runtime: Runtime, organization: Organization, member: Member
    ) -> Member:
        """Who the ticket is for: chosen by staff, the message's author, or the submitter."""
        slack_id = self.requester or self.source.get("author") or member.slack_user_id
        if slack_id and slack_id != member.slack_user_id:
            return runtime.directory.member_for(session, organization, slack_id)
        return member

    def to_request(self) -> TicketCreate:
        return TicketCreate(
            title=self.title,
            description=self.description,
            priority=self.priority,
            category=self.category,
            source=self.source,
            client_company_id=self.client_company_id,
            channel=self.channel,
        )


def submit_new_ticket(
    ack: Ack,
    body: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
) -> None:
    """File the ticket; it is committed before Slack gets the ack."""
    form = NewTicketForm.from_view(body["view"], client)
    filer = actor.decided()  # the commit's writer must not wait on Slack

    def file(session: Session) -> None:
        ticket_flows.file_ticket(
            session,
            organization=organization,
            filer=filer,
            requester=form.requester_in(session, runtime, organization, member),
            request=form.to_request(),
        )

    submit_once(runtime.db, body, file)  # the same submission again: no effect
    ack()


def _value(view: dict[str, Any], block: Block) -> str:
    values = (view.get("state") or {}).get("values") or {}
    value: str = ((values.get(block) or {}).get(Field.VALUE) or {}).get("value") or ""
    return value


def _selected(view: dict[str, Any], block: Block) -> str | None:
    values = (view.get("state") or {}).get("values") or {}
    option = ((values.get(block) or {}).get(Field.VALUE) or {}).get("selected_option") or {}
    selected: str | None = option.get("value")
    return selected


def submit_comment(
    ack: Ack, body: dict[str, Any], runtime: Runtime, organization: Organization, actor: Actor
) -> None:
    """An internal note or a reply to the requester (then, perhaps, Pending or resolved;
    and the time it took, when given), from the card's modals."""
    view = body["view"]
    internal = view.get("callback_id") == Callback.INTERNAL_NOTE_MODAL
    # Who is staff is decided here: the commit's writer must not wait on Slack.
    author, is_staff = actor.decided(), runtime.directory.staff_snapshot(organization)

    def comment(session: Session) -> None:
        time_flows.comment_from_card_with_time(
            session,
            organization=organization,
            actor=author,
            ticket_id=ticket_id_from_metadata(view.get("private_metadata")),
            content=from_slack(_value(view, Block.NOTE if internal else Block.REPLY)),
            internal=internal,
            then=_selected(view, Block.REPLY_THEN),
            is_staff=is_staff,
            duration=_value(view, Block.LOG_TIME),
        )

    submit_once(runtime.db, body, comment)  # the same submission again: no effect
    ack()


class SetupForm(BaseModel):
    """What the `/ticket setup` modal submitted."""

    staff_channel: str | None = None
    categories: list[str] = []
    default_priority: str | None = None
    request_channels: list[str] = []
    sla_picks: SlaPicks | None = None
    automations: dict[str, Any] = {}

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> SetupForm:
        values = (view.get("state") or {}).get("values") or {}

        def element(block: Block) -> dict[str, Any]:
            return (values.get(block) or {}).get(Field.VALUE) or {}

        return cls(
            staff_channel=element(Block.STAFF_CHANNEL).get("selected_conversation"),
            categories=(element(Block.CATEGORIES).get("value") or "").splitlines(),
            default_priority=(element(Block.DEFAULT_PRIORITY).get("selected_option") or {}).get(
                "value"
            ),
            request_channels=element(Block.REQUEST_CHANNELS).get("selected_conversations") or [],
            sla_picks=read_sla_picks(values),
            automations=read_automation_section(values),
        )


def submit_setup(
    ack: Ack, view: dict[str, Any], runtime: Runtime, organization: Organization, member: Member
) -> None:
    """Save `/ticket setup`; it takes effect at once."""
    form = SetupForm.from_view(view)
    with runtime.db.session() as session:
        stored = session.get(Member, member.id)
        setup_flow.ensure_can_configure(stored or member, slack_admin=False)
        setup_flow.apply_setup(
            session,
            organization=organization,
            staff_channel=form.staff_channel,
            categories=form.categories,
            default_priority=form.default_priority,
            request_channels=form.request_channels,
            sla_picks=form.sla_picks,
            automations=form.automations,
            saved_by=stored or member,
        )
    runtime.directory.forget_staff(organization)
    ack()


def submit_saved_view(
    ack: Ack,
    view: dict[str, Any],
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
) -> None:
    """ "Save as view": the query of the search, under the name typed."""
    values = (view.get("state") or {}).get("values") or {}
    name = ((values.get(Block.VIEW_NAME) or {}).get(Field.VALUE) or {}).get("value") or ""
    with runtime.db.session() as session:
        saved = search_flows.save_view(
            session,
            organization=organization,
            viewer=actor,
            member=member,
            name=from_slack(name),
            query=view.get("private_metadata") or "",
            now=runtime.clock(),
        )
        saved_name = saved.name
    ack(response_action="update", view=view_saved_modal(saved_name))


def submit_survey_comment(
    ack: Ack, view: dict[str, Any], runtime: Runtime, organization: Organization, member: Member
) -> None:
    """The requester's comment on the satisfaction survey."""
    values = (view.get("state") or {}).get("values") or {}
    text = ((values.get(Block.CSAT_COMMENT) or {}).get(Field.VALUE) or {}).get("value")
    with runtime.db.session() as session:
        csat_flows.comment(
            session,
            organization=organization,
            member=member,
            ticket_id=int(_metadata(view).get("ticket_id") or 0),
            text=from_slack(text),
        )
    ack()


def register(app: App) -> None:
    app.view(Callback.SAVE_VIEW_MODAL)(submit_saved_view)
    app.view(Callback.NEW_TICKET_MODAL)(submit_new_ticket)
    app.view(Callback.INTERNAL_NOTE_MODAL)(submit_comment)
    app.view(Callback.REPLY_MODAL)(submit_comment)
    app.view(Callback.SETUP_MODAL)(submit_setup)
    app.view(Callback.CSAT_COMMENT_MODAL)(submit_survey_comment)
