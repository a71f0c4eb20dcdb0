"""The interactions API: one snapshot, the all-or-nothing batch, the time series, stats, refresh, pushes."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from typing import Any

import pytest
import respx
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.models import InteractionSnapshot
from posting.models import Backend
from posting.publishing.clients.webhook import signature
from tests.analytics.support import FORUM, IDENTITY, TOKEN, article, cmoney_settings, published_post

pytestmark = pytest.mark.django_db

HOURS_AGO = dt.timedelta(hours=30)


def _at(post: Any, hours: float) -> str:
    return (post.published_at + dt.timedelta(hours=hours)).isoformat()


@pytest.fixture
def admin_api(api: APIClient, administrator: User) -> APIClient:
    api.force_authenticate(administrator)
    return api


def test_one_snapshot_is_added_and_the_time_series_lists_it(admin_api: APIClient) -> None:
    post = published_post(at=timezone.now() - HOURS_AGO)
    url = f"/api/posts/{post.pk}/interactions/"

    created = admin_api.post(
        url, {"captured_at": _at(post, 24), "likes": 10, "comments": 2, "slot": "24h"}, format="json"
    )

    assert created.status_code == 201, created.json()
    assert created.json()["score"] == "13.00" and created.json()["shares"] is None
    post.refresh_from_db()
    assert post.score_24h == Decimal("13.00")
    series = admin_api.get(url).json()
    assert [row["likes"] for row in series] == [10]


def test_a_single_snapshot_with_bad_fields_answers_400_naming_them(admin_api: APIClient) -> None:
    post = published_post(at=timezone.now() - HOURS_AGO)

    answer = admin_api.post(
        f"/api/posts/{post.pk}/interactions/", {"captured_at": _at(post, -1), "likes": -3}, format="json"
    )

    assert answer.status_code == 400
    assert set(answer.json()["error"]["fields"]) == {"likes"}


def test_the_batch_stores_nothing_when_any_row_is_bad_and_names_each_bad_row(admin_api: APIClient) -> None:
    post = published_post(at=timezone.now() - HOURS_AGO)
    dry = published_post(at=timezone.now() - HOURS_AGO, backend=Backend.DRY_RUN)
    rows = [
        {"post": str(post.pk), "captured_at": _at(post, 1), "likes": 1, "slot": "1h"},
        {"post": str(post.pk), "captured_at": _at(post, 2), "likes": "lots"},
        {"post": str(dry.pk), "captured_at": _at(dry, 3), "likes": 1},
        {"post": str(post.pk), "captured_at": _at(post, 4), "likes": 4, "slot": "1h"},
        {"post": str(post.pk), "captured_at": _at(post, 5)},
    ]

    answer = admin_api.post("/api/interactions/batch/", {"snapshots": rows}, format="json")

    assert answer.status_code == 400
    fields = answer.json()["error"]["fields"]
    assert set(fields) == {"rows[1].likes", "rows[2].post", "rows[3].slot", "rows[4]"}
    assert InteractionSnapshot.objects.count() == 0


def test_a_valid_batch_stores_every_row(admin_api: APIClient) -> None:
    post = published_post(at=timezone.now() - HOURS_AGO)
    rows = [{"post": str(post.pk), "captured_at": _at(post, hour), "likes": hour} for hour in (1, 2, 3)]

    answer = admin_api.post("/api/interactions/batch/", {"snapshots": rows}, format="json")

    assert answer.status_code == 201
    assert answer.json()["created"] == 3
    assert InteractionSnapshot.objects.filter(source=InteractionSnapshot.Source.MANUAL).count() == 3


def test_the_time_series_is_read_in_a_constant_number_of_queries(
    admin_api: APIClient, django_assert_max_num_queries: Any
) -> None:
    post = published_post(at=timezone.now() - HOURS_AGO)
    rows = [{"post": str(post.pk), "captured_at": _at(post, hour), "likes": hour} for hour in range(1, 12)]
    admin_api.post("/api/interactions/batch/", {"snapshots": rows}, format="json")

    with django_assert_max_num_queries(6):
        assert len(admin_api.get(f"/api/posts/{post.pk}/interactions/").json()) == 11


def test_stats_group_by_kol_with_totals_and_24h_scores(admin_api: APIClient) -> None:
    post = published_post(at=timezone.now() - HOURS_AGO)
    other = published_post(at=timezone.now() - HOURS_AGO)
    rows = [
        {"post": str(post.pk), "captured_at": _at(post, 24), "likes": 10, "slot": "24h"},
        {"post": str(post.pk), "captured_at": _at(post, 25), "likes": 12},
        {"post": str(other.pk), "captured_at": _at(other, 24), "likes": 2, "slot": "24h"},
    ]
    admin_api.post("/api/interactions/batch/", {"snapshots": rows}, format="json")

    answer = admin_api.get("/api/interactions/stats/", {"group_by": "kol", "kol": str(post.kol_id)})

    assert answer.status_code == 200
    (row,) = answer.json()
    assert (row["posts"], row["likes"], row["scored_posts"], row["score_24h_mean"]) == (1, 12, 1, "10.00")


def test_stats_refuse_an_unknown_grouping(admin_api: APIClient) -> None:
    answer = admin_api.get("/api/interactions/stats/", {"group_by": "weather"})
    assert answer.status_code == 400 and "group_by" in answer.json()["error"]["fields"]


def test_a_writer_may_read_but_not_add(api: APIClient, writer: User) -> None:
    post = published_post(at=timezone.now() - HOURS_AGO)
    api.force_authenticate(writer)
    url = f"/api/posts/{post.pk}/interactions/"
    assert api.get(url).status_code == 200
    assert api.post(url, {"captured_at": _at(post, 2), "likes": 1}, format="json").status_code == 403


@respx.mock
def test_refresh_now_adds_an_ad_hoc_snapshot_next_to_the_slot_one(
    admin_api: APIClient, settings: Any
) -> None:
    cmoney_settings(settings)
    post = published_post(at=timezone.now() - HOURS_AGO)
    admin_api.post(
        f"/api/posts/{post.pk}/interactions/",
        {"captured_at": _at(post, 24), "likes": 1, "slot": "24h"},
        format="json",
    )
    respx.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    respx.get(f"{FORUM}/api/Article/{post.platform_post_id}").respond(200, json=article())

    answer = admin_api.post(f"/api/posts/{post.pk}/interactions/refresh/")

    assert answer.status_code == 201
    assert answer.json()["source"] == "adhoc" and answer.json()["slot"] == ""
    assert InteractionSnapshot.objects.filter(post=post).count() == 2


def test_refresh_of_a_dry_run_says_it_has_no_interactions(admin_api: APIClient) -> None:
    post = published_post(at=timezone.now() - HOURS_AGO, backend=Backend.DRY_RUN)
    answer = admin_api.post(f"/api/posts/{post.pk}/interactions/refresh/")
    assert answer.status_code == 400
    assert "dry run" in answer.json()["error"]["message"]


def _signed(api: APIClient, payload: dict[str, Any], secret: str, *, stamp: int | None = None) -> Any:
    body = json.dumps(payload).encode()
    timestamp = str(stamp if stamp is not None else int(time.time()))
    return api.post(
        "/api/interactions/push",
        data=body,
        content_type="application/json",
        HTTP_X_KOL_TIMESTAMP=timestamp,
        HTTP_X_KOL_SIGNATURE=signature(secret=secret, timestamp=timestamp, body=body),
    )


def test_a_signed_push_fills_the_slot_it_arrives_on_time_for(api: APIClient, settings: Any) -> None:
    settings.WEBHOOK_SECRET = "s" * 32
    post = published_post(at=timezone.now() - dt.timedelta(hours=24, minutes=3), backend=Backend.WEBHOOK)

    answer = _signed(api, {"post_id": str(post.pk), "likes": 5, "shares": 1}, settings.WEBHOOK_SECRET)

    assert answer.status_code == 201, answer.json()
    snapshot = InteractionSnapshot.objects.get(post=post)
    assert (snapshot.slot, snapshot.source, snapshot.shares) == ("24h", "push", 1)


def test_a_push_with_a_wrong_or_old_signature_is_refused(api: APIClient, settings: Any) -> None:
    settings.WEBHOOK_SECRET = "s" * 32
    post = published_post(at=timezone.now() - HOURS_AGO, backend=Backend.WEBHOOK)

    assert _signed(api, {"post_id": str(post.pk), "likes": 5}, "x" * 32).status_code == 401
    old = int(time.time()) - 3600
    assert (
        _signed(api, {"post_id": str(post.pk), "likes": 5}, settings.WEBHOOK_SECRET, stamp=old).status_code
        == 401
    )
    assert not InteractionSnapshot.objects.exists()


def test_a_signed_push_for_an_unknown_post_or_with_bad_counts_is_refused_with_the_reason(
    api: APIClient, settings: Any
) -> None:
    settings.WEBHOOK_SECRET = "s" * 32
    post = published_post(at=timezone.now() - HOURS_AGO, backend=Backend.WEBHOOK)

    unknown = _signed(api, {"platform_post_id": "nope", "likes": 1}, settings.WEBHOOK_SECRET)
    negative = _signed(api, {"post_id": str(post.pk), "likes": -1}, settings.WEBHOOK_SECRET)

    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert negative.status_code == 400 and "likes" in negative.json()["error"]["fields"]
    assert not InteractionSnapshot.objects.exists()
