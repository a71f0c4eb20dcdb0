from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from posting.review.services import post_create_draft
from tests.factories import (
    DailyQuoteFactory,
    GenerationBatchFactory,
    InteractionSnapshotFactory,
    KOLFactory,
    NewsItemFactory,
    PlatformAccountFactory,
    PostFactory,
    ScheduleFactory,
    ScheduleRunFactory,
    TradingDayOverrideFactory,
)

pytestmark = pytest.mark.django_db

OUR_APPS = {"kols", "market", "posting", "scheduling", "analytics"}


def _our_models() -> list[Any]:
    return [model for model in admin.site._registry if model._meta.app_label in OUR_APPS]


def _populate(rows: int) -> None:
    for _ in range(rows):
        PlatformAccountFactory()
        DailyQuoteFactory()
        PostFactory(batch=GenerationBatchFactory())
        ScheduleFactory()
        InteractionSnapshotFactory()
        TradingDayOverrideFactory()
        ScheduleRunFactory()
        NewsItemFactory()
        post_create_draft(
            kol=KOLFactory(), title="經由服務建立", body="內文"
        )  # writes revision + audit event


def test_every_admin_page_of_ours_renders(admin_client: Client) -> None:
    _populate(2)
    for model in _our_models():
        info = (model._meta.app_label, model._meta.model_name)
        assert admin_client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200, info
        obj = model.objects.first()
        if obj is None:
            continue  # rows of this model only come from the flows that create them (tested there)
        assert (
            admin_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk])).status_code == 200
        ), info


def test_admin_changelists_do_a_constant_number_of_queries(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    _populate(2)
    counts = {}
    for model in _our_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        with django_assert_max_num_queries(20) as captured:
            admin_client.get(url)
        counts[url] = len(captured.captured_queries)
    _populate(10)
    for url, count in counts.items():
        with django_assert_max_num_queries(count, info=url):
            admin_client.get(url)


def test_the_admin_root_and_login_answer() -> None:
    client = Client()
    assert client.get("/").status_code == 302
    login = client.get("/admin/login/")
    assert login.status_code == 200


def test_a_writer_cannot_open_kol_or_account_pages(writer: User) -> None:
    client = Client()
    client.force_login(writer)
    account = PlatformAccountFactory()
    # A writer may view a KOL (read-only: the page has no save button) but never accounts.
    kol_page = client.get(reverse("admin:kols_kol_change", args=[account.kol_id]))
    assert kol_page.status_code == 200
    assert 'name="_save"' not in kol_page.content.decode()
    assert client.get(reverse("admin:kols_platformaccount_changelist")).status_code == 403
    assert client.get(reverse("admin:scheduling_schedule_add")).status_code == 403


def test_status_is_never_a_form_field_on_the_post_page(admin_client: Client) -> None:
    post = PostFactory()
    page = admin_client.get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()
    assert 'name="status"' not in page
    assert 'name="title"' in page


def test_the_post_page_warns_that_editing_approved_text_sends_it_back_to_review(admin_client: Client) -> None:
    from django.utils import timezone

    post = PostFactory(status="approved", approved_at=timezone.now())
    page = admin_client.get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()
    assert 'name="body"' in page
    assert "kol-banner" in page


def test_a_rejected_post_cannot_be_edited_on_its_page(admin_client: Client) -> None:
    post = PostFactory(status="rejected")
    page = admin_client.get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()
    assert 'id="edit-form"' not in page


def test_logging_in_at_the_admin_login_page_lands_on_the_admin_home(reviewer: User) -> None:
    response = Client().post("/admin/login/", {"username": "reviewer", "password": "pw-reviewer"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
