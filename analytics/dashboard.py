"""The admin home (django-unfold DASHBOARD_CALLBACK): posting's to-do and figures, and the charts.

Analytics sits above posting, so the home is put together here: posting/admin/dashboard.py gives the
review figures and the person's to-do; this module adds interactions by day from the snapshots.
(The analytics dashboards of issue 13 add their cards here.)
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from django.db.models import F, Max, Value
from django.db.models.functions import Coalesce, TruncDate
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import InteractionSnapshot
from posting.admin.dashboard import dashboard_callback as posting_dashboard
from posting.review.selectors import CHART_DAYS

_COUNTS = ("likes", "comments", "shares", "saves", "tips")


def interactions_by_day_chart(*, now: dt.datetime | None = None, days: int = CHART_DAYS) -> dict[str, Any]:
    """Interactions gained per day (Asia/Taipei): each post's growth between its last snapshots of
    consecutive days, summed; real and demo apart. One query."""
    now = now or timezone.now()
    first = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(
        days=days
    )
    total = sum((Coalesce(F(name), Value(0)) for name in _COUNTS[1:]), Coalesce(F(_COUNTS[0]), Value(0)))
    rows = (
        InteractionSnapshot.objects.filter(captured_at__gte=first)
        .annotate(day=TruncDate("captured_at"))
        .values("post_id", "day", "is_demo")
        .annotate(total=Max(total))
        .order_by("post_id", "day")
    )
    labels = [(first + dt.timedelta(days=n)).date() for n in range(1, days + 1)]
    gained: dict[bool, dict[dt.date, int]] = {False: defaultdict(int), True: defaultdict(int)}
    previous: dict[Any, int] = {}
    for row in rows:
        before = previous.get(row["post_id"], 0)
        gained[row["is_demo"]][row["day"]] += max(row["total"] - before, 0)
        previous[row["post_id"]] = row["total"]
    datasets = [
        {"label": _("Interactions"), "data": [gained[False][day] for day in labels]},
        {"label": _("Interactions (demo)"), "data": [gained[True][day] for day in labels]},
    ]
    return {
        "labels": [f"{day.month}/{day.day}" for day in labels],
        "datasets": [dataset for dataset in datasets if any(dataset["data"])] or datasets[:1],
    }


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    context = posting_dashboard(request, context)
    if request.user.has_perm("analytics.view_interactionsnapshot"):
        context["interactions_chart"] = json.dumps(interactions_by_day_chart(), ensure_ascii=False)
    return context
