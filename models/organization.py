"""Organizations (one per Slack workspace), the MSP's client companies, and members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import (
    DEFAULT_CATEGORIES,
    MemberRole,
    TicketPriority,
    UTCDateTime,
    created_at_field,
    utcnow,
)


class Organization(SQLModel, table=True):
    __tablename__ = "organization"

    id: int | None = Field(default=None, primary_key=True)
    slack_team_id: str = Field(max_length=32, unique=True, index=True)
    slack_enterprise_id: str | None = Field(default=None, max_length=32)
    name: str = Field(max_length=200)
    staff_channel_id: str | None = Field(default=None, max_length=32)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Set when the app was uninstalled or its tokens revoked: Slack deliveries pause until
    # the workspace installs the app again. The organization and its data stay.
    slack_disconnected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set while Slack refuses posts to the staff channel (the bot was removed from it, it
    # was archived or deleted): why, since when, and when its parked messages try again.
    staff_channel_error: str | None = Field(default=None, max_length=64)
    staff_channel_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    staff_channel_retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last ticket number handed out; bumped atomically by the numbering service.
    last_ticket_number: int = Field(default=0, nullable=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    @property
    def categories(self) -> list[str]:
        configured = self.settings.get("categories")
        return list(configured) if configured else list(DEFAULT_CATEGORIES)

    @property
    def time_rounding(self) -> dict[str, Any] | None:
        """The organization's rounding rule of billable time, or None (whole minutes)."""
        return self.settings.get("time_rounding")

    @property
    def default_priority(self) -> TicketPriority:
        return TicketPriority(self.settings.get("default_priority", TicketPriority.MEDIUM))

    @property
    def timezone(self) -> str:
        """IANA zone where the organization's days and months begin (reports, digests);
        UTC unless set. Kept in `settings` beside the other organization settings."""
        return str(self.settings.get("timezone") or "UTC")

    @timezone.setter
    def timezone(self, zone: str) -> None:
        self.settings = {**self.settings, "timezone": zone}


class ClientCompanyBase(SQLModel):
    name: str = Field(max_length=200)
    email_domains: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    slack_team_id: str | None = Field(default=None, max_length=32)


class ClientCompany(ClientCompanyBase, table=True):
    __tablename__ = "client_company"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    # The SLA policy of this client's tickets (else the organization's default policy).
    sla_policy_id: int | None = Field(default=None, foreign_key="sla_policy.id")
    created_at: datetime = created_at_field()
    # Removed in /ticket setup: no longer offered or matched; its tickets, time entries and
    # reports keep it (and its name). Adding a company of the same name brings it back.
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ClientCompanyCreate(ClientCompanyBase):
    pass


class MemberBase(SQLModel):
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    role: MemberRole = Field(default=MemberRole.END_USER, sa_type=String(20))
    client_company_id: int | None = Field(default=None, foreign_key="client_company.id")
    slack_user_id: str | None = Field(default=None, max_length=32)
    timezone: str | None = Field(default=None, max_length=64)


class Member(MemberBase, table=True):
    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("organization_id", "slack_user_id"),
        UniqueConstraint("organization_id", "email"),
        Index("ix_member_org_role", "organization_id", "role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    # The Slack Connect workspace the person belongs to, when it is not this one (users.info).
    slack_team_id: str | None = Field(default=None, max_length=32)
    # A workspace admin or owner in Slack (read from users.info): may run /ticket setup.
    slack_is_admin: bool = Field(default=False)
    # When name, email and time zone were last read from Slack's users.info.
    slack_profile_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    @property
    def is_staff_role(self) -> bool:
        return self.role in (MemberRole.ADMIN, MemberRole.TECHNICIAN)


class MemberCreate(MemberBase):
    pass


class MemberPublic(MemberBase):
    id: int
    organization_id: int
