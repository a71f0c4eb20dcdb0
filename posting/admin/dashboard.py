"""The admin home's review part: the person's to-do, today's figures, posts by day.

The home itself is put together in analytics/dashboard.py (the DASHBOARD_CALLBACK), which adds the
interaction charts analytics owns.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest

from posting.review.selectors import editor_todo, posts_by_day_chart, review_dashboard


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    if request.user.has_perm("posting.view_post"):
        context["review"] = review_dashboard()
        context["todo"] = editor_todo(user=request.user)
        context["posts_chart"] = json.dumps(posts_by_day_chart(), ensure_ascii=False)
    return context
