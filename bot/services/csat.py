"""Satisfaction (CSAT): who is asked on resolve, answers, the monthly score."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from bot.core.errors import InvalidInput, PermissionDenied
from bot.core.months import month_bounds
from bot.services.automation_settings import LifecycleSettings
from models import (
    CsatRating,
    CsatResponse,
    Member,
    Organization,
    Ticket,
    saved_id,
)

# An answer can be changed (or first given) this long after the question.
ANSWER_WINDOW = timedelta(days=7)
COMMENT_MAX_LENGTH = 2000


def sampled(organization_id: int, ticket_id: int, percent: float) -> bool:
    """Whether this ticket falls in the asked share: a stable draw per ticket (the same
    ticket always gives the same answer, and tickets spread evenly)."""
    digest = hashlib.sha256(f"{organization_id}:{ticket_id}".encode()).digest()
    draw = int.from_bytes(digest[:4], "big") % 10_000  # 0.00 … 99.99 %
    return draw < percent * 100


def should_ask(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    requester: Member,
    settings: LifecycleSettings,
    now: datetime,
) -> bool:
    """Ask on this resolve? Once per ticket, a sampled share of tickets, and at most one
    survey per requester per cooldown."""
    if not settings.csat_on or not settings.csat_sample_percent:
        return False
    if not sampled(saved_id(organization), saved_id(ticket), settings.csat_sample_percent):
        return False
    if session.exec(select(CsatResponse.id).where(CsatResponse.ticket_id == ticket.id)).first():
        return False
    if settings.csat_cooldown_hours:
        since = now - timedelta(hours=settings.csat_cooldown_hours)
        recent = session.exec(
            select(CsatResponse.id).where(
                CsatResponse.organization_id == organization.id,
                CsatResponse.requester_id == requester.id,
                col(CsatResponse.asked_at) > since,
            )
        ).first()
        if recent is not None:
            return False
    return True


def record_question(
    session: Session,
    *,
    organization: Organization,
    ticket: Ticket,
    requester: Member,
    now: datetime,
) -> CsatResponse | None:
    """The survey was sent; None if this ticket's survey exists already (a race)."""
    response = CsatResponse(
        organization_id=saved_id(organization),
        ticket_id=saved_id(ticket),
        requester_id=saved_id(requester),
        asked_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(response)
    except IntegrityError:
        return None
    return response


def survey_of(session: Session, *, organization: Organization, ticket_id: int) -> CsatResponse:
    response = session.exec(
        select(CsatResponse).where(
            CsatResponse.organization_id == organization.id, CsatResponse.ticket_id == ticket_id
        )
    ).first()
    if response is None:
        raise InvalidInput("There is no survey for that ticket.")
    return response


def _ensure_can_answer(response: CsatResponse, member: Member, now: datetime) -> None:
    if response.requester_id != member.id:
        raise PermissionDenied("Only the person who asked for help can answer this survey.")
    if now > response.asked_at + ANSWER_WINDOW:
        raise InvalidInput("This survey has closed: answers are taken for 7 days.")


@dataclass(frozen=True)
class Answer:
    response: CsatResponse
    previous: CsatRating | None  # the rating before this one (None: first answer)
    changed: bool  # False: the same rating again (nothing to say)


def answer(
    session: Session,
    *,
    organization: Organization,
    ticket_id: int,
    member: Member,
    rating: CsatRating | str,
    now: datetime,
) -> Answer:
    """The requester's rating; a second click changes it, within the answer window."""
    response = survey_of(session, organization=organization, ticket_id=ticket_id)
    _ensure_can_answer(response, member, now)
    new = CsatRating(rating)
    previous = CsatRating(response.rating) if response.rating else None
    if previous == new:
        return Answer(response=response, previous=previous, changed=False)
    response.rating = new
    response.answered_at = now
    response.updated_at = now
    session.add(response)
    session.flush()
    return Answer(response=response, previous=previous, changed=True)


def comment(
    session: Session,
    *,
    organization: Organization,
    ticket_id: int,
    member: Member,
    text: str,
    now: datetime,
) -> CsatResponse:
    """The requester's comment on the survey (replaces an earlier one)."""
    response = survey_of(session, organization=organization, ticket_id=ticket_id)
    _ensure_can_answer(response, member, now)
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput("Write a comment, or close this form.", field="csat_comment")
    if len(cleaned) > COMMENT_MAX_LENGTH:
        raise InvalidInput(
            f"A comment can be at most {COMMENT_MAX_LENGTH} characters.", field="csat_comment"
        )
    response.comment = cleaned
    response.updated_at = now
    session.add(response)
    session.flush()
    return response


def rating_of(session: Session, *, ticket_id: int) -> CsatRating | None:
    rating = session.exec(
        select(CsatResponse.rating).where(CsatResponse.ticket_id == ticket_id)
    ).first()
    return CsatRating(rating) if rating else None


@dataclass(frozen=True)
class CsatScore:
    good: int
    bad: int

    @property
    def score_percent(self) -> float | None:
        answered = self.good + self.bad
        return round(100 * self.good / answered, 1) if answered else None


def score(session: Session, *, organization: Organization, month: str, zone: ZoneInfo) -> CsatScore:
    """Answers given in the month (the organization's zone), by their latest rating."""
    start, end = month_bounds(month, zone)
    rows = session.exec(
        select(CsatResponse.rating, func.count())
        .where(
            CsatResponse.organization_id == organization.id,
            col(CsatResponse.rating).is_not(None),
            col(CsatResponse.answered_at) >= start,
            col(CsatResponse.answered_at) < end,
        )
        .group_by(col(CsatResponse.rating))
    ).all()
    counts = {str(rating): int(count) for rating, count in rows}
    return CsatScore(good=counts.get(CsatRating.GOOD, 0), bad=counts.get(CsatRating.BAD, 0))
