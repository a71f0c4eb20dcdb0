"""The features of a published post, worked out once and stored as a PostFeatures row.

Everything the top-20% analysis compares lives in one row per post, so each analysis is a GROUP BY. The
row is (re)written when the post has a 24 h score and its row is missing or holds another score.
"""

from __future__ import annotations

import itertools
import re
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q
from rapidfuzz.distance import Levenshtein

from analytics.models import PostFeatures
from posting.models import Post, PostRevision, Publication

TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")

# Emoji and pictographs (the blocks models and people actually use), plus the variation selector.
_EMOJI = re.compile(
    "[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f000-\U0001f2ff\U00002b00-\U00002bff\U0001f900-\U0001f9ff]"
)
_QUESTION_MARKS = ("?", "？")
_STANCES = {1: "bull", -1: "bear", 0: "neutral"}
_HUNDRED_MILLION = Decimal(100_000_000)


def length_bucket(length: int, edges: tuple[int, ...]) -> str:
    """ "<15", "15-29", "30+" style labels for the given edges."""
    if length < edges[0]:
        return f"<{edges[0]}"
    for low, high in itertools.pairwise(edges):
        if low <= length < high:
            return f"{low}-{high - 1}"
    return f"{edges[-1]}+"


TITLE_EDGES = (15, 30)
BODY_EDGES = (150, 300, 600)


def emoji_bucket(text: str) -> str:
    count = len(_EMOJI.findall(text))
    return "0" if count == 0 else "1-2" if count <= 2 else "3+"


def ends_with_question(body: str, signature: str = "") -> bool:
    """The last sentence before the signature is a question."""
    text = body.strip()
    if signature and text.endswith(signature.strip()):
        text = text[: -len(signature.strip())].strip()
    # "大家怎麼看？📈" still ends with a question.
    return _EMOJI.sub("", text).rstrip(" \n\ufe0f").endswith(_QUESTION_MARKS)


def stance_of(commodity_tags: object) -> str:
    """The primary stock's bullOrBear (posting/tags.py: 1 bull, -1 bear, 0 neutral)."""
    if isinstance(commodity_tags, list):
        for tag in commodity_tags:
            if isinstance(tag, dict) and tag.get("type") == "Stock" and "bullOrBear" in tag:
                return _STANCES.get(tag["bullOrBear"], "")
    return ""


def market_cap_bucket(issued_shares: int | None, snapshot: object) -> str:
    """Issued shares × the close in the post's market snapshot, in 億 TWD: small <100, mid <1000, large."""
    try:
        close = Decimal(str(snapshot["quote"]["close"]))  # type: ignore[index]
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return ""
    if not issued_shares:
        return ""
    cap = issued_shares * close / _HUNDRED_MILLION
    return "small" if cap < 100 else "mid" if cap < 1000 else "large"


def edit_bucket(distance: int | None) -> str:
    if distance is None:
        return ""
    return (
        "none" if distance == 0 else "light" if distance <= 20 else "medium" if distance <= 100 else "heavy"
    )


def edit_distance(generated: PostRevision | None, title: str, body: str) -> int | None:
    """Characters changed between the generated text and the text that was approved (None: nothing generated)."""
    if generated is None:
        return None
    return Levenshtein.distance(f"{generated.title}\n{generated.body}", f"{title}\n{body}")


def _approved_text(post: Post, revisions: list[PostRevision]) -> tuple[str, str]:
    for revision in revisions:
        if revision.version == post.approved_version:
            return revision.title, revision.body
    return post.title, post.body


def features_of(post: Post, dry_run: bool) -> PostFeatures:
    """One post's row (the post comes with kol, stock, batch and its revisions prefetched)."""
    revisions = list(post.revisions.all())
    generated = next((r for r in revisions if r.source == PostRevision.Source.GENERATED), None)
    title, body = _approved_text(post, revisions)
    distance = edit_distance(generated, title, body)
    assert post.published_at is not None  # Only published posts are selected.
    published = post.published_at.astimezone(TAIPEI)
    snapshot = post.market_snapshot or {}
    return PostFeatures(
        post=post,
        kol_id=post.kol_id,
        persona=post.kol.persona,
        content_style=post.kol.content_style[:200],
        post_type=post.batch.post_type if post.batch else "",
        trigger_type=post.trigger_type,
        industry=post.stock.industry if post.stock else "",
        market_cap=market_cap_bucket(post.stock.issued_shares if post.stock else None, snapshot),
        hour=published.hour,
        weekday=published.weekday(),
        published_at=post.published_at,
        published_day=published.date(),
        title_length=length_bucket(len(title), TITLE_EDGES),
        body_length=length_bucket(len(body), BODY_EDGES),
        ends_with_question=ends_with_question(body, post.kol.signature),
        emoji=emoji_bucket(f"{title}\n{body}"),
        stance=stance_of(post.commodity_tags),
        prompt_version=post.prompt_version,
        llm_model=post.llm_model,
        generator=post.generator,
        edit_distance=distance,
        edited=edit_bucket(distance),
        has_news=bool(snapshot.get("news")) if isinstance(snapshot, dict) else False,
        playbook_group=post.playbook_group,
        playbook_version=post.playbook_version,
        score=float(post.score_24h or 0),
        score_late=post.score_24h_late,
        is_demo=post.is_demo,
        dry_run=dry_run,
    )


def _due_posts() -> Any:
    stored = PostFeatures.objects.filter(post=OuterRef("pk"))
    dry = Publication.objects.filter(post=OuterRef("pk"), backend="dry_run")
    return (
        Post.objects.filter(published_at__isnull=False, score_24h__isnull=False)
        .exclude(Exists(stored.filter(score=OuterRef("score_24h"), score_late=OuterRef("score_24h_late"))))
        .annotate(is_dry_run=Exists(dry))
        .select_related("kol", "stock", "batch")
        .prefetch_related("revisions")
        .order_by("published_at")
    )


FIELDS = [
    field.name for field in PostFeatures._meta.concrete_fields if field.name not in ("post", "computed_at")
]


def post_features_refresh(*, chunk: int = 500, posts: Iterable[Post] | None = None) -> int:
    """Write the feature row of every published post whose 24 h score is new or changed; returns the count."""
    written = 0
    batch: list[PostFeatures] = []
    source = posts if posts is not None else _due_posts().iterator(chunk_size=chunk)
    for post in source:
        batch.append(features_of(post, bool(getattr(post, "is_dry_run", False))))
        if len(batch) >= chunk:
            written += _save(batch)
            batch = []
    if batch:
        written += _save(batch)
    return written


def _save(rows: list[PostFeatures]) -> int:
    PostFeatures.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["post"], update_fields=[*FIELDS, "computed_at"]
    )
    return len(rows)


def excluded_sources(*, include_demo: bool = False, include_dry_run: bool = False) -> Q:
    query = Q()
    if not include_demo:
        query &= Q(is_demo=False)
    if not include_dry_run:
        query &= Q(dry_run=False)
    return query
