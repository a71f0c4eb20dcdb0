"""Persona versions: each saved change of a KOL's persona card is a new version; a post records the version it
was written with, and the post page and the API show it."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse

from kols.admin import KOLAdmin
from kols.models import KOL, PersonaVersion, PostType
from kols.services import kol_persona_version_record
from posting.generation.drafting import DraftRequest, draft_generate
from posting.review.services import post_create_draft
from tests.factories import KOLFactory
from tests.posting.batch_setup import stock_with_quotes

pytestmark = pytest.mark.django_db


def _kol() -> KOL:
    return cast(KOL, KOLFactory())


def test_a_changed_card_is_a_new_version_and_an_unchanged_one_is_not() -> None:
    kol = _kol()
    first = kol_persona_version_record(kol=kol)
    assert kol_persona_version_record(kol=kol) == first
    kol.backstory = "二十年操盤經驗，專注半導體。"
    kol.save()
    second = kol_persona_version_record(kol=kol)
    assert (first.number, second.number) == (1, 2)
    assert second.card["backstory"] == "二十年操盤經驗，專注半導體。"
    assert first.card["backstory"] != second.card["backstory"]


def test_saving_a_kol_in_the_admin_records_a_version_by_that_person(admin_user: User) -> None:
    kol = _kol()
    request = RequestFactory().post("/")
    request.user = admin_user
    admin = KOLAdmin(KOL, site)
    admin.save_model(request, kol, form=None, change=True)
    kol.signature = "——老王"
    admin.save_model(request, kol, form=None, change=True)
    versions = list(PersonaVersion.objects.filter(kol=kol).order_by("number"))
    assert [version.number for version in versions] == [1, 2]
    assert versions[-1].created_by == admin_user and versions[-1].card["signature"] == "——老王"


def _written_post(kol: KOL) -> Any:
    from tests.posting.batch_setup import prompt_templates_seed

    prompt_templates_seed()
    request = DraftRequest(kol=kol, stock=stock_with_quotes("2330"), post_type=PostType.ANALYSIS)
    fields = draft_generate(request=request, writer="template").fields
    return post_create_draft(**fields)


def test_a_post_records_the_version_it_was_written_with(admin_client: Client) -> None:
    kol = _kol()
    post = _written_post(kol)
    assert post.persona_version.number == 1
    kol.content_style = "technical"
    kol.save()
    kol_persona_version_record(kol=kol)
    post.refresh_from_db()
    assert post.persona_version.number == 1  # the post keeps the card it was written with
    page = admin_client.get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()
    assert 'id="persona-version"' in page and "v1" in page


def test_the_api_shows_the_version_and_its_card(api_as: Any, admin_user: User) -> None:
    post = _written_post(_kol())
    data = api_as(admin_user).get(f"/api/posts/{post.pk}/").json()
    assert data["persona_version"]["number"] == 1
    assert data["persona_version"]["card"]["nickname"] == post.kol.nickname


@pytest.mark.django_db(transaction=True)
def test_two_drafts_recording_a_changed_card_at_once_make_one_version() -> None:
    import threading

    from django.db import connection

    kol = _kol()
    kol_persona_version_record(kol=kol)
    KOL.objects.filter(pk=kol.pk).update(backstory="改過的背景")
    barrier = threading.Barrier(4)
    numbers: list[int] = []

    def record() -> None:
        try:
            barrier.wait()
            numbers.append(kol_persona_version_record(kol=KOL.objects.get(pk=kol.pk)).number)
        finally:
            connection.close()

    threads = [threading.Thread(target=record) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert numbers == [2, 2, 2, 2]
    assert PersonaVersion.objects.filter(kol=kol).count() == 2
