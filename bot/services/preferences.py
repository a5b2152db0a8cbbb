"""Notification preferences: the DMs each person switched off. Everything is on until
switched off; a reply addressed to a requester is never a notice they can mute."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, select

from bot.core.errors import InvalidInput
from models import Member, Notice, NotificationPreference, saved_id, utcnow

STAFF_NOTICES = (Notice.ASSIGNMENT, Notice.REQUESTER_REPLY, Notice.SLA_WARNING, Notice.DIGEST)
REQUESTER_NOTICES = (Notice.STATUS_CHANGE,)


def muted(session: Session, *, member_id: int | None) -> set[Notice]:
    if member_id is None:
        return set()
    found = session.exec(
        select(NotificationPreference.muted).where(NotificationPreference.member_id == member_id)
    ).first()
    return {Notice(kind) for kind in found or () if kind in Notice.__members__.values()}


def wants(session: Session, *, member: Member | None, notice: Notice) -> bool:
    """Whether `member` gets DMs of this kind."""
    return member is not None and notice not in muted(session, member_id=member.id)


def set_enabled(
    session: Session, *, member: Member, offered: Iterable[Notice], enabled: Iterable[str]
) -> set[Notice]:
    """Among the `offered` kinds, switch on those `enabled` and off the others (kinds not
    offered keep their setting). Returns the member's muted kinds."""
    offered = set(offered)
    try:
        chosen = {Notice(kind) for kind in enabled}
    except ValueError:
        raise InvalidInput("That is not a kind of notification I know.") from None
    if not chosen <= offered:
        raise InvalidInput("That notification is not offered to you.")
    row = session.exec(
        select(NotificationPreference).where(NotificationPreference.member_id == member.id)
    ).first()
    if row is None:
        row = NotificationPreference(
            organization_id=member.organization_id, member_id=saved_id(member)
        )
    now_muted = ({Notice(k) for k in row.muted} - offered) | (offered - chosen)
    row.muted = sorted(now_muted)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return now_muted
