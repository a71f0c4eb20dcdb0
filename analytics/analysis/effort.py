"""Editor effort: how long drafts wait for approval (created to approved_at, the latest approval), why they are sent back or rejected, how much
editors change, and how many approvals each reviewer makes."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q

from analytics.analysis.boards import Median
from analytics.analysis.scope import Scope, scored_posts
from posting.models import Approval, AuditEvent, Post

REASONS_SHOWN = 15


def _approved_posts(scope: Scope) -> Any:
    posts = Post.objects.filter(approved_at__gte=scope.start_at(), approved_at__lt=scope.end_at())
    if not scope.include_demo:
        posts = posts.filter(is_demo=False)
    if scope.kol_id:
        posts = posts.filter(kol_id=scope.kol_id)
    if scope.persona:
        posts = posts.filter(kol__persona=scope.persona)
    return posts.annotate(
        wait=ExpressionWrapper(F("approved_at") - F("created_at"), output_field=DurationField())
    )


def _approval_hours(scope: Scope) -> dict[str, Any]:
    posts = _approved_posts(scope).filter(wait__isnull=False)
    if connection.vendor == "postgresql":
        figures = posts.aggregate(
            n=Count("pk"), mean=Avg("wait"), median=Median("wait", output_field=DurationField())
        )
        mean, median, n = figures["mean"], figures["median"], figures["n"]
    else:
        waits = sorted(posts.values_list("wait", flat=True))
        n = len(waits)
        mean = sum(waits, start=waits[0] * 0) / n if n else None
        median = (waits[(n - 1) // 2] + waits[n // 2]) / 2 if n else None
    return {
        "approved": n,
        "mean_hours": mean.total_seconds() / 3600 if mean is not None else None,
        "median_hours": median.total_seconds() / 3600 if median is not None else None,
    }


def _reasons(scope: Scope) -> list[dict[str, Any]]:
    events = AuditEvent.objects.filter(
        action__in=["reject", "request_changes"],
        created_at__gte=scope.start_at(),
        created_at__lt=scope.end_at(),
    ).exclude(note="")
    if scope.kol_id:
        events = events.filter(post__kol_id=scope.kol_id)
    if scope.persona:
        events = events.filter(post__kol__persona=scope.persona)
    grouped = events.order_by().values("action", "note").annotate(n=Count("pk")).order_by("-n", "note")
    return [
        {"action": row["action"], "reason": row["note"], "count": row["n"]} for row in grouped[:REASONS_SHOWN]
    ]


def _edits_by(rows: Any, field: str) -> list[dict[str, Any]]:
    grouped = (
        rows.order_by()
        .values(field)
        .annotate(n=Count("pk"), mean=Avg("edit_distance"), unedited=Count("pk", filter=Q(edit_distance=0)))
        .order_by(field)
    )
    return [
        {
            "key": row[field],
            "posts": row["n"],
            "mean_edit_distance": row["mean"],
            "share_unedited": row["unedited"] / row["n"],
        }
        for row in grouped
    ]


def _throughput(scope: Scope) -> list[dict[str, Any]]:
    approvals = Approval.objects.filter(
        approved_at__gte=scope.start_at(), approved_at__lt=scope.end_at(), approved_by__isnull=False
    )
    if scope.kol_id:
        approvals = approvals.filter(post__kol_id=scope.kol_id)
    if scope.persona:
        approvals = approvals.filter(post__kol__persona=scope.persona)
    grouped = approvals.order_by().values("approved_by__username").annotate(n=Count("pk")).order_by("-n")
    days = (scope.end - scope.start).days + 1
    return [
        {"reviewer": row["approved_by__username"], "approvals": row["n"], "per_day": row["n"] / days}
        for row in grouped
    ]


EDIT_FIELDS = ("persona", "prompt_version", "llm_model")


def _edits(rows: Any) -> tuple[dict[str, int], dict[str, list[dict[str, Any]]]]:
    """The totals and the edits by each of EDIT_FIELDS: one scan (GROUPING SETS) on PostgreSQL."""
    if connection.vendor != "postgresql":
        totals = rows.aggregate(n=Count("pk"), unedited=Count("pk", filter=Q(edit_distance=0)))
        return totals, {field: _edits_by(rows, field) for field in EDIT_FIELDS}
    sql, params = rows.order_by().values(*EDIT_FIELDS, "edit_distance").query.sql_with_params()
    columns = ", ".join(f'"{field}"' for field in EDIT_FIELDS)
    flags = ", ".join(f'GROUPING("{field}")' for field in EDIT_FIELDS)
    sets = ", ".join(f'("{field}")' for field in EDIT_FIELDS)
    # Only our own column names are interpolated; every value travels as a parameter.
    query = (
        f"SELECT {columns}, {flags}, COUNT(*), AVG(edit_distance), "  # noqa: S608
        f"COUNT(*) FILTER (WHERE edit_distance = 0) FROM ({sql}) AS scoped "
        f"GROUP BY GROUPING SETS ({sets}, ())"
    )
    width = len(EDIT_FIELDS)
    totals = {"n": 0, "unedited": 0}
    by: dict[str, list[dict[str, Any]]] = {field: [] for field in EDIT_FIELDS}
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for record in cursor.fetchall():
            n, mean, unedited = int(record[-3]), record[-2], int(record[-1])
            grouping = list(record[width : 2 * width])
            if 0 not in grouping:  # the () set: every row
                totals = {"n": n, "unedited": unedited}
                continue
            index = grouping.index(0)
            by[EDIT_FIELDS[index]].append(
                {
                    "key": record[index],
                    "posts": n,
                    "mean_edit_distance": float(mean) if mean is not None else None,
                    "share_unedited": unedited / n,
                }
            )
    for entries in by.values():
        entries.sort(key=lambda entry: (entry["key"] is None, entry["key"]))
    return totals, by


def editor_effort(*, scope: Scope) -> dict[str, Any]:
    edited = scored_posts(scope).filter(edit_distance__isnull=False)
    totals, by = _edits(edited)
    return {
        "scope": scope.as_dict(),
        "time_to_approval": _approval_hours(scope),
        "reasons": _reasons(scope),
        "edits_by": by,
        "generated_posts": totals["n"],
        "share_unedited": totals["unedited"] / totals["n"] if totals["n"] else None,
        "throughput": _throughput(scope),
    }
