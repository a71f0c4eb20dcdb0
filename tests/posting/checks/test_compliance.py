from __future__ import annotations

import pytest

from posting.checks import draft_check
from posting.checks.compliance import rule_validation_errors
from posting.models import ComplianceRule
from tests.factories import ComplianceRuleFactory, StockFactory, default_compliance_rules

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_rules(db: None) -> None:
    default_compliance_rules()


REMINDER = "投資有風險，請自行判斷。"


def _findings(body: str, title: str = "盤後筆記") -> list:
    return [
        finding
        for finding in draft_check(title=title, body=body, include_recent_posts=False).findings
        if finding.code.startswith("compliance.")
    ]


def _codes(body: str, title: str = "盤後筆記") -> set[str]:
    return {finding.code.removeprefix("compliance.") for finding in _findings(body, title)}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("這檔保證獲利，閉著眼睛買都賺。", "guaranteed_return"),
        ("長線持有穩賺不賠啦", "guaranteed_return"),
        ("這是零風險的套利機會", "guaranteed_return"),
        ("跟著做包賺，明天必漲", "guaranteed_return"),
        ("這種存股方式保本又穩定", "guaranteed_return"),
        ("這檔一定會漲，百分之百獲利", "guaranteed_return"),
        ("这档保证获利，稳赚不赔", "guaranteed_return"),
        ("保 證 獲 利，不信你試試", "guaranteed_return"),
        ("保.證.獲.利的好標的", "guaranteed_return"),
        ("A guaranteed profit play on TSMC", "guaranteed_return"),
        ("快買！明天開盤就噴", "trade_instruction"),
        ("還在等什麼，趕快進場", "trade_instruction"),
        ("看到這裡立刻賣出持股", "trade_instruction"),
        ("我已經 ALL IN 了，你們也梭哈吧", "trade_instruction"),
        ("还不上车？", "trade_instruction"),
        ("目標價150元，耐心抱著", "price_target"),
        ("我的目標價１５０元", "price_target"),
        ("進場價100元，停損價95元", "entry_exit_levels"),
        ("跌破95元就停損出場", "entry_exit_levels"),
        ("100元附近可以分批進場", "entry_exit_levels"),
        ("站上110元就加碼", "entry_exit_levels"),
        ("我有內線消息，下週會公布併購", "insider_claim"),
        ("內部消息指出營收會爆發", "insider_claim"),
        ("今天的明牌就是它", "insider_claim"),
        ("獨家消息：訂單大增", "insider_claim"),
        ("想要完整名單請加LINE", "solicitation"),
        ("有興趣的加賴聊聊", "solicitation"),
        ("詳情請私訊我", "solicitation"),
        ("付費群組每天報明牌", "solicitation"),
        ("歡迎加入飆股群，老師帶單", "solicitation"),
        ("＋ＬＩＮＥ領取飆股名單", "solicitation"),
        ("跟著我操作就對了", "copy_trading"),
        ("主力準備拉抬，量能已經出來", "pump_claim"),
        ("這是標準的拉高出貨", "pump_claim"),
        ("有人在炒作這檔，小心被坑殺", "pump_language"),
        ("謠傳公司要被併購", "rumour"),
        ("聽說大客戶要砍單", "rumour"),
        ("我是借錢買股的，壓力很大但值得", "borrowing_to_invest"),
        ("信貸買股是翻身的機會", "borrowing_to_invest"),
        ("融資 all in 這檔", "borrowing_to_invest"),
        ("房子拿去貸款來投資最划算", "borrowing_to_invest"),
        ("借钱买股才能快速致富", "borrowing_to_invest"),
    ],
)
def test_each_rule_finds_its_wording_in_variants_and_simplified_text(text: str, code: str) -> None:
    assert code in _codes(text + REMINDER)


@pytest.mark.parametrize(
    "text",
    [
        "投資沒有保證獲利這回事，請自行判斷。",
        "本文不保證獲利，投資有風險。",
        "世上沒有穩賺不賠的投資，投資有風險。",
        "穩賺不賠？不存在的。投資有風險。",
        "小心穩賺不賠的話術，投資有風險。",
        "投資不是沒有風險，請自行判斷。",
        "無風險利率上升，債券殖利率走高。",
        "保本型基金不等於股票。",
        "不要馬上進場，先觀察量能。投資有風險。",
        "停損是保護資金的紀律，每個人都該有自己的停損觀念。",
        "設好停損很重要，投資有風險。",
        "外資調升目標價至150元，投資有風險，請自行判斷。",
        "大摩喊出目標價1200元。投資有風險。",
        "外資買進5,000張，投信賣出300張。",
        "融資餘額增加，融資買進3,000張。",
        "公司涉及內線交易遭到起訴。",
        "這不是明牌，只是個人看法。",
        "不要相信私訊你的投資老師，那是詐騙。",
        "盲目跟單外資容易受傷。",
        "主力出貨跡象明顯，籌碼鬆動。",
        "台積電拉抬大盤上漲200點。",
        "主管機關打擊炒作，多檔列入處置股。",
        "公司澄清傳聞，表示訂單正常。",
        "千萬不要借錢買股，投資有風險。",
        "房貸壓力大的人更要控制部位。",
        "半導體族群今天表現強勢。",
    ],
)
def test_negations_warnings_and_ordinary_market_language_are_not_findings(text: str) -> None:
    assert _codes(text) == set()


