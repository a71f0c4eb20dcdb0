"""The batch pages of the admin: start a batch, follow it live, open its drafts, cancel it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from posting.generation.batches import batch_create
from posting.models import BatchItem, GenerationBatch, Post
from tests.factories import PostFactory
from tests.posting.batch_setup import kols, stock_with_quotes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_llm(settings: Any) -> None:
    settings.LLM_BASE_URL = ""


def _browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _batch(count: int = 2) -> GenerationBatch:
    stock_with_quotes("2330")
    items = [{"kol_id": kol.pk, "stock_code": "2330"} for kol in kols(count)]
    return batch_create(source="manual", items=items, post_type="analysis")


def test_a_writer_starts_a_batch_from_the_admin_and_lands_on_its_page(
    writer: User, django_capture_on_commit_callbacks: Any
) -> None:
    stock_with_quotes("2330")
    stock_with_quotes("2317")
    chosen = kols(2)
    browser = _browser(writer)
    assert browser.get("/admin/posting/generationbatch/add/").url == "/admin/posting/generationbatch/start/"
    page = browser.get("/admin/posting/generationbatch/start/")
    assert page.status_code == 200 and chosen[0].nickname in page.content.decode()

    form = {
        "kols": [kol.pk for kol in chosen],
        "stock_codes": "2330, 2317.TW",
        "post_type": "question",
        "length": "short",
        "writer": "",
        "trigger_reasons": "外資連買\n量增",
    }
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = browser.post("/admin/posting/generationbatch/start/", form)

    batch = GenerationBatch.objects.get()
    assert (
        response.status_code == 302 and response.url == f"/admin/posting/generationbatch/{batch.pk}/change/"
    )
    assert len(queued) == 1
    assert (batch.source, batch.requested_by, batch.writer, batch.requested_count) == (
        "manual",
        writer,
        "template",
        4,
    )
    item = BatchItem.objects.filter(batch=batch).first()
    assert item is not None and item.trigger_reasons == ["外資連買", "量增"] and item.length == "short"


def test_the_start_page_shows_what_was_wrong_and_starts_nothing(writer: User) -> None:
    chosen = kols(1)
    response = _browser(writer).post(
        "/admin/posting/generationbatch/start/",
        {"kols": [chosen[0].pk], "stock_codes": "9999", "post_type": "analysis", "length": "medium"},
    )
    assert response.status_code == 200
    assert "9999" in response.content.decode()
    assert not GenerationBatch.objects.exists()


def test_the_batch_page_shows_progress_items_and_the_live_feed(writer: User) -> None:
    batch = _batch()
    first = BatchItem.objects.get(batch=batch, position=1)
    post = PostFactory(batch=batch, status=Post.Status.PENDING_REVIEW)
    BatchItem.objects.filter(pk=first.pk).update(status="succeeded", post=post, attempts=1)
    BatchItem.objects.filter(batch=batch, position=2).update(
        status="failed", error="找不到 2330 的報價", attempts=1
    )
    GenerationBatch.objects.filter(pk=batch.pk).update(status="running", succeeded_count=1, failed_count=1)

    page = _browser(writer).get(f"/admin/posting/generationbatch/{batch.pk}/change/")

    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-events-url="/api/batches/{batch.pk}/events"' in html
    assert 'style="width: 100%"' in html
    assert f"/admin/posting/post/{post.pk}/change/" in html
    assert "找不到 2330 的報價" in html
    assert "new EventSource" in html
    assert 'id="batch-cancel"' in html  # still running
    drafts = _browser(writer).get(f"/admin/posting/post/?status=all&batch__id__exact={batch.pk}")
    assert drafts.status_code == 200 and str(post.title) in drafts.content.decode()


def test_cancel_from_the_batch_page(writer: User) -> None:
    batch = _batch()
    browser = _browser(writer)
    assert (
        'id="batch-cancel"'
        in browser.get(f"/admin/posting/generationbatch/{batch.pk}/change/").content.decode()
    )

    response = browser.post(f"/admin/posting/generationbatch/{batch.pk}/cancel/")

    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "cancelled" and batch.cancelled_count == 2
    assert 'id="batch-cancel"' not in browser.get(response.url).content.decode()


def test_someone_who_may_only_look_can_neither_start_nor_cancel() -> None:
    batch = _batch()
    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_generationbatch"))
    browser = _browser(viewer)

    assert browser.get("/admin/posting/generationbatch/start/").status_code == 302
    assert browser.get(f"/admin/posting/generationbatch/{batch.pk}/change/").status_code == 200
    browser.post(f"/admin/posting/generationbatch/{batch.pk}/cancel/")
    batch.refresh_from_db()
    assert batch.status == "queued"


def test_the_batch_list_shows_progress_in_a_number_of_queries_that_does_not_grow(writer: User) -> None:
    browser = _browser(writer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = browser.get("/admin/posting/generationbatch/")
        assert response.status_code == 200 and "0 / 1" in response.content.decode()
        return len(captured.captured_queries)

    _batch(1)
    browser.get("/admin/posting/generationbatch/")  # warm the session and permission caches
    few = queries()
    for _ in range(5):
        _batch(1)
    assert queries() == few <= 8
