"""Buttons and menus: the staff card, the DM offer, App Home links."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App

from bot.blocks.conversation import internal_note_modal, reply_modal
from bot.blocks.csat import comment_modal, survey_preface
from bot.blocks.search import PageRef, save_view_modal, view_results_modal
from bot.blocks.tickets import ticket_id_from_block_id
from bot.core.errors import NotFound, PermissionDenied
from bot.flows import conversation
from bot.flows import csat as csat_flows
from bot.flows import search as search_flows
from bot.flows import tickets as ticket_flows
from bot.flows import views as ticket_views
from bot.flows.reactions import fetch_message
from bot.ids import Action, CardMore
from bot.outbox.render import ticket_view
from bot.runtime import Runtime
from bot.services import tickets as ticket_service
from bot.services.actors import Actor
from handlers.commands import open_setup_modal
from handlers.common import open_ticket_modal, source_prefill
from models import CsatRating, Member, Organization, saved_id

STAFF_ONLY = "Only the IT team can change tickets. Your request is in good hands!"
ADD_TO_TICKET = re.compile(rf"^{Action.OFFER_ADD_TO_TICKET}:(\d{{1,18}})$")
OPEN_CARD = re.compile(rf"^{Action.OPEN_CARD}:\d+$")
SEARCH_PAGE = re.compile(rf"^{Action.SEARCH_PAGE}:\w+$")
OPEN_VIEW = re.compile(rf"^{Action.OPEN_VIEW}:\d+$")
SAVE_VIEW = re.compile(rf"^{Action.SAVE_VIEW}:\w+$")


def _staff_ticket_id(actor: Actor, action: dict[str, Any]) -> int:
    if not actor.is_staff:
        raise PermissionDenied(STAFF_ONLY)
    ticket_id = ticket_id_from_block_id(action.get("block_id"))
    if ticket_id is None:
        raise NotFound("That card does not belong to a ticket I know.")
    return ticket_id


def card_action(
    ack: Ack,
    action: dict[str, Any],
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
) -> None:
    """Assign, reassign, change status, priority, category or client; staff only."""
    ack()
    ticket_id, picked = _staff_ticket_id(actor, action), action.get("selected_user")
    with runtime.db.session() as session:
        picked_id = picked and runtime.directory.member_for(session, organization, picked).id
        ticket_flows.change_ticket_by_id(
            session,
            organization=organization,
            ticket_id=ticket_id,
            actor=actor,
            changes=ticket_flows.card_changes(
                *_control(action), member_id=member.id, picked_id=picked_id
            ),
            is_staff=runtime.directory.staff_check(organization),
        )


def _control(action: dict[str, Any]) -> tuple[str, str | None]:
    """The control used on the card (its action_id) and the option chosen, if any."""
    return action.get("action_id", ""), (action.get("selected_option") or {}).get("value")


def card_more(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
) -> None:
    """The card's ⋯ menu: a note opens its form; the rest change the ticket."""
    if (action.get("selected_option") or {}).get("value") == CardMore.NOTE:
        note = {**action, "action_id": Action.ADD_INTERNAL_NOTE}
        open_comment_modal(ack, note, body, client, runtime, organization, member, actor)
    else:
        card_action(ack, action, runtime, organization, member, actor)


def open_comment_modal(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
    actor: Actor,
) -> None:
    """ "Add internal note" / "Reply to requester": a modal; staff only."""
    ack()
    ticket_id = _staff_ticket_id(actor, action)
    with runtime.db.session() as session:
        ticket = ticket_service.get_ticket(
            session, organization_id=organization.id, ticket_id=ticket_id
        )
        view = ticket_view(session, ticket)
    modal = (
        internal_note_modal(view)
        if action["action_id"] == Action.ADD_INTERNAL_NOTE
        else reply_modal(view, staff_name=member.name)
    )
    client.views_open(trigger_id=body["trigger_id"], view=modal)


