"""A ticket filed, changed or commented on through the API causes the very Slack messages
(outbox rows) that the same action through the Slack workflows causes."""

from __future__ import annotations

import re
from typing import Any

from bot.flows import tickets as ticket_flows
from bot.outbox import render as outbox_render
from bot.services.actors import Actor, member_has_staff_role
from models import MessageRole, Organization, OutboxMessage, Ticket
from models.ticket import TicketCreate
from tests.api.conftest import Api

TICKET = {
    "title": "VPN <drops> & reconnects",
    "description": "Every 5 minutes since Monday",
    "priority": "high",
    "category": "network",
}


def _shape(rows: list[OutboxMessage], ticket: Ticket) -> list[tuple[Any, ...]]:
    """The rows with what must differ between two tickets (id, number) blanked out."""

    def blank(text: str) -> str:
        text = re.sub(rf"(?<![\d.⟪]){ticket.id}(?![\d.⟫])", "<id>", text)
        return text.replace(f"#{ticket.ticket_number}", "#<number>")

    def payload(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: payload(v) for k, v in sorted(value.items())}
        if isinstance(value, list):
            return [payload(v) for v in value]
        return blank(value) if isinstance(value, str) else value

    return [
        (r.method, r.lane, r.channel_ref, r.ts_ref, r.thread_ref, r.record_as, payload(r.payload))
        for r in rows
    ]


def _tickets(api: Api) -> tuple[Ticket, Ticket]:
    """A ticket filed through the Slack workflow and one filed through the API, alike."""
    with api.db.session() as session:
        organization = session.get(Organization, api.ws.organization.id)
        via_slack = ticket_flows.file_ticket(
            session,
            organization=organization,
            filer=Actor.for_member(api.ws.alice),
            requester=api.ws.alice,
            request=TicketCreate(**TICKET),
        )
    response = api.post(
        "/api/tickets", json={**TICKET, "requester_slack_user_id": api.ws.alice.slack_user_id}
    )
    assert response.status_code == 201
    with api.db.session() as session:
        via_api = session.get(Ticket, response.json()["id"])
    return via_slack, via_api


def test_filing_through_the_api_enqueues_what_filing_in_slack_does(api: Api):
    via_slack, via_api = _tickets(api)
    slack_rows, api_rows = api.outbox(via_slack.id), api.outbox(via_api.id)
    assert _shape(api_rows, via_api) == _shape(slack_rows, via_slack)
    # And that is the staff card plus the requester's "received" DM.
    assert [r.record_as for r in api_rows] == [MessageRole.STAFF_CARD, MessageRole.REQUESTER_DM]
    assert api_rows[1].payload["dm_user"] == api.ws.alice.slack_user_id
    # The card is drawn when it is delivered, from the ticket as it is then.
    card = dict(api_rows[0].payload)
    with api.db.read_session() as session:
        outbox_render.render(session, api_rows[0], card)
    assert "VPN &lt;drops&gt; &amp; reconnects" in card["text"]


def test_changing_and_commenting_through_the_api_enqueue_what_the_workflows_do(api: Api):
    via_slack, via_api = _tickets(api)
    integration = Actor.integration("API: monitoring")
    changes = {"status": "pending", "assigned_staff_id": api.ws.tech.id, "priority": "urgent"}
    comments = [("Please reboot", "public_reply"), ("Looks like the ISP", "internal_note")]
    marks = {via_slack.id: len(api.outbox(via_slack.id)), via_api.id: len(api.outbox(via_api.id))}

    with api.db.session() as session:
        organization = session.get(Organization, api.ws.organization.id)
        ticket = session.get(Ticket, via_slack.id)
        ticket_flows.change_ticket(
            session,
            organization=organization,
            ticket=ticket,
            actor=integration,
            changes=changes,
            is_staff=member_has_staff_role,
        )
        for content, kind in comments:
            ticket_flows.add_comment(
                session,
                organization=organization,
                ticket=ticket,
                actor=integration,
                content=content,
                comment_type=kind,
            )
    assert api.patch(f"/api/tickets/{via_api.id}", json=changes).status_code == 200
    for content, kind in comments:
        response = api.post(
            f"/api/tickets/{via_api.id}/comments", json={"content": content, "comment_type": kind}
        )
        assert response.status_code == 201

    slack_rows = api.outbox(via_slack.id)[marks[via_slack.id] :]
    api_rows = api.outbox(via_api.id)[marks[via_api.id] :]
    assert len(api_rows) > len(comments) + 1  # the comments, the change line, the card
    assert _shape(api_rows, via_api) == _shape(slack_rows, via_slack)
