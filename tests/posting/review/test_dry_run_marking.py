from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from posting.models import Post

pytestmark = pytest.mark.django_db


def test_the_api_says_which_posts_are_dry_runs(demo_world: dict[str, int], reviewer: User) -> None:
    api = APIClient()
    api.force_authenticate(reviewer)
    rows = api.get("/api/posts/?status=published&page_size=100").json()["results"]
    assert rows and all(row["dry_run"] is True for row in rows)


def test_the_post_list_marks_dry_run_publications(demo_world: dict[str, int], reviewer: User) -> None:
    client = Client()
    client.force_login(reviewer)
    html = client.get("/admin/posting/post/", {"status": "published"}).content.decode()
    published = Post.objects.filter(status=Post.Status.PUBLISHED).count()
    assert html.count("(dry run, not sent)") == published
