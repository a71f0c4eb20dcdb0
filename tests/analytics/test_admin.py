"""Where people look: the post page's interactions card, the KOL page, the score formula, CSV uploads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics.inputs import snapshots_import
from analytics.models import InteractionSnapshot, KOLSnapshot, ScoreFormula
from analytics.tasks import recompute_scores
from posting.models import Backend
from tests.analytics.support import published_post

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _series(post: Any, hours: list[int]) -> None:
    rows = [
        {"post": str(post.pk), "captured_at": (post.published_at + dt.timedelta(hours=h)).isoformat(), "likes": h * 2,
         "comments": h, **({"slot": "24h"} if h == 24 else {})}
        for h in hours
    ]  # fmt: skip
    snapshots_import(rows=rows, source=InteractionSnapshot.Source.MANUAL)


def test_the_post_page_shows_the_timeline_chart_and_the_24h_score(reviewer: User) -> None:
    post = published_post(at=timezone.now() - dt.timedelta(days=2))
    _series(post, [1, 6, 24])

    html = _client(reviewer).get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()

    assert 'id="interactions"' in html
    assert 'id="score-24h">84.00<' in html  # 48 likes + 24 comments × 1.5
    assert 'class="chart"' in html and 'data-type="line"' in html
    assert html.count("<tr><td>") >= 3


def test_the_post_page_of_a_dry_run_says_it_has_no_interactions(reviewer: User) -> None:
    post = published_post(at=timezone.now() - dt.timedelta(days=2), backend=Backend.DRY_RUN)

    html = _client(reviewer).get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()

    assert 'id="interactions-dry-run"' in html


def test_the_post_list_sorts_by_24h_score(reviewer: User) -> None:
    low = published_post(at=timezone.now() - dt.timedelta(days=2), title="低分文章")
    high = published_post(at=timezone.now() - dt.timedelta(days=2), title="高分文章")
    _series(low, [24])
    _series(high, [24, 25])
    InteractionSnapshot.objects.filter(post=high, slot="24h").delete()
    snapshots_import(
        rows=[{"post": str(high.pk), "captured_at": (high.published_at + dt.timedelta(hours=24, minutes=1)).isoformat(),  # type: ignore[union-attr,operator]
               "likes": 500, "slot": "24h"}],
        source=InteractionSnapshot.Source.MANUAL,
    )  # fmt: skip
    client = _client(reviewer)
    index = [name for name in ("title", "kol", "stock_display", "risk_badge", "quality_display", "duplicate_flag",
             "generator", "trigger_type", "status", "score_24h_display")].index("score_24h_display") + 1  # fmt: skip
    html = client.get("/admin/posting/post/", {"status": "published", "o": f"-{index}"}).content.decode()
    assert html.index("高分文章") < html.index("低分文章")
    filtered = client.get(
        "/admin/posting/post/", {"status": "published", "score_24h_from": "100"}
    ).content.decode()
    assert "高分文章" in filtered and "低分文章" not in filtered


def test_the_kol_page_shows_totals_and_the_follower_trend(administrator: User) -> None:
    post = published_post(at=timezone.now() - dt.timedelta(days=2))
    _series(post, [1, 24])
    today = timezone.localdate()
    for days, followers in ((2, 1200), (1, 1250), (0, 1300)):
        KOLSnapshot.objects.create(
            kol=post.kol,
            day=today - dt.timedelta(days=days),
            captured_at=timezone.now(),
            followers=followers,
            articles=40,
        )

    html = _client(administrator).get(reverse("admin:kols_kol_change", args=[post.kol_id])).content.decode()

    assert 'id="kol-interactions"' in html
    assert "1,300" in html and 'data-type="line"' in html


def test_an_administrator_adds_a_score_formula_version_and_everything_is_rescored_in_the_background(
    administrator: User, django_capture_on_commit_callbacks: Any
) -> None:
    post = published_post(at=timezone.now() - dt.timedelta(days=2))
    _series(post, [24])
    data = {
        "likes_weight": "1",
        "comments_weight": "3",
        "shares_weight": "2",
        "saves_weight": "2",
        "tips_weight": "1",
        "notes": "留言更重要",
    }
    client = _client(administrator)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("admin:analytics_scoreformula_add"), data, follow=True)

    assert response.redirect_chain[-1][0] == reverse("admin:analytics_scoreformula_changelist")
    assert "being recomputed with it in the background" in response.content.decode()
    assert len(queued) == 1
    active = ScoreFormula.objects.get(is_active=True)
    assert (active.version, active.rescored_at) == (2, None)
    assert ScoreFormula.objects.get(version=1).is_active is False
    post.refresh_from_db()
    assert post.score_24h == Decimal("84.00")  # the request changed no score

    assert recompute_scores(active.pk) == {"rescored": 1}

    post.refresh_from_db()
    assert (post.score_24h, post.score_formula_version) == (Decimal("120.00"), 2)
    listing = client.get(reverse("admin:analytics_scoreformula_changelist")).content.decode()
    assert "being recomputed in the background" in listing  # until collectors let go of version 1
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=False):
        assert recompute_scores(active.pk) == {"rescored": 0}
        listing = client.get(reverse("admin:analytics_scoreformula_changelist")).content.decode()
    assert "all recomputed at" in listing


def test_a_reviewer_cannot_add_a_score_formula(reviewer: User) -> None:
    response = _client(reviewer).post(reverse("admin:analytics_scoreformula_add"), {"likes_weight": "9"})
    assert response.status_code == 403
    assert ScoreFormula.objects.count() == 1


def _csv(post: Any, likes: str) -> str:
    at = (post.published_at + dt.timedelta(hours=3)).isoformat()
    later = (post.published_at + dt.timedelta(hours=4)).isoformat()
    return f"post,captured_at,likes,shares\n{post.pk},{at},7,\n{post.pk},{later},{likes},\n"


def test_the_csv_upload_stores_nothing_when_a_row_is_bad_and_names_it(administrator: User) -> None:
    post = published_post(at=timezone.now() - dt.timedelta(days=2))
    client = _client(administrator)
    url = reverse("admin:analytics_interactionsnapshot_import")

    bad = client.post(url, {"file": SimpleUploadedFile("s.csv", _csv(post, "-1").encode())})
    assert bad.status_code == 200 and "rows[1].likes" in bad.content.decode()
    assert not InteractionSnapshot.objects.exists()

    good = client.post(url, {"file": SimpleUploadedFile("s.csv", _csv(post, "9").encode())})
    assert good.status_code == 302
    snapshots = InteractionSnapshot.objects.filter(source=InteractionSnapshot.Source.CSV)
    assert sorted(s.likes or 0 for s in snapshots) == [7, 9] and all(s.shares is None for s in snapshots)


def test_the_csv_command_imports_or_fails_with_the_bad_rows(tmp_path: Path) -> None:
    post = published_post(at=timezone.now() - dt.timedelta(days=2))
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text(_csv(post, "x"), encoding="utf-8")
    good.write_text(_csv(post, "3"), encoding="utf-8")

    with pytest.raises(CommandError, match=r"rows\[1\]\.likes"):
        call_command("import_interactions", str(bad))
    assert not InteractionSnapshot.objects.exists()
    out = StringIO()
    call_command("import_interactions", str(good), stdout=out)
    assert "Imported 2" in out.getvalue()


def test_the_snapshot_list_reads_in_a_constant_number_of_queries(
    administrator: User, django_assert_max_num_queries: Any
) -> None:
    for _ in range(5):
        _series(published_post(at=timezone.now() - dt.timedelta(days=2)), [1, 6])
    client = _client(administrator)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("admin:analytics_interactionsnapshot_changelist"))
    assert response.status_code == 200
    assert 'id="import-csv-link"' in response.content.decode()
