"""Saved views: a named query, a person's own or shared with the organization by an admin.

A view whose query no longer runs (a client renamed, a key retired) is kept and shown as
broken with the reason, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, or_, select

from bot.core.errors import InvalidInput, NotFound, PermissionDenied
from bot.services import search
from bot.services.search import QueryError, Scope
from bot.services.search.errors import closest
from models import Member, MemberRole, Organization, SavedView, utcnow
from models.view import VIEW_NAME_MAX_LENGTH


@dataclass(frozen=True)
class BuiltinView:
    name: str
    query: str


# The staff App Home's built-in views, in this order.
BUILTIN_VIEWS: tuple[BuiltinView, ...] = (
    BuiltinView("My open work", "assignee:me status:unresolved"),
    BuiltinView("Unassigned", "is:unassigned status:unresolved"),
    BuiltinView("Waiting on customer", "status:pending"),
    BuiltinView("Breaching soon", "due:<2h -is:overdue status:unresolved sort:due-asc"),
    BuiltinView("Breached", "sla:breached status:unresolved sort:due-asc"),
)


def is_admin(member: Member | None) -> bool:
    return member is not None and (member.role == MemberRole.ADMIN or member.slack_is_admin)


def clean_name(name: str | None) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise InvalidInput("Give the view a name.", field="name")
    if len(cleaned) > VIEW_NAME_MAX_LENGTH:
        raise InvalidInput(
            f"Keep a view's name under {VIEW_NAME_MAX_LENGTH} characters.", field="name"
        )
    return cleaned


def _ensure_name_free(
    session: Session,
    *,
    organization_id: int,
    owner_id: int | None,
    name: str,
    except_id: int | None = None,
) -> None:
    query = select(SavedView).where(
        SavedView.organization_id == organization_id,
        SavedView.name_key == name.lower(),
        col(SavedView.owner_id).is_(None) if owner_id is None else SavedView.owner_id == owner_id,
    )
    existing = session.exec(query).first()
    if existing is not None and existing.id != except_id:
        whose = "A shared view" if owner_id is None else "A view of yours"
        raise InvalidInput(f"{whose} is already named “{existing.name}”.", field="name")


def check_query(session: Session, *, text: str, scope: Scope) -> None:
    """Refuse a query that does not run (the same message a search would give)."""
    search.compile_text(session, text, scope)


def create_view(
    session: Session,
    *,
    organization: Organization,
    name: str,
    query: str,
    owner: Member | None,
    created_by: Member | None,
    scope: Scope,
) -> SavedView:
    """A view of `owner`'s, or a shared one (owner None: admins and API tokens only)."""
    assert organization.id is not None
    if owner is None and created_by is not None and not is_admin(created_by):
        raise PermissionDenied("Only admins can share views.")
    if owner is not None and owner.organization_id != organization.id:
        raise NotFound("That person is not known in this workspace.")
    cleaned = clean_name(name)
    check_query(session, text=query, scope=scope)
    owner_id = owner.id if owner is not None else None
    _ensure_name_free(session, organization_id=organization.id, owner_id=owner_id, name=cleaned)
    view = SavedView(
        organization_id=organization.id,
        owner_id=owner_id,
        name=cleaned,
        name_key=cleaned.lower(),
        query=query.strip(),
        created_by_id=created_by.id if created_by is not None else None,
    )
    session.add(view)
    session.flush()
    return view


def list_views(session: Session, *, organization_id: int, member: Member | None) -> list[SavedView]:
    """Shared views, then the person's own (every view of the organization for a token)."""
    query = select(SavedView).where(SavedView.organization_id == organization_id)
    if member is not None:
        query = query.where(or_(col(SavedView.owner_id).is_(None), SavedView.owner_id == member.id))
    views = list(session.exec(query).all())
    views.sort(key=lambda v: (v.owner_id is not None, v.name_key))
    return views


def get_view(session: Session, *, organization_id: int, view_id: int) -> SavedView:
    view = session.get(SavedView, view_id)
    if view is None or view.organization_id != organization_id:
        raise NotFound(f"There is no view with id {view_id}.")
    return view


def find_view(session: Session, *, organization_id: int, member: Member, name: str) -> SavedView:
    """The person's view of that name, else the shared one; a near name is suggested."""
    key = " ".join(name.split()).lower()
    views = list_views(session, organization_id=organization_id, member=member)
    for view in sorted(views, key=lambda v: v.owner_id is None):
        if view.name_key == key:
            return view
    suggestion = closest(name, [v.name for v in views])
    hint = f" Did you mean “{suggestion}”?" if suggestion else ""
    raise NotFound(f"You have no view named “{name}”.{hint} See them with `/ticket view list`.")


def _ensure_can_change(view: SavedView, member: Member | None) -> None:
    if member is None:  # an API token
        return
    if view.owner_id is None and not is_admin(member):
        raise PermissionDenied("Only admins can change or delete shared views.")
    if view.owner_id is not None and view.owner_id != member.id:
        raise PermissionDenied("That view is someone else's.")


def update_view(
    session: Session,
    *,
    view: SavedView,
    member: Member | None,
    scope: Scope,
    name: str | None = None,
    query: str | None = None,
    owner: Member | None = None,
    change_owner: bool = False,
) -> SavedView:
    _ensure_can_change(view, member)
    new_name = clean_name(name) if name is not None else view.name
    new_owner_id = (owner.id if owner is not None else None) if change_owner else view.owner_id
    if owner is not None and owner.organization_id != view.organization_id:
        raise NotFound("That person is not known in this workspace.")
    if query is not None:
        check_query(session, text=query, scope=scope)
        view.query = query.strip()
    _ensure_name_free(
        session,
        organization_id=view.organization_id,
        owner_id=new_owner_id,
        name=new_name,
        except_id=view.id,
    )
    view.name, view.name_key, view.owner_id = new_name, new_name.lower(), new_owner_id
    view.updated_at = utcnow()
    session.add(view)
    session.flush()
    return view


def share_view(session: Session, *, organization_id: int, member: Member, name: str) -> SavedView:
    """An admin makes one of their views (or finds a shared one) visible to all staff."""
    if not is_admin(member):
        raise PermissionDenied("Only admins can share views.")
    view = find_view(session, organization_id=organization_id, member=member, name=name)
    if view.owner_id is None:
        return view
    _ensure_name_free(session, organization_id=organization_id, owner_id=None, name=view.name)
    view.owner_id = None
    view.updated_at = utcnow()
    session.add(view)
    session.flush()
    return view


def delete_view(session: Session, *, view: SavedView, member: Member | None) -> None:
    _ensure_can_change(view, member)
    session.delete(view)
    session.flush()


@dataclass(frozen=True)
class ViewStatus:
    count: int | None
    broken: str | None  # why the query no longer runs


def view_status(session: Session, *, query: str, scope: Scope) -> ViewStatus:
    try:
        return ViewStatus(count=search.count(session, text=query, scope=scope), broken=None)
    except QueryError as error:
        return ViewStatus(count=None, broken=error.message)


def broken_reason(session: Session, *, view: SavedView, scope: Scope) -> str | None:
    """Why the view's query no longer runs, or None. A shared view runs as whoever opens
    it, so `me` in it is not a fault."""
    try:
        check_query(session, text=view.query, scope=scope)
    except QueryError as error:
        return error.message
    return None
