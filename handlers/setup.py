"""`/ticket setup`'s client companies: Add, Edit and Remove push a modal over the setup
modal; saving it writes at once and redraws the setup modal's list beneath (Slack keeps
what the admin typed there, the inputs' ids being the same)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.setup import EDIT, company_modal, read_company_form, remove_company_modal
from bot.core.errors import NotFound
from bot.core.text import from_slack
from bot.flows import setup as setup_flow
from bot.ids import Action, Callback
from bot.runtime import Runtime
from bot.services import client_companies
from models import Member, Organization

log = logging.getLogger(__name__)


def _company_id(view: dict[str, Any]) -> int | None:
    try:
        value = json.loads(view.get("private_metadata") or "{}").get("company_id")
    except (ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int) else None


def _allowed(runtime: Runtime, member: Member) -> Member:
    """The member as stored, if they may change the setup (else PermissionDenied)."""
    with runtime.db.read_session() as session:
        stored = session.get(Member, member.id) or member
    setup_flow.ensure_can_configure(stored, slack_admin=False)
    return stored


def add_company(
    ack: Ack, body: dict[str, Any], client: Any, runtime: Runtime, member: Member
) -> None:
    """ "Add client company": an empty company modal over the setup modal."""
    ack()
    _allowed(runtime, member)
    client.views_push(trigger_id=body["trigger_id"], view=company_modal(None))


def company_menu(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
) -> None:
    """A listed company's Edit / Remove menu."""
    ack()
    _allowed(runtime, member)
    kind, _, raw_id = ((action.get("selected_option") or {}).get("value") or "").partition(":")
    if not raw_id.isdigit() or len(raw_id) > 18:
        raise NotFound("I don't know that client company.")
    with runtime.db.read_session() as session:
        found = client_companies.summaries(session, organization=organization)
    company = next((c for c in found if c.id == int(raw_id)), None)
    if company is None:
        raise NotFound("That client company was removed meanwhile.")
    view = company_modal(company) if kind == EDIT else remove_company_modal(company)
    client.views_push(trigger_id=body["trigger_id"], view=view)


def _redraw_setup(
    client: Any, runtime: Runtime, organization: Organization, view: dict[str, Any]
) -> None:
    """Redraw the setup modal under the company modal with the companies as now saved."""
    parent = view.get("previous_view_id")
    if not parent:
        return
    staff_channel = runtime.directory.staff_channel(organization)
    with runtime.db.read_session() as session:
        org = session.get(Organization, organization.id) or organization
        setup = setup_flow.setup_view(session, organization=org, staff_channel=staff_channel)
    try:
        client.views_update(view_id=parent, view=setup)
    except (SlackApiError, SlackClientError, OSError) as error:
        log.warning("could not redraw the setup modal: %s", error)


def submit_company(
    ack: Ack,
    view: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
) -> None:
    """Save the company modal (field errors stay in it); back to the setup modal."""
    stored = _allowed(runtime, member)
    form = read_company_form((view.get("state") or {}).get("values") or {})
    form = replace(form, name=from_slack(form.name))
    with runtime.db.session() as session:
        setup_flow.save_company(
            session,
            organization=organization,
            company_id=_company_id(view),
            form=form,
            saved_by=stored,
        )
    _redraw_setup(client, runtime, organization, view)
    ack()


def submit_remove_company(
    ack: Ack,
    view: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
) -> None:
    """ "Remove": the company goes (its history stays); back to the setup modal."""
    stored = _allowed(runtime, member)
    company_id = _company_id(view)
    if company_id is None:
        raise NotFound("I don't know that client company.")
    with runtime.db.session() as session:
        setup_flow.remove_company(
            session, organization=organization, company_id=company_id, removed_by=stored
        )
    _redraw_setup(client, runtime, organization, view)
    ack()


def register(app: App) -> None:
    app.action(Action.COMPANY_ADD)(add_company)
    app.action(Action.COMPANY_MENU)(company_menu)
    app.view(Callback.COMPANY_MODAL)(submit_company)
    app.view(Callback.REMOVE_COMPANY_MODAL)(submit_remove_company)
