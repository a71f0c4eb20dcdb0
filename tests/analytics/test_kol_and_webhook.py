"""KOL daily totals from CMoney's member info, and the webhook platform's pull URL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
import respx
from django.utils import timezone

from analytics.collection import snapshot_claim_next, snapshot_collect, snapshots_plan
from analytics.models import CollectionStop, InteractionSnapshot, KOLSnapshot
from analytics.services import kol_snapshots_take
from posting.models import Backend
from posting.publishing.clients.webhook import SIGNATURE_HEADER
from tests.analytics.support import FORUM, IDENTITY, TOKEN, cmoney_settings, published_post
from tests.factories import KOLFactory, PlatformAccountFactory

pytestmark = pytest.mark.django_db


@respx.mock
def test_kol_totals_are_appended_once_a_day(settings: Any) -> None:
    cmoney_settings(settings)
    reader = PlatformAccountFactory.create()
    settings.INTERACTION_READER_ACCOUNT_ID = reader.pk
    kol = reader.kol
    other = PlatformAccountFactory.create(kol=KOLFactory.create()).kol
    respx.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    info = respx.get(f"{FORUM}/api/Member/Info").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=[
                {"memberId": kol.serial, "fansCount": 1234, "articleCount": 56},
                {"memberId": other.serial},
            ],
        )
    )

    assert kol_snapshots_take() == 2
    assert kol_snapshots_take() == 0  # the same day: nothing more

    assert info.call_count == 1
    assert set(info.calls.last.request.url.params["memberIds"].split(",")) == {kol.serial, other.serial}
    row = KOLSnapshot.objects.get(kol=kol)
    assert (row.followers, row.articles, row.day) == (1234, 56, timezone.localdate())
    # A total the answer does not carry stays empty, not zero.
    assert KOLSnapshot.objects.get(kol=other).followers is None


@respx.mock
def test_a_failed_member_read_appends_nothing(settings: Any) -> None:
    cmoney_settings(settings)
    PlatformAccountFactory.create()
    respx.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    respx.get(f"{FORUM}/api/Member/Info").respond(500)

    assert kol_snapshots_take() == 0
    assert not KOLSnapshot.objects.exists()


def _collect(post: Any) -> str:
    snapshots_plan(now=post.published_at + dt.timedelta(hours=2))
    claim = snapshot_claim_next(now=post.published_at + dt.timedelta(hours=2))
    assert claim is not None
    return snapshot_collect(claim=claim, deadline=float("inf"))


@respx.mock
def test_the_webhook_pull_url_is_read_signed(settings: Any) -> None:
    cmoney_settings(settings)
    settings.WEBHOOK_SECRET = "s" * 32
    settings.INTERACTION_WEBHOOK_PULL_URL = "https://platform.test/posts/{id}/stats"
    post = published_post(at=timezone.now() - dt.timedelta(hours=3), backend=Backend.WEBHOOK)
    route = respx.get(f"https://platform.test/posts/{post.platform_post_id}/stats").respond(
        200, json={"likes": 4, "views": 90, "reactions": {"heart": 4}}
    )

    assert _collect(post) == "collected"

    snapshot = InteractionSnapshot.objects.get(post=post, slot="1h")
    assert (snapshot.likes, snapshot.views, snapshot.comments) == (4, 90, None)
    assert route.calls.last.request.headers[SIGNATURE_HEADER].startswith("sha256=")


@respx.mock
def test_a_webhook_post_gone_from_the_platform_stops_collection(settings: Any) -> None:
    cmoney_settings(settings)
    settings.WEBHOOK_SECRET = "s" * 32
    settings.INTERACTION_WEBHOOK_PULL_URL = "https://platform.test/posts/{id}/stats"
    post = published_post(at=timezone.now() - dt.timedelta(hours=3), backend=Backend.WEBHOOK)
    respx.get(f"https://platform.test/posts/{post.platform_post_id}/stats").respond(404)

    assert _collect(post) == "stopped"
    assert CollectionStop.objects.get(post=post).reason == CollectionStop.Reason.DELETED


def test_without_a_pull_url_webhook_posts_wait_for_pushes(settings: Any) -> None:
    settings.INTERACTION_WEBHOOK_PULL_URL = ""
    post = published_post(at=timezone.now() - dt.timedelta(hours=3), backend=Backend.WEBHOOK)
    assert snapshots_plan(now=post.published_at + dt.timedelta(hours=2)) == 0  # type: ignore[operator,arg-type]
