"""REST: the organization's lifecycle settings (time zone and automations)."""

from bot.api.deps import Caller, RuntimeDep, api_router, organization_of
from bot.api.errors import error_responses
from bot.api.schemas import OrganizationSettings, OrganizationSettingsUpdate
from bot.services import automation_settings

router = api_router(tags=["settings"])


@router.get("/settings", summary="The organization's settings", responses=error_responses(422))
def get_settings(caller: Caller, runtime: RuntimeDep) -> OrganizationSettings:
    with runtime.db.session() as session:
        organization = organization_of(session, caller)
        found = automation_settings.lifecycle_settings(organization)
        return OrganizationSettings(**found.as_dict())


@router.patch(
    "/settings",
    summary="Change some of the organization's settings",
    responses=error_responses(422),
)
def update_settings(
    body: OrganizationSettingsUpdate,
    caller: Caller,
    runtime: RuntimeDep,
) -> OrganizationSettings:
    """Only the settings named change; a refused value changes nothing."""
    with runtime.db.session() as session:
        organization = organization_of(session, caller)
        updated = automation_settings.update_lifecycle_settings(
            organization, body.model_dump(exclude_unset=True)
        )
        session.add(organization)
        return OrganizationSettings(**updated.as_dict())
