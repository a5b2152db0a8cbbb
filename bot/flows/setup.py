"""`/ticket setup`: who may configure an organization, and applying what they saved."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, select

from bot.blocks.setup import CompanyLine
from bot.core.errors import InvalidInput, PermissionDenied
from bot.outbox import messages
from bot.services import automation_settings
from bot.services import organizations as orgs
from bot.slack import installs
from models import ClientCompany, Member, MemberRole, Organization, Ticket, saved_id

NOT_ALLOWED = "Only workspace admins and owners, or Ticketbot admins, can change the setup."


def ensure_can_configure(member: Member, *, slack_admin: bool) -> None:
    """Workspace admins/owners (as Slack says) and members with the admin role."""
    if not (slack_admin or member.slack_is_admin or member.role == MemberRole.ADMIN):
        raise PermissionDenied(NOT_ALLOWED)


def record_slack_admin(session: Session, *, member: Member, slack_admin: bool) -> None:
    """Remember what Slack said about the person being a workspace admin or owner."""
    stored = session.get(Member, member.id)
    if stored is not None and stored.slack_is_admin != slack_admin:
        stored.slack_is_admin = slack_admin
        session.add(stored)
        session.flush()
    member.slack_is_admin = slack_admin


def company_lines(session: Session, organization: Organization) -> list[CompanyLine]:
    channel_companies: dict[str, int] = organization.settings.get("channel_companies") or {}
    companies = session.exec(
        select(ClientCompany)
        .where(ClientCompany.organization_id == organization.id)
        .order_by(ClientCompany.name)
    ).all()
    return [
        CompanyLine(
            name=c.name,
            email_domains=tuple(c.email_domains),
            slack_team_id=c.slack_team_id,
            channels=tuple(ch for ch, cid in channel_companies.items() if cid == c.id),
        )
        for c in companies
    ]


def apply_setup(
    session: Session,
    *,
    organization: Organization,
    staff_channel: str | None,
    categories: Sequence[str],
    default_priority: str | None,
    companies: Sequence[CompanyLine],
    request_channels: Sequence[str],
    automations: dict[str, Any] | None = None,
    saved_by: Member | None = None,
) -> Organization:
    """Save the organization's settings; everything is checked before anything is written.
    Members without a company are matched again (their tickets' cards are redrawn), and
    `saved_by` is told by DM what is now in effect."""
    if automations:  # checked on a copy first: nothing is written if one is refused
        automation_settings.update_lifecycle_settings(
            Organization(slack_team_id="", name="", settings=dict(organization.settings)),
            automations,
        )
    if not staff_channel:
        raise InvalidInput("Choose the staff channel.", field="staff_channel")
    names = [c.name.lower() for c in companies]
    if len(set(names)) != len(names):
        raise InvalidInput("Each client company may be listed once.", field="companies")
    claimed: dict[str, str] = {}
    for listed in companies:
        for channel in listed.channels:
            if channel in claimed:
                raise InvalidInput(
                    f"{channel} is listed for both {claimed[channel]} and {listed.name}.",
                    field="companies",
                )
            claimed[channel] = listed.name
    org = session.get(Organization, organization.id)
    assert org is not None
    orgs.update_organization_settings(
        session,
        organization=org,
        staff_channel_id=staff_channel,
        categories=list(categories),
        default_priority=default_priority,
    )
    channel_companies: dict[str, int] = {}
    for line in companies:
        company = orgs.find_client_company_by_name(
            session, organization_id=saved_id(org), name=line.name
        )
        if company is None:
            company = orgs.create_client_company(
                session,
                organization=org,
                name=line.name,
                email_domains=list(line.email_domains),
                slack_team_id=line.slack_team_id,
            )
        else:
            company.email_domains = list(line.email_domains)
            company.slack_team_id = line.slack_team_id
            session.add(company)
        for channel in line.channels:
            channel_companies[channel] = saved_id(company)
    settings = dict(org.settings)
    settings["channel_companies"] = channel_companies
    settings["request_channels"] = list(dict.fromkeys(request_channels))
    org.settings = settings
    if automations:
        automation_settings.update_lifecycle_settings(org, automations)
    session.add(org)
    session.flush()
    # Cards that waited for a staff channel (or were deferred) go out now.
    installs.retry_staff_channel(session, organization=org)
    installs.reconnect(session, organization=org)
    for ticket_id in orgs.rematch_members(session, organization=org):
        ticket = session.get(Ticket, ticket_id)
        if ticket is not None:
            messages.refresh_card(session, organization=org, ticket=ticket)
    if saved_by is not None and saved_by.slack_user_id:
        messages.setup_saved(
            session,
            organization=org,
            slack_user_id=saved_by.slack_user_id,
            text=setup_saved_text(org, companies=len(companies)),
        )
    return org


def setup_saved_text(organization: Organization, *, companies: int) -> str:
    """What the admin who saved `/ticket setup` is told is now in effect."""
    request_channels = organization.settings.get("request_channels") or []
    where = (
        ", ".join(f"<#{c}>" for c in request_channels)
        if request_channels
        else "any channel Ticketbot is in"
    )
    return (
        f":white_check_mark: Setup saved. Ticket cards go to <#{organization.staff_channel_id}>. "
        f"{companies} client compan{'y' if companies == 1 else 'ies'}. "
        f"A :ticket: reaction files a message in {where}."
    )
