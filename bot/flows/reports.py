"""`/ticket report`: the monthly report (PNG of charts and CSV) uploaded into the asker's
DM. The request is an outbox row; the worker draws the report when it delivers it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlmodel import Session

from bot.core.db import Database
from bot.core.errors import InvalidInput, PermissionDenied
from bot.outbox.rows import Lane, enqueue
from bot.outbox.worker import JOB_PREFIX
from bot.services import monthly_report
from bot.services import organizations as orgs
from bot.services.actors import Actor
from bot.services.automation_settings import lifecycle_settings
from bot.services.report_chart import render_png
from bot.slack.files import upload_files
from models import Organization, OutboxMessage, utcnow

MONTHLY_REPORT = f"{JOB_PREFIX}monthly_report"


def request_report(
    session: Session,
    *,
    organization: Organization,
    actor: Actor,
    text: str,
    now: datetime | None = None,
) -> str:
    """Read `[YYYY-MM] [client]` and ask for the report (last month unless given, in the
    organization's time zone); returns the month. Staff only."""
    if not actor.is_staff:
        raise PermissionDenied("Only the IT team can see reports.")
    if actor.member is None or not actor.member.slack_user_id:
        raise PermissionDenied("Reports go to a person's DM.")
    first, _, rest = text.strip().partition(" ")
    month_given = len(first) == 7 and first[4:5] == "-" and first.replace("-", "").isdigit()
    today = (now or utcnow()).astimezone(lifecycle_settings(organization).zone).date()
    month = monthly_report.parse_month(first if month_given else None, today=today)
    client_name = (rest if month_given else text).strip()
    company_id = None
    if client_name:
        company = orgs.find_client_company_by_name(
            session, organization_id=organization.id, name=client_name
        )
        if company is None:
            raise InvalidInput(f"There is no client company called {client_name!r}.")
        company_id = company.id
    enqueue(
        session,
        organization=organization,
        ticket=None,
        method=MONTHLY_REPORT,
        payload={
            "dm_user": actor.member.slack_user_id,
            "month": month,
            "client_company_id": company_id,
        },
        lane=Lane.NOTIFY,
    )
    return month


class ReportJobs:
    """Draws and uploads a requested report when its outbox row is delivered."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def upload(
        self,
        client: WebClient,
        organization: Organization,
        row: OutboxMessage,
        args: dict[str, Any],
    ) -> tuple[str | None, str | None]:
        with self.db.read_session() as session:
            current = session.get(Organization, organization.id)
            assert current is not None
            report = monthly_report.build(
                session,
                organization=current,
                month=args["month"],
                zone=lifecycle_settings(current).zone,
                client_company_id=args.get("client_company_id"),
            )
        scope = report.client_company or "all clients"
        stem = f"ticketbot-report-{report.month}"
        if report.client_company_id is not None:
            stem += f"-client-{report.client_company_id}"
        upload_files(
            client,
            channel=args["channel"],
            files=[
                (f"{stem}.png", render_png(report)),
                (f"{stem}.csv", monthly_report.to_csv(report).encode()),
            ],
            initial_comment=(
                f"Your report for {report.month} ({scope}): "
                f"{report.opened} ticket{'' if report.opened == 1 else 's'} opened, "
                f"{report.resolved} resolved."
            ),
        )
        return args["channel"], None
