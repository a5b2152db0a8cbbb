"""`/ticket time report <client> [YYYY-MM]`: the month's CSV and a bar chart of billable
hours per ticket, uploaded into the asker's DM by an outbox job (Slack's external upload:
files.getUploadURLExternal, then files.completeUploadExternal), retried like any delivery.
"""

from __future__ import annotations

import io
import json
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import func
from sqlmodel import Session, select

from bot.core.db import Database
from bot.core.errors import InvalidInput, NotFound
from bot.outbox.rows import Lane, enqueue
from bot.services import time_tracking as tt
from bot.services.actors import Actor
from bot.slack.files import upload_files
from models import ClientCompany, Member, Organization, OutboxMessage, utcnow

TIME_REPORT = "ticketbot.time_report"
# The chart's data is also written into the PNG (a tEXt chunk of this key), so what was
# drawn can be checked against the report.
CHART_DATA_KEY = "ticketbot:chart-data"


def _client_by_name(session: Session, organization: Organization, name: str) -> ClientCompany:
    wanted = " ".join(name.split()).lower()
    found = session.exec(
        select(ClientCompany).where(
            ClientCompany.organization_id == organization.id,
            func.lower(ClientCompany.name) == wanted,
        )
    ).first()
    if found is None:
        raise NotFound(f"I don't know a client called “{' '.join(name.split())}”.")
    return found


def parse_report_args(text: str) -> tuple[str, str | None]:
    """`Acme Corp 2026-03` → ("Acme Corp", "2026-03"); the month is optional."""
    words = text.split()
    if not words:
        raise InvalidInput("Say which client: `/ticket time report Acme 2026-03`.")
    if len(words) > 1 and len(words[-1]) == 7 and words[-1][4] == "-":
        return " ".join(words[:-1]), words[-1]
    return " ".join(words), None


def request_report(
    session: Session, *, organization: Organization, member: Member, actor: Actor, text: str
) -> str:
    """Queue the report for the asker's DM; the answer says what is coming."""
    tt.ensure_staff(actor)
    if not member.slack_user_id:  # pragma: no cover - Slack askers always have one
        raise InvalidInput("I can only send the report to someone on Slack.")
    name, month = parse_report_args(text)
    client = _client_by_name(session, organization, name)
    first = tt.parse_month(month, organization=organization, now=utcnow())
    enqueue(
        session,
        organization=organization,
        ticket=None,
        method=TIME_REPORT,
        payload={
            "user": member.slack_user_id,
            "client_company_id": client.id,
            "month": f"{first:%Y-%m}",
        },
        lane=Lane.NOTIFY,
    )
    return f"The {first:%B %Y} time report for {client.name} is on its way to your DM."


def chart_data(report: tt.TimeReport) -> list[dict[str, Any]]:
    """The chart's bars: billable hours per ticket, in the report's order."""
    return [
        {
            "ticket_number": line.ticket_number,
            "billable_hours": round(line.billable_minutes / 60, 2),
        }
        for line in report.lines
    ]


def chart_png(report: tt.TimeReport, client_name: str) -> bytes:
    """A bar chart of billable hours per ticket (matplotlib's Agg backend, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = chart_data(report)
    figure = Figure(figsize=(max(4.0, 0.5 * len(data) + 2), 3.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [f"#{bar['ticket_number']}" for bar in data]
    axes.bar(labels, [bar["billable_hours"] for bar in data], color="#2e86de")
    axes.set_ylabel("Billable hours")
    axes.set_title(f"{client_name}: billable hours per ticket, {report.month}")
    if len(labels) > 12:
        axes.tick_params(axis="x", labelrotation=90)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={CHART_DATA_KEY: json.dumps(data)})
    return out.getvalue()


class TimeReportJob:
    """The outbox job: draw the report now, upload CSV and chart in one share."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(
        self,
        client: WebClient,
        organization: Organization,
        row: OutboxMessage,
        args: dict[str, Any],
    ) -> tuple[str | None, str | None]:
        with self.db.read_session() as session:
            company = session.get(ClientCompany, args["client_company_id"])
            if company is None or company.organization_id != organization.id:
                return None, None
            report = tt.monthly_report(
                session,
                organization=organization,
                month=args["month"],
                client_company_id=company.id,
            )
        channel = client.conversations_open(users=args["user"])["channel"]["id"]
        stem = f"time-{_slug(company.name)}-{report.month}"
        upload_files(
            client,
            channel=channel,
            files=[
                (f"{stem}.csv", tt.report_csv(report).encode()),
                (f"{stem}.png", chart_png(report, company.name)),
            ],
            initial_comment=(
                f"Time report for {company.name}, {report.month}: "
                f"{tt.format_minutes(report.actual_minutes)} worked, "
                f"{tt.format_minutes(report.billable_minutes)} billable."
            ),
        )
        return channel, None


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:40] or "client"
