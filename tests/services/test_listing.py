"""Listing tickets: filters, order, pagination, and what end users may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, update
from sqlmodel import col

from bot.core.errors import InvalidInput
from bot.services import organizations as orgs
from bot.services import tickets as svc
from bot.services.actors import Actor
from bot.services.tickets import MAX_PAGE_SIZE, TicketFilter
from models import Ticket, TicketPriority, TicketStatus
from tests.services.factories import file_ticket, make_workspace, set_updated_at

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def scene(db):
    """Six tickets of one organization with known activity times (one tie)."""
    with db.session() as session:
        ws = make_workspace(session)
        acme = orgs.create_client_company(session, organization=ws.organization, name="Acme")
        staff = ws.actor(ws.tech)

        def new(title, requester, minutes, **changes):
            ticket = file_ticket(session, ws, requester=requester, actor=staff, title=title)
            if changes:
                svc.update_ticket(
                    session,
                    organization=ws.organization,
                    ticket=ticket,
                    actor=staff,
                    changes=changes,
                )
            set_updated_at(session, ticket, T0 + timedelta(minutes=minutes))
            return ticket.ticket_number

        new("a1", ws.alice, 10)
        new("a2", ws.alice, 20, status="in_progress", assigned_staff_id=ws.tech.id)
        new("b3", ws.bob, 30, priority="urgent", assigned_staff_id=ws.admin.id)
        new("b4", ws.bob, 30, status="pending", client_company_id=acme.id)  # ties with #3
        new("a5", ws.alice, 5, status="resolved", priority="urgent", assigned_staff_id=ws.tech.id)
        new("b6", ws.bob, 40, status="closed", client_company_id=acme.id)
    return db, ws, acme


def numbers(db, ws, *, viewer=None, limit=50, offset=0, **filters):
    with db.session() as session:
        found = svc.list_tickets(
            session,
            organization_id=ws.organization.id,
            viewer=viewer or ws.actor(ws.tech),
            filters=TicketFilter(**filters),
            limit=limit,
            offset=offset,
        )
        return [t.ticket_number for t in found]


def test_order_is_latest_activity_first_then_newest_id(scene):
    db, ws, _ = scene
    assert numbers(db, ws) == [6, 4, 3, 2, 1, 5]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": [TicketStatus.OPEN]}, [3, 1]),
        ({"status": [TicketStatus.PENDING, TicketStatus.IN_PROGRESS]}, [4, 2]),
        ({"status": [TicketStatus.RESOLVED, TicketStatus.CLOSED]}, [6, 5]),
        ({"status": []}, [6, 4, 3, 2, 1, 5]),  # an empty list does not filter
        ({"priority": TicketPriority.URGENT}, [3, 5]),
        ({"priority": TicketPriority.LOW}, []),
        ({"unassigned": True}, [6, 4, 1]),
        ({"ticket_number": 4}, [4]),
        ({"ticket_number": 99}, []),
        ({"updated_since": T0 + timedelta(minutes=20)}, [6, 4, 3, 2]),  # inclusive
        ({"updated_since": T0 + timedelta(minutes=41)}, []),
        (
            {
                "status": [TicketStatus.OPEN, TicketStatus.RESOLVED],
                "priority": TicketPriority.URGENT,
            },
            [3, 5],
        ),
    ],
)
def test_filters(scene, filters, expected):
    db, ws, _ = scene
    assert numbers(db, ws, **filters) == expected


def test_filters_by_member_and_company(scene):
    db, ws, acme = scene
    assert numbers(db, ws, assigned_staff_id=ws.tech.id) == [2, 5]
    assert numbers(db, ws, assigned_staff_id=ws.admin.id) == [3]
    assert numbers(db, ws, assigned_staff_id=ws.tech.id, status=[TicketStatus.IN_PROGRESS]) == [2]
    assert numbers(db, ws, requester_id=ws.alice.id) == [2, 1, 5]
    assert numbers(db, ws, requester_id=ws.bob.id) == [6, 4, 3]
    assert numbers(db, ws, client_company_id=acme.id) == [6, 4]
    assert numbers(db, ws, requester_id=ws.bob.id, client_company_id=acme.id) == [6, 4]


def test_pagination(scene):
    db, ws, _ = scene
    assert numbers(db, ws, limit=1) == [6]
    assert numbers(db, ws, limit=2, offset=1) == [4, 3]
    pages = [numbers(db, ws, limit=4, offset=offset) for offset in (0, 4, 8)]
    assert pages == [[6, 4, 3, 2], [1, 5], []]
    assert numbers(db, ws, limit=MAX_PAGE_SIZE) == [6, 4, 3, 2, 1, 5]
    assert numbers(db, ws, limit=3, offset=6) == []


@pytest.mark.parametrize(
    ("limit", "offset", "field"),
    [(0, 0, "limit"), (-1, 0, "limit"), (MAX_PAGE_SIZE + 1, 0, "limit"), (10, -1, "offset")],
)
def test_pagination_bounds_are_refused(scene, limit, offset, field):
    db, ws, _ = scene
    with pytest.raises(InvalidInput) as caught:
        numbers(db, ws, limit=limit, offset=offset)
    assert caught.value.field == field


def test_end_users_only_see_their_own_tickets(scene):
    db, ws, acme = scene
    alice, bob = ws.actor(ws.alice), ws.actor(ws.bob)
    assert numbers(db, ws, viewer=alice) == [2, 1, 5]
    assert numbers(db, ws, viewer=bob) == [6, 4, 3]
    # Filters cannot widen what they see.
    assert numbers(db, ws, viewer=alice, requester_id=ws.bob.id) == []
    assert numbers(db, ws, viewer=alice, ticket_number=3) == []
    assert numbers(db, ws, viewer=alice, client_company_id=acme.id) == []
    assert numbers(db, ws, viewer=bob, status=[TicketStatus.OPEN]) == [3]


def test_a_non_staff_viewer_without_a_member_sees_nothing(scene):
    db, ws, _ = scene
    with db.session() as session:  # a ticket whose requester is unknown (e.g. imported)
        session.execute(
            update(Ticket).where(col(Ticket.ticket_number) == 1).values(requester_id=None)
        )
    nobody = Actor(name="anonymous", is_staff=False)
    assert numbers(db, ws, viewer=nobody) == []
    assert numbers(db, ws, viewer=Actor.integration("REST")) == [6, 4, 3, 2, 1, 5]


def test_someones_open_tickets_are_read_on_the_open_tickets_index(scene):
    """However SQLite's statistics look, "my open tickets" and the unassigned queue never
    walk the organization's history in date order (at a million tickets that walk took
    20x longer than the list itself)."""
    db, ws, _ = scene
    if not db.is_sqlite:
        return  # PostgreSQL's planner picks by cost on per-value statistics (bench/scale.py)
    statements: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_args) -> None:
        if statement.lstrip().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        open_statuses = list(svc.OPEN_STATUSES)
        assert numbers(db, ws, status=open_statuses, assigned_staff_id=ws.tech.id) == [2]
        assert numbers(db, ws, status=open_statuses, unassigned=True) == [4, 1]
        assert numbers(db, ws, assigned_staff_id=ws.tech.id) == [2, 5]  # history: by date
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    with db.read_session() as session:
        plans = [
            " ".join(
                str(row[3])
                for row in session.connection().exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters
                )
            )
            for statement, parameters in statements
        ]
    # Read in order on the partial index of open tickets: no walk, no sort.
    assert plans[0] == plans[1]
    assert "USING INDEX ix_ticket_org_open_assignee" in plans[0]
    assert "TEMP B-TREE" not in plans[0]
    assert "ix_ticket_org_open_assignee" not in plans[2]  # closed ones are not in it


def test_the_open_tickets_predicate_names_the_open_statuses():
    from models.ticket import OPEN_STATUS_PREDICATE

    listed = OPEN_STATUS_PREDICATE.split("(")[1].rstrip(")").replace("'", "").split(", ")
    assert set(listed) == {s.value for s in svc.OPEN_STATUSES}
