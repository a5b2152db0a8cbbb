"""The monthly report as a PNG of charts, drawn headless (matplotlib's Agg backend). The
charts' data is also written into the PNG (a text chunk), so what is drawn can be read
back and checked against the JSON."""

from __future__ import annotations

import io
import json

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.services.monthly_report import MonthlyReport

# PNG text chunk holding the charts' data as JSON.
DATA_KEY = "ticketbot-report"


def render_png(report: MonthlyReport) -> bytes:
    """Tickets opened and resolved per week, and satisfaction answers."""
    figure = Figure(figsize=(10, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    weekly, satisfaction = figure.subplots(1, 2, width_ratios=[2, 1])
    scope = report.client_company or "All clients"
    figure.suptitle(f"Helpdesk report {report.month} · {scope}")

    labels = [w.week_start[5:] for w in report.weeks]
    positions = list(range(len(labels)))
    width = 0.4
    weekly.bar(
        [p - width / 2 for p in positions],
        [w.opened for w in report.weeks],
        width,
        label=f"Opened ({report.opened})",
    )
    weekly.bar(
        [p + width / 2 for p in positions],
        [w.resolved for w in report.weeks],
        width,
        label=f"Resolved ({report.resolved})",
    )
    weekly.set_xticks(positions, labels)
    weekly.yaxis.set_major_locator(MaxNLocator(integer=True))
    weekly.set_xlabel("Week starting")
    weekly.set_ylabel("Tickets")
    weekly.set_title("Tickets per week")
    weekly.legend()

    score = report.csat.score_percent
    satisfaction.bar(
        ["Good", "Bad"], [report.csat.good, report.csat.bad], color=["#2e7d32", "#c62828"]
    )
    satisfaction.set_ylabel("Answers")
    satisfaction.yaxis.set_major_locator(MaxNLocator(integer=True))
    satisfaction.set_title(
        "Satisfaction: no answers" if score is None else f"Satisfaction: {score:g} % good"
    )
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(
        out, format="png", metadata={DATA_KEY: json.dumps(report.as_dict(), sort_keys=True)}
    )
    return out.getvalue()
