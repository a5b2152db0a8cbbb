"""REST: time entries, work types and the monthly time report (DESIGN.md §9)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from sqlmodel import Session

from bot.api.deps import (
    JSON_BODY_MAX_BYTES,
    Caller,
    RuntimeDep,
    TicketId,
    api_router,
    organization_of,
    ticket_of,
)
from bot.api.errors import error_responses
from bot.api.schemas import MAX_DB_ID
from bot.api.time_schemas import (
    ReportLinePublic,
    TimeEntryCreateRequest,
    TimeEntryList,
    TimeEntryPublic,
    TimeEntryQuery,
    TimeEntryResult,
    TimeEntryUpdateRequest,
    TimeReportPublic,
    WorkTypeCreateRequest,
    WorkTypeList,
    WorkTypePublic,
)
from bot.flows import time_tracking as time_flows
from bot.services import organizations as orgs
from bot.services import time_tracking as tt
from models import Organization, TimeEntrySource

router = api_router(tags=["time"])
EntryId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="The time entry's `id`.")]


def _result(outcome: tt.Outcome) -> TimeEntryResult:
    assert outcome.entry is not None
    return TimeEntryResult(
        **TimeEntryPublic.of(outcome.entry).model_dump(),
        overlaps=[o.id for o in outcome.overlaps if o.id],
    )


@router.post(
    "/tickets/{ticket_id}/time-entries",
    status_code=201,
    summary="Log time on a ticket, or start a timer",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(404, 422),
)
def create_time_entry(
    ticket_id: TicketId, body: TimeEntryCreateRequest, caller: Caller, runtime: RuntimeDep
) -> TimeEntryResult:
    """Without `ended_at` and `actual_minutes`, starts the technician's timer (stopping the
    one they had running). `overlaps` lists the technician's entries this one overlaps."""
    with runtime.db.session() as session:
        organization = organization_of(session, caller)
        ticket = ticket_of(session, caller, ticket_id)
        technician = tt.technician_of(
            session, organization_id=organization.id, member_id=body.technician_id
        )
        common: dict[str, Any] = {
            "organization": organization,
            "ticket": ticket,
            "technician": technician,
            "actor": caller.actor,
            "work_type_id": body.work_type_id,
            "source": TimeEntrySource.REST,
        }
        if body.ended_at is None and body.actual_minutes is None:
            outcome = time_flows.start_timer(session, started_at=body.started_at, **common)
        else:
            outcome = time_flows.log_time(
                session,
                minutes=body.actual_minutes,
                started_at=body.started_at,
                ended_at=body.ended_at,
                billable=body.billable,
                note=body.note,
                **common,
            )
        return _result(outcome)


@router.get(
    "/tickets/{ticket_id}/time-entries",
    summary="List a ticket's time entries",
    responses=error_responses(404, 422),
)
def list_ticket_time_entries(
    ticket_id: TicketId, caller: Caller, runtime: RuntimeDep
) -> TimeEntryList:
    with runtime.db.read_session() as session:
        ticket = ticket_of(session, caller, ticket_id)
        found = tt.list_entries(
            session,
            organization_id=caller.organization_id,
            filters=tt.EntryFilter(ticket_id=ticket.id),
        )
        return TimeEntryList(items=[TimeEntryPublic.of(e) for e in found])


def _instant(
    organization: Organization, value: date | datetime | None, *, end: bool
) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(), tzinfo=tt.zone_of(organization))


@router.get(
    "/time-entries",
    summary="List time entries",
    responses=error_responses(422),
)
def list_time_entries(
    caller: Caller, runtime: RuntimeDep, query: Annotated[TimeEntryQuery, Query()]
) -> TimeEntryList:
    """By technician, client company and start time; dates are the organization's days."""
    with runtime.db.read_session() as session:
        organization = organization_of(session, caller)
        found = tt.list_entries(
            session,
            organization_id=organization.id,
            filters=tt.EntryFilter(
                technician_id=query.technician_id,
                client_company_id=query.client_company_id,
                start=_instant(organization, query.from_, end=False),
                end=_instant(organization, query.to, end=True),
            ),
        )
        return TimeEntryList(items=[TimeEntryPublic.of(e) for e in found])


