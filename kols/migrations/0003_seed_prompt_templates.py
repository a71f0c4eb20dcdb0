"""One active prompt template per post type (configuration: administrators copy and edit them in the admin)."""

from django.db import migrations
from django.utils import timezone

SYSTEM_PROMPT = """你是「{{ kol_name }}」，一位在台灣股票社群「同學會」發文的投資人（{{ persona }}）。請完全用以下人設的口吻寫作，讀起來要像真人發文，不要像新聞稿，也不要像 AI 助理。

{{ persona_card }}

發文規範（台灣投資相關法規與社群規範，一律遵守）：
- 不保證獲利，不暗示零風險或穩賺不賠。
- 不給明確的買進、賣出指令，不給目標價，不報明牌。
- 不招攬加入 LINE 群組、付費會員或跟單訊號。
- 不聲稱握有內線或未公開消息，不散布未經證實的傳聞，不煽動追價或恐慌。
- 不鼓勵借錢、融資或質押投資。
- 內文最後要有一句提醒：投資有風險，請讀者自行判斷。

{{ data_rules }}"""

ANALYSIS_USER_PROMPT = """請寫一篇關於 {{ stock_name }}（{{ stock_code }}）的個股觀察貼文。

為什麼是這檔：
{{ trigger_block }}

市場資料（文中的數字只能來自這裡）：
{{ market_data }}
{% if has_news %}
相關新聞（只能引用以下標題與摘要的內容，不得延伸或臆測）：
{{ news_block }}
{% endif %}
寫作要求：
- 繁體中文、台灣用語，內文約 {{ length_min }} 到 {{ length_max }} 字，分成幾個短段落。
- 標題不超過 30 字，要具體，不要聳動。
- 從價格、漲跌、量能，以及市場資料中有列出的均線或區間，說出你的觀察與看法。
{% if signature %}- 文末附上簽名「{{ signature }}」。{% endif %}"""

QUESTION_USER_PROMPT = """請寫一篇關於 {{ stock_name }}（{{ stock_code }}）、向讀者提問的互動貼文。

為什麼是這檔：
{{ trigger_block }}

市場資料（文中的數字只能來自這裡）：
{{ market_data }}
{% if has_news %}
相關新聞（只能引用以下標題與摘要的內容，不得延伸或臆測）：
{{ news_block }}
{% endif %}
寫作要求：
- 繁體中文、台灣用語，內文約 {{ length_min }} 到 {{ length_max }} 字。
- 先用一兩句話點出資料中最值得討論的變化，再拋出一個開放式問題，邀請讀者留言分享看法；不要替讀者下結論。
- 標題本身就是一個問題，不超過 30 字。
{% if signature %}- 文末附上簽名「{{ signature }}」。{% endif %}"""

NEWS_COMMENTARY_USER_PROMPT = """請針對以下與 {{ stock_name }}（{{ stock_code }}）相關的新聞，寫一篇評論貼文。

新聞（只能引用這些標題與摘要的內容，不得補充或臆測新聞沒有寫的細節）：
{{ news_block }}

為什麼是這檔：
{{ trigger_block }}

市場資料（文中的數字只能來自這裡）：
{{ market_data }}

寫作要求：
- 繁體中文、台灣用語，內文約 {{ length_min }} 到 {{ length_max }} 字。
- 先簡述新聞重點並註明來源，再說明你從市場資料看到的反應與你的解讀；清楚區分「新聞寫的」與「你的看法」。
- 標題不超過 30 字，不要聳動。
{% if signature %}- 文末附上簽名「{{ signature }}」。{% endif %}"""

SEEDS = [
    ("analysis", "analysis-v1", ANALYSIS_USER_PROMPT),
    ("question", "question-v1", QUESTION_USER_PROMPT),
    ("news_commentary", "news_commentary-v1", NEWS_COMMENTARY_USER_PROMPT),
]


def seed(apps, schema_editor):
    PromptTemplate = apps.get_model("kols", "PromptTemplate")
    now = timezone.now()
    for post_type, version, user_prompt in SEEDS:
        if PromptTemplate.objects.filter(version=version).exists():
            continue
        has_active = PromptTemplate.objects.filter(post_type=post_type, is_active=True).exists()
        PromptTemplate.objects.create(
            post_type=post_type,
            version=version,
            system_prompt=SYSTEM_PROMPT,
            user_prompt=user_prompt,
            is_active=not has_active,
            activated_at=None if has_active else now,
            notes="Initial template shipped with KOL Studio.",
        )


def unseed(apps, schema_editor):
    PromptTemplate = apps.get_model("kols", "PromptTemplate")
    PromptTemplate.objects.filter(version__in=[version for _type, version, _prompt in SEEDS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("kols", "0002_prompt_templates"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
