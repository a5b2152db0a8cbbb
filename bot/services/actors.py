"""Who is acting, and who counts as staff."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from models import Member, MemberRole


def member_has_staff_role(member: Member) -> bool:
    return member.role in (MemberRole.ADMIN, MemberRole.TECHNICIAN)


# Decides whether a member is staff. The Slack layer adds staff-channel membership to the
# database role; services only ask.
StaffCheck = Callable[[Member], bool]


class Actor:
    """The person or integration behind a service call.

    Whether a person is staff may be decided lazily: for a Slack user it means asking for
    the staff channel's members, which only happens if a rule actually needs to know.
    """

    def __init__(
        self, *, name: str, is_staff: bool | Callable[[], bool], member: Member | None = None
    ) -> None:
        self.name = name
        self.member = member
        self._is_staff = is_staff

    @cached_property
    def is_staff(self) -> bool:
        return self._is_staff if isinstance(self._is_staff, bool) else self._is_staff()

    def __repr__(self) -> str:
        return f"Actor(name={self.name!r}, member_id={self.member_id!r})"

    @property
    def member_id(self) -> int | None:
        return self.member.id if self.member is not None else None

    def decided(self) -> Actor:
        """This actor with its staff-ness asked now (perhaps of Slack), not when a rule
        first needs it: for work that must not wait on Slack later (a group commit)."""
        return Actor(name=self.name, is_staff=self.is_staff, member=self.member)

    @classmethod
    def for_member(
        cls, member: Member, *, is_staff: bool | Callable[[], bool] | None = None
    ) -> Actor:
        staff = member_has_staff_role(member) if is_staff is None else is_staff
        return cls(name=member.name, is_staff=staff, member=member)

    @classmethod
    def integration(cls, name: str) -> Actor:
        """A REST API token or a scheduled job: staff rights, no member behind it."""
        return cls(name=name, is_staff=True, member=None)
