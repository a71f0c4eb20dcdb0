"""Writing the stance ledger when a post is published (read at check time: posting/checks/stance.py)."""

from __future__ import annotations

import datetime as dt

from posting.models import Post, Stance, StanceEntry

THESIS_MAX = 200


def stance_ledger_record(*, post: Post, at: dt.datetime) -> StanceEntry | None:
    """Record the stance the post's last check read; none for a post without a stock or a stance read.

    Idempotent: a post has one entry, so a publish confirmed twice (send, then reconcile) writes it once.
    """
    reading = (post.check_summary or {}).get("stance") or {}
    stance = reading.get("stance")
    if post.stock_id is None or stance not in Stance.values:
        return None
    source = str(reading.get("source", ""))
    if source not in StanceEntry.Source.values:
        source = StanceEntry.Source.RULES.value
    entry, _created = StanceEntry.objects.update_or_create(
        post=post,
        defaults={
            "kol_id": post.kol_id,
            "stock_id": post.stock_id,
            "stance": stance,
            "thesis": str(reading.get("thesis", ""))[:THESIS_MAX],
            "source": source,
            "published_at": at,
        },
    )
    return entry
