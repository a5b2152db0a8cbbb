"""Client companies as `/ticket setup` edits them: one at a time, checked field by field.

A company's request channels live in the organization's settings (`channel_companies`:
channel id → company id). Removing a company keeps its row (tickets, time entries, SLA and
monthly reports name it) but unlinks its people and channels and stops matching it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.core.errors import InvalidInput
from bot.services import organizations as orgs
from models import ClientCompany, Member, Organization, saved_id, utcnow

_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_TEAM = re.compile(r"^[TE][A-Z0-9]{2,31}$")
MAX_DOMAINS = 20


@dataclass(frozen=True)
class CompanyForm:
    """What the company modal submitted (channels are Slack channel ids)."""

    name: str
    email_domains: str = ""
    slack_team_id: str = ""
    channels: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class CompanySummary:
    """A company as the setup surface lists it."""

    id: int
    name: str
    email_domains: tuple[str, ...]
    slack_team_id: str | None
    channels: tuple[str, ...]


def active(session: Session, *, organization_id: int | None) -> list[ClientCompany]:
    """The organization's client companies (not removed), by name."""
    return list(
        session.exec(
            select(ClientCompany)
            .where(
                ClientCompany.organization_id == organization_id,
                col(ClientCompany.removed_at).is_(None),
            )
            .order_by(func.lower(ClientCompany.name))
        ).all()
    )


def _channel_companies(organization: Organization) -> dict[str, int]:
    return dict(organization.settings.get("channel_companies") or {})


def summaries(session: Session, *, organization: Organization) -> list[CompanySummary]:
    channels = _channel_companies(organization)
    return [
        CompanySummary(
            id=saved_id(c),
            name=c.name,
            email_domains=tuple(c.email_domains),
            slack_team_id=c.slack_team_id,
            channels=tuple(ch for ch, cid in channels.items() if cid == c.id),
        )
        for c in active(session, organization_id=organization.id)
    ]


def get_active(session: Session, *, organization: Organization, company_id: int) -> ClientCompany:
    company = orgs.get_client_company(
        session, organization_id=organization.id, company_id=company_id
    )
    if company.removed_at is not None:
        raise InvalidInput(f"{company.name} was removed.", field="company_name")
    return company


def parse_domains(text: str) -> list[str]:
    """ "acme.com, @Acme.co.uk" → ["acme.com", "acme.co.uk"]; refuses what is no domain."""
    items = [d.strip().lower().lstrip("@") for d in re.split(r"[,;\s]+", text or "")]
    domains = list(dict.fromkeys(d for d in items if d))
    bad = [d for d in domains if "@" in d or not _DOMAIN.match(d)]
    if bad:
        raise InvalidInput(
            f"{bad[0][:60]} is not an email domain. Write domains like acme.com, "
            "separated by commas.",
            field="company_domains",
        )
    if len(domains) > MAX_DOMAINS:
        raise InvalidInput(f"At most {MAX_DOMAINS} domains.", field="company_domains")
    return domains


def _check(
    session: Session,
    *,
    organization: Organization,
    company_id: int | None,
    form: CompanyForm,
) -> tuple[str, list[str], str | None]:
    """The form's name, domains and workspace, each checked against the other companies."""
    name = " ".join(form.name.split())[:200]
    if not name:
        raise InvalidInput("Give the company a name.", field="company_name")
    domains = parse_domains(form.email_domains)
    team = form.slack_team_id.strip().upper() or None
    if team is not None and not _TEAM.match(team):
        raise InvalidInput(
            "A Slack Connect workspace id starts with T, like T0123ABCD.", field="company_team"
        )
    if team is not None and team == organization.slack_team_id:
        raise InvalidInput("That is this workspace, not a client's.", field="company_team")
    channels = _channel_companies(organization)
    for other in active(session, organization_id=organization.id):
        if other.id == company_id:
            continue
        if other.name.lower() == name.lower():
            raise InvalidInput(
                f"There is already a client company named {other.name}.", field="company_name"
            )
        taken = next((d for d in domains if d in other.email_domains), None)
        if taken:
            raise InvalidInput(f"{taken} already belongs to {other.name}.", field="company_domains")
        if team is not None and other.slack_team_id == team:
            raise InvalidInput(
                f"That workspace already belongs to {other.name}.", field="company_team"
            )
        if any(channels.get(ch) == other.id for ch in form.channels):
            raise InvalidInput(
                f"A channel you picked is already a request channel of {other.name}.",
                field="company_channels",
            )
    return name, domains, team


def save(
    session: Session,
    *,
    organization: Organization,
    company_id: int | None,
    form: CompanyForm,
) -> ClientCompany:
    """Add (`company_id` None) or edit a client company; everything is checked before
    anything is written. Adding the name of a removed company brings it back, history and
    all. Members without a company are matched again afterwards by the caller."""
    name, domains, team = _check(
        session, organization=organization, company_id=company_id, form=form
    )
    org = session.get(Organization, organization.id)
    assert org is not None
    removed = session.exec(
        select(ClientCompany).where(
            ClientCompany.organization_id == org.id,
            func.lower(ClientCompany.name) == name.lower(),
            col(ClientCompany.removed_at).is_not(None),
        )
    ).first()
    if company_id is not None:
        company = get_active(session, organization=org, company_id=company_id)
        if removed is not None:
            raise InvalidInput(
                f"A removed company was named {removed.name}: add it again to bring it back.",
                field="company_name",
            )
    elif removed is not None:
        company, company.removed_at = removed, None
    else:
        company = ClientCompany(organization_id=saved_id(org), name=name)
    company.name, company.email_domains, company.slack_team_id = name, domains, team
    session.add(company)
    session.flush()
    channels = {ch: cid for ch, cid in _channel_companies(org).items() if cid != company.id}
    channels.update({ch: saved_id(company) for ch in dict.fromkeys(form.channels)})
    org.settings = {**org.settings, "channel_companies": channels}
    session.add(org)
    session.flush()
    return company


def remove(session: Session, *, organization: Organization, company_id: int) -> ClientCompany:
    """Remove a client company: its people and request channels are unlinked and it is no
    longer matched or offered; its tickets, time entries and reports keep it, by name."""
    company = get_active(session, organization=organization, company_id=company_id)
    org = session.get(Organization, organization.id)
    assert org is not None
    company.removed_at = utcnow()
    session.add(company)
    session.execute(
        update(Member)
        .where(col(Member.organization_id) == org.id, col(Member.client_company_id) == company.id)
        .values(client_company_id=None)
    )
    channels = {ch: cid for ch, cid in _channel_companies(org).items() if cid != company.id}
    org.settings = {**org.settings, "channel_companies": channels}
    session.add(org)
    session.flush()
    return company
