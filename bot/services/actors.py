"""Who is acting, and who counts as staff."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models import Member, MemberRole


def member_has_staff_role(member: Member) -> bool:
    return member.role in (MemberRole.ADMIN, MemberRole.TECHNICIAN)


# Decides whether a member is staff. The Slack layer adds staff-channel membership to the
# database role; services only ask.
StaffCheck = Callable[[Member], bool]


@dataclass(frozen=True)
class Actor:
    """The person or integration behind a service call."""

    name: str
    is_staff: bool
    member: Member | None = None

    @property
    def member_id(self) -> int | None:
        return self.member.id if self.member is not None else None

    @classmethod
    def for_member(cls, member: Member, *, is_staff: bool | None = None) -> Actor:
        staff = member_has_staff_role(member) if is_staff is None else is_staff
        return cls(name=member.name, is_staff=staff, member=member)

    @classmethod
    def integration(cls, name: str) -> Actor:
        """A REST API token or a scheduled job: staff rights, no member behind it."""
        return cls(name=name, is_staff=True, member=None)
