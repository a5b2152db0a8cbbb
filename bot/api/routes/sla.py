"""REST: SLA configuration (calendars, policies, client companies) and the monthly report."""

from __future__ import annotations

import csv
import io
import re
from typing import Annotated

from fastapi import Path, Query, Request, Response
from sqlmodel import Session

from bot.api.deps import JSON_BODY_MAX_BYTES, Caller, RuntimeDep, api_router, organization_of
from bot.api.errors import error_responses
from bot.api.schemas import MAX_DB_ID
from bot.api.schemas_sla import (
    CalendarCreate,
    CalendarList,
    CalendarPublic,
    CalendarUpdate,
    CompanyCompliance,
    CompanyCreate,
    CompanyList,
    CompanyPublic,
    CompanyUpdate,
    MetricCompliance,
    PolicyCreate,
    PolicyList,
    PolicyPublic,
    PolicyUpdate,
    PriorityCompliance,
    SlaReport,
    TargetBody,
    TargetPublic,
)
from bot.core.errors import InvalidInput
from bot.flows import sla as sla_flows
from bot.services import organizations as orgs
from bot.services import sla as sla_service
from bot.services import sla_admin
from models import ClientCompany, SlaPolicy, TicketPriority
from models.sla import BusinessCalendar

router = api_router(tags=["sla"])

CalendarId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="The calendar's `id`.")]
PolicyId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="The policy's `id`.")]
CompanyId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="The client company's `id`.")]


# Calendars ---------------------------------------------------------------------------------


def _calendar(row: BusinessCalendar) -> CalendarPublic:
    return CalendarPublic.model_validate(row, from_attributes=True)


@router.post(
    "/calendars",
    status_code=201,
    summary="Create a business calendar",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(422),
)
def create_calendar(body: CalendarCreate, caller: Caller, runtime: RuntimeDep) -> CalendarPublic:
    """Refused (422) for an unknown time zone, an interval that ends before it starts,
    overlapping intervals, or a week with no open interval."""
    with runtime.db.session() as session:
        row = sla_admin.save_calendar(
            session, organization=organization_of(session, caller), values=body.model_dump()
        )
        return _calendar(row)


@router.get("/calendars", summary="List business calendars", responses=error_responses(422))
def list_calendars(caller: Caller, runtime: RuntimeDep) -> CalendarList:
    with runtime.db.session() as session:
        rows = sla_admin.list_calendars(session, organization_id=caller.organization_id)
        return CalendarList(items=[_calendar(r) for r in rows])


@router.get(
    "/calendars/{calendar_id}",
    summary="Get a business calendar",
    responses=error_responses(404, 422),
)
def get_calendar(calendar_id: CalendarId, caller: Caller, runtime: RuntimeDep) -> CalendarPublic:
    with runtime.db.session() as session:
        return _calendar(
            sla_admin.get_calendar(
                session, organization_id=caller.organization_id, calendar_id=calendar_id
            )
        )


@router.patch(
    "/calendars/{calendar_id}",
    summary="Change a business calendar",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(404, 422),
)
def update_calendar(
    calendar_id: CalendarId, body: CalendarUpdate, caller: Caller, runtime: RuntimeDep
) -> CalendarPublic:
    """A change of hours, holidays or time zone moves the due instants of the running
    business-hours clocks that count on this calendar (their cards are redrawn); a due
    instant now past is a breach at that instant."""
    with runtime.db.session() as session:
        organization = organization_of(session, caller)
        row = sla_admin.get_calendar(
            session, organization_id=caller.organization_id, calendar_id=calendar_id
        )
        row = sla_admin.save_calendar(
            session, organization=organization, calendar=row, values=_set_fields(body)
        )
        sla_flows.refresh_changed_cards(session, organization=organization)
        return _calendar(row)


@router.delete(
    "/calendars/{calendar_id}",
    status_code=204,
    summary="Delete a business calendar",
    responses=error_responses(404, 422),
)
def delete_calendar(calendar_id: CalendarId, caller: Caller, runtime: RuntimeDep) -> Response:
    """Refused (422) while a policy uses it."""
    with runtime.db.session() as session:
        row = sla_admin.get_calendar(
            session, organization_id=caller.organization_id, calendar_id=calendar_id
        )
        sla_admin.delete_calendar(session, calendar=row)
    return Response(status_code=204)


def _set_fields(body: CalendarUpdate | PolicyUpdate | CompanyUpdate) -> dict:
    values = body.model_dump(exclude_unset=True)
    for name, value in values.items():
        if value is None and name not in ("calendar_id", "sla_policy_id", "slack_team_id"):
            raise InvalidInput(f"{name} cannot be null.", field=name)
    return values


# Policies ----------------------------------------------------------------------------------


