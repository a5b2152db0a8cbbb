"""REST: saved views (a named query, a member's own or shared with the organization)."""

from typing import Annotated

from fastapi import Path, Response
from sqlmodel import Session

from bot.api.deps import Caller, RuntimeDep, api_router, organization_of
from bot.api.errors import error_responses
from bot.api.schemas import (
    MAX_DB_ID,
    SavedViewCreate,
    SavedViewList,
    SavedViewPublic,
    SavedViewUpdate,
)
from bot.api.tokens import ApiCaller
from bot.runtime import Runtime
from bot.services import organizations as orgs
from bot.services import saved_views, search
from bot.services.search import Scope
from models import Member, Organization, SavedView

router = api_router(tags=["views"])
ViewId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="The view's `id`.")]


def _scope(runtime: Runtime, organization: Organization, owner: Member | None) -> Scope:
    """A view runs as its owner; a shared one as whoever opens it (a stand-in here, so
    that `me` in it is not taken for a fault)."""
    assert organization.id is not None
    person = owner or Member(id=0, name="", organization_id=organization.id)
    return search.scope_for(organization, member=person, is_staff=True, now=runtime.clock())


def _owner(session: Session, caller: ApiCaller, owner_id: int | None) -> Member | None:
    if owner_id is None:
        return None
    return orgs.get_member(session, organization_id=caller.organization_id, member_id=owner_id)


def _public(
    session: Session, runtime: Runtime, organization: Organization, view: SavedView
) -> SavedViewPublic:
    owner = _owner_of(session, view)
    assert view.id is not None
    return SavedViewPublic(
        id=view.id,
        name=view.name,
        query=view.query,
        owner_id=view.owner_id,
        shared=view.owner_id is None,
        broken=saved_views.broken_reason(
            session, view=view, scope=_scope(runtime, organization, owner)
        ),
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


def _owner_of(session: Session, view: SavedView) -> Member | None:
    return session.get(Member, view.owner_id) if view.owner_id is not None else None


@router.post("/views", status_code=201, summary="Save a view", responses=error_responses(404, 422))
def create_view(body: SavedViewCreate, caller: Caller, runtime: RuntimeDep) -> SavedViewPublic:
    """A named query; refused (422, with the search's message) if the query does not run."""
    with runtime.db.session() as session:
        organization = organization_of(session, caller)
        owner = _owner(session, caller, body.owner_id)
        view = saved_views.create_view(
            session,
            organization=organization,
            name=body.name,
            query=body.query,
            owner=owner,
            created_by=None,
            scope=_scope(runtime, organization, owner),
        )
        return _public(session, runtime, organization, view)


@router.get("/views", summary="List views", responses=error_responses(422))
def list_views(caller: Caller, runtime: RuntimeDep) -> SavedViewList:
    """Every view of the organization, shared ones first; broken ones say why."""
    with runtime.db.read_session() as session:
        organization = organization_of(session, caller)
        views = saved_views.list_views(session, organization_id=caller.organization_id, member=None)
        return SavedViewList(items=[_public(session, runtime, organization, v) for v in views])


@router.get("/views/{view_id}", summary="Get a view", responses=error_responses(404, 422))
def get_view(view_id: ViewId, caller: Caller, runtime: RuntimeDep) -> SavedViewPublic:
    with runtime.db.read_session() as session:
        organization = organization_of(session, caller)
        view = saved_views.get_view(
            session, organization_id=caller.organization_id, view_id=view_id
        )
        return _public(session, runtime, organization, view)


@router.patch("/views/{view_id}", summary="Change a view", responses=error_responses(404, 422))
def update_view(
    view_id: ViewId, body: SavedViewUpdate, caller: Caller, runtime: RuntimeDep
) -> SavedViewPublic:
    """Change the fields given; `owner_id` null shares the view with everyone."""
    given = body.model_fields_set
    with runtime.db.session() as session:
        organization = organization_of(session, caller)
        view = saved_views.get_view(
            session, organization_id=caller.organization_id, view_id=view_id
        )
        owner = _owner(session, caller, body.owner_id) if "owner_id" in given else None
        scope_owner = owner if "owner_id" in given else _owner_of(session, view)
        saved_views.update_view(
            session,
            view=view,
            member=None,
            scope=_scope(runtime, organization, scope_owner),
            name=body.name,
            query=body.query,
            owner=owner,
            change_owner="owner_id" in given,
        )
        return _public(session, runtime, organization, view)


@router.delete(
    "/views/{view_id}",
    status_code=204,
    summary="Delete a view",
    response_class=Response,
    responses=error_responses(404, 422),
)
def delete_view(view_id: ViewId, caller: Caller, runtime: RuntimeDep) -> Response:
    with runtime.db.session() as session:
        view = saved_views.get_view(
            session, organization_id=caller.organization_id, view_id=view_id
        )
        saved_views.delete_view(session, view=view, member=None)
    return Response(status_code=204)
