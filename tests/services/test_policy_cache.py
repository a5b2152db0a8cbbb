"""The policy in force, remembered for a moment between filings: a change made in this
process (ORM or UPDATE statement) is seen by the next filing, another process's change
within `ttl`, and a read that raced a change is not kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from bot.core.db import Database
from bot.flows import tickets as ticket_flows
from bot.services import organizations as orgs
from bot.services import policy_cache, sla_admin
from bot.services.actors import Actor
from bot.services.policy_cache import PoliciesInForce
from models import ClientCompany, SlaClock
from models.ticket import TicketCreate
from tests.services.factories import Workspace, make_workspace


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(policy_cache, "IN_FORCE", PoliciesInForce(ttl=2.0, clock=fake))
    monkeypatch.setattr("bot.services.sla.IN_FORCE", policy_cache.IN_FORCE)
    yield fake


@pytest.fixture
def ws(db: Database) -> Workspace:
    with db.session() as session:
        return make_workspace(session)


def save_policy(db: Database, ws: Workspace, name: str, minutes: int, **values) -> int:
    with db.session() as session:
        saved = sla_admin.save_policy(
            session,
            organization=ws.organization,
            values={"name": name, "calendar_id": None, **values},
            targets=[sla_admin.TargetInput("medium", "resolution", minutes, False)],
        )
        return saved.id  # type: ignore[return-value]


def resolution_minutes(db: Database, ws: Workspace) -> int | None:
    """File a ticket for Alice; the target of its resolution clock (None: no clock)."""
    with db.session() as session:
        ticket = ticket_flows.file_ticket(
            session,
            organization=ws.organization,
            filer=Actor.for_member(ws.alice),
            requester=ws.alice,
            request=TicketCreate(title="VPN down"),
        )
        session.commit()
        clock = session.exec(
            select(SlaClock).where(SlaClock.ticket_id == ticket.id, SlaClock.metric == "resolution")
        ).first()
        return clock.target_minutes if clock else None


def test_a_change_in_this_process_applies_to_the_next_filing(
    db: Database, ws: Workspace, clock: Clock
):
    assert resolution_minutes(db, ws) is None  # no policy: remembered as none
    standard = save_policy(db, ws, "Standard", 480, is_default=True)
    assert resolution_minutes(db, ws) == 480
    gold = save_policy(db, ws, "Gold", 120)
    with db.session() as session:  # Alice's company gets its own policy
        company = orgs.create_client_company(session, organization=ws.organization, name="Acme")
        ws.alice.client_company_id = company.id
        session.add(ws.alice)
        session.flush()
        sla_admin.set_company_policy(
            session, organization=ws.organization, company=company, policy_id=gold
        )
    assert resolution_minutes(db, ws) == 120
    with db.session() as session:
        company = session.get(ClientCompany, ws.alice.client_company_id)
        sla_admin.set_company_policy(
            session, organization=ws.organization, company=company, policy_id=None
        )
    assert resolution_minutes(db, ws) == 480
    with db.session() as session:  # an UPDATE statement, no ORM object: "No SLA"
        sla_admin.set_default_policy(session, organization=ws.organization, policy_id=None)
    assert resolution_minutes(db, ws) is None
    assert standard != gold


def test_another_process_change_is_seen_within_ttl(db: Database, ws: Workspace, clock: Clock):
    save_policy(db, ws, "Standard", 480, is_default=True)
    assert resolution_minutes(db, ws) == 480
    with db.engine.begin() as connection:  # another process makes it "No SLA"
        connection.execute(text("UPDATE sla_policy SET is_default = false"))
    clock.now += 1.0
    assert resolution_minutes(db, ws) == 480  # remembered for up to ttl
    clock.now += 1.5
    assert resolution_minutes(db, ws) is None


def test_a_read_that_raced_a_change_is_not_kept(db: Database, ws: Workspace, clock: Clock):
    cache = policy_cache.IN_FORCE
    read_at = cache.generation
    save_policy(db, ws, "Standard", 480, is_default=True)  # saved while a filing was reading
    cache.remember(db.engine, ("default", ws.organization.id), None, read_at=read_at)
    assert cache.get(db.engine, ("default", ws.organization.id)) == (False, None)
    assert resolution_minutes(db, ws) == 480


def clock_rows(db: Database) -> list[dict]:
    """Every clock as its columns, without what differs between two tickets."""
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM sla_clock ORDER BY id")).mappings().all()
    return [
        {k: v for k, v in row.items() if k not in {"id", "ticket_id", "created_at", "updated_at"}}
        for row in rows
    ]


def test_a_remembered_policy_starts_the_same_clocks_as_a_fresh_read(
    db: Database, ws: Workspace, clock: Clock
):
    save_policy(db, ws, "Standard", 480, is_default=True)
    assert resolution_minutes(db, ws) == 480  # read
    statements: list[str] = []
    listen = event.listens_for(db.engine, "before_cursor_execute")
    listen(lambda _c, _cur, statement, *_: statements.append(statement))
    assert resolution_minutes(db, ws) == 480  # remembered
    asked_for_policy = [
        s for s in statements if s.lstrip().startswith("SELECT") and "sla_policy" in s
    ]
    assert asked_for_policy == []  # neither asked first nor again after the insert
    fresh, remembered = clock_rows(db)  # one resolution clock each
    for row in (fresh, remembered):  # filed a moment apart
        del row["started_at"], row["due_at"], row["warn_75_at"], row["warn_90_at"]
    assert fresh == remembered


def test_a_policy_another_process_removed_is_not_used_even_within_ttl(
    db: Database, ws: Workspace, clock: Clock
):
    standard = save_policy(db, ws, "Standard", 480, is_default=True)
    assert resolution_minutes(db, ws) == 480
    with db.engine.begin() as connection:  # another process deletes it
        connection.execute(text("DELETE FROM sla_target"))
        connection.execute(text("UPDATE sla_clock SET policy_id = NULL"))
        connection.execute(text("DELETE FROM sla_policy WHERE id = :id"), {"id": standard})
    clock.now += 1.0
    assert resolution_minutes(db, ws) is None  # filed, without clocks: no policy is left


def test_a_policy_another_process_edited_is_read_again_within_ttl(
    db: Database, ws: Workspace, clock: Clock
):
    standard = save_policy(db, ws, "Standard", 480, is_default=True)
    assert resolution_minutes(db, ws) == 480
    with db.engine.begin() as connection:  # another process: Standard's target is 4 hours
        connection.execute(text("UPDATE sla_target SET minutes = 240"))
        connection.execute(
            text(
                "UPDATE sla_policy SET updated_at = updated_at + interval '1 second' WHERE id = :id"
            )
            if db.engine.dialect.name == "postgresql"
            else text(
                "UPDATE sla_policy SET updated_at = strftime('%Y-%m-%d %H:%M:%f', updated_at, "
                "'+1 second') WHERE id = :id"
            ),
            {"id": standard},
        )
    clock.now += 1.0
    assert resolution_minutes(db, ws) == 240
    assert len(clock_rows(db)) == 2  # one each: none left behind by the retry