def _policy(session: Session, policy: SlaPolicy) -> PolicyPublic:
    return PolicyPublic(
        id=policy.id,
        name=policy.name,
        calendar_id=policy.calendar_id,
        is_default=policy.is_default,
        pause_statuses=list(policy.pause_statuses),
        reopen_mode=str(policy.reopen_mode),
        targets=[
            TargetPublic.model_validate(t, from_attributes=True)
            for t in sla_admin.targets_of(session, policy)
        ],
    )


def _targets(targets: list[TargetBody] | None) -> list[sla_admin.TargetInput] | None:
    if targets is None:
        return None
    return [
        sla_admin.TargetInput(
            priority=t.priority.value,
            metric=t.metric.value,
            minutes=t.minutes,
            business_hours=t.business_hours,
        )
        for t in targets
    ]


@router.post(
    "/sla-policies",
    status_code=201,
    summary="Create an SLA policy",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(422),
)
def create_policy(body: PolicyCreate, caller: Caller, runtime: RuntimeDep) -> PolicyPublic:
    """One target per priority and metric; a priority without a target for a metric
    tracks nothing for it. Refused (422) for a target of 0 minutes or less."""
    values = body.model_dump(exclude={"targets"})
    values["pause_statuses"] = [s.value for s in body.pause_statuses]
    with runtime.db.session() as session:
        policy = sla_admin.save_policy(
            session,
            organization=organization_of(session, caller),
            values=values,
            targets=_targets(body.targets),
        )
        return _policy(session, policy)


@router.get("/sla-policies", summary="List SLA policies", responses=error_responses(422))
def list_policies(caller: Caller, runtime: RuntimeDep) -> PolicyList:
    with runtime.db.session() as session:
        found = sla_admin.list_policies(session, organization_id=caller.organization_id)
        return PolicyList(items=[_policy(session, p) for p in found])


@router.get(
    "/sla-policies/{policy_id}", summary="Get an SLA policy", responses=error_responses(404, 422)
)
def get_policy(policy_id: PolicyId, caller: Caller, runtime: RuntimeDep) -> PolicyPublic:
    with runtime.db.session() as session:
        policy = sla_admin.get_policy(
            session, organization_id=caller.organization_id, policy_id=policy_id
        )
        return _policy(session, policy)


@router.patch(
    "/sla-policies/{policy_id}",
    summary="Change an SLA policy",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(404, 422),
)
def update_policy(
    policy_id: PolicyId, body: PolicyUpdate, caller: Caller, runtime: RuntimeDep
) -> PolicyPublic:
    """`targets`, when given, replace all of the policy's targets. Clocks already running
    keep the target they started with; a new `calendar_id` moves their due instants."""
    values = _set_fields(body)
    values.pop("targets", None)
    if "pause_statuses" in values:
        values["pause_statuses"] = [str(s) for s in values["pause_statuses"]]
    with runtime.db.session() as session:
        policy = sla_admin.get_policy(
            session, organization_id=caller.organization_id, policy_id=policy_id
        )
        organization = organization_of(session, caller)
        policy = sla_admin.save_policy(
            session,
            organization=organization,
            policy=policy,
            values=values,
            targets=_targets(body.targets) if "targets" in body.model_fields_set else None,
        )
        sla_flows.refresh_changed_cards(session, organization=organization)
        return _policy(session, policy)


@router.delete(
    "/sla-policies/{policy_id}",
    status_code=204,
    summary="Delete an SLA policy",
    responses=error_responses(404, 422),
)
def delete_policy(policy_id: PolicyId, caller: Caller, runtime: RuntimeDep) -> Response:
    """Its client companies and tickets fall back to the default policy; clocks already
    running keep their targets."""
    with runtime.db.session() as session:
        policy = sla_admin.get_policy(
            session, organization_id=caller.organization_id, policy_id=policy_id
        )
        sla_admin.delete_policy(session, policy=policy)
    return Response(status_code=204)


# Client companies --------------------------------------------------------------------------


def _company(row: ClientCompany) -> CompanyPublic:
    return CompanyPublic.model_validate(row, from_attributes=True)


@router.post(
    "/client-companies",
    status_code=201,
    summary="Create a client company",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(422),
)
def create_company(body: CompanyCreate, caller: Caller, runtime: RuntimeDep) -> CompanyPublic:
    with runtime.db.session() as session:
        organization = organization_of(session, caller)
        company = orgs.create_client_company(
            session,
            organization=organization,
            name=body.name,
            email_domains=body.email_domains,
            slack_team_id=body.slack_team_id,
        )
        if body.sla_policy_id is not None:
            sla_admin.set_company_policy(
                session, organization=organization, company=company, policy_id=body.sla_policy_id
            )
        return _company(company)


