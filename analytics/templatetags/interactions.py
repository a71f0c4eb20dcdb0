"""Interaction panels for pages owned by the apps below analytics (the post page, the KOL page).

posting and kols may not import analytics (the layers contract), so their templates load these tags.
"""

from __future__ import annotations

from typing import Any

from django import template

from analytics.selectors import kol_interactions_context, post_interactions_context
from kols.models import KOL
from posting.models import Post

register = template.Library()


@register.inclusion_tag("admin/analytics/post_interactions.html", takes_context=True)
def post_interactions_panel(context: template.Context, post: Post) -> dict[str, Any]:
    request = context.get("request")
    can_refresh = bool(request and request.user.has_perm("analytics.add_interactionsnapshot"))
    return {
        "post": post,
        "can_refresh": can_refresh,
        "csrf_token": context.get("csrf_token"),
        **post_interactions_context(post),
    }


@register.inclusion_tag("admin/analytics/kol_interactions.html")
def kol_interactions_panel(kol: KOL) -> dict[str, Any]:
    return {"kol": kol, **kol_interactions_context(kol)}
