"""Second-round compliance rules: guarantees phrased with a figure, a period or an outcome, and calls on
readers to buy together to move a price. Administrators edit them in the admin afterwards.

Patterns are written in Traditional characters and matched against folded text (Simplified, half-width,
lower case, no spaces between Chinese characters): see posting/checks/text.py.
"""

from django.db import migrations

NUM = r"(\d+(\.\d+)?|[一二兩三四五六七八九十百半]+)"
UNIT = r"(%|趴|成|個百分點|倍)"
PERIOD = r"(年化|每年|每月|每季|每週|每周|每天|每日|每個月|月月|年年|季季|天天|年|月)"
STEADY = r"(穩定|穩穩|固定|保底|至少|起碼|保證|穩)"
RETURN = r"(報酬率?|收益率?|獲利率?|配息|利息|領息|股息|領)"
SPAN = NUM + r"(個)?(月|年|週|周|天|季|星期)"
CERTAIN = r"(至少|起碼|保證|穩穩|穩|一定|必|包|絕對|肯定|輕鬆)"
HOLD = r"(存|放|抱|持有|買|拿|擺|留)(著|着|了|住|起來)?(不放|不賣|不動|到底)?"

WHO = r"(我們|咱們|大家|各位|粉絲|散戶|兄弟|同學|網友|鄉民|所有人|全體)"
TOGETHER = r"(一起|一同|聯手|團結|集體|同時|同一天|同一時間|集中火力|約好|統一)"
BUY = r"(買進|買入|買|進場|掃貨|敲進|掛買|梭哈|加碼|上車|搶進|下單|敲單|進貨)"
MOVE = r"((推|拉|抬|衝|軋|炒|頂)[^。！？!?\n]{0,3}?(上去|上來|高|升|上|到|至|漲停|空|爆|起來)|軋空|護盤|鎖(住)?籌碼)"
SENT = r"[^。！？!?\n]"

RULES = [
    {
        "code": "guaranteed_outcome",
        "category": "guaranteed_return",
        "severity": "block",
        "pattern": "|".join(
            [
                # 「年化穩定兩成以上」「每年穩穩領8%」「每月穩定收益5%」
                PERIOD + r"(的)?" + RETURN + r"?(都)?" + STEADY + r"(的)?" + RETURN
                + r"?(有|在|領|賺|拿|達|收|配|維持)?(年化)?" + NUM + UNIT,
                # 「穩定年化12%」「固定每月配息1%」
                STEADY + r"(的)?" + PERIOD + RETURN + r"?(有|在|領|賺|達)?" + NUM + UNIT,
                # 「報酬率穩定在20%以上」
                r"(年化)?" + RETURN + r"(都)?(穩定|穩穩|固定|保底)(的)?(在|有|達|維持)?" + NUM + UNIT,
                # 「持有一年至少賺三成」「一年後本金至少翻一倍」
                SPAN + r"(內|後|之內|以內|就)?" + SENT + r"{0,4}?" + CERTAIN + r"(能|會|可以|可)?"
                + r"(賺|漲|獲利|報酬|翻)(到|個)?" + NUM + r"?" + UNIT,
                # 「三個月內翻倍」「半年內股價翻倍」
                SPAN + r"(內|之內|以內)" + SENT + r"{0,4}?(就)?(能|會|可以)?(翻倍|翻" + NUM + r"倍)",
                # 「12%起跳」「三成，跑不掉的」
                NUM + UNIT + r"(以上)?[，,]?(跑不掉|錯不了|穩了|是基本|起跳|沒問題|穩穩的)",
                # 「存著就不會虧」「抱著絕不會賠錢」
                HOLD + r"(就|也|都)?(絕對|一定|永遠|保證)?(不會|不可能|絕不會|不用怕)(虧|賠|套|跌)",
                # 「放著就會賺」
                HOLD + r"(就|都)(一定)?(會|能)(賺|漲|獲利)",
            ]
        ),
        "unless_pattern": r"eps|營收|淨利|稅後|公司|企業|財報|營業|毛利|獲利能力|過去|歷年|去年|以來|曾經|產能|出貨",
        "message": "以數字、期間或結果承諾報酬（年化穩定兩成、存著就不會虧、三個月翻倍）等同保證獲利，請刪除。",
        "notes": "公司財報、過去績效的描述不算（unless）；轉述詐騙話術以提醒讀者的句子不算（見 compliance.py）。",
    },
    {
        "code": "price_manipulation_call",
        "category": "pump_rumour",
        "severity": "block",
        "pattern": "|".join(
            [
                WHO + SENT + r"{0,8}?" + TOGETHER + SENT + r"{0,10}?" + BUY + SENT + r"{0,12}?" + MOVE,
                TOGETHER + r"(來)?" + BUY + SENT + r"{0,10}?(把|讓)" + SENT + r"{0,6}?" + MOVE,
                TOGETHER + r"(來)?(護盤|拉抬|拉漲停|軋空|抬轎|買爆|掃光|鎖碼)",
                # 「一起把股價衝上去」
                TOGETHER + r"(來)?(把|讓)(股價|價格|它|他|這檔|這支|這隻)" + MOVE,
            ]
        ),
        "unless_pattern": r"查緝|起訴|檢調|金管會|證交所|主管機關|違法|判刑|詐騙|檢舉|非法",
        "message": "號召讀者一起進場、拉抬或軋空股價，可能構成操縱市場，請刪除。",
        "notes": "描述法人買超推升股價不算；主管機關查緝、檢舉等報導不算（unless）。",
    },
]


def seed(apps, schema_editor):
    ComplianceRule = apps.get_model("posting", "ComplianceRule")
    for rule in RULES:
        fields = {"kind": "forbidden", "phrases": [], "applies_pattern": "", "unless_pattern": "", "skip_negated": True}
        fields.update({key: value for key, value in rule.items() if key != "code"})
        ComplianceRule.objects.get_or_create(code=rule["code"], defaults=fields)


def unseed(apps, schema_editor):
    ComplianceRule = apps.get_model("posting", "ComplianceRule")
    ComplianceRule.objects.filter(code__in=[rule["code"] for rule in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("posting", "0009_post_score_24h"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
