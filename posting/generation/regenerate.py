"""Regenerating posts: a fresh draft for the same KOL, stock, trigger, post type and length.

``posts_regenerate(posts=..., by=...)`` is the one entry point of the review queue's bulk action, the post
page's button and ``POST /api/posts/{id}/regenerate/``. For every post it either starts a regeneration or
refuses it with a reason; refusals are counted per reason, like the approve action's.

- **The original is kept.** It leaves the queue with ``Action.REGENERATE`` (draft, pending review or
  changes requested -> rejected) and the note "Regenerated: replaced by a new draft in batch #N". Rejected
  rather than a new status: everything that reads statuses (scheduling's KOL allocation among them)
  already treats a rejected post as one that went nowhere.
- **Permission: ``posting.review_post``.** Taking a post out of the queue is a reviewer's decision, like
  rejecting it; writers, who may only edit, ask a reviewer (or edit the text themselves).
- **Same writer, never a silent switch.** A template post is rewritten by the template writer; an LLM post
  by the LLM, and is refused when no LLM is configured now (never replaced by template text).
- **One batch for the selection** (source admin or API, ``requested_by`` the person, ``source_ref`` naming
  the originals). A batch has one post type, length and writer, so a selection that mixes them gets one
  batch for each combination. Each item carries ``regenerated_from``; the worker copies it onto the new
  draft (posting/generation/runner.py).
- **One transaction**: the originals are locked, the batches created and the transitions applied together;
  the batch tasks are queued when it commits (``batch_start`` uses ``on_commit``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.exceptions import ConflictError
from kols.models import KOL, PostType, PromptTemplate
from posting.generation.batches import batch_start
from posting.generation.prompts import PostLength
from posting.lifecycle.table import TRANSITIONS, Action
from posting.lifecycle.transitions import transition_permission_check
from posting.llm.config import llm_is_configured
from posting.models import GenerationBatch, Post, PostStatus
from posting.review.services import post_mark_regenerated

REGENERABLE_STATES = TRANSITIONS[Action.REGENERATE].sources
SOURCE_REF_LENGTH = 100

# Short labels for counting refusals per reason (the admin's "Not done: 2 × ..." message).
REASONS = {
    "transition_not_allowed": gettext_lazy("not in a state that allows it"),
    "written_by_a_person": gettext_lazy("written by a person"),
    "no_stock": gettext_lazy("topic post without a stock"),
    "kol_paused": gettext_lazy("KOL paused"),
    "stock_inactive": gettext_lazy("stock no longer active"),
    "post_type_unknown": gettext_lazy("post type unknown"),
    "llm_not_configured": gettext_lazy("LLM post, but no LLM is configured"),
    "no_prompt_template": gettext_lazy("no active prompt template for its post type"),
}


class RegenerateRefused(ConflictError):
    code = "regenerate_refused"


@dataclass(frozen=True)
class Plan:
    """What regenerating one post would do: a new draft by ``writer``, or a refusal (``code``, ``message``)."""

    post: Post
    writer: str = ""
    post_type: str = ""
    length: str = ""
    code: str = ""
    message: str = ""

    @property
    def refused(self) -> bool:
        return bool(self.code)

    @property
    def reason(self) -> str:
        return str(REASONS.get(self.code, self.message))

    @property
    def writer_label(self) -> str:
        return str(GenerationBatch.Writer(self.writer).label) if self.writer else ""


@dataclass(frozen=True)
class RegenerateResult:
    batches: list[GenerationBatch]
    regenerated: list[Post]
    refused: list[Plan]

    def refused_by_reason(self) -> Counter[str]:
        return Counter(plan.reason for plan in self.refused)


# --- Planning (read-only: the confirmation page shows it) -------------------------------------------


def _refusal(post: Post, code: str, message: str) -> Plan:
    return Plan(post=post, code=code, message=message)


def _post_type(post: Post, template_types: dict[str, str]) -> str:
    if post.batch is not None and post.batch.post_type:
        return post.batch.post_type
    # A post whose batch is gone: an LLM post names the version of the prompt template it was written with.
    return template_types.get(post.prompt_version, "")


def _status_refusal(post: Post) -> Plan | None:
    if post.status in REGENERABLE_STATES:
        return None
    status = PostStatus(post.status).label if post.status in PostStatus.values else post.status
    return _refusal(
        post,
        "transition_not_allowed",
        _("Cannot regenerate: the post is %(status)s.") % {"status": status},
    )


def _subject_refusal(post: Post) -> Plan | None:
    """Who writes about what: the person, the KOL and the stock must still allow a generated draft."""
    if post.generator == Post.Generator.HUMAN:
        return _refusal(
            post, "written_by_a_person", _("Written by a person: there is no writer to ask again.")
        )
    if post.stock is None:
        return _refusal(
            post, "no_stock", _("A topic post without a stock cannot be generated (no market data source).")
        )
    if post.kol.status != KOL.Status.ACTIVE:
        return _refusal(post, "kol_paused", _("%(kol)s is paused.") % {"kol": post.kol.nickname})
    if not post.stock.is_active:
        return _refusal(
            post, "stock_inactive", _("The stock %(code)s is no longer active.") % {"code": post.stock.code}
        )
    return None


def _writer_refusal(post: Post, post_type: str, active_types: set[str]) -> Plan | None:
    if post_type not in PostType.values:
        return _refusal(
            post, "post_type_unknown", _("Its post type is unknown (the batch that wrote it is gone).")
        )
    if post.generator != Post.Generator.LLM:
        return None
    if not llm_is_configured():
        return _refusal(
            post,
            "llm_not_configured",
            _("Written by the LLM, but no LLM is configured now; it is not rewritten as template text."),
        )
    if post_type not in active_types:
        return _refusal(
            post,
            "no_prompt_template",
            _("No active prompt template for the post type %(type)s.") % {"type": post_type},
        )
    return None


def _plan(post: Post, template_types: dict[str, str], active_types: set[str]) -> Plan:
    refusal = _status_refusal(post) or _subject_refusal(post)
    if refusal is not None:
        return refusal
    post_type = _post_type(post, template_types)
    refusal = _writer_refusal(post, post_type, active_types)
    if refusal is not None:
        return refusal
    item = getattr(post, "batch_item", None)
    writer = (
        GenerationBatch.Writer.LLM
        if post.generator == Post.Generator.LLM
        else GenerationBatch.Writer.TEMPLATE
    )
    return Plan(
        post=post, writer=writer, post_type=post_type, length=item.length if item else PostLength.MEDIUM
    )


def _planned(posts: Sequence[Post]) -> list[Plan]:
    versions = {post.prompt_version for post in posts if post.batch is None and post.prompt_version}
    template_types = (
        dict(PromptTemplate.objects.filter(version__in=versions).values_list("version", "post_type"))
        if versions
        else {}
    )
    active_types: set[str] = set()
    if any(post.generator == Post.Generator.LLM for post in posts):
        active_types = set(PromptTemplate.objects.filter(is_active=True).values_list("post_type", flat=True))
    return [_plan(post, template_types, active_types) for post in posts]


def _with_relations(queryset: QuerySet[Post]) -> QuerySet[Post]:
    return queryset.select_related("kol", "stock", "batch", "batch_item")


def _ids(posts: Iterable[Post]) -> list[Any]:
    return list(dict.fromkeys(post.pk for post in posts))


def _vanished(given: Iterable[Post], found: Sequence[Post]) -> list[Plan]:
    present = {post.pk for post in found}
    return [
        _refusal(post, "transition_not_allowed", _("The post no longer exists."))
        for post in {post.pk: post for post in given}.values()
        if post.pk not in present
    ]


def regenerate_plan(*, posts: Iterable[Post]) -> list[Plan]:
    """What ``posts_regenerate`` would do with each post, in queue order; nothing is written."""
    given = list(posts)
    found = list(_with_relations(Post.objects.filter(pk__in=_ids(given))).order_by("created_at", "pk"))
    return _planned(found) + _vanished(given, found)


# --- Regenerating -----------------------------------------------------------------------------------


def _item(post: Post) -> dict[str, Any]:
    item = getattr(post, "batch_item", None)
    return {
        "kol_id": post.kol_id,
        "stock_id": post.stock_id,
        "topic": item.topic if item is not None else post.topic_title,
        "trigger_type": post.trigger_type,
        "trigger_key": post.trigger_key,
        "trigger_reasons": [str(reason) for reason in post.trigger_reasons or []],
        "regenerated_from_id": post.pk,
    }


def _source_ref(posts: Sequence[Post]) -> str:
    """``regenerate:<post id>``; several originals by the first 8 characters of their ids."""
    if len(posts) == 1:
        return f"regenerate:{posts[0].pk}"
    ref = "regenerate:"
    for number, post in enumerate(posts):
        more = f"+{len(posts) - number}"
        short = str(post.pk)[:8]
        if len(ref) + len(short) + 1 + len(more) > SOURCE_REF_LENGTH:
            return ref + more
        ref += short + ("," if number < len(posts) - 1 else "")
    return ref


def _groups(plans: Iterable[Plan]) -> dict[tuple[str, str, str], list[Plan]]:
    groups: dict[tuple[str, str, str], list[Plan]] = defaultdict(list)
    for plan in plans:
        groups[(plan.post_type, plan.length, plan.writer)].append(plan)
    return groups


def posts_regenerate(
    *, posts: Iterable[Post], by: Any, source: str = GenerationBatch.Source.MANUAL
) -> RegenerateResult:
    """Start a fresh draft for each post that allows it and take the originals out of the queue.

    Raises NotPermitted (nothing done) without ``posting.review_post``; per-post refusals are returned.
    """
    actor = transition_permission_check(by=by, action=Action.REGENERATE)
    given = list(posts)
    batches: list[GenerationBatch] = []
    regenerated: list[Post] = []
    with transaction.atomic():
        # The lock keeps each post in the status it was planned in until the transition below.
        locked = _with_relations(Post.objects.select_for_update(of=("self",)).filter(pk__in=_ids(given)))
        found = sorted(locked.order_by("pk"), key=lambda post: (post.created_at, str(post.pk)))
        plans = _planned(found)
        for (post_type, length, writer), group in _groups(p for p in plans if not p.refused).items():
            originals = [plan.post for plan in group]
            batch = batch_start(
                source=source,
                items=[_item(post) for post in originals],
                post_type=post_type,
                requested_by=actor.user,
                source_ref=_source_ref(originals),
                length=length,
                writer=writer,
            )
            batches.append(batch)
            regenerated += [
                post_mark_regenerated(post=post, by=actor, batch_id=batch.pk) for post in originals
            ]
    refused = [plan for plan in plans if plan.refused] + _vanished(given, found)
    return RegenerateResult(batches=batches, regenerated=regenerated, refused=refused)


def post_regenerate(*, post: Post, by: Any, source: str = GenerationBatch.Source.MANUAL) -> GenerationBatch:
    """Regenerate one post: the batch writing its replacement, or RegenerateRefused (409) saying why not."""
    result = posts_regenerate(posts=[post], by=by, source=source)
    if result.refused:
        refusal = result.refused[0]
        raise RegenerateRefused(refusal.message, code=refusal.code)
    return result.batches[0]