def test_a_finding_points_at_the_original_characters() -> None:
    body = "各位好，這檔保 證 獲 利。" + REMINDER
    (finding,) = _findings(body)
    assert finding.field == "body"
    assert body[finding.start : finding.end] == finding.excerpt == "保 證 獲 利"
    assert finding.severity == "block"
    assert finding.message


def test_a_finding_in_the_title_is_reported_on_the_title() -> None:
    (finding,) = _findings("今天收盤在平盤附近。", title="穩賺不賠的好股")
    assert finding.field == "title"
    assert "穩賺不賠的好股"[finding.start : finding.end] == "穩賺不賠"


def test_a_directional_view_on_a_stock_without_a_risk_reminder_is_a_warning() -> None:
    StockFactory.create(code="2330", name="台積電")
    (finding,) = _findings("台積電(2330)短線偏多看待，有望挑戰前高。")
    assert finding.code == "compliance.missing_risk_reminder"
    assert finding.severity == "warn"
    assert "偏多" in finding.excerpt


@pytest.mark.parametrize(
    "text",
    [
        "台積電短線偏多看待。投資有風險，請自行判斷。",
        "這檔短線偏多，以上僅供參考，非投資建議。",
        "台積電有望續強，盈虧自負。",
        "今天天氣很好，大家記得多喝水。",
        "台積電今天收盤104元，成交量1.2萬張。",
    ],
)
def test_no_reminder_is_asked_when_present_or_when_no_stock_view_is_given(text: str) -> None:
    StockFactory.create(code="2330", name="台積電")
    assert "missing_risk_reminder" not in _codes(text)


def test_a_deactivated_rule_stops_firing() -> None:
    text = "這檔保證獲利。" + REMINDER
    assert "guaranteed_return" in _codes(text)
    ComplianceRule.objects.filter(code="guaranteed_return").update(active=False)
    assert "guaranteed_return" not in _codes(text)


def test_an_administrators_new_phrase_is_matched_in_its_variants() -> None:
    text = "這檔是老師的口袋飆股，快收藏。" + REMINDER
    assert _codes(text) == set()
    ComplianceRuleFactory.create(
        code="teacher_pick",
        category=ComplianceRule.Category.SOLICITATION,
        phrases=["口袋飆股"],
        message="老師口袋股屬於招攬用語。",
    )
    assert "teacher_pick" in _codes(text)
    assert "teacher_pick" in _codes("口 袋 飙 股" + REMINDER)


def test_an_edited_severity_changes_the_risk_level() -> None:
    text = "謠傳公司要被併購。" + REMINDER
    assert draft_check(title="筆記", body=text, include_recent_posts=False).risk_level == "medium"
    ComplianceRule.objects.filter(code="rumour").update(severity=ComplianceRule.Severity.BLOCK)
    assert draft_check(title="筆記", body=text, include_recent_posts=False).risk_level == "blocked"


def test_a_rule_with_a_broken_expression_is_refused() -> None:
    rule = ComplianceRule(
        code="broken", category="other", pattern="保證(獲利", severity="warn", message="壞掉的規則"
    )
    assert "pattern" in rule_validation_errors(rule)


def test_a_rule_matching_empty_text_or_without_pattern_is_refused() -> None:
    empty = ComplianceRule(code="empty", category="other", pattern="(保證)?", severity="warn", message="x")
    assert "pattern" in rule_validation_errors(empty)
    nothing = ComplianceRule(code="nothing", category="other", severity="warn", message="x")
    assert "pattern" in rule_validation_errors(nothing)


def test_every_seeded_rule_is_valid() -> None:
    rules = list(ComplianceRule.objects.all())
    assert {rule.category for rule in rules} >= {
        "guaranteed_return",
        "trade_instruction",
        "insider",
        "solicitation",
        "pump_rumour",
        "leverage",
        "risk_reminder",
    }
    for rule in rules:
        rule.full_clean()
