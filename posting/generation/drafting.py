"""Generating one draft: the market snapshot, then the LLM or the template writer, then tags.

``draft_generate(...)`` writes nothing: it returns the fields of the post to create, and the batch runner
creates the post with ``post_create_draft`` in the same transaction that records the item's outcome.

The writer is decided when a batch starts (``GenerationBatch.writer``): ``llm`` calls the configured
model and a failure is the item's failure (retryable or not, as the client says); ``template`` composes
the post from the snapshot and records ``generator=template``. One never stands in for the other.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from kols.models import KOL, Playbook, PostType
from kols.playbooks import playbook_active
from kols.services import kol_persona_version_record
from market.models import Stock
from posting.checks.classifier import ClassifierAnswer, classifier_ask, classifier_enabled
from posting.generation.context import context_build, topic_context_build
from posting.generation.prompts import PostLength, persona_card, prompt_build
from posting.generation.template_writer import template_post_write, template_topic_post_write
from posting.llm.client import LLMClient
from posting.llm.config import LLMConfig, call_options_for, llm_is_configured
from posting.llm.errors import LLMNotConfiguredError
from posting.models import Post
from posting.tags import commodity_tags_build

if TYPE_CHECKING:
    from posting.generation.prompts import BuiltPrompt
    from posting.llm.client import LLMResult

WRITERS = ("llm", "template")


class GenerationError(ServiceError):
    code = "generation_failed"
    status_code = 422


@dataclass(frozen=True)
class DraftRequest:
    """What one draft is about: a stock, or (``stock`` None) a topic such as a macro trigger's."""

    kol: KOL
    stock: Stock | None
    post_type: str
    topic: str = ""
    length: str = PostLength.MEDIUM
    trigger_type: str = ""
    trigger_key: str = ""
    trigger_reasons: Sequence[str] = ()
    # The learning loop's control group: generated without the KOL's active playbook.
    playbook_control: bool = False
    # A CMoney community topic the post attaches to (communityTopic), e.g. from the trending topics.
    topic_id: str = ""


@dataclass(frozen=True)
class GeneratedDraft:
    """The keyword arguments of ``post_create_draft`` for one generated post, and, when the optional LLM
    compliance classifier is on, its answer about the text (asked here, outside any transaction)."""

    fields: dict[str, Any]
    classifier_answer: ClassifierAnswer | None = None


# --- The process's LLM client -----------------------------------------------------------------------

_client_lock = threading.Lock()
_clients: dict[tuple[str, str, str], LLMClient] = {}


def llm_client() -> LLMClient:
    """One client per process and configuration, shared by the batch threads (the client is thread-safe)."""
    if not llm_is_configured():
        raise LLMNotConfiguredError(
            _(
                "This batch was started for the LLM writer, but no LLM is configured here (LLM_BASE_URL is empty)."
            )
        )
    key = (settings.LLM_BASE_URL, settings.LLM_MODEL, settings.LLM_API_KEY)
    with _client_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = LLMClient(LLMConfig.from_settings())
        return client


def writer_for_new_batch(requested: str = "") -> str:
    """The writer a new batch records: as requested, or the LLM when one is configured, else the template."""
    if requested and requested not in WRITERS:
        raise ServiceError(
            _("Unknown writer %(writer)r; expected llm or template.") % {"writer": requested},
            code="invalid",
            fields={"writer": [_("Expected llm or template.")]},
        )
    if requested == "llm" and not llm_is_configured():
        message = _("No LLM is configured (LLM_BASE_URL is empty): choose the template writer.")
        raise ServiceError(message, code="llm_not_configured", fields={"writer": [message]})
    return requested or ("llm" if llm_is_configured() else "template")


# --- One draft --------------------------------------------------------------------------------------


def _require_subject(request: DraftRequest) -> None:
    if request.stock is None and not request.topic.strip():
        raise GenerationError(
            _("A draft needs a stock or a topic."),
            code="topic_without_stock",
        )


def _llm_fields(result: LLMResult, built: BuiltPrompt) -> dict[str, Any]:
    return {
        "generator": Post.Generator.LLM,
        "llm_model": result.model,
        "prompt_version": built.template_version,
        "persona_snapshot": built.persona,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "cost_usd": result.cost_usd,
        "latency_ms": result.latency_ms,
    }


def _learning_fields(playbook: Playbook | None, control: bool) -> dict[str, Any]:
    """Which playbook version the post was guided by, or withheld from (control). Nothing without one."""
    if playbook is None:
        return {"playbook_version": None, "playbook_group": ""}
    return {"playbook_version": playbook.version, "playbook_group": "control" if control else "guided"}


