"""Parts of the post page computed for its partial templates (templates/admin/posting/post/_*.html)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from posting.models import Post
from posting.publishing.selectors import posts_with_dry_run
from posting.publishing.slots import next_free_slots
from posting.review.snapshot_view import snapshot_table

_SCHEDULABLE = (Post.Status.APPROVED, Post.Status.SCHEDULED)


def suggested_slot(*, post: Post) -> str:
    """The schedule picker's proposal: the post's next free slot on a trading day ("" when none is free)."""
    slot = next_free_slots(posts=[post]).get(post.pk)
    return timezone.localtime(slot).strftime("%Y-%m-%dT%H:%M") if slot is not None else ""


def review_page_parts(*, post: Post) -> dict[str, Any]:
    # The post page reads the post through posts_with_dry_run already; other callers get one query.
    if hasattr(post, "dry_run"):
        dry_run = post.dry_run
    else:
        annotated = posts_with_dry_run(Post.objects.filter(pk=post.pk).only("id", "kol__dry_run")).first()
        dry_run = getattr(annotated, "dry_run", False)
    return {
        "dry_run": bool(dry_run),
        "market": snapshot_table(post.market_snapshot),
        "suggested_slot": suggested_slot(post=post) if post.status in _SCHEDULABLE else "",
    }
