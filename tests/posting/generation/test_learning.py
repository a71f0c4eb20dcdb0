"""The learning loop in generation: the active playbook's lines in the prompt, its version on the post,
and the control group drawn per batch item and generated without it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from kols.models import Playbook, PostType
from kols.playbooks import playbook_activate, playbook_propose
from posting.generation.batches import batch_create
from posting.generation.drafting import DraftRequest, GeneratedDraft, draft_generate
from posting.generation.runner import item_draft
from posting.models import BatchItem
from tests.factories import default_compliance_rules
from tests.posting.batch_setup import RoutedLLM, kols, prompt_templates_seed, stock_with_quotes

pytestmark = pytest.mark.django_db

LINE = "以問句結尾的貼文進入 24 小時互動分數前 20% 的機會高 35%（n=120，95% 區間 18–52%）"


class RecordingLLM(RoutedLLM):
    """The routed fake LLM, keeping the messages of every request."""

    def __init__(self) -> None:
        super().__init__()
        self.prompts: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with self.lock:
            self.prompts.append("\n".join(message["content"] for message in body["messages"]))
        return super().handle(request)


@pytest.fixture(autouse=True)
def _templates(settings: Any) -> None:
    settings.LLM_BASE_URL, settings.LLM_API_KEY, settings.LLM_MODEL = "http://llm.test/v1", "k", "test-model"
    prompt_templates_seed()
    default_compliance_rules()


def _active_playbook(kol: Any) -> Playbook:
    playbook = playbook_propose(kol=kol, lines=[LINE], best_hours=[20])
    assert playbook is not None
    return playbook_activate(playbook=playbook, by=None)


def _request(kol: Any, **changes: Any) -> DraftRequest:
    return DraftRequest(
        kol=kol,
        stock=stock_with_quotes("2330"),
        post_type=PostType.ANALYSIS,
        trigger_reasons=["漲幅居前"],
        **changes,
    )


def test_the_active_playbook_lines_are_in_the_prompt_and_its_version_on_the_post() -> None:
    kol = kols(1)[0]
    playbook = _active_playbook(kol)
    llm = RecordingLLM()

    draft = draft_generate(request=_request(kol), writer="llm", client=llm.client())

    assert LINE in llm.prompts[0]
    assert "寫作建議" in llm.prompts[0]
    assert (draft.fields["playbook_version"], draft.fields["playbook_group"]) == (playbook.version, "guided")


def test_a_control_draft_is_written_without_the_playbook_and_says_so() -> None:
    kol = kols(1)[0]
    playbook = _active_playbook(kol)
    llm = RecordingLLM()

    draft = draft_generate(request=_request(kol, playbook_control=True), writer="llm", client=llm.client())

    assert LINE not in llm.prompts[0] and "寫作建議" not in llm.prompts[0]
    assert (draft.fields["playbook_version"], draft.fields["playbook_group"]) == (playbook.version, "control")


def test_without_an_active_playbook_nothing_is_added_or_recorded() -> None:
    kol = kols(1)[0]
    playbook_propose(kol=kol, lines=[LINE])  # proposed, never activated
    llm = RecordingLLM()

    draft = draft_generate(request=_request(kol), writer="llm", client=llm.client())

    assert LINE not in llm.prompts[0]
    assert (draft.fields["playbook_version"], draft.fields["playbook_group"]) == (None, "")


def test_activating_a_version_retires_the_previous_one() -> None:
    kol = kols(1)[0]
    first = _active_playbook(kol)
    second = playbook_propose(kol=kol, lines=["另一句"])
    assert second is not None and second.version == 2

    playbook_activate(playbook=second, by=None)

    first.refresh_from_db()
    assert (first.status, second.status) == (Playbook.Status.RETIRED, Playbook.Status.ACTIVE)


@pytest.mark.parametrize(("share", "expected"), [(0.0, 0), (1.0, 40)])
def test_the_control_share_is_drawn_per_item_and_recorded(settings: Any, share: float, expected: int) -> None:
    settings.LEARNING_CONTROL_SHARE = share
    stock_with_quotes("2330")
    items = [{"kol_id": kol.pk, "stock_code": "2330"} for kol in kols(40)]

    batch = batch_create(source="manual", items=items, post_type="analysis", writer="llm")

    assert BatchItem.objects.filter(batch=batch, playbook_control=True).count() == expected


def test_about_a_fifth_of_items_are_control_by_default(settings: Any) -> None:
    assert settings.LEARNING_CONTROL_SHARE == 0.2
    stock_with_quotes("2330")
    writers = kols(2)
    items = [{"kol_id": writers[n % 2].pk, "stock_code": "2330"} for n in range(400)]

    batch = batch_create(source="manual", items=items, post_type="analysis", writer="llm")

    # Binomial(400, 0.2): mean 80, sd 8; outside 40-120 has odds below one in a billion.
    assert 40 <= BatchItem.objects.filter(batch=batch, playbook_control=True).count() <= 120


def test_a_batch_item_drawn_for_control_becomes_a_control_post(settings: Any) -> None:
    settings.LEARNING_CONTROL_SHARE = 1.0
    kol = kols(1)[0]
    _active_playbook(kol)
    stock_with_quotes("2330")
    batch = batch_create(
        source="manual", items=[{"kol_id": kol.pk, "stock_code": "2330"}], post_type="analysis", writer="llm"
    )
    llm = RecordingLLM()
    item = BatchItem.objects.select_related("batch", "kol", "stock").get(batch=batch)

    draft = item_draft(item=item, client=llm.client())

    assert isinstance(draft, GeneratedDraft)
    assert (draft.fields["playbook_group"], draft.fields["playbook_version"]) == ("control", 1)
    assert LINE not in llm.prompts[0]