@router.get("/client-companies", summary="List client companies", responses=error_responses(422))
def list_companies(
    caller: Caller,
    runtime: RuntimeDep,
    include_removed: Annotated[
        bool, Query(description="Also the companies an admin removed (with `removed_at`).")
    ] = False,
) -> CompanyList:
    """The organization's client companies, without the removed ones unless asked."""
    from sqlmodel import col, select

    with runtime.db.session() as session:
        query = select(ClientCompany).where(ClientCompany.organization_id == caller.organization_id)
        if not include_removed:
            query = query.where(col(ClientCompany.removed_at).is_(None))
        rows = session.exec(query.order_by(col(ClientCompany.id))).all()
        return CompanyList(items=[_company(r) for r in rows])


@router.get(
    "/client-companies/{company_id}",
    summary="Get a client company",
    responses=error_responses(404, 422),
)
def get_company(company_id: CompanyId, caller: Caller, runtime: RuntimeDep) -> CompanyPublic:
    with runtime.db.session() as session:
        return _company(
            orgs.get_client_company(
                session, organization_id=caller.organization_id, company_id=company_id
            )
        )


@router.patch(
    "/client-companies/{company_id}",
    summary="Change a client company",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(404, 422),
)
def update_company(
    company_id: CompanyId, body: CompanyUpdate, caller: Caller, runtime: RuntimeDep
) -> CompanyPublic:
    """A new `sla_policy_id` applies to tickets filed from then on."""
    with runtime.db.session() as session:
        organization = organization_of(session, caller)
        company = orgs.get_client_company(
            session, organization_id=caller.organization_id, company_id=company_id
        )
        sla_admin.update_company(
            session, organization=organization, company=company, values=_set_fields(body)
        )
        return _company(company)


# Report ------------------------------------------------------------------------------------

MONTH_PATTERN = r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$"
CSV_COLUMNS = ("group", "key", "metric", "met", "breached", "running", "compliance_percent")


def _compliance(tallies: dict[str, sla_service.Tally]) -> dict[str, MetricCompliance]:
    return {
        metric: MetricCompliance(
            met=t.met,
            breached=t.breached,
            running=t.running,
            compliance_percent=t.compliance_percent,
        )
        for metric, t in tallies.items()
    }


@router.get(
    "/reports/sla",
    summary="SLA compliance of a month",
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "JSON by default; CSV with `Accept: text/csv`.",
        },
        **error_responses(404, 422),
    },
)
def sla_report(
    caller: Caller,
    runtime: RuntimeDep,
    request: Request,
    month: Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM (1970-01 to 2999-12)")],
    client_company_id: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
) -> SlaReport:
    """Clocks of the tickets created in `month` (the organization's time zone): met,
    breached (ever) and running per metric, overall, per client company and per priority."""
    if not re.match(MONTH_PATTERN, month):  # pragma: no cover - the Query pattern checks it
        raise InvalidInput("month is YYYY-MM.", field="month")
    with runtime.db.session() as session:
        organization = organization_of(session, caller)
        names: dict[int | None, str | None] = {None: None}
        if client_company_id is not None:
            company = orgs.get_client_company(
                session, organization_id=organization.id, company_id=client_company_id
            )
            names[company.id] = company.name
        report = sla_service.month_report(
            session,
            organization_id=organization.id,  # type: ignore[arg-type]
            month=month,
            timezone=organization.timezone,
            client_company_id=client_company_id,
        )
        for company_id in report.by_company:
            if company_id not in names:
                row = session.get(ClientCompany, company_id)
                names[company_id] = row.name if row else None
    order = [p.value for p in TicketPriority]
    body = SlaReport(
        month=month,
        timezone=report.timezone,
        client_company_id=client_company_id,
        metrics=_compliance(report.metrics),
        by_client_company=[
            CompanyCompliance(
                client_company_id=company_id,
                client_company=names.get(company_id),
                metrics=_compliance(tallies),
            )
            for company_id, tallies in sorted(
                report.by_company.items(), key=lambda item: (names.get(item[0]) or "", item[0] or 0)
            )
        ],
        by_priority=[
            PriorityCompliance(priority=priority, metrics=_compliance(tallies))
            for priority, tallies in sorted(
                report.by_priority.items(),
                key=lambda item: order.index(item[0]) if item[0] in order else len(order),
            )
        ],
    )
    if "text/csv" in request.headers.get("accept", ""):
        return Response(_csv(body), media_type="text/csv; charset=utf-8")  # type: ignore[return-value]
    return body


def _csv(report: SlaReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def rows(group: str, key: str, metrics: dict[str, MetricCompliance]) -> None:
        for metric, m in metrics.items():
            percent = "" if m.compliance_percent is None else m.compliance_percent
            writer.writerow((group, key, metric, m.met, m.breached, m.running, percent))

    rows("all", report.month, report.metrics)
    for company in report.by_client_company:
        rows("client_company", company.client_company or "(none)", company.metrics)
    for priority in report.by_priority:
        rows("priority", priority.priority, priority.metrics)
    return out.getvalue()
