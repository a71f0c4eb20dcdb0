from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from posting.models import Post

pytestmark = pytest.mark.default_language


def test_the_interface_defaults_to_traditional_chinese() -> None:
    assert settings.LANGUAGE_CODE == "zh-hant"
    assert settings.TIME_ZONE == "Asia/Taipei" and settings.USE_TZ


def test_our_strings_are_translated_in_the_shipped_catalogue() -> None:
    with translation.override("zh-hant"):
        assert str(Post.Status.PENDING_REVIEW.label) == "待審核"
        assert str(Post._meta.verbose_name) == "貼文"
    with translation.override("en"):
        assert str(Post.Status.PENDING_REVIEW.label) == "Pending review"


@pytest.mark.django_db
def test_the_admin_login_page_is_in_chinese_by_default() -> None:
    page = Client().get("/admin/login/").content.decode()
    assert "KOL Studio" in page
    assert "登入" in page
