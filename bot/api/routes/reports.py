"""REST: monthly reports of lifecycle and satisfaction."""

from typing import Annotated, Any

from fastapi import Header, Query, Response

from bot.api.deps import Caller, RuntimeDep, api_router, organization_of
from bot.api.errors import error_responses
from bot.api.schemas import MAX_DB_ID, CsatReport, MonthlyReportBody
from bot.services import csat
from bot.services import monthly_report as monthly_report_service
from bot.services.automation_settings import lifecycle_settings
from bot.services.report_chart import render_png

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


@router.get(
    "/reports/monthly",
    summary="The monthly report's charts",
    response_model=MonthlyReportBody,
    responses={
        **error_responses(404, 422),
        200: {
            "description": "The charts' data; `Accept: image/png` gives the charts, "
            "`Accept: text/csv` the same data as CSV.",
            "content": {"image/png": {}, "text/csv": {}},
        },
    },
)
def monthly_report(
    month: Month,
    caller: Caller,
    runtime: RuntimeDep,
    accept: Annotated[str | None, Header()] = None,
    client_company_id: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
) -> Any:
    """Tickets opened and resolved per week, SLA compliance per metric, billable hours per
    client company and satisfaction answers of `month` (the organization's time zone), for
    one client company when given."""
    with runtime.db.read_session() as session:
        organization = organization_of(session, caller)
        report = monthly_report_service.build(
            session,
            organization=organization,
            month=month,
            zone=lifecycle_settings(organization).zone,
            client_company_id=client_company_id,
        )
    wanted = (accept or "").lower()
    if "image/png" in wanted:
        return Response(render_png(report), media_type="image/png")
    if "text/csv" in wanted:
        return Response(monthly_report_service.to_csv(report), media_type="text/csv")
    return MonthlyReportBody.model_validate(report.as_dict())
