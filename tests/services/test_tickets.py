"""Ticket rules: creation, lookup and updates with their event log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.errors import InvalidInput, NotFound, PermissionDenied
from bot.services import organizations as orgs
from bot.services import tickets as svc
from bot.services.actors import Actor
from models import MemberRole, Ticket, TicketEvent, TicketPriority, TicketStatus
from models.ticket import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH
from tests.services.factories import count, file_ticket, make_workspace, set_updated_at

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


# --- creation -------------------------------------------------------------------------------


def test_numbers_start_at_one_and_each_organization_counts_alone(db):
    with db.session() as session:
        a = make_workspace(session, "TA")
        b = make_workspace(session, "TB")
        numbers_a = [file_ticket(session, a).ticket_number for _ in range(3)]
        numbers_b = [file_ticket(session, b).ticket_number for _ in range(2)]
        numbers_a.append(file_ticket(session, a).ticket_number)
    with db.session() as session:
        numbers_a.append(file_ticket(session, a).ticket_number)
        numbers_b.append(file_ticket(session, b).ticket_number)
    assert numbers_a == [1, 2, 3, 4, 5]
    assert numbers_b == [1, 2, 3]


def test_create_stores_the_fields_and_logs_creation(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(
            session,
            ws,
            title="VPN drops",
            description="  Every 5 minutes.  ",
            priority="high",
            category="network",
            device_id=" LAPTOP-7 ",
        )
    with db.session() as session:
        stored = svc.get_ticket(session, organization_id=ws.organization.id, ticket_id=ticket.id)
        assert (stored.title, stored.description, stored.priority, stored.category) == (
            "VPN drops",
            "Every 5 minutes.",
            TicketPriority.HIGH,
            "network",
        )
        assert stored.status == TicketStatus.OPEN
        assert stored.requester_id == ws.alice.id
        assert stored.assigned_staff_id is None
        assert stored.device_id == "LAPTOP-7"
        assert stored.created_at.tzinfo is not None
        events = svc.list_events(session, ticket=stored)
        assert [(e.field, e.new_value, e.actor_id, e.actor_name) for e in events] == [
            ("created", "VPN drops", ws.alice.id, "Alice")
        ]


def test_title_whitespace_is_collapsed(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws, title="  Printer \n\t on    fire  ")
        assert ticket.title == "Printer on fire"
        # The limit counts the collapsed title.
        exact = file_ticket(session, ws, title="  " + "x" * TITLE_MAX_LENGTH + "\n")
        assert exact.title == "x" * TITLE_MAX_LENGTH


@pytest.mark.parametrize("title", ["", "   ", "\n\t ", None, "x" * (TITLE_MAX_LENGTH + 1)])
def test_bad_titles_are_refused(db, title):
    with db.session() as session:
        ws = make_workspace(session)
        with pytest.raises(InvalidInput) as caught:
            file_ticket(session, ws, title=title)
        assert caught.value.field == "title"
        assert count(session, Ticket) == 0


def test_description_over_the_limit_is_refused(db):
    with db.session() as session:
        ws = make_workspace(session)
        with pytest.raises(InvalidInput) as caught:
            file_ticket(session, ws, description="d" * (DESCRIPTION_MAX_LENGTH + 1))
        assert caught.value.field == "description"
        ok = file_ticket(session, ws, description="d" * DESCRIPTION_MAX_LENGTH)
        assert len(ok.description) == DESCRIPTION_MAX_LENGTH


@pytest.mark.parametrize(
    ("field", "value"), [("priority", "critical"), ("priority", "HIGH!"), ("category", "plumbing")]
)
def test_unknown_priority_or_category_is_refused(db, field, value):
    with db.session() as session:
        ws = make_workspace(session)
        with pytest.raises(InvalidInput) as caught:
            file_ticket(session, ws, **{field: value})
        assert caught.value.field == field
        assert count(session, Ticket) == 0


def test_a_refused_create_does_not_use_up_a_number(db):
    with db.session() as session:
        ws = make_workspace(session)
        assert file_ticket(session, ws).ticket_number == 1
        with pytest.raises(InvalidInput):
            file_ticket(session, ws, priority="nope")
        with pytest.raises(PermissionDenied):
            file_ticket(session, ws, requester=ws.bob, actor=ws.actor(ws.alice))
        assert file_ticket(session, ws).ticket_number == 2


def test_category_is_matched_case_insensitively_to_the_organizations_list(db):
    with db.session() as session:
        ws = make_workspace(session)
        assert file_ticket(session, ws, category="NETWORK").category == "network"
        assert file_ticket(session, ws, category=" Account & Access ").category == (
            "account & access"
        )
        orgs.update_organization_settings(
            session, organization=ws.organization, categories=["Printers", "Cloud"]
        )
        assert file_ticket(session, ws, category="printers").category == "Printers"
        assert file_ticket(session, ws, category=None).category is None
        with pytest.raises(InvalidInput) as caught:
            file_ticket(session, ws, category="network")  # no longer in the list
        assert caught.value.field == "category"


def test_default_priority_comes_from_the_organization(db):
    with db.session() as session:
        ws = make_workspace(session)
        assert file_ticket(session, ws).priority == TicketPriority.MEDIUM
        orgs.update_organization_settings(
            session, organization=ws.organization, default_priority="high"
        )
    with db.session() as session:
        assert file_ticket(session, ws).priority == TicketPriority.HIGH
        assert file_ticket(session, ws, priority="").priority == TicketPriority.HIGH
        assert file_ticket(session, ws, priority="low").priority == TicketPriority.LOW


def test_client_company_defaults_to_the_requesters(db):
    with db.session() as session:
        ws = make_workspace(session)
        acme = orgs.create_client_company(
            session, organization=ws.organization, name="Acme", email_domains=["acme.com"]
        )
        globex = orgs.create_client_company(session, organization=ws.organization, name="Globex")
        carol = orgs.create_member(
            session, organization=ws.organization, name="Carol", email="carol@ACME.com"
        )
        assert carol.client_company_id == acme.id
        assert file_ticket(session, ws, requester=carol).client_company_id == acme.id
        assert file_ticket(session, ws).client_company_id is None  # Alice has no company
        explicit = file_ticket(
            session, ws, requester=carol, actor=ws.actor(ws.tech), client_company_id=globex.id
        )
        assert explicit.client_company_id == globex.id


def test_end_users_file_only_for_themselves_staff_for_anyone(db):
    with db.session() as session:
        ws = make_workspace(session)
        with pytest.raises(PermissionDenied):
            file_ticket(session, ws, requester=ws.bob, actor=ws.actor(ws.alice))
        for_bob = file_ticket(session, ws, requester=ws.bob, actor=ws.actor(ws.tech))
        assert for_bob.requester_id == ws.bob.id
        by_api = file_ticket(session, ws, requester=ws.bob, actor=Actor.integration("REST"))
        assert by_api.requester_id == ws.bob.id
        events = svc.list_events(session, ticket=for_bob)
        assert [(e.actor_id, e.actor_name) for e in events] == [(ws.tech.id, "Tom Tech")]
        assert count(session, Ticket) == 2


# --- lookup ---------------------------------------------------------------------------------


def test_get_by_id_and_by_number(db):
    with db.session() as session:
        ws = make_workspace(session)
        first = file_ticket(session, ws, title="first")
        second = file_ticket(session, ws, title="second")
    with db.session() as session:
        org_id = ws.organization.id
        assert svc.get_ticket(session, organization_id=org_id, ticket_id=second.id).title == (
            "second"
        )
        assert svc.get_ticket_by_number(session, organization_id=org_id, number=1).id == first.id
        assert svc.get_ticket_by_number(session, organization_id=org_id, number=2).id == second.id
        with pytest.raises(NotFound):
            svc.get_ticket(session, organization_id=org_id, ticket_id=second.id + 100)
        with pytest.raises(NotFound):
            svc.get_ticket_by_number(session, organization_id=org_id, number=3)


# --- updates --------------------------------------------------------------------------------


def _update(session, ws, ticket, changes, *, actor=None, **kwargs):
    return svc.update_ticket(
        session,
        organization=ws.organization,
        ticket=ticket,
        actor=actor or ws.actor(ws.tech),
        changes=changes,
        **kwargs,
    )


def _reload(session, ws, ticket) -> Ticket:
    return svc.get_ticket(session, organization_id=ws.organization.id, ticket_id=ticket.id)


def _new_events(session, ticket) -> list[tuple]:
    return [
        (e.field, e.old_value, e.new_value, e.actor_id, e.actor_name)
        for e in svc.list_events(session, ticket=ticket)
        if e.field != "created"
    ]


@pytest.mark.parametrize(
    ("field", "value", "stored", "logged_old", "logged_new"),
    [
        ("title", "  New \n title ", "New title", "Printer is on fire", "New title"),
        ("description", " Smoke! ", "Smoke!", "", "Smoke!"),
        ("status", "in_progress", TicketStatus.IN_PROGRESS, "open", "in_progress"),
        ("priority", "urgent", TicketPriority.URGENT, "medium", "urgent"),
        ("category", "Hardware", "hardware", None, "hardware"),
        ("device_id", " PC-42 ", "PC-42", None, "PC-42"),
    ],
)
def test_update_each_plain_field(db, field, value, stored, logged_old, logged_new):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        set_updated_at(session, ticket, LONG_AGO)
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        changes = _update(session, ws, ticket, {field: value})
        assert [(c.field, c.new) for c in changes] == [(field, stored)]
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        assert getattr(ticket, field) == stored
        assert ticket.updated_at > LONG_AGO
        assert _new_events(session, ticket) == [
            (field, logged_old, logged_new, ws.tech.id, "Tom Tech")
        ]


def test_update_assignee_and_client_company(db):
    with db.session() as session:
        ws = make_workspace(session)
        acme = orgs.create_client_company(session, organization=ws.organization, name="Acme")
        ticket = file_ticket(session, ws)
        changes = _update(
            session,
            ws,
            ticket,
            {"assigned_staff_id": ws.tech.id, "client_company_id": acme.id},
            actor=ws.actor(ws.admin),
        )
        assert [c.field for c in changes] == ["assigned_staff_id", "client_company_id"]
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        assert (ticket.assigned_staff_id, ticket.client_company_id) == (ws.tech.id, acme.id)
        assert _new_events(session, ticket) == [
            ("assigned_staff_id", None, str(ws.tech.id), ws.admin.id, "Ada Admin"),
            ("client_company_id", None, str(acme.id), ws.admin.id, "Ada Admin"),
        ]
        # Unassigning is a change too.
        _update(session, ws, ticket, {"assigned_staff_id": None, "client_company_id": None})
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        assert (ticket.assigned_staff_id, ticket.client_company_id) == (None, None)
        assert _new_events(session, ticket)[-2:] == [
            ("assigned_staff_id", str(ws.tech.id), None, ws.tech.id, "Tom Tech"),
            ("client_company_id", str(acme.id), None, ws.tech.id, "Tom Tech"),
        ]


def test_several_fields_in_one_update_log_one_line_each(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        changes = _update(
            session,
            ws,
            ticket,
            {"priority": "high", "status": "pending", "assigned_staff_id": ws.admin.id},
        )
        assert {c.field for c in changes} == {"priority", "status", "assigned_staff_id"}
        assert [e[0] for e in _new_events(session, ticket)] == [
            "status",
            "priority",
            "assigned_staff_id",
        ]


def test_a_no_op_update_writes_nothing(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws, category="email", priority="low")
        set_updated_at(session, ticket, LONG_AGO)
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        same = {
            "title": "  Printer is  on fire ",
            "status": "open",
            "priority": "low",
            "category": "EMAIL",
            "assigned_staff_id": None,
        }
        assert _update(session, ws, ticket, same) == []
        assert _update(session, ws, ticket, {}) == []
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        assert ticket.updated_at == LONG_AGO
        assert _new_events(session, ticket) == []
        assert count(session, TicketEvent) == 1  # "created" only


def test_resolved_and_closed_times_are_stamped_and_cleared_on_reopen(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        assert (ticket.resolved_at, ticket.closed_at) == (None, None)
        _update(session, ws, ticket, {"status": "resolved"})
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        resolved_at = ticket.resolved_at
        assert resolved_at is not None and ticket.closed_at is None
        _update(session, ws, ticket, {"status": "closed"})
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        assert ticket.closed_at is not None
        assert ticket.resolved_at == resolved_at  # closing keeps when it was resolved
        _update(session, ws, ticket, {"status": "in_progress"})
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        assert (ticket.resolved_at, ticket.closed_at) == (None, None)
        # Closing straight from work stamps both.
        _update(session, ws, ticket, {"status": "closed"})
        assert ticket.resolved_at is not None and ticket.closed_at is not None
        _update(session, ws, ticket, {"status": "open"})
        assert (ticket.resolved_at, ticket.closed_at) == (None, None)


def test_assignee_must_be_staff_of_the_same_organization(db):
    with db.session() as session:
        ws = make_workspace(session, "TA")
        other = make_workspace(session, "TB")
        ticket = file_ticket(session, ws)
        with pytest.raises(InvalidInput) as caught:
            _update(session, ws, ticket, {"assigned_staff_id": ws.bob.id})
        assert caught.value.field == "assigned_staff_id"
        with pytest.raises(NotFound):
            _update(session, ws, ticket, {"assigned_staff_id": other.tech.id})
        with pytest.raises(NotFound):
            _update(session, ws, ticket, {"assigned_staff_id": 999_999})
        assert ticket.assigned_staff_id is None
    with db.session() as session:
        assert _reload(session, ws, ticket).assigned_staff_id is None
        assert _new_events(session, ticket) == []


def test_the_staff_check_decides_who_can_be_assigned(db):
    # The Slack layer counts staff-channel members as staff even without a staff role.
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        in_channel = {ws.bob.id}
        _update(
            session,
            ws,
            ticket,
            {"assigned_staff_id": ws.bob.id},
            is_staff=lambda member: member.id in in_channel,
        )
        assert ticket.assigned_staff_id == ws.bob.id
        with pytest.raises(InvalidInput):
            _update(
                session,
                ws,
                ticket,
                {"assigned_staff_id": ws.tech.id},
                is_staff=lambda member: member.id in in_channel,
            )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "in_progress", "priority": "critical"}, "priority"),
        ({"status": "in_progress", "priority": None}, "priority"),
        ({"priority": "high", "status": "done"}, "status"),
        ({"status": "resolved", "category": "plumbing"}, "category"),
        ({"status": "resolved", "title": "   "}, "title"),
        ({"status": "resolved", "description": "x" * (DESCRIPTION_MAX_LENGTH + 1)}, "description"),
        ({"status": "resolved", "device_id": "d" * 101}, "device_id"),
        ({"title": "fine", "assigned_staff_id": "BOB"}, None),
        ({"status": "resolved", "ticket_number": 7}, None),
        ({"status": "resolved", "organization_id": 2}, None),
    ],
)
def test_a_refused_change_set_applies_nothing(db, changes, field):
    with db.session() as session:
        ws = make_workspace(session)
        if "assigned_staff_id" in changes:
            changes = {**changes, "assigned_staff_id": ws.bob.id}  # an end user
            field = "assigned_staff_id"
        ticket = file_ticket(session, ws)
        set_updated_at(session, ticket, LONG_AGO)
        with pytest.raises(InvalidInput) as caught:
            _update(session, ws, ticket, changes)
        assert caught.value.field == field
        # The unit of work commits what the session holds: nothing may have been touched.
    with db.session() as session:
        ticket = _reload(session, ws, ticket)
        assert ticket.status == TicketStatus.OPEN
        assert ticket.priority == TicketPriority.MEDIUM
        assert ticket.title == "Printer is on fire"
        assert ticket.resolved_at is None
        assert ticket.updated_at == LONG_AGO
        assert _new_events(session, ticket) == []


def test_end_users_cannot_update_even_their_own_ticket(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        for member in (ws.alice, ws.bob):
            with pytest.raises(PermissionDenied):
                _update(session, ws, ticket, {"status": "closed"}, actor=ws.actor(member))
    with db.session() as session:
        assert _reload(session, ws, ticket).status == TicketStatus.OPEN


def test_integration_actor_updates_without_a_member(db):
    with db.session() as session:
        ws = make_workspace(session)
        ticket = file_ticket(session, ws)
        _update(session, ws, ticket, {"priority": "low"}, actor=Actor.integration("REST token"))
        assert _new_events(session, ticket) == [("priority", "medium", "low", None, "REST token")]


def test_a_member_marked_end_user_is_not_staff_even_if_an_actor_says_so(db):
    # Actor.for_member decides from the role unless the Slack layer says otherwise.
    with db.session() as session:
        ws = make_workspace(session)
        assert Actor.for_member(ws.alice).is_staff is False
        assert Actor.for_member(ws.tech).is_staff is True
        assert Actor.for_member(ws.admin).is_staff is True
        assert Actor.for_member(ws.alice, is_staff=True).is_staff is True
        assert ws.alice.role == MemberRole.END_USER
