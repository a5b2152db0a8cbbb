"""Organizations, client companies and members."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from bot.core.errors import InvalidInput, NotFound
from models import (
    ClientCompany,
    Member,
    MemberRole,
    Organization,
    TicketPriority,
    saved_id,
    utcnow,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise InvalidInput(f"{email!r} is not an email address", field="email")
    return email


def get_organization_by_team(session: Session, *, team_id: str) -> Organization | None:
    return session.exec(select(Organization).where(Organization.slack_team_id == team_id)).first()


def find_workspace_member(
    session: Session, *, team_id: str, slack_user_id: str | None
) -> tuple[Organization | None, Member | None]:
    """The organization of workspace `team_id` and its member `slack_user_id`, if known,
    in one statement (every request from Slack starts with this look-up)."""
    if not slack_user_id:
        return get_organization_by_team(session, team_id=team_id), None
    row = session.exec(
        select(Organization, Member)
        .outerjoin(
            Member,
            and_(
                col(Member.organization_id) == Organization.id,
                col(Member.slack_user_id) == slack_user_id,
            ),
        )
        .where(Organization.slack_team_id == team_id)
    ).first()
    if row is None:
        return None, None
    return row[0], row[1]


def connected_organizations(session: Session) -> list[Organization]:
    """Organizations whose workspace has the app installed (not disconnected)."""
    return list(
        session.exec(
            select(Organization).where(col(Organization.slack_disconnected_at).is_(None))
        ).all()
    )


def disconnected_organizations(session: Session) -> list[Organization]:
    """Organizations whose workspace took the app's access away (paused deliveries)."""
    return list(
        session.exec(
            select(Organization)
            .where(col(Organization.slack_disconnected_at).is_not(None))
            .order_by(col(Organization.id))
        ).all()
    )


def get_or_create_organization(
    session: Session,
    *,
    team_id: str,
    name: str | None = None,
    enterprise_id: str | None = None,
) -> Organization:
    """The organization of Slack workspace `team_id`, created on first sight.

    Safe when two requests from a new workspace arrive at once: the loser of the insert
    race reads the winner's row.
    """
    found = get_organization_by_team(session, team_id=team_id)
    if found is not None:
        if enterprise_id and found.slack_enterprise_id != enterprise_id:
            found.slack_enterprise_id = enterprise_id
            session.add(found)
            session.flush()
        return found
    organization = Organization(
        slack_team_id=team_id, slack_enterprise_id=enterprise_id, name=name or team_id
    )
    try:
        with session.begin_nested():
            session.add(organization)
    except IntegrityError:
        existing = get_organization_by_team(session, team_id=team_id)
        if existing is None:  # pragma: no cover - the constraint that failed says it exists
            raise
        return existing
    return organization


def admins(session: Session, *, organization_id: int | None) -> list[Member]:
    """The organization's admins reachable in Slack: Ticketbot admins, and workspace
    admins and owners as Slack last said."""
    return list(
        session.exec(
            select(Member)
            .where(
                Member.organization_id == organization_id,
                col(Member.slack_user_id).is_not(None),
                or_(col(Member.role) == MemberRole.ADMIN, col(Member.slack_is_admin).is_(True)),
            )
            .order_by(col(Member.id))
        ).all()
    )


def update_organization_settings(
    session: Session,
    *,
    organization: Organization,
    staff_channel_id: str | None = None,
    categories: list[str] | None = None,
    default_priority: str | None = None,
    name: str | None = None,
) -> Organization:
    settings: dict[str, Any] = dict(organization.settings)
    if categories is not None:
        cleaned = [c.strip() for c in categories if c.strip()]
        if not cleaned:
            raise InvalidInput("Give at least one ticket category.", field="categories")
        if any(len(c) > 50 for c in cleaned):
            raise InvalidInput("A category can be at most 50 characters.", field="categories")
        settings["categories"] = list(dict.fromkeys(cleaned))
    if default_priority is not None:
        try:
            settings["default_priority"] = TicketPriority(default_priority).value
        except ValueError:
            raise InvalidInput(
                f"Unknown priority {default_priority!r}.", field="default_priority"
            ) from None
    if staff_channel_id is not None:
        if (staff_channel_id or None) != organization.staff_channel_id:
            # Another channel: whatever was wrong with the old one is not its problem.
            organization.staff_channel_error = None
            organization.staff_channel_error_at = None
            organization.staff_channel_retry_at = None
        organization.staff_channel_id = staff_channel_id or None
    if name:
        organization.name = name[:200]
    organization.settings = settings
    organization.updated_at = utcnow()
    session.add(organization)
    session.flush()
    return organization


