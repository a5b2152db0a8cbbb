"""Time tracking in Slack: the card's Start timer / Stop timer / Log time, the Log time
modal, App Home's Stop button, and `/ticket time …` (dispatched from `commands`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from slack_bolt import Ack, App

from bot.blocks.time_tracking import log_time_modal, logged_notice_modal
from bot.core.errors import DomainError, NotFound
from bot.core.text import from_slack
from bot.flows import time_tracking as time_flows
from bot.flows import views as ticket_views
from bot.ids import Action, Block, Callback, Field
from bot.runtime import Runtime
from bot.services import tickets as ticket_service
from bot.services import time_tracking as tt
from bot.services.actors import Actor
from models import Member, Organization, saved_id


class LogTimeForm(BaseModel):
    """What the Log time modal submitted."""

    ticket_id: int | None
    duration: str = ""
    work_type_id: int | None = None
    billable: bool | None = None
    note: str = ""

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> LogTimeForm:
        values = (view.get("state") or {}).get("values") or {}

        def element(block: Block) -> dict[str, Any]:
            return (values.get(block) or {}).get(Field.VALUE) or {}

        work_type = (element(Block.WORK_TYPE).get("selected_option") or {}).get("value")
        billable = (element(Block.BILLABLE).get("selected_option") or {}).get("value")
        metadata = view.get("private_metadata") or ""
        return cls(
            ticket_id=int(metadata) if metadata.isdigit() else None,
            duration=element(Block.DURATION).get("value") or "",
            work_type_id=int(work_type) if work_type and work_type.isdigit() else None,
            billable={"yes": True, "no": False}.get(billable or ""),
            note=from_slack(element(Block.TIME_NOTE).get("value")),
        )

    def flow_args(self) -> dict[str, Any]:
        if self.ticket_id is None:
            raise NotFound("I lost track of which ticket this was for; please try again.")
        return self.model_dump()


def _ticket_id(action: dict[str, Any]) -> int:
    value = action.get("value") or ""
    if not value.isdigit():
        raise NotFound("That card does not belong to a ticket I know.")
    return int(value)


def card_timer(
    ack: Ack,
    action: dict[str, Any],
    respond: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
) -> None:
    """Start timer / Stop timer on the card: each acts for whoever pressed it."""
    ack()
    with runtime.db.session() as session:
        if action["action_id"] == Action.START_TIMER:
            text = time_flows.start_from_slack(
                session,
                organization=organization,
                member=member,
                actor=actor,
                ticket_id=_ticket_id(action),
            )
        else:
            text = time_flows.stop_from_slack(
                session, organization=organization, member=member, actor=actor
            )
    respond(text=text, response_type="ephemeral", replace_original=False)


def open_log_time(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    actor: Actor,
) -> None:
    ack()
    tt.ensure_staff(actor)
    with runtime.db.read_session() as session:
        ticket = ticket_service.get_ticket(
            session, organization_id=organization.id, ticket_id=_ticket_id(action)
        )
        work_types = tt.list_work_types(session, organization_id=organization.id)
    modal = log_time_modal(
        ticket_id=saved_id(ticket), ticket_number=ticket.ticket_number, work_types=work_types
    )
    client.views_open(trigger_id=body["trigger_id"], view=modal)


def submit_log_time(
    ack: Ack,
    view: dict[str, Any],
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
) -> None:
    """The Log time modal; field errors come back on their inputs (see app's error view)."""
    form = LogTimeForm.from_view(view)
    with runtime.db.session() as session:
        text = time_flows.log_from_slack(
            session, organization=organization, member=member, actor=actor, **form.flow_args()
        )
    if "overlaps" in text:
        ack(response_action="update", view=logged_notice_modal(text))
    else:
        ack()


def home_stop_timer(
    ack: Ack,
    client: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
) -> None:
    """App Home's Stop timer; the Home tab is drawn again."""
    ack()
    tt.ensure_staff(actor)
    with runtime.db.session() as session:
        time_flows.stop_from_slack(session, organization=organization, member=member, actor=actor)
    with runtime.db.read_session() as session:
        view = ticket_views.home_view(
            session,
            organization=organization,
            viewer=actor,
            staff_channel=runtime.directory.staff_channel(organization),
        )
    client.views_publish(user_id=member.slack_user_id, view=view)


def time_command_text(
    text: str, runtime: Runtime, organization: Organization, member: Member, actor: Actor
) -> str:
    """`/ticket time [start 42 | stop [note] | log 42 45m [note]]`: the ephemeral answer."""
    if not actor.is_staff:
        return "Only the IT team tracks time."
    try:
        with runtime.db.session() as session:
            return time_flows.time_command(
                session, text=text, organization=organization, member=member, actor=actor
            )
    except DomainError as error:
        return error.message


def register(app: App) -> None:
    app.action(Action.START_TIMER)(card_timer)
    app.action(Action.STOP_TIMER)(card_timer)
    app.action(Action.LOG_TIME)(open_log_time)
    app.action(Action.HOME_STOP_TIMER)(home_stop_timer)
    app.view(Callback.LOG_TIME_MODAL)(submit_log_time)
