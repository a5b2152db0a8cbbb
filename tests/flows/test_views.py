"""App Home and `/ticket mine` read a page of tickets with a fixed number of statements,
however many people and companies the page names (no query per listed ticket)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from bot.core.db import Database
from bot.flows import views as ticket_views
from bot.services import organizations as orgs
from bot.services import tickets as ticket_service
from bot.services.actors import Actor
from models import Member, Organization
from models.ticket import TicketCreate
from tests.services.factories import make_workspace

TEAM = "T0HOME"


@contextmanager
def counting_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def add_tickets(db: Database, first: int, people: int) -> None:
    """Tickets by `people` new requesters of as many companies; every other one assigned
    to the technician, so that each of App Home's lists names different people."""
    with db.session() as session:
        organization = orgs.get_organization_by_team(session, team_id=TEAM)
        tech = orgs.find_member_by_slack_id(
            session, organization_id=organization.id, slack_user_id=f"U{TEAM}T"
        )
        for n in range(first, first + people):
            company = orgs.create_client_company(
                session, organization=organization, name=f"Client {n}"
            )
            person = orgs.create_member(
                session,
                organization=organization,
                name=f"Person {n}",
                email=f"p{n}@client{n}.example",
                slack_user_id=f"U0PERSON{n:03d}",
            )
            ticket = ticket_service.create_ticket(
                session,
                organization=organization,
                requester=person,
                actor=Actor.for_member(person),
                request=TicketCreate(title=f"Issue {n}", client_company_id=company.id),
            )
            if n % 2:
                ticket_service.update_ticket(
                    session,
                    organization=organization,
                    ticket=ticket,
                    actor=Actor.for_member(tech, is_staff=True),
                    changes={"assigned_staff_id": tech.id},
                    is_staff=lambda member, tech_id=tech.id: member.id == tech_id,
                )


Render = Callable[[Any, Organization, Member], object]


def statements_for(db: Database, slack_user_id: str, render: Render) -> int:
    with db.read_session() as session:
        organization = orgs.get_organization_by_team(session, team_id=TEAM)
        viewer = orgs.find_member_by_slack_id(
            session, organization_id=organization.id, slack_user_id=slack_user_id
        )
        with counting_statements(db) as statements:
            render(session, organization, viewer)
        return len(statements)


def staff_home(session: Any, organization: Organization, tech: Member) -> object:
    return ticket_views.home_view(
        session,
        organization=organization,
        viewer=Actor.for_member(tech, is_staff=True),
        staff_channel="C0STAFF",
    )


def my_tickets(session: Any, organization: Organization, person: Member) -> object:
    return ticket_views.my_tickets_blocks(
        session, organization=organization, viewer=Actor.for_member(person)
    )


def test_staff_app_home_asks_the_same_few_statements_for_a_full_page(db: Database):
    with db.session() as session:
        make_workspace(session, team_id=TEAM)
    add_tickets(db, 0, 2)
    few = statements_for(db, f"U{TEAM}T", staff_home)
    add_tickets(db, 100, 14)
    many = statements_for(db, f"U{TEAM}T", staff_home)
    # three lists, their people, their companies, card links, the notification switches;
    # the saved views and the counts of all views (one statement)
    assert many == few <= 9


def test_a_requesters_list_asks_the_same_statements_for_many_tickets(db: Database):
    with db.session() as session:
        ws = make_workspace(session, team_id=TEAM)
        for n in range(12):
            ticket = ticket_service.create_ticket(
                session,
                organization=ws.organization,
                requester=ws.alice,
                actor=Actor.for_member(ws.alice),
                request=TicketCreate(title=f"Issue {n}"),
            )
            if n % 2:
                ticket_service.update_ticket(
                    session,
                    organization=ws.organization,
                    ticket=ticket,
                    actor=Actor.for_member(ws.tech, is_staff=True),
                    changes={"assigned_staff_id": ws.tech.id},
                    is_staff=lambda member: member.id == ws.tech.id,
                )
    assert statements_for(db, f"U{TEAM}1", my_tickets) <= 3  # tickets, people, companies