def create_client_company(
    session: Session,
    *,
    organization: Organization,
    name: str,
    email_domains: list[str] | None = None,
    slack_team_id: str | None = None,
) -> ClientCompany:
    name = name.strip()
    if not name:
        raise InvalidInput("A client company needs a name.", field="name")
    existing = find_client_company_by_name(session, organization_id=organization.id, name=name)
    if existing is not None:
        raise InvalidInput(f"There is already a client company named {name!r}.", field="name")
    company = ClientCompany(
        organization_id=saved_id(organization),
        name=name[:200],
        email_domains=[d.strip().lower().lstrip("@") for d in email_domains or [] if d.strip()],
        slack_team_id=slack_team_id,
    )
    session.add(company)
    session.flush()
    return company


def find_client_company_by_name(
    session: Session, *, organization_id: int | None, name: str
) -> ClientCompany | None:
    return session.exec(
        select(ClientCompany).where(
            ClientCompany.organization_id == organization_id, ClientCompany.name == name
        )
    ).first()


def get_client_company(
    session: Session, *, organization_id: int | None, company_id: int
) -> ClientCompany:
    company = session.get(ClientCompany, company_id)
    if company is None or company.organization_id != organization_id:
        raise NotFound("That client company does not exist.")
    return company


def client_company_for_email(
    session: Session, *, organization_id: int | None, email: str | None
) -> ClientCompany | None:
    """The client company whose email domains include `email`'s domain."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].lower()
    companies = session.exec(
        select(ClientCompany).where(
            ClientCompany.organization_id == organization_id,
            col(ClientCompany.removed_at).is_(None),
        )
    ).all()
    return next((c for c in companies if domain in c.email_domains), None)


def rematch_members(session: Session, *, organization: Organization) -> list[int]:
    """After the client companies changed: members without a company whose email domain
    or Slack Connect workspace now belongs to one get it, and so do their tickets without a
    company. Returns the ids of those tickets. One statement per domain and workspace,
    however many members there are."""
    moved: list[int] = []
    companies = session.exec(
        select(ClientCompany).where(
            ClientCompany.organization_id == organization.id,
            col(ClientCompany.removed_at).is_(None),
        )
    ).all()
    for company in companies:
        matches: list[ColumnElement[bool]] = [
            func.lower(Member.email).like(f"%@{d.lower()}") for d in company.email_domains
        ]
        if company.slack_team_id:
            matches.append(col(Member.slack_team_id) == company.slack_team_id)
        for match in matches:
            member_ids = list(
                session.exec(
                    select(Member.id).where(
                        Member.organization_id == organization.id,
                        col(Member.client_company_id).is_(None),
                        match,
                    )
                ).all()
            )
            if member_ids:
                moved += _place_members(session, organization, company, member_ids)
    session.expire_all()
    return moved


def _place_members(
    session: Session, organization: Organization, company: ClientCompany, member_ids: list[Any]
) -> list[int]:
    """`member_ids` belong to `company`, and so do their tickets without a company; returns
    the ids of those tickets."""
    from models import Ticket

    session.execute(
        update(Member).where(col(Member.id).in_(member_ids)).values(client_company_id=company.id)
    )
    ticket_ids = list(
        session.exec(
            select(Ticket.id).where(
                Ticket.organization_id == organization.id,
                col(Ticket.requester_id).in_(member_ids),
                col(Ticket.client_company_id).is_(None),
            )
        ).all()
    )
    if ticket_ids:
        session.execute(
            update(Ticket)
            .where(col(Ticket.id).in_(ticket_ids))
            .values(client_company_id=company.id)
        )
    return [i for i in ticket_ids if i is not None]


def get_member(session: Session, *, organization_id: int | None, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.organization_id != organization_id:
        raise NotFound("That person is not known in this workspace.")
    return member


def find_member_by_slack_id(
    session: Session, *, organization_id: int | None, slack_user_id: str
) -> Member | None:
    return session.exec(
        select(Member).where(
            Member.organization_id == organization_id, Member.slack_user_id == slack_user_id
        )
    ).first()


def find_member_by_email(
    session: Session, *, organization_id: int | None, email: str
) -> Member | None:
    return session.exec(
        select(Member).where(
            Member.organization_id == organization_id, Member.email == email.strip().lower()
        )
    ).first()


def create_member(
    session: Session,
    *,
    organization: Organization,
    name: str,
    email: str | None = None,
    role: MemberRole | str = MemberRole.END_USER,
    slack_user_id: str | None = None,
    client_company_id: int | None = None,
    timezone: str | None = None,
) -> Member:
    name = name.strip()
    if not name:
        raise InvalidInput("A person needs a name.", field="name")
    try:
        role = MemberRole(role)
    except ValueError:
        raise InvalidInput(f"Unknown role {role!r}.", field="role") from None
    email = normalise_email(email)
    if email and find_member_by_email(session, organization_id=organization.id, email=email):
        raise InvalidInput(f"Someone with the email {email} already exists.", field="email")
    if client_company_id is not None:
        get_client_company(session, organization_id=organization.id, company_id=client_company_id)
    elif email:
        company = client_company_for_email(session, organization_id=organization.id, email=email)
        client_company_id = company.id if company else None
    member = Member(
        organization_id=saved_id(organization),
        name=name[:200],
        email=email,
        role=role,
        slack_user_id=slack_user_id,
        client_company_id=client_company_id,
        timezone=timezone,
    )
    session.add(member)
    session.flush()
    return member


def sync_slack_member(
    session: Session,
    *,
    organization: Organization,
    slack_user_id: str,
    name: str | None = None,
    email: str | None = None,
    timezone: str | None = None,
) -> Member:
    """The member behind Slack user `slack_user_id`, created or refreshed from Slack's data.

    A member created beforehand with the same email and no Slack id yet (by the seed or
    the REST API) is linked instead of duplicated.
    """
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = None  # Slack's data is what it is; a strange address just isn't linked.
    member = find_member_by_slack_id(
        session, organization_id=organization.id, slack_user_id=slack_user_id
    )
    if member is None and email:
        candidate = find_member_by_email(session, organization_id=organization.id, email=email)
        if candidate is not None and candidate.slack_user_id is None:
            member = candidate
            member.slack_user_id = slack_user_id
    if member is None:
        member = Member(
            organization_id=saved_id(organization),
            slack_user_id=slack_user_id,
            name=(name or slack_user_id)[:200],
            role=MemberRole.END_USER,
            timezone=timezone,
        )
        if email and not find_member_by_email(
            session, organization_id=organization.id, email=email
        ):
            member.email = email
            company = client_company_for_email(
                session, organization_id=organization.id, email=email
            )
            member.client_company_id = company.id if company else None
        try:
            with session.begin_nested():
                session.add(member)
        except IntegrityError:
            # Another request created the same Slack user a moment ago.
            existing = find_member_by_slack_id(
                session, organization_id=organization.id, slack_user_id=slack_user_id
            )
            if existing is None:  # pragma: no cover
                raise
            return existing
        return member
    changed = False
    if name and member.name != name[:200]:
        _rename_authored(session, member=member, new_name=name[:200])
        member.name, changed = name[:200], True
    if timezone and member.timezone != timezone:
        member.timezone, changed = timezone, True
    if (
        email
        and member.email is None
        and not find_member_by_email(session, organization_id=organization.id, email=email)
    ):
        member.email, changed = email, True
    if changed or member in session.dirty:
        member.updated_at = utcnow()
        session.add(member)
        session.flush()
    return member


def list_staff(session: Session, *, organization_id: int | None) -> list[Member]:
    return list(
        session.exec(
            select(Member)
            .where(
                Member.organization_id == organization_id,
                Member.role.in_([MemberRole.ADMIN, MemberRole.TECHNICIAN]),  # type: ignore[attr-defined]
            )
            .order_by(Member.name)
        ).all()
    )


def merge_into_email_twin(session: Session, *, member: Member, email: str | None) -> Member:
    """Fold `member` (first seen in Slack) into an earlier member with the same email.

    Someone added by the seed or the REST API has an email but no Slack id; when their Slack
    profile is read after their first request, everything the Slack-only member did moves
    to the earlier member, which keeps its role and client company.
    """
    from models import Ticket, TicketAttachment, TicketComment, TicketEvent

    try:
        email = normalise_email(email)
    except InvalidInput:
        return member
    if not email or member.email == email:
        return member
    twin = find_member_by_email(session, organization_id=member.organization_id, email=email)
    if twin is None or twin.id == member.id or twin.slack_user_id is not None:
        return member
    moves = (
        (Ticket, "requester_id"),
        (Ticket, "assigned_staff_id"),
        (TicketComment, "author_id"),
        (TicketAttachment, "uploaded_by"),
        (TicketEvent, "actor_id"),
    )
    for table, column in moves:
        session.execute(
            update(table)
            .where(getattr(table, column) == member.id)
            .values({column: twin.id})
            .execution_options(synchronize_session=False)
        )
    slack_user_id, timezone, name = member.slack_user_id, member.timezone, member.name
    session.delete(member)
    session.flush()
    twin.slack_user_id = slack_user_id
    twin.timezone = timezone or twin.timezone
    twin.name = name or twin.name
    twin.updated_at = utcnow()
    session.add(twin)
    session.flush()
    session.expire_all()
    return twin


def _rename_authored(session: Session, *, member: Member, new_name: str) -> None:
    """Carry a person's new name to the comments and files they authored under the old one
    (author names are denormalized; a first request may only have known a Slack id)."""
    from models import TicketAttachment, TicketComment

    session.execute(
        update(TicketComment)
        .where(
            col(TicketComment.author_id) == member.id,
            col(TicketComment.author_name) == member.name,
        )
        .values(author_name=new_name)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(TicketAttachment)
        .where(
            col(TicketAttachment.uploaded_by) == member.id,
            col(TicketAttachment.uploaded_by_name) == member.name,
        )
        .values(uploaded_by_name=new_name)
        .execution_options(synchronize_session=False)
    )


def client_company_for_slack_team(
    session: Session, *, organization: Organization, team_id: str, team_name: str | None
) -> ClientCompany | None:
    """The client company of a Slack Connect partner workspace, created on first sight;
    None if an admin removed it (it is not brought back behind their back)."""
    company = session.exec(
        select(ClientCompany)
        .where(
            ClientCompany.organization_id == organization.id,
            ClientCompany.slack_team_id == team_id,
        )
        .order_by(col(ClientCompany.removed_at).is_not(None))  # a live one first
    ).first()
    if company is not None:
        return None if company.removed_at is not None else company
    name = (team_name or team_id).strip()[:200] or team_id
    if find_client_company_by_name(session, organization_id=organization.id, name=name):
        name = f"{name} ({team_id})"[:200]
    company = ClientCompany(
        organization_id=saved_id(organization), name=name, slack_team_id=team_id
    )
    try:
        with session.begin_nested():
            session.add(company)
    except IntegrityError:
        existing = find_client_company_by_name(session, organization_id=organization.id, name=name)
        if existing is None:  # pragma: no cover
            raise
        return existing
    return company


def match_client_company(
    session: Session,
    *,
    organization: Organization,
    member: Member,
    external_team_id: str | None = None,
    external_team_name: str | None = None,
) -> list[int]:
    """Decide which client company a requester belongs to, without anyone typing it.

    A Slack Connect requester (from another workspace) belongs to that workspace's company;
    otherwise their email domain decides. Their tickets without a company get it too; the
    ids of those tickets are returned (their cards need refreshing). A member whose company
    is already known keeps it.
    """
    from models import Ticket

    if external_team_id and member.slack_team_id != external_team_id:
        member.slack_team_id = external_team_id  # matched again if setup names the workspace
        session.add(member)
    if member.client_company_id is not None:
        return []
    company = None
    if external_team_id:
        company = client_company_for_slack_team(
            session,
            organization=organization,
            team_id=external_team_id,
            team_name=external_team_name,
        )
    elif member.email:
        company = client_company_for_email(
            session, organization_id=organization.id, email=member.email
        )
    if company is None:
        return []
    member.client_company_id = company.id
    session.add(member)
    ticket_ids = list(
        session.exec(
            select(Ticket.id).where(
                Ticket.organization_id == organization.id,
                Ticket.requester_id == member.id,
                Ticket.client_company_id.is_(None),  # type: ignore[union-attr]
            )
        ).all()
    )
    session.execute(
        update(Ticket)
        .where(
            col(Ticket.organization_id) == organization.id,
            col(Ticket.requester_id) == member.id,
            col(Ticket.client_company_id).is_(None),
        )
        .values(client_company_id=company.id)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return [t for t in ticket_ids if t is not None]


# Slack menus hold at most 100 options.
COMPANY_CHOICES_MAX = 100


def company_choices(
    session: Session, *, organization_id: int | None
) -> tuple[tuple[int, str], ...]:
    """(id, name) of the organization's client companies, by name, for menus."""
    companies = session.exec(
        select(ClientCompany)
        .where(
            ClientCompany.organization_id == organization_id,
            col(ClientCompany.removed_at).is_(None),
        )
        .order_by(ClientCompany.name)
        .limit(COMPANY_CHOICES_MAX)
    ).all()
    return tuple((c.id, c.name) for c in companies if c.id is not None)
