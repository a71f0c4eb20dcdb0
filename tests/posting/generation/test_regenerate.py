"""Regenerate: a fresh draft for the same KOL, stock and trigger, through a new batch; the original leaves the
queue (rejected, kept, linked). Service, admin (bulk action and post page) and API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.exceptions import ServiceError
from kols.models import KOL
from market.models import Stock
from posting.generation.batches import batch_create, batch_wake
from posting.generation.regenerate import (
    RegenerateRefused,
    post_regenerate,
    posts_regenerate,
    regenerate_plan,
)
from posting.generation.runner import batch_run
from posting.lifecycle.table import TRANSITIONS, Action
from posting.lifecycle.transitions import NotPermitted
from posting.models import AuditEvent, BatchItem, GenerationBatch, Post
from tests.factories import GenerationBatchFactory, KOLFactory, PostFactory, default_compliance_rules
from tests.posting.batch_setup import (
    RoutedLLM,
    default_queue_purge,
    kols,
    prompt_templates_seed,
    stock_with_quotes,
)

ALL_STATES = [value for value, _label in Post.Status.choices]
SOURCES = TRANSITIONS[Action.REGENERATE].sources
QUEUE = "/admin/posting/post/"
LLM = Post.Generator.LLM
TEMPLATE = Post.Generator.TEMPLATE


@pytest.fixture(autouse=True)
def _llm_configured(settings: Any) -> None:
    # Configured, never called: the tests that run a batch inject the transport (RoutedLLM).
    settings.LLM_BASE_URL, settings.LLM_API_KEY, settings.LLM_MODEL = "http://llm.test/v1", "k", "test-model"


def _original(
    status: str = Post.Status.PENDING_REVIEW,
    *,
    generator: str = LLM,
    post_type: str = "question",
    length: str = "short",
    code: str = "2330",
    kol: KOL | None = None,
    **fields: Any,
) -> Post:
    """A generated post as a batch leaves it: its batch (post type, writer) and its item (length)."""
    stock = stock_with_quotes(code)
    kol = kol or cast(KOL, KOLFactory())
    writer = "llm" if generator == LLM else "template"
    batch = GenerationBatchFactory(post_type=post_type, writer=writer, requested_count=1, succeeded_count=1)
    now = timezone.now()
    extra: dict[str, Any] = {
        "approved_at": now if status in Post.APPROVED_STATES else None,
        "scheduled_at": now + dt.timedelta(hours=3) if status == Post.Status.SCHEDULED else None,
        "published_at": now if status == Post.Status.PUBLISHED else None,
    }
    trigger = {"trigger_type": "top_gainers", "trigger_key": code, "trigger_reasons": ["漲幅前五", "量增"]}
    post = cast(
        Post,
        PostFactory(
            status=status,
            kol=kol,
            stock=stock,
            batch=batch,
            generator=generator,
            prompt_version="question-v1" if generator == LLM else "template-v1",
            **trigger,
            **extra,
            **fields,
        ),
    )
    BatchItem.objects.create(
        batch=batch, position=1, kol=kol, stock=stock, length=length, status="succeeded", post=post, **trigger
    )
    return post


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- The service ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_regenerating_several_posts_starts_one_batch_and_takes_the_originals_out_of_the_queue(
    reviewer: User, django_capture_on_commit_callbacks: Any
) -> None:
    originals = [
        _original(Post.Status.DRAFT, code="2330"),
        _original(Post.Status.PENDING_REVIEW, code="2317"),
        _original(Post.Status.CHANGES_REQUESTED, code="2454"),
    ]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        result = posts_regenerate(posts=originals, by=reviewer)

    assert len(queued) == 1  # the batch task, once the transaction commits
    assert not result.refused and len(result.batches) == 1
    batch = result.batches[0]
    assert (batch.source, batch.requested_by, batch.post_type, batch.writer) == (
        "manual",
        reviewer,
        "question",
        "llm",
    )
    assert batch.requested_count == 3 and batch.source_ref.startswith("regenerate:")
    assert all(str(post.pk)[:8] in batch.source_ref for post in originals)
    items = {item.regenerated_from_id: item for item in BatchItem.objects.filter(batch=batch)}
    assert set(items) == {post.pk for post in originals}
    for original in originals:
        item = items[original.pk]
        assert (item.kol_id, item.stock_id, item.length) == (original.kol_id, original.stock_id, "short")
        assert (item.trigger_type, item.trigger_key, item.trigger_reasons) == (
            "top_gainers",
            original.trigger_key,
            ["漲幅前五", "量增"],
        )
        before = original.status
        original.refresh_from_db()
        note = f"Regenerated: replaced by a new draft in batch #{batch.pk}."
        assert (original.status, original.status_note) == (Post.Status.REJECTED, note)
        event = AuditEvent.objects.get(post=original, action=Action.REGENERATE)
        assert (event.from_status, event.to_status, event.actor, event.note) == (
            before,
            "rejected",
            reviewer,
            note,
        )


@pytest.mark.django_db
@pytest.mark.parametrize("status", ALL_STATES)
def test_regenerate_is_allowed_exactly_from_its_sources(status: str, reviewer: User) -> None:
    original = _original(status)
    if status in SOURCES:
        result = posts_regenerate(posts=[original], by=reviewer)
        assert len(result.regenerated) == 1 and not result.refused
        original.refresh_from_db()
        assert original.status == TRANSITIONS[Action.REGENERATE].target
        event = AuditEvent.objects.get(post=original, action=Action.REGENERATE)
        assert (event.from_status, event.to_status) == (status, "rejected")
    else:
        with pytest.raises(RegenerateRefused) as refused:
            post_regenerate(post=original, by=reviewer)
        assert refused.value.code == "transition_not_allowed" and refused.value.status_code == 409
        original.refresh_from_db()
        assert original.status == status
        assert not AuditEvent.objects.filter(post=original).exists()
        assert GenerationBatch.objects.count() == 1  # the original's own


@pytest.mark.django_db
def test_an_llm_post_is_refused_without_an_llm_and_never_rewritten_by_the_template(
    reviewer: User, settings: Any
) -> None:
    settings.LLM_BASE_URL = ""
    by_llm = _original(generator=LLM, code="2330")
    by_template = _original(generator=TEMPLATE, code="2317")

    result = posts_regenerate(posts=[by_llm, by_template], by=reviewer)

    assert [plan.post.pk for plan in result.refused] == [by_llm.pk]
    assert (
        result.refused[0].code == "llm_not_configured" and "no LLM is configured" in result.refused[0].message
    )
    by_llm.refresh_from_db()
    assert by_llm.status == Post.Status.PENDING_REVIEW
    (batch,) = result.batches
    assert batch.writer == "template"
    assert list(BatchItem.objects.filter(batch=batch).values_list("regenerated_from_id", flat=True)) == [
        by_template.pk
    ]


@pytest.mark.django_db
def test_a_selection_mixing_writers_gets_one_batch_per_writer_because_a_batch_has_one(
    reviewer: User,
) -> None:
    by_llm = _original(generator=LLM, code="2330")
    by_template = _original(generator=TEMPLATE, code="2317")

    result = posts_regenerate(posts=[by_llm, by_template], by=reviewer)

    assert sorted(batch.writer for batch in result.batches) == ["llm", "template"]
    assert {post.pk for post in result.regenerated} == {by_llm.pk, by_template.pk}


@pytest.mark.django_db
def test_a_writer_may_not_regenerate_and_nothing_changes(writer: User) -> None:
    original = _original()
    with pytest.raises(NotPermitted):
        posts_regenerate(posts=[original], by=writer)
    original.refresh_from_db()
    assert original.status == Post.Status.PENDING_REVIEW
    assert GenerationBatch.objects.count() == 1 and not AuditEvent.objects.filter(post=original).exists()


@pytest.mark.django_db
def test_refusals_say_why_and_are_counted_per_reason(reviewer: User) -> None:
    paused = _original(code="2330")
    KOL.objects.filter(pk=paused.kol_id).update(status=KOL.Status.PAUSED)
    inactive = _original(code="2317")
    Stock.objects.filter(pk=inactive.stock_id).update(is_active=False)
    human = _original(code="2454", generator=Post.Generator.HUMAN)
    approved = _original(Post.Status.APPROVED, code="2303")
    also_approved = _original(Post.Status.APPROVED, code="2881")
    topic = cast(Post, PostFactory(stock=None, topic_title="升息循環", generator=TEMPLATE))

    result = posts_regenerate(posts=[paused, inactive, human, approved, also_approved, topic], by=reviewer)

    assert not result.batches and not result.regenerated
    assert {plan.post.pk: plan.code for plan in result.refused} == {
        paused.pk: "kol_paused",
        inactive.pk: "stock_inactive",
        human.pk: "written_by_a_person",
        approved.pk: "transition_not_allowed",
        also_approved.pk: "transition_not_allowed",
        topic.pk: "no_stock",
    }
    assert result.refused_by_reason()["not in a state that allows it"] == 2
    assert Post.objects.filter(status=Post.Status.REJECTED).count() == 0


@pytest.mark.django_db
def test_a_post_whose_batch_is_gone_takes_its_post_type_from_its_prompt_template(reviewer: User) -> None:
    prompt_templates_seed()
    original = _original(post_type="question")
    GenerationBatch.objects.filter(pk=original.batch_id).delete()  # the post and its item lose their batch
    original.refresh_from_db()
    assert original.batch_id is None

    (batch,) = posts_regenerate(posts=[original], by=reviewer).batches
    assert (batch.post_type, BatchItem.objects.get(batch=batch).length) == ("question", "medium")

    unknown = _original(generator=TEMPLATE, code="2317")
    GenerationBatch.objects.filter(pk=unknown.batch_id).delete()
    assert regenerate_plan(posts=[unknown])[0].code == "post_type_unknown"


@pytest.mark.django_db
def test_a_batch_item_names_an_existing_post_to_regenerate() -> None:
    stock_with_quotes("2330")
    item = {"kol_id": kols(1)[0].pk, "stock_code": "2330", "regenerated_from_id": "0" * 32}
    with pytest.raises(ServiceError) as refused:
        batch_create(source="manual", items=[item], post_type="analysis", writer="template")
    assert "items" in refused.value.fields and not GenerationBatch.objects.exists()


# --- The new draft, written by the worker -----------------------------------------------------------


@pytest.fixture
def runner_db(transactional_db: None) -> Iterator[None]:
    prompt_templates_seed()
    default_compliance_rules()
    yield
    default_queue_purge()


@pytest.mark.usefixtures("runner_db")
def test_the_new_draft_has_the_same_kol_stock_and_trigger_and_links_back(settings: Any) -> None:
    settings.GENERATION_CONCURRENCY = 1
    reviewer = User.objects.create_user("regen-reviewer", is_staff=True)
    reviewer.user_permissions.add(*_permissions("review_post", "view_post"))
    original = _original(Post.Status.PENDING_REVIEW, post_type="analysis", length="long", code="2330")

    batch = post_regenerate(post=original, by=reviewer)
    token = batch_wake(batch_id=batch.pk)
    assert token is not None
    outcome = batch_run(batch_id=batch.pk, token=token, client=RoutedLLM().client()).as_dict()

    assert outcome["outcomes"] == {"succeeded": 1}
    new = Post.objects.get(batch=batch)
    assert (new.kol_id, new.stock_id, new.regenerated_from_id) == (
        original.kol_id,
        original.stock_id,
        original.pk,
    )
    assert (new.trigger_type, new.trigger_key, new.trigger_reasons) == (
        "top_gainers",
        "2330",
        ["漲幅前五", "量增"],
    )
    assert (new.status, new.generator, new.prompt_version) == (Post.Status.PENDING_REVIEW, LLM, "analysis-v1")
    assert list(original.regenerations.all()) == [new]
    assert Post.objects.get(pk=original.pk).status == Post.Status.REJECTED


def _permissions(*codenames: str) -> list[Any]:
    from django.contrib.auth.models import Permission

    return list(Permission.objects.filter(content_type__app_label="posting", codename__in=codenames))


# --- The admin --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_bulk_action_shows_what_will_happen_then_reports_counts_and_links_the_batch(
    reviewer: User,
) -> None:
    fine = _original(Post.Status.PENDING_REVIEW, code="2330")
    draft = _original(Post.Status.DRAFT, code="2317", generator=TEMPLATE)
    approved = _original(Post.Status.APPROVED, code="2454")
    client = _client(reviewer)
    selection = {"action": "regenerate_selected", "_selected_action": [fine.pk, draft.pk, approved.pk]}

    page = client.post(f"{QUEUE}?status=all", selection).content.decode()
    assert 'id="regenerate-plan"' in page
    assert "writer: LLM" in page and "writer: Template writer" in page
    assert "skipped" in page and "Cannot regenerate: the post is Approved." in page
    assert not GenerationBatch.objects.filter(source_ref__startswith="regenerate:").exists()

    done = client.post(f"{QUEUE}?status=all", {**selection, "confirm": "yes"}, follow=True).content.decode()
    batches = list(GenerationBatch.objects.filter(source_ref__startswith="regenerate:").order_by("pk"))
    assert sorted(batch.writer for batch in batches) == ["llm", "template"]
    assert "2 new drafts are being written" in done
    for batch in batches:
        assert f'href="{reverse("admin:posting_generationbatch_change", args=[batch.pk])}"' in done
    assert "1 × not in a state that allows it" in done
    assert Post.objects.get(pk=fine.pk).status == Post.Status.REJECTED
    assert Post.objects.get(pk=approved.pk).status == Post.Status.APPROVED


@pytest.mark.django_db
def test_the_confirmation_page_reads_a_fixed_number_of_queries(reviewer: User) -> None:
    client = _client(reviewer)

    def confirmation_queries(count: int) -> int:
        posts = [_original(code="2330") for _ in range(count)]
        selection = {"action": "regenerate_selected", "_selected_action": [post.pk for post in posts]}
        with CaptureQueriesContext(connection) as captured:
            assert client.post(f"{QUEUE}?status=all", selection).status_code == 200
        return len(captured)

    assert confirmation_queries(2) == confirmation_queries(6)


@pytest.mark.django_db
def test_a_writer_cannot_run_the_bulk_regenerate_action(writer: User) -> None:
    original = _original()
    _client(writer).post(
        QUEUE, {"action": "regenerate_selected", "_selected_action": [original.pk], "confirm": "yes"}
    )
    original.refresh_from_db()
    assert original.status == Post.Status.PENDING_REVIEW
    assert GenerationBatch.objects.count() == 1


@pytest.mark.django_db
def test_the_post_page_button_regenerates_and_lands_on_the_batch_page(reviewer: User) -> None:
    original = _original()
    client = _client(reviewer)
    page = client.get(reverse("admin:posting_post_change", args=[original.pk])).content.decode()
    assert 'id="regenerate-button"' in page

    response = client.post(
        reverse("admin:posting_post_decide", args=[original.pk]), {"decision": "regenerate"}
    )
    batch = GenerationBatch.objects.get(source_ref=f"regenerate:{original.pk}")
    assert response.url == reverse("admin:posting_generationbatch_change", args=[batch.pk])
    assert Post.objects.get(pk=original.pk).status == Post.Status.REJECTED

    page = client.get(reverse("admin:posting_post_change", args=[original.pk])).content.decode()
    assert 'id="regenerate-button"' not in page and f"batch #{batch.pk}" in page


@pytest.mark.django_db
def test_the_post_page_refuses_with_the_reason_and_offers_no_button_to_a_writer(
    reviewer: User, writer: User, settings: Any
) -> None:
    settings.LLM_BASE_URL = ""
    original = _original(generator=LLM)
    response = _client(reviewer).post(
        reverse("admin:posting_post_decide", args=[original.pk]), {"decision": "regenerate"}, follow=True
    )
    assert "no LLM is configured" in response.content.decode()
    assert Post.objects.get(pk=original.pk).status == Post.Status.PENDING_REVIEW

    page = _client(writer).get(reverse("admin:posting_post_change", args=[original.pk])).content.decode()
    assert 'id="regenerate-button"' not in page


@pytest.mark.django_db
def test_the_new_draft_links_to_the_post_it_replaces_and_back(reviewer: User) -> None:
    original = _original(Post.Status.REJECTED, title="原本的文章")
    new = cast(
        Post, PostFactory(kol=original.kol, stock=original.stock, regenerated_from=original, title="新的草稿")
    )
    client = _client(reviewer)

    page = client.get(reverse("admin:posting_post_change", args=[new.pk])).content.decode()
    assert 'id="regenerated-from"' in page and "Regenerated from" in page
    assert reverse("admin:posting_post_change", args=[original.pk]) in page and "原本的文章" in page
    back = client.get(reverse("admin:posting_post_change", args=[original.pk])).content.decode()
    assert 'id="regenerations"' in back and reverse("admin:posting_post_change", args=[new.pk]) in back


# --- The API ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_regenerates_and_answers_with_the_batch(api_as: Any, reviewer: User) -> None:
    original = _original()
    response = api_as(reviewer).post(f"/api/posts/{original.pk}/regenerate/", format="json")

    assert response.status_code == 202, response.json()
    body = response.json()
    batch = GenerationBatch.objects.get(pk=body["batch_id"])
    assert (batch.source, batch.requested_by) == ("api", reviewer)
    assert response["Location"] == body["batch_url"] == f"/api/batches/{batch.pk}/"
    assert body["post"]["id"] == str(original.pk) and body["post"]["status"] == "rejected"
    assert BatchItem.objects.get(batch=batch).regenerated_from_id == original.pk


@pytest.mark.django_db
def test_the_api_refuses_with_409_and_the_reason(api_as: Any, reviewer: User, settings: Any) -> None:
    approved = _original(Post.Status.APPROVED, code="2330")
    client = api_as(reviewer)
    response = client.post(f"/api/posts/{approved.pk}/regenerate/", format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "transition_not_allowed"
    assert "Approved" in response.json()["error"]["message"]

    settings.LLM_BASE_URL = ""
    by_llm = _original(code="2317")
    response = client.post(f"/api/posts/{by_llm.pk}/regenerate/", format="json")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "llm_not_configured",
        "message": "Written by the LLM, but no LLM is configured now; it is not rewritten as template text.",
        "fields": {},
    }
    assert GenerationBatch.objects.count() == 2  # the originals' own


@pytest.mark.django_db
def test_a_writer_gets_403_from_the_api(api_as: Any, writer: User) -> None:
    original = _original()
    response = api_as(writer).post(f"/api/posts/{original.pk}/regenerate/", format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert Post.objects.get(pk=original.pk).status == Post.Status.PENDING_REVIEW
