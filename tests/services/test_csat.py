"""The monthly satisfaction score: answers counted by their latest rating, in the month
of the organization's time zone (figures worked out by hand below)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.db import Database
from bot.services import csat
from models import CsatRating, CsatResponse, saved_id
from tests.services.factories import file_ticket, make_workspace

PARIS = ZoneInfo("Europe/Paris")


def test_score_counts_answers_of_the_month_in_the_organizations_zone(db: Database):
    with db.session() as session:
        ws = make_workspace(session)
        other = make_workspace(session, "T0002", domain="example.org")
        answers = [
            # 28 Feb 23:30 UTC is 1 Mar 00:30 in Paris: March.
            (ws, CsatRating.GOOD, datetime(2026, 2, 28, 23, 30, tzinfo=UTC)),
            (ws, CsatRating.GOOD, datetime(2026, 3, 15, 12, 0, tzinfo=UTC)),
            (ws, CsatRating.BAD, datetime(2026, 3, 31, 21, 59, tzinfo=UTC)),  # 23:59 Paris
            # 31 Mar 22:00 UTC is 1 Apr 00:00 in Paris (summer time): April.
            (ws, CsatRating.BAD, datetime(2026, 3, 31, 22, 0, tzinfo=UTC)),
            (ws, None, None),  # asked, never answered
            (other, CsatRating.BAD, datetime(2026, 3, 10, tzinfo=UTC)),  # another organization
        ]
        for workspace, rating, answered_at in answers:
            ticket = file_ticket(session, workspace)
            session.add(
                CsatResponse(
                    organization_id=saved_id(workspace.organization),
                    ticket_id=saved_id(ticket),
                    requester_id=saved_id(workspace.alice),
                    rating=rating,
                    answered_at=answered_at,
                )
            )
        session.flush()
        march = csat.score(session, organization=ws.organization, month="2026-03", zone=PARIS)
        assert march == csat.CsatScore(good=2, bad=1)
        assert march.score_percent == 66.7
        april = csat.score(session, organization=ws.organization, month="2026-04", zone=PARIS)
        assert (april.good, april.bad, april.score_percent) == (0, 1, 0.0)
        in_utc = csat.score(
            session, organization=ws.organization, month="2026-03", zone=ZoneInfo("UTC")
        )
        assert in_utc == csat.CsatScore(good=1, bad=2)
        empty = csat.score(session, organization=ws.organization, month="2026-05", zone=PARIS)
        assert empty.score_percent is None
