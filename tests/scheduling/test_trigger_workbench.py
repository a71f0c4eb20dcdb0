"""The trigger workbench: any trigger previewed from the admin, and a batch started from what it showed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kols.models import KOL
from market.models import DailyQuote, Stock
from posting.models import BatchItem, GenerationBatch, Post
from scheduling.models import ScheduleRun
from tests.scheduling.schedule_setup import PREVIOUS_DAY, active_schedule, kols, market_day, taipei

pytestmark = pytest.mark.django_db

URL = "/admin/scheduling/schedule/workbench/"
MONDAY_0900 = taipei(2026, 11, 23, 9, 0)


def _client(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _form(pool: list[KOL], **fields: Any) -> dict[str, Any]:
    return {
        "trigger_type": "top_gainers",
        "config__top_gainers__limit": "3",
        "as_of": "",
        "kols": [kol.pk for kol in pool],
        "strategy": "round_robin",
        "max_drafts": 2,
        "post_type": "analysis",
        "length": "medium",
        **fields,
    }


def _preview(client: Client, data: dict[str, Any]) -> str:
    response = client.post(URL, {**data, "_preview": "1"})
    assert response.status_code == 200
    return response.content.decode()


def _table(html: str, table_id: str) -> str:
    found = re.search(rf'<table class="kol-table" id="{table_id}">(.*?)</table>', html, re.S)
    assert found is not None, table_id
    return found.group(1)


def _candidates(html: str) -> list[str]:
    return re.findall(r'<tr data-candidate="([^"]+)">', _table(html, "workbench-candidates"))


def _assignments(html: str) -> list[tuple[str, int]]:
    rows = re.findall(r'data-candidate="([^"]+)" data-kol="(\d+)"', _table(html, "workbench-assignments"))
    return [(key, int(kol)) for key, kol in rows]


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)
    assert found is not None, name
    return found.group(1)


def _field(html: str, name: str) -> str:
    found = re.search(rf'id="field-{name}">(.*?)</div>', html, re.S)
    assert found is not None, name
    return found.group(1)


def _writes(captured: CaptureQueriesContext) -> list[str]:
    statements = [query["sql"].lstrip().upper() for query in captured.captured_queries]
    # The session may be saved; nothing else may be written.
    return [
        sql for sql in statements if sql.startswith(("INSERT", "UPDATE", "DELETE")) and "SESSION" not in sql
    ]


def _nothing_written() -> bool:
    return not (Post.objects.exists() or GenerationBatch.objects.exists() or ScheduleRun.objects.exists())


def _viewer() -> User:
    user = User.objects.create_user(username="viewer", password="pw-viewer", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=["scheduling", "kols"], codename__in=["view_schedule", "view_kol"]
        )
    )
    return user


# --- The page -----------------------------------------------------------------------------------------


def test_the_page_renders_with_each_triggers_config_keys_and_is_linked_from_the_schedule_list(
    administrator: User,
) -> None:
    client = _client(administrator)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="config__top_gainers__limit"' in html and 'name="kols"' in html and 'name="_preview"' in html
    # Every type's settings are fields; only the chosen type's are visible, and no JSON box.
    assert 'data-trigger-type="limit_up" hidden' in html and 'name="config__limit_up__threshold_pct"' in html
    assert 'name="config"' not in html and "JSON" not in html
    assert 'name="_generate"' not in html  # only after a preview
    assert reverse("admin:scheduling_schedule_workbench") == URL
    assert URL in client.get(reverse("admin:scheduling_schedule_changelist")).content.decode()


def test_a_schedule_opens_the_workbench_with_its_trigger_and_active_pool(administrator: User) -> None:
    pool = kols(2)
    KOL.objects.filter(pk=pool[1].pk).update(status=KOL.Status.PAUSED)
    schedule = active_schedule(MONDAY_0900, pool=pool, trigger_type="limit_up", trigger_config={"limit": 4})
    client = _client(administrator)
    redirect = client.get(reverse("admin:scheduling_schedule_workbench_detail", args=[schedule.pk]))
    assert redirect.status_code == 302 and redirect["Location"] == f"{URL}?schedule={schedule.pk}"
    html = client.get(redirect["Location"]).content.decode()
    assert '<option value="limit_up" selected>' in html and 'name="config__limit_up__limit" value="4"' in html
    picker = _field(html, "kols")
    assert f'<option value="{pool[0].pk}" selected>' in picker and f'value="{pool[1].pk}"' not in picker


def test_the_kol_picker_searches_active_kols_only(administrator: User) -> None:
    active, paused = kols(2)
    KOL.objects.filter(pk=paused.pk).update(status=KOL.Status.PAUSED)
    response = _client(administrator).get(
        reverse("admin:scheduling_schedule_workbench_kols"), {"term": "測試"}
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(active.pk)]


# --- Preview ------------------------------------------------------------------------------------------


def test_preview_shows_ranked_candidates_with_their_numbers_and_the_allocation_and_writes_nothing(
    administrator: User,
) -> None:
    market_day()
    first, second = kols(2)
    client = _client(administrator)
    with CaptureQueriesContext(connection) as captured:
        html = _preview(client, _form([first, second]))
    assert _candidates(html) == ["stock:2330", "stock:2317", "stock:2454"]
    candidates = _table(html, "workbench-candidates")
    assert "2330 台積電" in candidates and "rose 5.0% to 105" in candidates
    assert "change (%) 5.0" in candidates and "previous close 100" in candidates  # the numbers, in words
    # Round robin over the pool in order; max 2 drafts leaves the third candidate out, saying why.
    assert _assignments(html) == [("stock:2330", first.pk), ("stock:2317", second.pk)]
    skipped = _table(html, "workbench-skipped")
    assert 'data-candidate="stock:2454" data-code="run_full"' in skipped
    assert "already has all the posts it asked for" in skipped
    assert 'name="_generate"' in html and re.fullmatch(r"[0-9a-f]{64}", _hidden(html, "fingerprint"))
    assert _writes(captured) == [] and _nothing_written()


def test_preview_lists_what_the_trigger_left_out_and_why(administrator: User) -> None:
    market_day()
    DailyQuote.objects.filter(stock__code="2454", trade_date=PREVIOUS_DAY).delete()
    html = _preview(_client(administrator), _form(kols(1)))
    assert _candidates(html) == ["stock:2330", "stock:2317"]
    assert "2454" in _table(html, "workbench-excluded")


def test_a_value_out_of_range_is_a_zh_hant_error_beside_the_setting_and_keeps_the_input(
    administrator: User,
) -> None:
    market_day()
    client = _client(administrator)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hant"
    data = _form(kols(1), trigger_type="limit_up", config__limit_up__threshold_pct="99")
    data["config__limit_up__limit"] = "4"
    html = _preview(client, data)
    assert "10" in _field(html, "config__limit_up__threshold_pct") and "確認" in html
    assert 'name="config__limit_up__threshold_pct" value="99"' in html
    assert 'name="config__limit_up__limit" value="4"' in html
    assert '<option value="limit_up" selected>' in html and 'data-trigger-type="limit_up">' in html
    assert 'id="workbench-preview"' not in html and 'name="_generate"' not in html
    assert _nothing_written()


def test_text_in_a_number_setting_is_a_form_error(administrator: User) -> None:
    html = _preview(_client(administrator), _form(kols(1), config__top_gainers__limit="five"))
    assert "whole number" in _field(html, "config__top_gainers__limit")
    assert 'value="five"' in html and 'id="workbench-preview"' not in html


def test_a_schema_only_problem_is_a_zh_hant_sentence_naming_the_setting(administrator: User) -> None:
    client = _client(administrator)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hant"
    data = _form(kols(1), trigger_type="individual", config__individual__stock_codes="2330\nabc")
    html = _preview(client, data)
    error = _field(html, "config__individual__stock_codes")
    assert "股票代號" in error and "abc" in error and "does not match" not in error
    assert "2330\nabc" in html  # the textarea keeps what was typed
    assert _nothing_written()


def test_a_required_setting_left_empty_is_a_form_error(administrator: User) -> None:
    html = _preview(_client(administrator), _form(kols(1), trigger_type="individual"))
    assert "required" in _field(html, "config__individual__stock_codes")
    assert 'id="workbench-preview"' not in html


def test_missing_market_data_is_a_clear_message_not_an_error_page(administrator: User) -> None:
    html = _preview(_client(administrator), _form(kols(1)))  # no quotes stored at all
    errors = re.search(r'id="workbench-errors">(.*?)</div>', html, re.S)
    assert errors is not None and "No daily quotes" in errors.group(1)
    assert _nothing_written()


def test_an_unknown_stock_code_is_named_beside_the_config(administrator: User) -> None:
    market_day()
    data = _form(kols(1), trigger_type="individual", config__individual__stock_codes="2330\n9999")
    html = _preview(_client(administrator), data)
    assert "9999" in _field(html, "config__individual__stock_codes")


def test_user_content_is_escaped(administrator: User) -> None:
    market_day()
    Stock.objects.filter(code="2330").update(name="<script>alert(1)</script>")
    pool = kols(1, nickname="<b>bold</b>")
    html = _preview(_client(administrator), _form(pool))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


# --- Generate -----------------------------------------------------------------------------------------


def test_generate_starts_one_batch_of_exactly_the_previewed_assignments(administrator: User) -> None:
    market_day()
    pool = kols(3)
    client = _client(administrator)
    data = _form(pool, strategy="random", max_drafts=3)
    html = _preview(client, data)
    previewed = _assignments(html)
    assert len(previewed) == 3
    response = client.post(
        URL,
        {
            **data,
            "seed": _hidden(html, "seed"),
            "fingerprint": _hidden(html, "fingerprint"),
            "_generate": "1",
        },
    )
    batch = GenerationBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:posting_generationbatch_change", args=[batch.pk])
    assert batch.source == GenerationBatch.Source.MANUAL
    assert batch.source_ref == f"workbench:top_gainers:{_hidden(html, 'fingerprint')}"
    assert batch.requested_by == administrator and batch.post_type == "analysis"
    items = BatchItem.objects.filter(batch=batch).order_by("position")
    assert [(item.trigger_key, item.kol_id) for item in items] == previewed
    assert [item.stock_id for item in items] == [
        Stock.objects.get(code=key.removeprefix("stock:")).pk for key, _kol in previewed
    ]
    assert all(item.trigger_type == "top_gainers" and item.trigger_reasons for item in items)
    assert not Post.objects.exists()  # drafts come from the worker, into review


def test_generating_the_same_preview_twice_starts_one_batch(administrator: User) -> None:
    market_day()
    pool = kols(2)
    client = _client(administrator)
    html = _preview(client, _form(pool))
    generate = {**_form(pool), "seed": _hidden(html, "seed"), "fingerprint": _hidden(html, "fingerprint")}
    first = client.post(URL, {**generate, "_generate": "1"})
    again = client.post(URL, {**generate, "_generate": "1"}, follow=True)
    batch = GenerationBatch.objects.get()
    assert (
        first["Location"]
        == again.redirect_chain[0][0]
        == f"/admin/posting/generationbatch/{batch.pk}/change/"
    )
    assert f"already generated as batch #{batch.pk}" in again.content.decode()


def test_generate_refuses_when_the_form_changed_since_the_preview(administrator: User) -> None:
    market_day()
    pool = kols(2)
    client = _client(administrator)
    html = _preview(client, _form(pool))
    changed = _form(pool, max_drafts=3)
    carried = {"seed": _hidden(html, "seed"), "fingerprint": _hidden(html, "fingerprint")}
    response = client.post(URL, {**changed, **carried, "_generate": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and "differs from the preview you saw" in page
    assert len(_assignments(page)) == 3 and _hidden(page, "fingerprint") != carried["fingerprint"]
    assert not GenerationBatch.objects.exists()


def test_generate_without_a_preview_asks_for_one(administrator: User) -> None:
    market_day()
    response = _client(administrator).post(URL, {**_form(kols(1)), "_generate": "1"})
    assert response.status_code == 200 and "Preview first" in response.content.decode()
    assert not GenerationBatch.objects.exists()


# --- Who may -----------------------------------------------------------------------------------------


def test_a_user_who_may_only_view_can_preview_but_not_generate() -> None:
    market_day()
    pool = kols(2)
    client = _client(_viewer())
    html = _preview(client, _form(pool))
    assert len(_assignments(html)) == 2 and 'name="_generate"' not in html
    carried = {"seed": _hidden(html, "seed"), "fingerprint": _hidden(html, "fingerprint")}
    response = client.post(URL, {**_form(pool), **carried, "_generate": "1"})
    assert response.status_code == 403
    assert _nothing_written()


def test_a_writer_may_generate(writer: User) -> None:
    market_day()
    pool = kols(1)
    client = _client(writer)
    html = _preview(client, _form(pool))
    carried = {"seed": _hidden(html, "seed"), "fingerprint": _hidden(html, "fingerprint")}
    assert client.post(URL, {**_form(pool), **carried, "_generate": "1"}).status_code == 302
    assert GenerationBatch.objects.get().requested_by == writer


def test_an_anonymous_visitor_is_sent_to_the_login_page() -> None:
    for response in (Client().get(URL), Client().post(URL, {"_preview": "1"})):
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert _nothing_written()
