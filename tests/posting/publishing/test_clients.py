"""The CMoney and webhook clients at the HTTP boundary (respx)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from django.utils import timezone

from kols.crypto import Secret
from posting.publishing.clients.cmoney import CMoneyClient, CMoneyError, retry_after_seconds
from posting.publishing.clients.webhook import WebhookClient, WebhookError

IDENTITY = "https://social.example.test"
FORUM = "https://forum.example.test"
TOKEN = Secret("tok-abc")


@pytest.fixture
def client(settings: Any) -> CMoneyClient:
    settings.CMONEY_ARTICLE_URL = "https://www.cmoney.tw/forum/article/{id}"
    return CMoneyClient(identity_base_url=IDENTITY, forum_base_url=FORUM)


@respx.mock
def test_login_posts_the_documented_form_and_returns_an_expiring_token(client: CMoneyClient) -> None:
    route = respx.post(f"{IDENTITY}/identity/token").mock(
        return_value=httpx.Response(200, json={"access_token": "tok-1", "expires_in": 3600})
    )
    token = client.login(account=Secret("kol@example.com"), password=Secret("pw"))
    form = {key: values[0] for key, values in parse_qs(route.calls.last.request.content.decode()).items()}
    assert form == {
        "grant_type": "password",
        "login_method": "email",
        "client_id": "cmstockcommunity",
        "account": "kol@example.com",
        "password": "pw",
    }
    assert token.value.reveal() == "tok-1" and str(token.value) == "********"
    assert dt.timedelta(minutes=59) < token.expires_at - timezone.now() <= dt.timedelta(hours=1)


@respx.mock
def test_refused_credentials_are_an_auth_error_that_does_not_repeat_the_body(client: CMoneyClient) -> None:
    respx.post(f"{IDENTITY}/identity/token").mock(
        return_value=httpx.Response(400, json={"error": "invalid_grant", "account": "kol@example.com"})
    )
    with pytest.raises(CMoneyError) as caught:
        client.login(account=Secret("kol@example.com"), password=Secret("pw"))
    assert caught.value.auth and not caught.value.uncertain
    assert "kol@example.com" not in caught.value.message


@respx.mock
def test_a_login_answer_without_expires_in_is_good_for_an_hour(client: CMoneyClient) -> None:
    respx.post(f"{IDENTITY}/identity/token").mock(
        return_value=httpx.Response(200, json={"access_token": "t"})
    )
    token = client.login(account=Secret("a"), password=Secret("b"))
    assert dt.timedelta(minutes=59) < token.expires_at - timezone.now() <= dt.timedelta(hours=1)


@respx.mock
def test_an_unusable_expires_in_names_the_field(client: CMoneyClient) -> None:
    respx.post(f"{IDENTITY}/identity/token").mock(
        return_value=httpx.Response(200, json={"access_token": "t", "expires_in": "soon"})
    )
    with pytest.raises(CMoneyError, match="expires_in"):
        client.login(account=Secret("a"), password=Secret("b"))


@pytest.mark.parametrize("error", ["invalid_client", "unsupported_grant_type"])
@respx.mock
def test_a_refused_client_configuration_is_not_an_account_failure(client: CMoneyClient, error: str) -> None:
    respx.post(f"{IDENTITY}/identity/token").mock(return_value=httpx.Response(400, json={"error": error}))
    with pytest.raises(CMoneyError, match=r"CMONEY_CLIENT_ID") as caught:
        client.login(account=Secret("a"), password=Secret("b"))
    assert caught.value.config and not caught.value.auth and not caught.value.uncertain


@respx.mock
def test_every_forum_request_carries_the_trace_context_and_accepts_json(
    client: CMoneyClient, settings: Any
) -> None:
    settings.CMONEY_TRACE_CONTEXT = '{"appId":18}'
    routes = [
        respx.post(f"{FORUM}/api/Article/Create").mock(
            return_value=httpx.Response(200, json={"articleId": 1})
        ),
        respx.put(f"{FORUM}/api/Article/Update/1").mock(return_value=httpx.Response(204)),
        respx.delete(f"{FORUM}/api/Article/Delete/1").mock(return_value=httpx.Response(204)),
        respx.get(f"{FORUM}/api/Article/1").mock(return_value=httpx.Response(200, json={})),
    ]
    client.create_article(token=TOKEN, title="t", text="x")
    client.update_article(token=TOKEN, article_id="1", title="t2", text="x2")
    client.delete_article(token=TOKEN, article_id="1")
    client.article_detail(token=TOKEN, article_id="1")
    for route in routes:
        headers = route.calls.last.request.headers
        assert headers["cmoneyapi-trace-context"] == '{"appId":18}'
        assert headers["Accept"] == "application/json"


@respx.mock
def test_update_puts_the_documented_body_without_tags(client: CMoneyClient) -> None:
    route = respx.put(f"{FORUM}/api/Article/Update/174457156").mock(return_value=httpx.Response(204))
    client.update_article(token=TOKEN, article_id="174457156", title="新標題", text="新內文")
    request = route.calls.last.request
    assert json.loads(request.content) == {
        "article": {"title": "新標題", "text": "新內文"},
        "removeProperties": [],
    }
    assert request.headers["Authorization"] == "Bearer tok-abc"


@pytest.mark.parametrize(
    ("response", "uncertain", "status"),
    [(httpx.Response(500, text="oops"), True, 500), (httpx.Response(400, json={"message": "x"}), False, 400)],
)
@respx.mock
def test_update_failures_say_whether_the_edit_may_have_happened(
    client: CMoneyClient, response: httpx.Response, uncertain: bool, status: int
) -> None:
    respx.put(f"{FORUM}/api/Article/Update/9").mock(return_value=response)
    with pytest.raises(CMoneyError) as caught:
        client.update_article(token=TOKEN, article_id="9", title="t", text="x")
    assert (caught.value.uncertain, caught.value.status) == (uncertain, status)


@respx.mock
def test_a_red_flagged_article_is_hidden_not_missing(client: CMoneyClient) -> None:
    respx.get(f"{FORUM}/api/Article/77").mock(
        return_value=httpx.Response(404, json={"message": "此為紅標文章"})
    )
    respx.get(f"{FORUM}/api/Article/78").mock(return_value=httpx.Response(404, json={"message": "not found"}))
    with pytest.raises(CMoneyError, match="紅標") as hidden:
        client.article_detail(token=TOKEN, article_id="77")
    assert hidden.value.hidden and not hidden.value.not_found
    with pytest.raises(CMoneyError) as gone:
        client.article_detail(token=TOKEN, article_id="78")
    assert gone.value.not_found and not gone.value.hidden


@respx.mock
def test_create_sends_bearer_json_patch_and_reads_the_article_id(client: CMoneyClient) -> None:
    route = respx.post(f"{FORUM}/api/Article/Create").mock(
        return_value=httpx.Response(201, json={"articleId": 174457156})
    )
    article = client.create_article(
        token=TOKEN,
        title="標題",
        text="內文",
        commodity_tags=[{"type": "Stock", "key": "2330", "bullOrBear": 0}],
    )
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer tok-abc"
    assert request.headers["Content-Type"] == "application/json-patch+json"
    assert json.loads(request.content) == {
        "title": "標題",
        "text": "內文",
        "commodityTags": [{"type": "Stock", "key": "2330", "bullOrBear": 0}],
    }
    assert (article.id, article.url) == ("174457156", "https://www.cmoney.tw/forum/article/174457156")


@pytest.mark.parametrize(
    ("response", "uncertain", "status"),
    [
        (httpx.Response(200, json={"ok": True}), True, 200),
        (httpx.Response(200, json={"articleId": "abc"}), True, 200),
        (httpx.Response(200, text="<html>"), True, 200),
        (httpx.Response(500, text="oops"), True, 500),
        (httpx.Response(400, json={"error": "title too long"}), False, 400),
        (httpx.Response(429, headers={"Retry-After": "30"}), False, 429),
    ],
    ids=["2xx-without-id", "2xx-non-integer-id", "2xx-not-json", "5xx", "4xx", "429"],
)
@respx.mock
def test_create_failures_say_whether_the_article_may_exist(
    client: CMoneyClient, response: httpx.Response, uncertain: bool, status: int
) -> None:
    respx.post(f"{FORUM}/api/Article/Create").mock(return_value=response)
    with pytest.raises(CMoneyError) as caught:
        client.create_article(token=TOKEN, title="t", text="x")
    assert (caught.value.uncertain, caught.value.status) == (uncertain, status)
    if status == 429:
        assert caught.value.retry_after == 30


@pytest.mark.parametrize(
    ("error", "uncertain"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow connect"), False),
        (httpx.ReadTimeout("no answer"), True),
        (httpx.RemoteProtocolError("closed"), True),
    ],
)
@respx.mock
def test_a_create_that_left_and_got_no_answer_is_uncertain(
    client: CMoneyClient, error: Exception, uncertain: bool
) -> None:
    respx.post(f"{FORUM}/api/Article/Create").mock(side_effect=error)
    with pytest.raises(CMoneyError) as caught:
        client.create_article(token=TOKEN, title="t", text="x")
    assert caught.value.uncertain is uncertain and caught.value.status is None


@respx.mock
def test_delete_and_detail_use_the_documented_paths_and_headers(client: CMoneyClient) -> None:
    delete = respx.delete(f"{FORUM}/api/Article/Delete/55").mock(return_value=httpx.Response(204))
    detail = respx.get(f"{FORUM}/api/Article/55").mock(
        return_value=httpx.Response(200, json={"emojiCount": {"like": 3}, "commentCount": 1})
    )
    client.delete_article(token=TOKEN, article_id="55")
    assert client.article_detail(token=TOKEN, article_id="55")["commentCount"] == 1
    assert delete.calls.last.request.headers["Authorization"] == "Bearer tok-abc"
    assert detail.calls.last.request.headers["X-Version"] == "2.0"


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Tue, 24 Nov 2026 01:01:30 GMT", now=now) == 90
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


@respx.mock
def test_the_webhook_signs_timestamp_and_body_with_hmac_sha256() -> None:
    route = respx.post("https://hooks.example.test/in").mock(return_value=httpx.Response(202))
    client = WebhookClient(url="https://hooks.example.test/in", secret="0123456789abcdef")
    assert client.send(event="post.publish", payload={"title": "標題"}, idempotency_key="publication-1") == {}
    request = route.calls.last.request
    signed = request.headers["X-KOL-Timestamp"].encode() + b"." + request.content
    expected = hmac.new(b"0123456789abcdef", signed, hashlib.sha256).hexdigest()
    assert request.headers["X-KOL-Signature"] == f"sha256={expected}"
    assert json.loads(request.content) == {"event": "post.publish", "title": "標題"}


@respx.mock
def test_a_webhook_5xx_is_uncertain_and_a_4xx_is_not() -> None:
    client = WebhookClient(url="https://hooks.example.test/in", secret="0123456789abcdef")
    respx.post("https://hooks.example.test/in").mock(side_effect=[httpx.Response(503), httpx.Response(422)])
    with pytest.raises(WebhookError) as first:
        client.send(event="post.publish", payload={}, idempotency_key="k")
    with pytest.raises(WebhookError) as second:
        client.send(event="post.publish", payload={}, idempotency_key="k")
    assert (first.value.uncertain, second.value.uncertain) == (True, False)


def test_an_unconfigured_webhook_says_which_settings_are_missing(settings: Any) -> None:
    settings.WEBHOOK_URL = ""
    with pytest.raises(WebhookError, match="WEBHOOK_URL and WEBHOOK_SECRET"):
        WebhookClient()


@respx.mock
def test_trending_topics_are_read_with_the_token_and_odd_entries_left_out(client: CMoneyClient) -> None:
    route = respx.get(f"{FORUM}/api/Topic/Trending").mock(
        return_value=httpx.Response(
            200,
            json=[
                {"id": "8f2c", "title": "升息循環"},
                {"id": 17, "name": "AI 伺服器"},
                {"title": "沒有編號"},
                "x",
            ],
        )
    )
    topics = client.trending_topics(token=TOKEN)
    assert [(topic.id, topic.title) for topic in topics] == [("8f2c", "升息循環"), ("17", "AI 伺服器")]
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok-abc"


@respx.mock
def test_trending_topics_without_a_list_is_a_clear_error(client: CMoneyClient) -> None:
    respx.get(f"{FORUM}/api/Topic/Trending").mock(return_value=httpx.Response(200, json={"message": "ok"}))
    with pytest.raises(CMoneyError, match="no list of topics"):
        client.trending_topics(token=TOKEN)
