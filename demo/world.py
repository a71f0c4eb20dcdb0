"""The demo world: what a newcomer with no internet and no LLM opens to see every page at work.

Every row it writes is marked ``is_demo`` (or hangs off a demo KOL and goes with it), so that
``demo_remove`` deletes exactly the demo and nothing else, and real analytics can leave it out. Loading
twice changes nothing: KOLs, accounts and the schedule are keyed by name, prices by (stock, day), and the
posts are written once per demo KOL.

The texts come from the real template writer over snapshots built from the demo prices. The history
around them (approvals, publications, interactions) is written as rows, not replayed through the
review and publishing services: those would queue real sends. Publications are dry runs, always: a
demo KOL has ``dry_run`` on and its account has no credentials, so nothing can reach a platform.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import InteractionSnapshot
from config.exceptions import ServiceError
from kols.models import KOL, Persona, PlatformAccount, PostType
from market.calendar import latest_closed_trading_day, trading_days
from market.models import DailyQuote, NewsItem, Stock
from market.services import STOCK_MASTER_PATH, stocks_load_master
from posting.checks.service import check_report_apply, draft_check
from posting.generation.context import context_build
from posting.generation.template_writer import template_post_write
from posting.models import Approval, GenerationBatch, Post, Publication
from posting.models.publishing import Backend
from posting.review.services import post_create_draft
from scheduling.models import Schedule, ScheduleRun
from scheduling.trigger_types import TriggerType

DEMO_DAYS = 60
DEMO_STOCKS = 30
DEMO_LABEL = "示範"
DEMO_REASON = "示範資料：只記錄，不會送到任何平台"
# Well-known names first, so the demo reads like the market a newcomer knows.
PREFERRED_CODES = (
    "2330", "2317", "2454", "2308", "2303", "2881", "2882", "2891", "2412", "1301",
    "1303", "2002", "2603", "3711", "2886", "2884", "1216", "2357", "2382", "3008",
    "2395", "2912", "5880", "2892", "2207", "3034", "2379", "6505", "2327", "4938",
)  # fmt: skip


class DemoError(ServiceError):
    code = "demo_failed"


@dataclass(frozen=True)
class _Persona:
    serial: str
    nickname: str
    persona: str
    tones: tuple[int, int, int, int, int]
    emoji: str
    industries: tuple[str, ...]
    keywords: tuple[str, ...]
    phrases: tuple[str, ...]
    rules: tuple[str, ...]
    signature: str


PERSONAS = (
    _Persona(
        "示範-01", "技術阿K", Persona.TECHNICAL, (4, 6, 8, 6, 7), "light", ("半導體業",), ("均線", "量價"),
        ("線型說話，不用猜。", "先看量，再看價。", "K棒不會騙人。"), ("先講數據再講看法",), "— 技術阿K",
    ),
    _Persona(
        "示範-02", "基本面老王", Persona.FUNDAMENTAL, (8, 3, 6, 3, 4), "none", ("電子零組件業",),
        ("營收", "毛利率"), ("回到基本面來看。", "數字比情緒可靠。"), ("用詞正式",), "老王 敬上",
    ),
    _Persona(
        "示範-03", "消息雷達", Persona.NEWS, (5, 5, 5, 8, 6), "light", ("航運業",), ("法說會", "新聞"),
        ("今天市場上的消息整理如下。", "消息面先掌握。"), ("註明消息來源",), "📡 消息雷達",
    ),
    _Persona(
        "示範-04", "籌碼小隊長", Persona.CHIPS, (3, 7, 7, 7, 8), "heavy", ("金融保險業",),
        ("外資", "投信"), ("籌碼會說故事。", "大戶在想什麼？"), ("口語、互動",), "小隊長出動",
    ),
    _Persona(
        "示範-05", "總經觀察家", Persona.MACRO, (9, 2, 5, 2, 3), "none", ("塑膠工業",), ("利率", "匯率"),
        ("從總體經濟的角度觀察。", "景氣循環才是主旋律。"), ("避免短線用語",), "總經觀察家",
    ),
    _Persona(
        "示範-06", "價值存股姐", Persona.VALUE, (6, 4, 4, 2, 9), "light", ("食品工業",), ("殖利率", "存股"),
        ("存股看的是十年。", "好公司遇到好價格。"), ("提醒長期風險",), "存股姐的筆記",
    ),
)  # fmt: skip


def _demo_kols() -> list[KOL]:
    kols = []
    for persona in PERSONAS:
        formal, emotion, confidence, urgency, interaction = persona.tones
        kol, _created = KOL.objects.update_or_create(
            serial=persona.serial,
            defaults={
                "nickname": f"{DEMO_LABEL}・{persona.nickname}",
                "persona": persona.persona,
                "content_style": "示範用的人設",
                "target_audience": "想先看看系統的新朋友",
                "expertise_industries": list(persona.industries),
                "expertise_keywords": list(persona.keywords),
                "backstory": "這是示範人設，不是真實的人。",
                "style_rules": list(persona.rules),
                "guardrails": ["不提供買賣建議", "不保證獲利"],
                "common_phrases": list(persona.phrases),
                "signature": persona.signature,
                "emoji_use": persona.emoji,
                "tone_formal": formal,
                "tone_emotion": emotion,
                "tone_confidence": confidence,
                "tone_urgency": urgency,
                "tone_interaction": interaction,
                "dry_run": True,
                "posting_times": ["08:30", "13:45", "21:30"],
                "is_demo": True,
            },
        )
        # No credentials: even with dry run switched off, there is nothing to log in with.
        PlatformAccount.objects.get_or_create(kol=kol, platform="cmoney", defaults={"is_demo": True})
        kols.append(kol)
    return kols


def _demo_stocks() -> list[Stock]:
    if not Stock.objects.exists():
        stocks_load_master(path=STOCK_MASTER_PATH)
    by_code = Stock.objects.in_bulk(list(PREFERRED_CODES), field_name="code")
    stocks = [by_code[code] for code in PREFERRED_CODES if code in by_code]
    if len(stocks) < DEMO_STOCKS:
        stocks += list(Stock.objects.exclude(code__in=by_code).order_by("code")[: DEMO_STOCKS - len(stocks)])
    if not stocks:
        raise DemoError(_("The stock master is empty: run manage.py load_stocks first."))
    return stocks[:DEMO_STOCKS]


def _demo_days() -> list[dt.date]:
    end = latest_closed_trading_day()
    return trading_days(end - dt.timedelta(days=DEMO_DAYS * 2 + 30), end)[-DEMO_DAYS:]


def _cents(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def _price_walk(stock: Stock, days: list[dt.date]) -> list[DailyQuote]:
    """A seeded random walk per stock: the same demo prices on every machine, never a real quote."""
    rng = random.Random(int(hashlib.sha256(stock.code.encode()).hexdigest()[:8], 16))  # noqa: S311 - demo prices
    close = 20 + rng.random() * 780
    rows = []
    for day in days:
        previous = close
        close = max(1.0, previous * (1 + max(-0.095, min(0.095, rng.gauss(0.0005, 0.018)))))
        opening = previous * (1 + rng.uniform(-0.01, 0.01))
        high = max(opening, close) * (1 + rng.uniform(0, 0.015))
        low = min(opening, close) * (1 - rng.uniform(0, 0.015))
        volume = int(rng.uniform(300, 60_000)) * 1000
        rows.append(
            DailyQuote(
                stock=stock,
                trade_date=day,
                open=_cents(opening),
                high=_cents(high),
                low=_cents(low),
                close=_cents(close),
                change=_cents(close) - _cents(previous),
                volume=volume,
                turnover=int(volume * close),
                transactions=volume // 2000,
                is_demo=True,
            )
        )
    return rows


def _demo_quotes(stocks: list[Stock], days: list[dt.date]) -> int:
    # ignore_conflicts: a real quote for the same day stays; the demo never overwrites market data.
    rows = [row for stock in stocks for row in _price_walk(stock, days)]
    created = DailyQuote.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(created)


def _demo_news(stocks: list[Stock], now: dt.datetime) -> None:
    for index, stock in enumerate(stocks[:6]):
        item, _created = NewsItem.objects.get_or_create(
            url=f"https://demo.invalid/news/{stock.code}",
            defaults={
                "origin": NewsItem.Origin.FEED,
                "source": "示範新聞",
                "title": f"【示範】{stock.name}公布月營收，法人關注後續表現",
                "snippet": "這是示範新聞，內容並非真實報導。",
                "published_at": now - dt.timedelta(hours=3 + index),
                "fetched_at": now - dt.timedelta(hours=2 + index),
                "is_demo": True,
            },
        )
        item.stocks.add(stock)


# Each demo KOL's posts walk the lifecycle: what happens to the n-th post of a KOL.
STORY = (
    Post.Status.PENDING_REVIEW,
    Post.Status.PUBLISHED,
    Post.Status.PENDING_REVIEW,
    Post.Status.PUBLISHED,
    Post.Status.CHANGES_REQUESTED,
    Post.Status.PUBLISHED,
    Post.Status.APPROVED,
    Post.Status.SCHEDULED,
    Post.Status.DRAFT,
    Post.Status.REJECTED,
    Post.Status.FAILED,
    Post.Status.EXPIRED,
    Post.Status.PUBLISHING,
    Post.Status.UNPUBLISHED,
)


def _write_posts(kols: list[KOL], stocks: list[Stock], batch: GenerationBatch) -> list[Post]:
    posts = []
    post_types = (PostType.ANALYSIS, PostType.QUESTION)
    for index, status in enumerate(STORY * 2):
        kol = kols[index % len(kols)]
        stock = stocks[index % len(stocks)]
        post_type = post_types[index % 2]
        snapshot = context_build(kol=kol, stock=stock, trigger_type=TriggerType.INDIVIDUAL)
        written = template_post_write(kol=kol, snapshot=snapshot, post_type=post_type)
        post = post_create_draft(
            kol=kol,
            stock=stock,
            title=written.title,
            body=written.body,
            generator=Post.Generator.TEMPLATE,
            prompt_version=written.prompt_version,
            market_snapshot=snapshot,
            trigger_type=TriggerType.INDIVIDUAL,
            trigger_reasons=["示範：個股追蹤"],
            batch=batch,
            is_demo=True,
        )
        report = draft_check(title=post.title, body=post.body, snapshot=snapshot, stock=stock, kol=kol,
                             post_type=post_type, exclude_post_id=post.pk, llm_classifier=False)  # fmt: skip
        fields = check_report_apply(post=post, report=report)
        post.risk_rank = Post.RISK_RANKS.get(post.risk_level, 2)
        post.save(update_fields=[*fields, "risk_rank"])
        posts.append(_tell(post, status, index))
    return posts


def _tell(post: Post, status: str, index: int) -> Post:
    """Give one demo post its past: when it was written, reviewed, published, and by what."""
    now = timezone.now()
    written = now - dt.timedelta(days=index % 14, hours=2 + index % 5)
    fields: dict[str, object] = {"status": status, "created_at": written}
    if status in Post.APPROVED_STATES:
        approved_at = written + dt.timedelta(hours=1)
        fields |= {"approved_at": approved_at, "approved_version": post.version}
        Approval.objects.create(
            post=post, version=post.version, approved_by_label=DEMO_LABEL, approved_at=approved_at
        )
    if status == Post.Status.SCHEDULED:
        fields["scheduled_at"] = now + dt.timedelta(hours=3 + index % 20)
    if status in (Post.Status.PUBLISHED, Post.Status.UNPUBLISHED):
        fields["published_at"] = written + dt.timedelta(hours=2)
    if status in (Post.Status.CHANGES_REQUESTED, Post.Status.REJECTED, Post.Status.EXPIRED):
        fields["status_note"] = "示範：請補上資料來源。"
    if status == Post.Status.FAILED:
        fields["publish_error"] = "示範：平台回應 500，未發出。"
    Post.objects.filter(pk=post.pk).update(**fields)
    post.refresh_from_db()
    _publication(post)
    return post


def _publication(post: Post) -> None:
    outcomes: dict[str, str] = {
        Post.Status.PUBLISHED: Publication.Status.PUBLISHED,
        Post.Status.UNPUBLISHED: Publication.Status.DELETED,
        Post.Status.FAILED: Publication.Status.FAILED_PERMANENT,
        Post.Status.PUBLISHING: Publication.Status.UNKNOWN,
    }
    outcome = outcomes.get(post.status)
    if outcome is None:
        return
    sent = post.published_at or (post.approved_at or timezone.now()) + dt.timedelta(hours=1)
    finished = outcome in (Publication.Status.PUBLISHED, Publication.Status.DELETED)
    Publication.objects.create(
        post=post,
        account=post.kol.accounts.first(),
        backend=Backend.DRY_RUN,
        dry_run_reason=DEMO_REASON,
        status=outcome,
        post_version=post.version,
        attempt_count=1,
        claimed_at=sent,
        finished_at=sent if finished else None,
        deleted_at=sent + dt.timedelta(hours=5) if outcome == Publication.Status.DELETED else None,
        last_error="示範：平台回應 500。" if outcome == Publication.Status.FAILED_PERMANENT else "",
    )
    if post.status == Post.Status.PUBLISHED:
        _interactions(post)


def _interactions(post: Post) -> None:
    """Counts that grow over the first days after publication, taken every six hours."""
    assert post.published_at is not None
    rng = random.Random(str(post.pk))  # noqa: S311 - demo counts
    pace = rng.uniform(0.5, 3.0)
    now = timezone.now()
    rows = []
    for step in range(1, 13):
        at = post.published_at + dt.timedelta(hours=6 * step)
        if at > now:
            break
        grown = pace * (1 - 0.8**step)
        rows.append(
            InteractionSnapshot(
                post=post,
                captured_at=at,
                likes=int(40 * grown),
                comments=int(8 * grown),
                shares=None,
                saves=int(5 * grown),
                tips=int(grown),
                is_demo=True,
            )
        )
    InteractionSnapshot.objects.bulk_create(rows, ignore_conflicts=True)


def _demo_schedule(kols: list[KOL], stocks: list[Stock], batch: GenerationBatch | None) -> None:
    schedule, _created = Schedule.objects.get_or_create(
        name=f"{DEMO_LABEL}：每日個股追蹤",
        defaults={
            "description": "示範排程（暫停中）：每個交易日挑幾檔個股寫草稿。",
            "trigger_type": TriggerType.INDIVIDUAL,
            "trigger_config": {"stock_codes": [stock.code for stock in stocks[:5]]},
            "post_times": ["08:30", "13:45"],
            "posts_per_run": 2,
            "max_posts_per_day": 4,
            "status": Schedule.Status.PAUSED,
            "is_demo": True,
        },
    )
    schedule.kol_pool.set(kols)
    _demo_runs(schedule, batch)


def _demo_runs(schedule: Schedule, batch: GenerationBatch | None) -> None:
    """Two past post times of the demo schedule: one that wrote the demo batch, one skipped."""
    now = timezone.now()
    runs = (
        (now - dt.timedelta(days=1), ScheduleRun.Status.SUCCEEDED, "", batch),
        (now - dt.timedelta(days=2), ScheduleRun.Status.SKIPPED, ScheduleRun.SkipReason.NO_CANDIDATES, None),
    )
    for at, status, reason, run_batch in runs:
        slot_at = timezone.localtime(at).replace(hour=8, minute=30, second=0, microsecond=0)
        ScheduleRun.objects.get_or_create(
            schedule=schedule,
            slot=slot_at.isoformat(timespec="minutes"),
            defaults={
                "slot_at": slot_at,
                "started_at": slot_at,
                "finished_at": slot_at + dt.timedelta(minutes=1),
                "status": status,
                "skip_reason": reason,
                "message": "示範：觸發條件沒有選出任何股票。" if reason else "",
                "batch": run_batch,
                "posts_created": run_batch.succeeded_count if run_batch else 0,
            },
        )


def demo_load() -> dict[str, int]:
    """Load the demo world (idempotent); returns how many demo rows of each kind exist."""
    stocks = _demo_stocks()
    days = _demo_days()
    with transaction.atomic():
        kols = _demo_kols()
        _demo_quotes(stocks, days)
        now = timezone.now()
        _demo_news(stocks, now)
        batch = GenerationBatch.objects.filter(is_demo=True).first()
        if not Post.objects.filter(is_demo=True).exists():
            batch = GenerationBatch.objects.create(
                source=GenerationBatch.Source.MANUAL,
                writer=GenerationBatch.Writer.TEMPLATE,
                requested_count=len(STORY) * 2,
                succeeded_count=len(STORY) * 2,
                status=GenerationBatch.Status.FINISHED,
                started_at=now,
                finished_at=now,
                is_demo=True,
            )
            _write_posts(kols, stocks, batch)
        _demo_schedule(kols, stocks, batch)
    return demo_counts()


def demo_counts() -> dict[str, int]:
    return {
        "KOLs": KOL.objects.filter(is_demo=True).count(),
        "quotes": DailyQuote.objects.filter(is_demo=True).count(),
        "posts": Post.objects.filter(is_demo=True).count(),
        "publications": Publication.objects.filter(post__is_demo=True).count(),
        "interaction snapshots": InteractionSnapshot.objects.filter(is_demo=True).count(),
    }


def demo_remove() -> dict[str, int]:
    """Delete every demo row and nothing else; returns how many of each kind went."""
    with transaction.atomic():
        counts = demo_counts()
        # Posts first: they protect their KOL. Their publications, revisions, audit trail and
        # interaction snapshots go with them (cascade).
        Post.objects.filter(regenerated_from__is_demo=True).filter(is_demo=False).update(
            regenerated_from=None
        )
        Post.objects.filter(is_demo=True).delete()
        InteractionSnapshot.objects.filter(is_demo=True).delete()
        GenerationBatch.objects.filter(is_demo=True).delete()
        Schedule.objects.filter(is_demo=True).delete()
        NewsItem.objects.filter(is_demo=True).delete()
        PlatformAccount.objects.filter(is_demo=True).delete()
        KOL.objects.filter(is_demo=True).delete()
        DailyQuote.objects.filter(is_demo=True).delete()
    return counts
