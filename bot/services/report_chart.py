"""The monthly report as a PNG of charts, drawn headless (matplotlib's Agg backend). The
charts' data is also written into the PNG (a text chunk), so what is drawn can be read
back and checked against the JSON."""

from __future__ import annotations

import io
import json

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.services.monthly_report import MonthlyReport

# PNG text chunk holding the charts' data as JSON.
DATA_KEY = "ticketbot-report"


METRIC_LABELS = {
    "first_response": "First response",
    "next_response": "Next response",
    "resolution": "Resolution",
}
GOOD, BAD, NEUTRAL = "#2e7d32", "#c62828", "#1565c0"
LISTED_CLIENTS = 10  # the most billable; the rest are summed as "Others"


def render_png(report: MonthlyReport) -> bytes:
    """Four charts: tickets opened and resolved per week, SLA compliance per metric,
    billable hours per client company, and satisfaction answers."""
    figure = Figure(figsize=(12, 8), dpi=100)
    FigureCanvasAgg(figure)
    (weekly, compliance), (hours, satisfaction) = figure.subplots(2, 2)
    scope = report.client_company or "All clients"
    figure.suptitle(f"Helpdesk report {report.month} · {scope}")
    _weekly(weekly, report)
    _compliance(compliance, report)
    _hours(hours, report)
    _satisfaction(satisfaction, report)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(
        out, format="png", metadata={DATA_KEY: json.dumps(report.as_dict(), sort_keys=True)}
    )
    return out.getvalue()


def _weekly(axes: Axes, report: MonthlyReport) -> None:
    labels = [w.week_start[5:] for w in report.weeks]
    positions = list(range(len(labels)))
    width = 0.4
    axes.bar(
        [p - width / 2 for p in positions],
        [w.opened for w in report.weeks],
        width,
        label=f"Opened ({report.opened})",
    )
    axes.bar(
        [p + width / 2 for p in positions],
        [w.resolved for w in report.weeks],
        width,
        label=f"Resolved ({report.resolved})",
    )
    axes.set_xticks(positions, labels)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("Week starting")
    axes.set_ylabel("Tickets")
    axes.set_title("Tickets per week")
    axes.legend()


def _compliance(axes: Axes, report: MonthlyReport) -> None:
    """Met as a share of met + breached, per metric; the counts written on each bar."""
    labels = [METRIC_LABELS.get(m.metric, m.metric) for m in report.sla]
    values = [m.compliance_percent or 0 for m in report.sla]
    bars = axes.bar(labels, values, color=NEUTRAL)
    for bar, metric in zip(bars, report.sla, strict=True):
        finished = metric.met + metric.breached
        note = (
            "no clocks finished"
            if metric.compliance_percent is None
            else f"{metric.compliance_percent:g} % ({metric.met} of {finished})"
        )
        axes.annotate(
            note,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    axes.set_ylim(0, 110)
    axes.set_ylabel("Met on time (%)")
    axes.set_title("SLA compliance")


def _hours(axes: Axes, report: MonthlyReport) -> None:
    shown = report.hours[:LISTED_CLIENTS]
    names = [h.client_company for h in shown]
    billable = [h.billable_hours for h in shown]
    rest = report.hours[LISTED_CLIENTS:]
    if rest:
        names.append(f"Others ({len(rest)})")
        billable.append(round(sum(h.billable_hours for h in rest), 2))
    total = round(sum(h.billable_hours for h in report.hours), 2)
    if not names:
        axes.text(0.5, 0.5, "No time logged", ha="center", va="center")
        axes.set_axis_off()
    else:
        axes.barh(names[::-1], billable[::-1], color=NEUTRAL)
        axes.set_xlabel("Billable hours")
    axes.set_title(f"Billable hours per client: {total:g} h")


def _satisfaction(axes: Axes, report: MonthlyReport) -> None:
    score = report.csat.score_percent
    axes.bar(["Good", "Bad"], [report.csat.good, report.csat.bad], color=[GOOD, BAD])
    axes.set_ylabel("Answers")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(
        "Satisfaction: no answers" if score is None else f"Satisfaction: {score:g} % good"
    )