def _known_codes(primary: str, extra: Sequence[str]) -> list[str]:
    """The primary stock and the other codes the text tagged, dropping codes no stock has (never a made-up tag)."""
    others = [code for code in extra if code != primary]
    known = set(Stock.objects.filter(code__in=others).values_list("code", flat=True)) if others else set()
    return [primary, *(code for code in others if code in known)]


def _tags(stock: Stock | None, tags: Sequence[str], stance: str) -> list[dict[str, Any]]:
    """Stock tags: the post's stock first; a topic post tags only real stocks its text named."""
    if stock is not None:
        return commodity_tags_build(stock_codes=_known_codes(stock.code, tags), stance=stance)
    named = list(dict.fromkeys(code for code in tags if code))
    known = set(Stock.objects.filter(code__in=named).values_list("code", flat=True)) if named else set()
    codes = [code for code in named if code in known]
    return commodity_tags_build(stock_codes=codes, stance=stance) if codes else []


class SnapshotCache:
    """The market snapshots of one batch run, one per stock and trigger.

    Every draft of a batch about the same stock and trigger reads the same stored quotes, so they are
    read once; only ``built_for`` (the KOL) differs between the drafts' snapshots. Shared by the threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[tuple[int, str, tuple[str, ...]], dict[str, Any]] = {}

    def snapshot(self, *, request: DraftRequest, stock: Stock) -> dict[str, Any]:
        reasons = tuple(str(reason) for reason in request.trigger_reasons)
        key = (stock.pk, request.trigger_type, reasons)
        with self._lock:
            cached = self._snapshots.get(key)
        if cached is None:
            cached = _snapshot(request, stock)
            with self._lock:
                cached = self._snapshots.setdefault(key, cached)
        return {**cached, "built_for": {"kol_id": request.kol.pk, "persona": request.kol.persona}}


def _snapshot(request: DraftRequest, stock: Stock) -> dict[str, Any]:
    return context_build(
        kol=request.kol,
        stock=stock,
        trigger_reasons=[str(reason) for reason in request.trigger_reasons],
        trigger_type=request.trigger_type,
    )


def draft_generate(
    *,
    request: DraftRequest,
    writer: str,
    client: LLMClient | None = None,
    snapshots: SnapshotCache | None = None,
) -> GeneratedDraft:
    """The fields of one generated post. Raises the writer's typed errors (``LLMError.retryable`` says
    whether trying again may help) or a ServiceError naming the data that was missing."""
    if request.post_type not in PostType.values:
        raise GenerationError(
            _("Unknown post type %(type)r.") % {"type": request.post_type}, code="invalid_post_type"
        )
    _require_subject(request)
    stock = request.stock
    if stock is None:
        snapshot = topic_context_build(
            kol=request.kol,
            topic=request.topic,
            trigger_reasons=[str(reason) for reason in request.trigger_reasons],
            trigger_type=request.trigger_type,
        )
    else:
        snapshot = (
            snapshots.snapshot(request=request, stock=stock) if snapshots else _snapshot(request, stock)
        )
    if writer == "llm":
        client = client or llm_client()
        playbook = playbook_active(kol_id=request.kol.pk)
        built = prompt_build(
            kol=request.kol,
            post_type=request.post_type,
            snapshot=snapshot,
            length=request.length,
            playbook=None if request.playbook_control else playbook,
        )
        result = client.generate(
            messages=built.messages, options=call_options_for(config=client.config, kol=request.kol)
        )
        title, body, stance, tags = (
            result.draft.title,
            result.draft.body,
            result.draft.stance,
            result.draft.tags,
        )
        provenance = {**_llm_fields(result, built), **_learning_fields(playbook, request.playbook_control)}
    elif writer == "template":
        write = template_post_write if stock is not None else template_topic_post_write
        written = write(kol=request.kol, snapshot=snapshot, post_type=request.post_type)
        title, body, stance, tags = written.title, written.body, written.stance, written.tags
        provenance = {
            "generator": Post.Generator.TEMPLATE,
            "prompt_version": written.prompt_version,
            "persona_snapshot": persona_card(request.kol),
        }
    else:
        raise GenerationError(_("Unknown writer %(writer)r.") % {"writer": writer}, code="invalid_writer")
    answer = classifier_ask(title=title, body=body) if classifier_enabled() else None
    return GeneratedDraft(
        classifier_answer=answer,
        fields={
            "kol": request.kol,
            "stock": stock,
            "title": title,
            "body": body,
            "trigger_type": request.trigger_type,
            "trigger_key": request.trigger_key,
            "trigger_reasons": [str(reason) for reason in request.trigger_reasons],
            "market_snapshot": snapshot,
            "commodity_tags": _tags(stock, tags, stance),
            "topic_title": request.topic.strip()[:200] if stock is None else "",
            "topic_id": request.topic_id.strip(),
            "persona_version": kol_persona_version_record(kol=request.kol),
            **provenance,
        },
    )
