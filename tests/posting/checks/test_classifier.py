"""The optional LLM compliance classifier, with the LLM replaced at the HTTP boundary only."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from posting.checks import Finding, check_report_apply, draft_check, risk_of
from posting.checks.classifier import ClassifierClient
from posting.llm.config import LLMConfig, Price
from tests.factories import PostFactory
from tests.posting.fake_llm import FakeLLMServer, ScriptedLLM, error, ok

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_rules")]

TITLE = "長榮航今天的觀察"
# Clean for the rules; a careful reader still sees borrowing to invest and a solicitation.
BODY = (
    "長榮航今天量縮整理，我自己是覺得位置還不錯。"
    "手邊現金不夠也沒關係，跟親戚周轉一下先卡位，這種機會一年只有一次。"
    "想知道我下一檔口袋名單的，留言+1我再分享給你。"
    "投資有風險，請自行判斷。"
)
LEVERAGE = "跟親戚周轉一下先卡位"
SOLICITATION = "想知道我下一檔口袋名單的，留言+1我再分享給你"
CLEAN_BODY = "長榮航今天量縮整理，外資小幅賣超，短線看法中立，等量能回來再說。投資有風險，請自行判斷。"


def item(category: str, excerpt: str, *, severity: str = "warn", explanation: str = "說明") -> dict[str, str]:
    return {
        "category": category,
        "severity_suggestion": severity,
        "excerpt": excerpt,
        "explanation": explanation,
    }


def answer(*items: dict[str, str]) -> str:
    return json.dumps({"findings": list(items)}, ensure_ascii=False)


def scripted(*steps: Any, max_retries: int = 0) -> tuple[ClassifierClient, ScriptedLLM]:
    llm = ScriptedLLM(*steps)
    config = LLMConfig(
        base_url="http://llm.test/v1",
        api_key="sk-test-secret",
        model="classifier-model",
        max_retries=max_retries,
        prices={"classifier-model": Price(input=Decimal("0.15"), output=Decimal("0.60"))},
    )
    return ClassifierClient(config, http_client=llm.http_client(), sleep=lambda seconds: None), llm


def check(client: ClassifierClient | None = None, *, body: str = BODY, **kwargs: Any) -> Any:
    return draft_check(
        title=TITLE,
        body=body,
        include_recent_posts=False,
        llm_classifier=kwargs.pop("llm_classifier", True),
        classifier_client=client,
        **kwargs,
    )


def llm_codes(report: Any) -> list[str]:
    return [finding.code for finding in report.findings if finding.code.startswith("compliance.llm")]


@pytest.fixture
def site_llm(settings: Any) -> Any:
    def point_at(server: FakeLLMServer, **changes: Any) -> None:
        settings.LLM_BASE_URL = server.base_url
        settings.LLM_API_KEY = "sk-test-secret"
        settings.LLM_MODEL = "site-model"
        settings.LLM_MAX_RETRIES = 0
        for name, value in changes.items():
            setattr(settings, name, value)

    return point_at


# --- Off unless asked -------------------------------------------------------------------------------


def test_the_classifier_is_off_by_default_and_makes_no_http_call(settings: Any, site_llm: Any) -> None:
    assert settings.COMPLIANCE_LLM_CLASSIFIER is False
    with FakeLLMServer(content=answer(item("leverage", LEVERAGE))) as server:
        site_llm(server)
        report = draft_check(title=TITLE, body=BODY, include_recent_posts=False)

    assert server.requests == []
    assert llm_codes(report) == []
    assert report.to_dict()["classifier"] == {"enabled": False, "ran": False}


def test_a_caller_can_turn_it_off_when_the_setting_is_on(site_llm: Any) -> None:
    with FakeLLMServer(content=answer(item("leverage", LEVERAGE))) as server:
        site_llm(server, COMPLIANCE_LLM_CLASSIFIER=True)
        report = draft_check(title=TITLE, body=BODY, include_recent_posts=False, llm_classifier=False)

    assert server.requests == []
    assert report.classifier == {"enabled": False, "ran": False}


# --- A valid answer ---------------------------------------------------------------------------------


def test_the_setting_runs_it_against_the_site_llm_and_adds_warn_findings_with_real_excerpts(
    site_llm: Any,
) -> None:
    content = answer(
        item("leverage", LEVERAGE, explanation="鼓勵向親友借錢投資"), item("solicitation", SOLICITATION)
    )
    without = draft_check(title=TITLE, body=BODY, include_recent_posts=False)
    with FakeLLMServer(content=content) as server:
        site_llm(server, COMPLIANCE_LLM_CLASSIFIER=True, COMPLIANCE_LLM_MODEL="classifier-model")
        report = draft_check(title=TITLE, body=BODY, include_recent_posts=False)

    assert [f.code for f in without.findings if f.code.startswith("compliance")] == []
    assert without.risk_level == "low"
    assert llm_codes(report) == ["compliance.llm.leverage", "compliance.llm.solicitation"]
    leverage = report.findings[0]
    assert leverage.severity == "warn"
    assert leverage.field == "body"
    assert BODY[leverage.start : leverage.end] == leverage.excerpt == LEVERAGE
    assert "LLM classifier" in leverage.message and "鼓勵向親友借錢投資" in leverage.message
    assert leverage.detail["source"] == "llm_classifier"
    assert (report.risk_level, report.risk_points) == ("high", 4)

    request = server.requests[0]
    assert request["model"] == "classifier-model"
    assert request["temperature"] == 0.0
    assert request["response_format"]["json_schema"]["name"] == "compliance_findings"
    assert "合規審查員" in request["messages"][0]["content"]
    assert BODY in request["messages"][1]["content"]
    summary = report.to_dict()["classifier"]
    assert summary["ran"] is True and summary["model"] == "classifier-model"
    assert (summary["prompt_tokens"], summary["completion_tokens"], summary["added"]) == (1000, 500, 2)


def test_one_classifier_finding_makes_a_clean_post_medium_risk() -> None:
    client, _llm = scripted(ok(answer(item("leverage", LEVERAGE))))
    report = check(client)
    assert llm_codes(report) == ["compliance.llm.leverage"]
    assert report.risk_level == "medium"


def test_a_block_suggestion_is_still_only_a_warning() -> None:
    client, _llm = scripted(ok(answer(item("leverage", LEVERAGE, severity="block"))))
    report = check(client)
    (finding,) = [f for f in report.findings if f.code == "compliance.llm.leverage"]
    assert finding.severity == "warn"
    assert finding.detail["severity_suggestion"] == "block"
    assert report.risk_level == "medium"
    assert not report.has_blocking_finding


# --- Strict validation ------------------------------------------------------------------------------


def test_an_excerpt_that_is_not_in_the_text_is_dropped() -> None:
    client, _llm = scripted(
        ok(answer(item("guaranteed_return", "這檔保證獲利穩賺不賠"), item("leverage", LEVERAGE)))
    )
    report = check(client)
    assert llm_codes(report) == ["compliance.llm.leverage"]
    assert report.classifier["dropped"] == [
        {"category": "guaranteed_return", "excerpt": "這檔保證獲利穩賺不賠", "reason": "excerpt_not_in_text"}
    ]


def test_an_unknown_category_is_dropped() -> None:
    client, _llm = scripted(ok(answer(item("tax_evasion", LEVERAGE), item("risk_reminder", LEVERAGE))))
    report = check(client)
    assert llm_codes(report) == []
    assert [entry["reason"] for entry in report.classifier["dropped"]] == ["unknown_category"] * 2
    assert report.classifier["ran"] is True
    assert report.risk_level == "low"


def test_a_quote_in_simplified_characters_points_at_the_posts_own_words() -> None:
    client, _llm = scripted(ok(answer(item("leverage", "「跟亲戚周转一下先卡位」"))))
    report = check(client)
    (finding,) = report.findings
    assert finding.excerpt == LEVERAGE
    assert BODY[finding.start : finding.end] == LEVERAGE


def test_a_one_character_excerpt_is_not_a_quote() -> None:
    client, _llm = scripted(ok(answer(item("leverage", "借"), item("leverage", "錢"))))
    report = check(client)
    assert llm_codes(report) == []


def test_what_the_rules_already_found_is_not_counted_twice() -> None:
    body = "這檔保證獲利，大家放心。" + CLEAN_BODY
    client, _llm = scripted(ok(answer(item("guaranteed_return", "保證獲利"))))
    report = check(client, body=body)
    assert [f.code for f in report.findings if f.code.startswith("compliance")] == [
        "compliance.guaranteed_return"
    ]
    assert report.classifier["dropped"][0]["reason"] == "found_by_rules"


# --- Traditional Chinese, positive and negative -----------------------------------------------------


def test_a_clean_post_gets_no_classifier_findings_when_the_model_finds_nothing() -> None:
    client, llm = scripted(ok(answer()))
    report = check(client, body=CLEAN_BODY)
    assert report.findings == ()
    assert report.risk_level == "low"
    assert report.classifier["ran"] is True and report.classifier["added"] == 0
    assert CLEAN_BODY in llm.requests[0]["messages"][1]["content"]


def test_an_insider_claim_in_the_title_is_found_there() -> None:
    title = "朋友在公司做財務，說這季會很漂亮"
    client, _llm = scripted(ok(answer(item("insider", "朋友在公司做財務，說這季會很漂亮"))))
    report = draft_check(
        title=title,
        body=CLEAN_BODY,
        include_recent_posts=False,
        llm_classifier=True,
        classifier_client=client,
    )
    (finding,) = [f for f in report.findings if f.code == "compliance.llm.insider"]
    assert (finding.field, finding.start, finding.end) == ("title", 0, len(title))


# --- Failures are recorded, never invented ----------------------------------------------------------


def test_invalid_json_is_asked_once_for_a_repair() -> None:
    client, llm = scripted(ok("我認為這篇有借錢投資的問題。"), ok(answer(item("leverage", LEVERAGE))))
    report = check(client)
    assert llm_codes(report) == ["compliance.llm.leverage"]
    assert report.classifier["repaired"] is True and report.classifier["calls"] == 2
    assert "無法使用" in llm.requests[1]["messages"][-1]["content"]


def test_invalid_json_twice_means_the_classifier_did_not_run() -> None:
    body = "這檔保證獲利，大家放心。" + CLEAN_BODY
    rules_only = draft_check(title=TITLE, body=body, include_recent_posts=False)
    client, llm = scripted(ok("不是 JSON"), ok('{"findings": "none"}'))
    report = check(client, body=body)

    assert len(llm.requests) == 2
    assert report.findings[: len(rules_only.findings)] == rules_only.findings
    (unavailable,) = [f for f in report.findings if f.code.startswith("compliance.llm")]
    assert unavailable.code == "compliance.llm_unavailable" and unavailable.severity == "warn"
    assert "did not run" in unavailable.message
    assert report.risk_level == rules_only.risk_level == "blocked"
    assert report.risk_points == rules_only.risk_points
    summary = report.classifier
    assert (summary["ran"], summary["error_code"], summary["calls"]) == (False, "llm_invalid_output", 2)


def test_a_server_error_is_recorded_and_the_rule_findings_stay() -> None:
    body = "這檔保證獲利，大家放心。" + CLEAN_BODY
    client, llm = scripted(error(500, "boom"), error(502, "bad gateway"), max_retries=1)
    report = check(client, body=body)

    assert len(llm.requests) == 2
    assert "compliance.guaranteed_return" in [f.code for f in report.findings]
    assert llm_codes(report) == ["compliance.llm_unavailable"]
    assert report.classifier["ran"] is False
    assert report.classifier["error_code"] == "llm_server_error"
    assert report.classifier["retryable"] is True
    assert "502" in report.classifier["error"]
    assert report.quality_score > 0 and report.grounding


def test_a_timeout_is_recorded_as_not_run(site_llm: Any) -> None:
    with FakeLLMServer(hang=True) as server:
        site_llm(server, COMPLIANCE_LLM_CLASSIFIER=True, LLM_TIMEOUT_SECONDS=0.3)
        report = draft_check(title=TITLE, body=CLEAN_BODY, include_recent_posts=False)

    assert len(server.requests) == 1
    assert report.classifier["error_code"] == "llm_timeout"
    assert llm_codes(report) == ["compliance.llm_unavailable"]
    assert report.risk_level == "low"


def test_asking_for_it_without_an_llm_configured_is_recorded(settings: Any) -> None:
    settings.LLM_BASE_URL = ""
    report = draft_check(title=TITLE, body=CLEAN_BODY, include_recent_posts=False, llm_classifier=True)
    assert report.classifier["error_code"] == "llm_not_configured"
    assert llm_codes(report) == ["compliance.llm_unavailable"]


def test_the_unavailable_finding_adds_no_risk_points() -> None:
    unavailable = Finding(code="compliance.llm_unavailable", severity="warn", excerpt="", message="m")
    assert risk_of([unavailable]) == ("low", 0)


# --- Stored and shown -------------------------------------------------------------------------------


def test_the_classifier_section_is_stored_on_the_post_and_shown_on_its_page(admin_client: Client) -> None:
    post = PostFactory.create(title=TITLE, body=BODY)
    client, _llm = scripted(ok(answer(item("leverage", LEVERAGE))))
    report = draft_check(
        title=post.title,
        body=post.body,
        exclude_post_id=post.pk,
        llm_classifier=True,
        classifier_client=client,
    )
    post.save(update_fields=check_report_apply(post=post, report=report))
    post.refresh_from_db()

    assert post.check_summary["classifier"]["model"] == "classifier-model"
    assert "compliance.llm.leverage" in [finding["code"] for finding in post.check_findings]
    page = admin_client.get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()
    assert "compliance.llm.leverage" in page
    assert 'id="llm-classifier"' in page and "classifier-model" in page


def test_a_classifier_that_did_not_run_says_so_on_the_post_page(admin_client: Client) -> None:
    post = PostFactory.create(title=TITLE, body=CLEAN_BODY)
    client, _llm = scripted(error(503, "overloaded"))
    report = draft_check(
        title=post.title,
        body=post.body,
        exclude_post_id=post.pk,
        llm_classifier=True,
        classifier_client=client,
    )
    post.save(update_fields=check_report_apply(post=post, report=report))
    page = admin_client.get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()
    assert "compliance.llm_unavailable" in page
    assert "did not run" in page


# --- The command ------------------------------------------------------------------------------------


def _command(monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    payload = json.dumps({"title": TITLE, "content": BODY}, ensure_ascii=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(payload))
    out = io.StringIO()
    call_command("check_draft", "--no-recent-posts", *args, stdout=out)
    return json.loads(out.getvalue())


def test_check_draft_runs_the_classifier_with_llm_and_skips_it_with_no_llm(
    monkeypatch: pytest.MonkeyPatch, site_llm: Any
) -> None:
    with FakeLLMServer(content=answer(item("leverage", LEVERAGE))) as server:
        site_llm(server)
        asked = _command(monkeypatch, "--llm")
        site_llm(server, COMPLIANCE_LLM_CLASSIFIER=True)
        refused = _command(monkeypatch, "--no-llm")
        default = _command(monkeypatch)

    assert len(server.requests) == 2
    assert asked["classifier"]["ran"] is True
    assert "compliance.llm.leverage" in [finding["code"] for finding in asked["findings"]]
    assert refused["classifier"] == {"enabled": False, "ran": False}
    assert default["classifier"]["ran"] is True


def test_an_answer_asked_earlier_is_used_only_for_the_same_text() -> None:
    from posting.checks.classifier import classifier_ask

    client, llm = scripted(ok(answer(item("leverage", LEVERAGE))), ok(answer()))
    earlier = classifier_ask(title=TITLE, body=BODY, client=client)
    assert len(llm.requests) == 1

    same = check(client, classifier_answer=earlier)
    assert len(llm.requests) == 1 and llm_codes(same) == ["compliance.llm.leverage"]

    edited = check(client, body=CLEAN_BODY, classifier_answer=earlier)  # the text changed since: ask again
    assert len(llm.requests) == 2 and llm_codes(edited) == []
