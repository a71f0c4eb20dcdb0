"""Reading a CMoney article's interactions, tested at the HTTP boundary with the documented shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from analytics.collection import snapshot_claim_next, snapshot_collect, snapshots_plan
from analytics.models import CollectionStop, InteractionSnapshot, SnapshotClaim
from posting.models import Post, Publication, PublicationStatus
from tests.analytics.support import FORUM, IDENTITY, TOKEN, article, cmoney_settings, published_post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cmoney(settings: Any) -> None:
    cmoney_settings(settings)


def _collect_24h(post: Post) -> str:
    import datetime as dt

    from django.utils import timezone

    assert post.published_at is not None
    snapshots_plan(now=post.published_at + dt.timedelta(hours=24, minutes=1))
    SnapshotClaim.objects.exclude(slot="24h").delete()
    SnapshotClaim.objects.update(next_attempt_at=timezone.now())
    claim = snapshot_claim_next()
    assert claim is not None
    return snapshot_collect(claim=claim, deadline=float("inf"))


def _published() -> Post:
    import datetime as dt

    from django.utils import timezone

    return published_post(at=timezone.now() - dt.timedelta(hours=25))


@respx.mock
def test_counts_come_from_the_documented_fields_and_shares_stay_empty_without_hash_shared() -> None:
    post = _published()
    respx.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    route = respx.get(f"{FORUM}/api/Article/{post.platform_post_id}").respond(200, json=article())

    assert _collect_24h(post) == "collected"

    snapshot = InteractionSnapshot.objects.get(post=post)
    assert (snapshot.likes, snapshot.comments, snapshot.saves, snapshot.tips) == (12, 4, 5, 7)
    assert snapshot.shares is None and snapshot.views is None
    assert snapshot.reactions["money"] == 3 and snapshot.reactions["dislike"] == 1
    assert snapshot.raw["interestedCount"] == 2
    assert route.calls.last.request.headers["X-Version"] == "2.0"
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok-1"
    # 12 + 4 × 1.5 + 5 × 2 (tips weigh 0 by default; shares are empty and add nothing)
    post.refresh_from_db()
    assert (post.score_24h, post.score_24h_late, post.score_formula_version) == (Decimal("28.00"), False, 1)


@respx.mock
def test_hash_shared_when_present_gives_the_shares() -> None:
    post = _published()
    respx.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    respx.get(f"{FORUM}/api/Article/{post.platform_post_id}").respond(
        200, json=article(**{"@hash-shared": 6})
    )

    _collect_24h(post)

    assert InteractionSnapshot.objects.get(post=post).shares == 6


@respx.mock
def test_a_deleted_article_stops_collection_and_unpublishes_the_post() -> None:
    post = _published()
    respx.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    respx.get(f"{FORUM}/api/Article/{post.platform_post_id}").respond(404, json={"message": "找不到文章"})

    assert _collect_24h(post) == "stopped"

    post.refresh_from_db()
    assert post.status == Post.Status.UNPUBLISHED
    assert CollectionStop.objects.get(post=post).reason == CollectionStop.Reason.DELETED
    assert Publication.objects.get(post=post).status == PublicationStatus.DELETED
    assert not InteractionSnapshot.objects.filter(post=post).exists()
    assert snapshots_plan() == 0  # never planned again


@respx.mock
def test_a_red_flagged_article_is_hidden_by_moderation_not_deleted() -> None:
    post = _published()
    respx.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    respx.get(f"{FORUM}/api/Article/{post.platform_post_id}").respond(404, json={"message": "此為紅標文章"})

    assert _collect_24h(post) == "stopped"

    post.refresh_from_db()
    # It exists on the platform: the post stays published (nothing offers to send it again).
    assert post.status == Post.Status.PUBLISHED
    assert "紅標" in post.status_note
    assert CollectionStop.objects.get(post=post).reason == CollectionStop.Reason.HIDDEN
    assert Publication.objects.get(post=post).status == PublicationStatus.PUBLISHED


@respx.mock
def test_a_401_logs_in_once_again_and_reads() -> None:
    post = _published()
    login = respx.post(f"{IDENTITY}/identity/token").mock(
        side_effect=[
            httpx.Response(200, json=TOKEN),
            httpx.Response(200, json={**TOKEN, "access_token": "tok-2"}),
        ]
    )
    read = respx.get(f"{FORUM}/api/Article/{post.platform_post_id}").mock(
        side_effect=[httpx.Response(401), httpx.Response(200, json=article())]
    )

    assert _collect_24h(post) == "collected"

    assert login.call_count == 2
    assert read.calls.last.request.headers["Authorization"] == "Bearer tok-2"


@respx.mock
def test_a_second_401_after_a_fresh_login_is_a_failed_read_tried_later() -> None:
    post = _published()
    respx.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    respx.get(f"{FORUM}/api/Article/{post.platform_post_id}").respond(401)

    assert _collect_24h(post) == "retry"

    claim = SnapshotClaim.objects.get(post=post)
    assert claim.status == SnapshotClaim.Status.PENDING and "401" in claim.last_error


@respx.mock
def test_a_429_waits_as_retry_after_says_without_using_an_attempt() -> None:
    import datetime as dt

    from django.utils import timezone

    post = _published()
    respx.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    respx.get(f"{FORUM}/api/Article/{post.platform_post_id}").respond(429, headers={"Retry-After": "120"})

    before = timezone.now()
    assert _collect_24h(post) == "retry"

    claim = SnapshotClaim.objects.get(post=post)
    assert claim.status == SnapshotClaim.Status.PENDING
    assert claim.attempts == 0
    assert (
        before + dt.timedelta(seconds=119)
        <= claim.next_attempt_at
        <= timezone.now() + dt.timedelta(seconds=121)
    )
    # Every other read of CMoney waits too.
    from analytics.pace import read_wait

    assert read_wait(platform="cmoney") > 100


@respx.mock
def test_an_answer_of_the_wrong_shape_fails_naming_the_field() -> None:
    post = _published()
    respx.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    respx.get(f"{FORUM}/api/Article/{post.platform_post_id}").respond(200, json=article(commentCount="many"))

    assert _collect_24h(post) == "retry"

    assert "commentCount" in SnapshotClaim.objects.get(post=post).last_error
    assert not InteractionSnapshot.objects.exists()


@respx.mock
def test_a_configured_reader_account_reads_every_article(settings: Any) -> None:
    from tests.factories import PlatformAccountFactory

    reader = PlatformAccountFactory()
    settings.INTERACTION_READER_ACCOUNT_ID = reader.pk
    post = _published()
    login = respx.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    respx.get(f"{FORUM}/api/Article/{post.platform_post_id}").respond(200, json=article())

    _collect_24h(post)

    assert f"account={reader.login.reveal()}".replace("@", "%40") in login.calls.last.request.content.decode()
