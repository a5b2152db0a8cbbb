"""REST: monthly reports of lifecycle and satisfaction."""

from typing import Annotated

from fastapi import Query

from bot.api.deps import Caller, RuntimeDep, api_router, organization_of
from bot.api.errors import error_responses
from bot.api.schemas import CsatReport
from bot.services import csat
from bot.services.automation_settings import lifecycle_settings

router = api_router(tags=["reports"])

# A month: YYYY-MM, years 1970 to 2999.
MONTH_PATTERN = r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$"
Month = Annotated[
    str, Query(pattern=MONTH_PATTERN, description="YYYY-MM, in the organization's time zone.")
]


@router.get(
    "/reports/csat", summary="Satisfaction answers of a month", responses=error_responses(422)
)
def csat_report(month: Month, caller: Caller, runtime: RuntimeDep) -> CsatReport:
    """Answers given in `month` (the organization's time zone), each by its latest
    rating; `score_percent` is the share of Good among them (null without answers)."""
    with runtime.db.read_session() as session:
        organization = organization_of(session, caller)
        found = csat.score(
            session,
            organization=organization,
            month=month,
            zone=lifecycle_settings(organization).zone,
        )
        return CsatReport(good=found.good, bad=found.bad, score_percent=found.score_percent)