@router.get(
    "/time-entries/{entry_id}", summary="Read a time entry", responses=error_responses(404, 422)
)
def get_time_entry(entry_id: EntryId, caller: Caller, runtime: RuntimeDep) -> TimeEntryPublic:
    with runtime.db.read_session() as session:
        return TimeEntryPublic.of(
            tt.get_entry(session, organization_id=caller.organization_id, entry_id=entry_id)
        )


@router.patch(
    "/time-entries/{entry_id}",
    summary="Change a time entry",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(404, 422),
)
def update_time_entry(
    entry_id: EntryId, body: TimeEntryUpdateRequest, caller: Caller, runtime: RuntimeDep
) -> TimeEntryResult:
    """Minutes follow the times; `actual_minutes` moves the end. Recorded in the ticket's
    history."""
    with runtime.db.session() as session:
        outcome = time_flows.update_entry(
            session,
            organization=organization_of(session, caller),
            entry_id=entry_id,
            actor=caller.actor,
            changes=body.model_dump(exclude_unset=True),
        )
        return _result(outcome)


@router.delete(
    "/time-entries/{entry_id}",
    status_code=204,
    summary="Delete a time entry",
    responses=error_responses(404, 422),
)
def delete_time_entry(entry_id: EntryId, caller: Caller, runtime: RuntimeDep) -> Response:
    with runtime.db.session() as session:
        time_flows.delete_entry(
            session,
            organization=organization_of(session, caller),
            entry_id=entry_id,
            actor=caller.actor,
        )
    return Response(status_code=204)


@router.post(
    "/work-types",
    status_code=201,
    summary="Add a work type",
    max_body_size=JSON_BODY_MAX_BYTES,
    responses=error_responses(422),
)
def create_work_type(
    body: WorkTypeCreateRequest, caller: Caller, runtime: RuntimeDep
) -> WorkTypePublic:
    with runtime.db.session() as session:
        work_type = tt.create_work_type(
            session,
            organization=organization_of(session, caller),
            name=body.name,
            billable=body.billable,
            rounding=body.rounding.model_dump() if body.rounding else None,
        )
        return WorkTypePublic.of(work_type)


@router.get("/work-types", summary="List work types", responses=error_responses(422))
def list_work_types(caller: Caller, runtime: RuntimeDep) -> WorkTypeList:
    with runtime.db.read_session() as session:
        found = tt.list_work_types(session, organization_id=caller.organization_id)
        return WorkTypeList(items=[WorkTypePublic.of(w) for w in found])


def report_of(
    session: Session, organization: Organization, month: str | None, client_company_id: int | None
) -> tt.TimeReport:
    if client_company_id is not None:
        orgs.get_client_company(
            session, organization_id=organization.id, company_id=client_company_id
        )
    return tt.monthly_report(
        session, organization=organization, month=month, client_company_id=client_company_id
    )


@router.get(
    "/reports/time",
    summary="Monthly time report",
    response_model=TimeReportPublic,
    responses={
        **error_responses(404, 422),
        200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with Accept: text/csv."},
    },
)
def time_report(
    request: Request,
    caller: Caller,
    runtime: RuntimeDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")] = None,
    client_company_id: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
) -> TimeReportPublic | Response:
    """Per ticket and in total, actual and billable minutes of the month (its days begin in
    the organization's time zone). `Accept: text/csv` answers the same as CSV."""
    with runtime.db.read_session() as session:
        organization = organization_of(session, caller)
        report = report_of(session, organization, month, client_company_id)
    if "text/csv" in request.headers.get("accept", ""):
        filename = f"time-{report.month}.csv"
        return Response(
            tt.report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return TimeReportPublic(
        month=report.month,
        client_company_id=report.client_company_id,
        timezone=str(tt.zone_of(organization)),
        start=report.start,
        end=report.end,
        lines=[ReportLinePublic(**vars(line)) for line in report.lines],
        actual_minutes=report.actual_minutes,
        billable_minutes=report.billable_minutes,
    )
