"""The admin dashboards' content: charts first, then tables that can each be downloaded as CSV.

Each section turns stored analyses (analytics/selectors.py) into chart data for django-unfold's Chart.js
components and into plain tables (headers + rows of raw values); the template formats the numbers and
the CSV export writes the same rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.analysis.labels import value_label
from analytics.analysis.scope import Scope
from analytics.analysis.selectors import analysis_read

SECTIONS = {
    "overview": gettext_lazy("Overview"),
    "leaderboard": gettext_lazy("Leaderboard"),
    "best-times": gettext_lazy("Best times"),
    "features": gettext_lazy("Feature lifts"),
    "learning": gettext_lazy("Learning lift"),
    "effort": gettext_lazy("Editor effort"),
}
PRIMARY = "#9333ea"
MUTED = "#a3a3a3"


@dataclass
class Table:
    name: str
    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class Chart:
    title: str
    kind: str  # "bar" or "line"
    labels: list[str]
    datasets: list[dict[str, Any]]

    @property
    def data(self) -> str:
        return json.dumps({"labels": self.labels, "datasets": self.datasets}, ensure_ascii=False)


@dataclass
class Page:
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    heatmap: dict[str, Any] | None = None
    computed_at: str | None = None


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _interval(values: list[float] | None) -> str:
    if not values:
        return ""
    return f"{values[0] * 100:+.0f}% – {values[1] * 100:+.0f}%"


def _dataset(label: str, data: list[Any], color: str = PRIMARY) -> dict[str, Any]:
    return {"label": label, "data": data, "backgroundColor": color, "borderColor": color}


# --- Sections ---------------------------------------------------------------------------------------


def _leaderboard_table(result: dict[str, Any], name: str, title: str) -> Table:
    return Table(
        name,
        title,
        [_("Name"), _("Posts"), _("Median 24 h score"), _("Mean 24 h score"), _("Approval rate (%)")],
        [
            [entry["name"], entry["posts"], entry["median"], entry["mean"], _pct(entry["approval_rate"])]
            for entry in result["entries"]
        ],
    )


def overview(scope: Scope) -> Page:
    trend = analysis_read(kind="daily_trend", scope=scope)
    board = analysis_read(kind="leaderboard", scope=scope)
    top = analysis_read(kind="top_features", scope=scope)
    days = trend["days"]
    page = Page(computed_at=trend["computed_at"])
    page.charts.append(
        Chart(
            _("Mean 24 h score by published day"),
            "line",
            [day["day"] for day in days],
            [_dataset(_("Mean 24 h score"), [day["mean"] for day in days])],
        )
    )
    page.charts.append(
        Chart(
            _("Posts by published day"),
            "bar",
            [day["day"] for day in days],
            [_dataset(_("Posts"), [day["posts"] for day in days], MUTED)],
        )
    )
    page.tables.append(
        Table(
            "days",
            _("By day"),
            [_("Day"), _("Posts"), _("Mean 24 h score")],
            [[d["day"], d["posts"], d["mean"]] for d in days],
        )
    )
    page.tables.append(_leaderboard_table(board, "kols", _("KOLs")))
    suggestions = top.get("suggestions", [])
    page.tables.append(
        Table(
            "suggestions",
            _("Suggestions (significant findings only)"),
            [_("Suggestion")],
            [[s["text"]] for s in suggestions],
        )
    )
    if not suggestions:
        page.notes.append(_("No significant finding in this period: nothing to suggest."))
    return page


def leaderboard_page(scope: Scope) -> Page:
    board = analysis_read(kind="leaderboard", scope=scope)
    personas = analysis_read(kind="persona_leaderboard", scope=scope)
    page = Page(computed_at=board["computed_at"])
    entries = board["entries"][:20]
    page.charts.append(
        Chart(
            _("Median 24 h score by KOL"),
            "bar",
            [entry["name"] for entry in entries],
            [_dataset(_("Median 24 h score"), [entry["median"] for entry in entries])],
        )
    )
    leaders = {entry["key"] for entry in entries[:5]}
    weeks = sorted({row["week"] for row in board["weeks"]})
    series: dict[str, dict[str, Any]] = {}
    for row in board["weeks"]:
        if row["key"] in leaders:
            series.setdefault(row["name"], {})[row["week"]] = row["mean"]
    page.charts.append(
        Chart(
            _("Weekly mean 24 h score of the top five KOLs"),
            "line",
            weeks,
            [_dataset(name, [values.get(week) for week in weeks]) for name, values in series.items()],
        )
    )
    page.tables.append(_leaderboard_table(board, "kols", _("KOLs")))
    persona_table = _leaderboard_table(personas, "personas", _("Personas"))
    for row in persona_table.rows:
        row[0] = value_label("persona", row[0])
    page.tables.append(persona_table)
    page.tables.append(
        Table(
            "weeks",
            _("By week"),
            [_("Week"), _("Name"), _("Posts"), _("Mean 24 h score")],
            [[row["week"], row["name"], row["posts"], row["mean"]] for row in board["weeks"]],
        )
    )
    return page


def best_times_page(scope: Scope) -> Page:
    result = analysis_read(kind="best_times", scope=scope)
    page = Page(computed_at=result["computed_at"])
    best = result["best"]
    weekdays = [value_label("weekday", day) for day in range(7)]
    page.charts.append(
        Chart(
            _("Best times (shrunk mean 24 h score)"),
            "bar",
            [f"{weekdays[cell['weekday']]} {cell['hour']:02d}:00" for cell in best],
            [_dataset(_("Shrunk mean"), [cell["shrunk"] for cell in best])],
        )
    )
    filled = [cell["shrunk"] for cell in result["cells"] if cell["posts"]]
    low, high = (min(filled), max(filled)) if filled else (0.0, 0.0)
    rows = []
    for day in range(7):
        cells = [cell for cell in result["cells"] if cell["weekday"] == day]
        rows.append(
            {
                "label": weekdays[day],
                "cells": [
                    {
                        "posts": cell["posts"],
                        "shrunk": cell["shrunk"],
                        "mean": cell["mean"],
                        "alpha": round((cell["shrunk"] - low) / (high - low), 2)
                        if cell["posts"] and high > low
                        else 0,
                    }
                    for cell in cells
                ],
            }
        )
    page.heatmap = {"hours": [f"{hour:02d}" for hour in range(24)], "rows": rows}
    page.tables.append(
        Table(
            "cells",
            _("Hour × weekday"),
            [_("Weekday"), _("Hour"), _("Posts"), _("Mean 24 h score"), _("Shrunk mean")],
            [
                [weekdays[cell["weekday"]], cell["hour"], cell["posts"], cell["mean"], cell["shrunk"]]
                for cell in result["cells"]
                if cell["posts"]
            ],
        )
    )
    page.notes.append(
        _("Each cell is pulled toward the overall mean %(mean).2f in proportion to how few posts it has.")
        % {"mean": result["overall_mean"]}
    )
    return page


def features_page(scope: Scope) -> Page:
    result = analysis_read(kind="top_features", scope=scope)
    page = Page(computed_at=result["computed_at"])
    tested = [row for row in result["values"] if row["enough_data"]]
    shown = sorted(tested, key=lambda row: -abs(row["lift"] or 0))[:20]
    page.charts.append(
        Chart(
            _("Lift of reaching the top 20% (%), strongest 20 values; significant in colour"),
            "bar",
            [f"{row['feature_label']}: {row['value_label']}" for row in shown],
            [
                {
                    **_dataset(_("Lift (%)"), [_pct(row["lift"]) for row in shown]),
                    "backgroundColor": [PRIMARY if row["significant"] else MUTED for row in shown],
                }
            ],
        )
    )
    page.notes.append(
        _(
            "%(posts)s posts; the top 20%% is %(top)s posts. %(tests)s values had enough data (at least "
            "%(min)s posts) and were tested; a finding must hold after a correction for testing them all."
        )
        % {
            "posts": result["posts"],
            "top": result["top_count"],
            "tests": result["tests"],
            "min": result["min_posts"],
        }
    )
    page.tables.append(
        Table(
            "values",
            _("Every feature value"),
            [
                _("Feature"),
                _("Value"),
                _("Posts"),
                _("In the top"),
                _("Share of the top (%)"),
                _("Share of the rest (%)"),
                _("Lift (%)"),
                _("Interval (95%)"),
                _("Finding"),
            ],
            [
                [
                    row["feature_label"],
                    row["value_label"],
                    row["posts"],
                    row["top"],
                    _pct(row["share_top"]),
                    _pct(row["share_rest"]),
                    _pct(row["lift"]),
                    _interval(row["lift_interval"]),
                    _("Yes")
                    if row["significant"]
                    else (_("No") if row["enough_data"] else _("Not enough data")),
                ]
                for row in result["values"]
            ],
        )
    )
    page.tables.append(
        Table(
            "suggestions",
            _("Suggestions"),
            [_("Suggestion")],
            [[s["text"]] for s in result.get("suggestions", [])],
        )
    )
    return page


def _lift_row(name: str, entry: dict[str, Any]) -> list[Any]:
    if not entry["enough_data"]:
        verdict = _("Not enough data")
    elif entry["helps"]:
        verdict = _("The playbook helps")
    elif entry["hurts"]:
        verdict = _("The playbook hurts")
    else:
        verdict = _("No difference shown")
    return [
        name,
        entry["guided_posts"],
        entry["control_posts"],
        entry["guided_mean"],
        entry["control_mean"],
        _pct(entry["lift"]),
        _interval(entry["interval"]),
        verdict,
    ]


def learning_page(scope: Scope) -> Page:
    result = analysis_read(kind="learning_lift", scope=scope)
    page = Page(computed_at=result["computed_at"])
    kols = result["kols"]
    page.charts.append(
        Chart(
            _("Mean 24 h score: guided against control"),
            "bar",
            [_("All KOLs"), *[kol["name"] for kol in kols]],
            [
                _dataset(
                    _("Guided"), [result["overall"]["guided_mean"], *[kol["guided_mean"] for kol in kols]]
                ),
                _dataset(
                    _("Control"),
                    [result["overall"]["control_mean"], *[kol["control_mean"] for kol in kols]],
                    MUTED,
                ),
            ],
        )
    )
    if not result["overall"]["enough_data"]:
        page.notes.append(
            _("Not enough data yet: each group needs at least %(min)s scored posts.")
            % {"min": result["min_posts"]}
        )
    page.tables.append(
        Table(
            "learning",
            _("Guided against control"),
            [
                _("KOL"),
                _("Guided posts"),
                _("Control posts"),
                _("Guided mean"),
                _("Control mean"),
                _("Lift (%)"),
                _("Interval (95%)"),
                _("Verdict"),
            ],
            [_lift_row(_("All KOLs"), result["overall"]), *[_lift_row(kol["name"], kol) for kol in kols]],
        )
    )
    return page


def effort_page(scope: Scope) -> Page:
    result = analysis_read(kind="editor_effort", scope=scope)
    page = Page(computed_at=result["computed_at"])
    reasons = result["reasons"]
    page.charts.append(
        Chart(
            _("Why drafts were rejected or sent back"),
            "bar",
            [reason["reason"][:40] for reason in reasons],
            [_dataset(_("Times"), [reason["count"] for reason in reasons])],
        )
    )
    time = result["time_to_approval"]
    page.tables.append(
        Table(
            "summary",
            _("Summary"),
            [
                _("Approved"),
                _("Mean hours to approval"),
                _("Median hours to approval"),
                _("Approved unedited (%)"),
            ],
            [[time["approved"], time["mean_hours"], time["median_hours"], _pct(result["share_unedited"])]],
        )
    )
    page.tables.append(
        Table(
            "reasons",
            _("Reasons, most frequent first"),
            [_("Action"), _("Reason"), _("Times")],
            [[reason["action"], reason["reason"], reason["count"]] for reason in reasons],
        )
    )
    for key, title in (
        ("persona", _("Edits by persona")),
        ("prompt_version", _("Edits by prompt version")),
        ("llm_model", _("Edits by model")),
    ):
        page.tables.append(
            Table(
                f"edits-{key}",
                title,
                [_("Group"), _("Posts"), _("Mean edit distance"), _("Unedited (%)")],
                [
                    [
                        value_label(key, row["key"]),
                        row["posts"],
                        row["mean_edit_distance"],
                        _pct(row["share_unedited"]),
                    ]
                    for row in result["edits_by"][key]
                ],
            )
        )
    page.tables.append(
        Table(
            "throughput",
            _("Approvals per reviewer"),
            [_("Reviewer"), _("Approvals"), _("Per day")],
            [[row["reviewer"], row["approvals"], row["per_day"]] for row in result["throughput"]],
        )
    )
    return page


BUILDERS: dict[str, Callable[[Scope], Page]] = {
    "overview": overview,
    "leaderboard": leaderboard_page,
    "best-times": best_times_page,
    "features": features_page,
    "learning": learning_page,
    "effort": effort_page,
}


def table_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    writer.writerows(table.rows)
    return buffer.getvalue()