def offer_new_ticket(
    ack: Ack,
    body: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    actor: Actor,
) -> None:
    """ "File as a new ticket" under a DM: the new-ticket form, prefilled from the DM."""
    ack()
    channel, message = _dm_message(client, body)
    prefill = source_prefill(message, channel, None)
    # The offer is replaced by the confirmation once the ticket is filed.
    prefill.source["offer_ts"] = (body.get("container") or {}).get("message_ts")
    open_ticket_modal(client, runtime, organization, actor, body["trigger_id"], prefill)


def offer_add_to_ticket(
    ack: Ack,
    body: dict[str, Any],
    client: Any,
    respond: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
) -> None:
    """ "Add to #N" under a DM: the message becomes the requester's reply on ticket N."""
    ack()
    match = ADD_TO_TICKET.match(body["actions"][0].get("action_id", ""))
    if match is None:
        raise NotFound("I don't know that ticket.")
    _, message = _dm_message(client, body)
    with runtime.db.session() as session:
        number = conversation.add_dm_to_ticket(
            session,
            organization=organization,
            member=member,
            ticket_id=int(match.group(1)),
            message=message,
        )
    respond(text=f":white_check_mark: Added to ticket #{number}.", replace_original=True)


def _dm_message(client: Any, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The DM an offer was made about: (its channel, the message). It must be in the DM
    where the offer was clicked and written by the person who clicked, whatever the
    button's value says (a value pointing elsewhere, say at a staff thread, is refused)."""
    try:
        where = json.loads(body["actions"][0].get("value") or "{}")
    except ValueError:
        where = {}
    here = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
    if not isinstance(where, dict) or not here or where.get("channel") != here:
        raise NotFound("I can't find that message any more.")
    message = fetch_message(client, here, str(where.get("ts") or ""))
    if message is None or message.get("user") != (body.get("user") or {}).get("id"):
        raise NotFound("I can't find that message any more.")
    return here, message


def requester_verdict(
    ack: Ack,
    action: dict[str, Any],
    respond: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
) -> None:
    """ "It's fixed" / "Still broken" under a notice to the requester."""
    ack()
    with runtime.db.session() as session:
        verdict = conversation.requester_verdict(
            session,
            organization=organization,
            member=member,
            ticket_id=action.get("value") or "",
            fixed=action.get("action_id") == Action.REQUESTER_FIXED,
        )
    respond(text=verdict.text, blocks=verdict.blocks, replace_original=True)


def open_setup(
    ack: Ack,
    body: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    member: Member,
) -> None:
    """ "Set up Ticketbot" (the welcome DM, an admin's App Home): the `/ticket setup` form."""
    ack()
    who = {"user_id": (body.get("user") or {}).get("id"), "trigger_id": body["trigger_id"]}
    open_setup_modal(client, runtime, organization, member, who)


def _survey_ticket_id(action: dict[str, Any]) -> int:
    value = action.get("value") or ""
    if not value.isdigit():
        raise NotFound("I don't know that ticket.")
    return int(value)


def answer_survey(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    runtime: Runtime,
    organization: Organization,
    member: Member,
) -> None:
    """Good / Bad under "How did we do?" in the requester's DM thread."""
    ack()
    container = body.get("container") or {}
    rating = CsatRating.GOOD if action["action_id"] == Action.CSAT_GOOD else CsatRating.BAD
    with runtime.db.session() as session:
        csat_flows.answer(
            session,
            organization=organization,
            member=member,
            ticket_id=_survey_ticket_id(action),
            rating=rating,
            channel=container.get("channel_id"),
            ts=container.get("message_ts"),
            preface=survey_preface(body.get("message")),
        )


def open_survey_comment(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
) -> None:
    """ "Add a comment" under the survey: a modal."""
    ack()
    with runtime.db.session() as session:
        ticket = ticket_service.get_ticket(
            session, organization_id=organization.id, ticket_id=_survey_ticket_id(action)
        )
    modal = comment_modal(ticket_id=saved_id(ticket), number=ticket.ticket_number)
    client.views_open(trigger_id=body["trigger_id"], view=modal)


def switch_notifications(
    ack: Ack, action: dict[str, Any], runtime: Runtime, member: Member, actor: Actor
) -> None:
    """The App Home's notification checkboxes: the ticked kinds are on, the others off."""
    ack()
    enabled = [o.get("value", "") for o in action.get("selected_options") or []]
    with runtime.db.session() as session:
        ticket_views.save_notifications(
            session, member=member, is_staff=actor.is_staff, enabled=enabled
        )


def acknowledge_link(ack: Ack) -> None:
    """Link buttons (App Home's "Open card") also send an action; nothing to do."""
    ack()


def _search_page(
    action: dict[str, Any], runtime: Runtime, organization: Organization, actor: Actor
) -> tuple[PageRef, search_flows.Answer]:
    """The page of results a search button's value points at."""
    ref = PageRef.read(action.get("value"))
    with runtime.db.session() as session:
        answer = search_flows.find_page(
            session, organization=organization, viewer=actor, ref=ref, now=runtime.clock()
        )
    return ref, answer


def search_page(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    client: Any,
    respond: Any,
    runtime: Runtime,
    organization: Organization,
    actor: Actor,
) -> None:
    """Next / Previous under a search (in an ephemeral answer or a view's modal)."""
    ack()
    _, answer = _search_page(action, runtime, organization, actor)
    view = body.get("view")
    if view:
        title = (view.get("title") or {}).get("text", "View")
        client.views_update(view_id=view["id"], view=view_results_modal(title, answer.blocks))
    else:
        respond(text=answer.text, blocks=answer.blocks, replace_original=True)


def open_saved_view(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    client: Any,
    runtime: Runtime,
    organization: Organization,
    actor: Actor,
) -> None:
    """A view's Open on App Home: its first page in a modal."""
    ack()
    ref, answer = _search_page(action, runtime, organization, actor)
    modal = view_results_modal(ref.view or "View", answer.blocks)
    client.views_open(trigger_id=body["trigger_id"], view=modal)


def ask_view_name(ack: Ack, action: dict[str, Any], body: dict[str, Any], client: Any) -> None:
    """ "Save as view": a modal asking for its name."""
    ack()
    ref = PageRef.read(action.get("value"))
    client.views_open(trigger_id=body["trigger_id"], view=save_view_modal(ref.query))


# The card's buttons and menus that change the ticket.
CARD_CHANGES = (
    Action.ASSIGN_TO_ME,
    Action.ASSIGNEE,
    Action.STATUS,
    Action.PRIORITY,
    Action.CLIENT_COMPANY,
    Action.CATEGORY,
    Action.REOPEN,
)


def register(app: App) -> None:
    app.action(SEARCH_PAGE)(search_page)
    app.action(OPEN_VIEW)(open_saved_view)
    app.action(SAVE_VIEW)(ask_view_name)
    for action_id in CARD_CHANGES:
        app.action(action_id)(card_action)
    app.action(Action.CARD_MORE)(card_more)
    for action_id in (Action.REPLY_TO_REQUESTER, Action.ADD_INTERNAL_NOTE):
        app.action(action_id)(open_comment_modal)
    app.action(Action.OFFER_NEW_TICKET)(offer_new_ticket)
    app.action(ADD_TO_TICKET)(offer_add_to_ticket)
    app.action(OPEN_CARD)(acknowledge_link)
    app.action(Action.OPEN_SETUP)(open_setup)
    for action_id in (Action.REQUESTER_FIXED, Action.REQUESTER_STILL_BROKEN):
        app.action(action_id)(requester_verdict)
    app.action(Action.CSAT_GOOD)(answer_survey)
    app.action(Action.CSAT_BAD)(answer_survey)
    app.action(Action.CSAT_COMMENT)(open_survey_comment)
    app.action(Action.NOTIFICATIONS)(switch_notifications)
