"""`/ticket setup`: who may configure an organization, and applying what they saved."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.blocks.setup import SlaChoices, SlaPicks, setup_modal
from bot.blocks.text import escape
from bot.core.errors import InvalidInput, PermissionDenied
from bot.outbox import messages
from bot.services import automation_settings, client_companies, sla_admin
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


def setup_view(
    session: Session, *, organization: Organization, staff_channel: str | None
) -> dict[str, Any]:
    """The `/ticket setup` modal as the organization's settings are now."""
    return setup_modal(
        staff_channel=staff_channel,
        categories=organization.categories,
        default_priority=organization.default_priority,
        companies=client_companies.summaries(session, organization=organization),
        request_channels=organization.settings.get("request_channels") or [],
        sla=sla_choices(session, organization),
        automations=automation_settings.lifecycle_settings(organization),
    )


def sla_choices(session: Session, organization: Organization) -> SlaChoices:
    """What the SLA section of `/ticket setup` offers and has chosen."""
    policies = sla_admin.list_policies(session, organization_id=saved_id(organization))
    companies = client_companies.active(session, organization_id=organization.id)
    return SlaChoices(
        policies=tuple((saved_id(p), p.name) for p in policies),
        default_policy_id=next((saved_id(p) for p in policies if p.is_default), None),
        companies=tuple((saved_id(c), c.name, c.sla_policy_id) for c in companies),
    )


def apply_sla_picks(session: Session, *, organization: Organization, picks: SlaPicks) -> None:
    """The organization's default policy and each listed company's policy."""
    sla_admin.set_default_policy(
        session, organization=organization, policy_id=picks.default_policy_id
    )
    for company_id, policy_id in picks.company_policy_ids.items():
        company = orgs.get_client_company(
            session, organization_id=organization.id, company_id=company_id
        )
        sla_admin.set_company_policy(
            session, organization=organization, company=company, policy_id=policy_id
        )


def apply_setup(
    session: Session,
    *,
    organization: Organization,
    staff_channel: str | None,
    categories: Sequence[str],
    default_priority: str | None,
    request_channels: Sequence[str],
    sla_picks: SlaPicks | None = None,
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
    org = session.get(Organization, organization.id)
    assert org is not None
    orgs.update_organization_settings(
        session,
        organization=org,
        staff_channel_id=staff_channel,
        categories=list(categories),
        default_priority=default_priority,
    )
    settings = dict(org.settings)
    settings["request_channels"] = list(dict.fromkeys(request_channels))
    org.settings = settings
    if automations:
        automation_settings.update_lifecycle_settings(org, automations)
    session.add(org)
    session.flush()
    if sla_picks is not None:
        apply_sla_picks(session, organization=org, picks=sla_picks)
    # Cards that waited for a staff channel (or were deferred) go out now.
    installs.retry_staff_channel(session, organization=org)
    installs.reconnect(session, organization=org)
    rematch(session, organization=org)
    if saved_by is not None and saved_by.slack_user_id:
        companies = client_companies.active(session, organization_id=org.id)
        messages.setup_saved(
            session,
            organization=org,
            slack_user_id=saved_by.slack_user_id,
            text=setup_saved_text(org, companies=len(companies)),
        )
    return org


def rematch(session: Session, *, organization: Organization) -> int:
    """Members without a company are matched again; their tickets' cards are redrawn.
    Returns how many tickets got a company."""
    moved = orgs.rematch_members(session, organization=organization)
    for ticket_id in moved:
        ticket = session.get(Ticket, ticket_id)
        if ticket is not None:
            messages.refresh_card(session, organization=organization, ticket=ticket)
    return len(moved)


def save_company(
    session: Session,
    *,
    organization: Organization,
    company_id: int | None,
    form: client_companies.CompanyForm,
    saved_by: Member,
) -> ClientCompany:
    """Add or edit one client company (the company modal of `/ticket setup`): people and
    tickets without a company that it now matches get it, and the admin is told."""
    company = client_companies.save(
        session, organization=organization, company_id=company_id, form=form
    )
    moved = rematch(session, organization=organization)
    org = session.get(Organization, organization.id)
    assert org is not None
    if saved_by.slack_user_id:
        messages.setup_saved(
            session,
            organization=org,
            slack_user_id=saved_by.slack_user_id,
            text=company_saved_text(org, company, added=company_id is None, matched=moved),
        )
    return company


def remove_company(
    session: Session, *, organization: Organization, company_id: int, removed_by: Member
) -> ClientCompany:
    """Remove one client company (see `client_companies.remove`); the admin is told."""
    people = session.exec(
        select(func.count(col(Member.id))).where(
            Member.organization_id == organization.id, Member.client_company_id == company_id
        )
    ).one()
    company = client_companies.remove(session, organization=organization, company_id=company_id)
    if removed_by.slack_user_id:
        messages.setup_saved(
            session,
            organization=organization,
            slack_user_id=removed_by.slack_user_id,
            text=(
                f":white_check_mark: Removed client company *{escape(company.name)}*. "
                f"{_count(people, 'person', 'people')} and its request channels are no longer "
                "linked to it; its tickets and reports keep its name."
            ),
        )
    return company


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def company_saved_text(
    organization: Organization, company: ClientCompany, *, added: bool, matched: int
) -> str:
    """What the admin is told when a client company is added or edited."""
    channels = [
        ch
        for ch, cid in (organization.settings.get("channel_companies") or {}).items()
        if cid == company.id
    ]
    parts = []
    if company.email_domains:
        parts.append("email from " + ", ".join(company.email_domains))
    if company.slack_team_id:
        parts.append(f"people of Slack Connect workspace {company.slack_team_id}")
    if channels:
        parts.append("requests in " + ", ".join(f"<#{c}>" for c in channels))
    who = f" Tickets come from {'; '.join(parts)}." if parts else ""
    found = (
        f" {_count(matched, 'existing ticket', 'existing tickets')} now "
        f"{'belongs' if matched == 1 else 'belong'} to it."
        if matched
        else ""
    )
    return (
        f":white_check_mark: Client company *{escape(company.name)}* "
        f"{'added' if added else 'saved'}.{who}{found}"
    )


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
