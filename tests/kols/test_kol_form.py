from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from kols.admin import KOLForm
from kols.forms import TimesField
from kols.models import KOL

pytestmark = pytest.mark.django_db


def _data(**overrides: Any) -> dict[str, Any]:
    data = {
        "serial": "900001", "nickname": "老王", "persona": "technical", "status": "active", "dry_run": "on",
        "emoji_use": "light", "tone_formal": 5, "tone_emotion": 5, "tone_confidence": 5, "tone_urgency": 5,
        "tone_interaction": 5, "max_posts_per_hour": 2, "max_posts_per_day": 6,
        "expertise_industries": "半導體業\n電子零組件業", "expertise_keywords": "均線, 量價",
        "style_rules": "先講數據\n再講看法", "guardrails": "不報明牌", "common_phrases": "線型說話。\n\n先看量。",
        "posting_times": "13:45, 8:30",
    }  # fmt: skip
    return {**data, **overrides}


def test_the_persona_lists_are_typed_one_per_line_and_stored_as_lists() -> None:
    form = KOLForm(data=_data())
    assert form.is_valid(), form.errors
    kol = form.save()
    kol.refresh_from_db()
    assert kol.expertise_industries == ["半導體業", "電子零組件業"]
    assert kol.expertise_keywords == ["均線", "量價"]
    assert kol.common_phrases == ["線型說話。", "先看量。"]
    assert kol.posting_times == ["08:30", "13:45"]


def test_an_existing_kol_shows_its_lists_as_lines_not_json() -> None:
    form = KOLForm(data=_data())
    assert form.is_valid()
    kol = form.save()
    html = str(KOLForm(instance=kol)["style_rules"])
    assert ">先講數據\n再講看法</textarea>" in html and "&quot;" not in html


def test_a_bad_time_is_a_chinese_form_error_and_keeps_what_was_typed() -> None:
    with translation.override("zh-hant"):
        form = KOLForm(data=_data(posting_times="08:30, 25:61"))
        assert not form.is_valid()
        assert "不是" in str(form.errors["posting_times"])
        assert 'value="08:30, 25:61"' in str(form["posting_times"])
    assert not KOL.objects.exists()


def test_times_repeat_is_refused() -> None:
    with pytest.raises(Exception, match="twice"):
        TimesField().clean("08:30, 8:30")
