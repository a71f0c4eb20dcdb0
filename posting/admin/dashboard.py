"""The admin home's review figures (django-unfold DASHBOARD_CALLBACK)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from posting.review.selectors import review_dashboard


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    if request.user.has_perm("posting.view_post"):
        context["review"] = review_dashboard()
    return context
