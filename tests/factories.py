from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from analytics.models import InteractionSnapshot
from kols.crypto import Secret
from kols.models import KOL, Persona, PlatformAccount
from market.models import DailyQuote, Market, NewsFeed, NewsItem, Stock, TradingDayOverride
from posting.models import ComplianceRule, GenerationBatch, Post, Publication, StanceEntry
from scheduling.models import Schedule, ScheduleRun


class KOLFactory(factory.django.DjangoModelFactory[KOL]):
    class Meta:
        model = KOL

    serial = factory.Sequence(lambda n: f"{900000 + n}")
    nickname = factory.Sequence(lambda n: f"測試達人{n}")
    persona = Persona.TECHNICAL


class PlatformAccountFactory(factory.django.DjangoModelFactory[PlatformAccount]):
    class Meta:
        model = PlatformAccount

    kol = factory.SubFactory(KOLFactory)
    login = factory.Sequence(lambda n: Secret(f"kol{n}@example.com"))
    password = factory.Sequence(lambda n: Secret(f"correct-horse-{n}"))


class StockFactory(factory.django.DjangoModelFactory[Stock]):
    class Meta:
        model = Stock
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{8000 + n}")
    name = factory.Sequence(lambda n: f"測試公司{n}")
    market = Market.TWSE
    industry = "半導體業"


class DailyQuoteFactory(factory.django.DjangoModelFactory[DailyQuote]):
    class Meta:
        model = DailyQuote

    stock = factory.SubFactory(StockFactory)
    trade_date = dt.date(2026, 11, 20)
    open = Decimal("100.00")
    high = Decimal("105.00")
    low = Decimal("99.00")
    close = Decimal("104.00")
    change = Decimal("4.00")
    volume = 12_345_000
    turnover = 1_280_000_000
    transactions = 8_000


class GenerationBatchFactory(factory.django.DjangoModelFactory[GenerationBatch]):
    class Meta:
        model = GenerationBatch

    source = GenerationBatch.Source.MANUAL


class PostFactory(factory.django.DjangoModelFactory[Post]):
    class Meta:
        model = Post

    kol = factory.SubFactory(KOLFactory)
    stock = factory.SubFactory(StockFactory)
    title = factory.Sequence(lambda n: f"台積電觀察 {n}")
    body = "今天收盤104元，漲幅約4%。投資有風險，請自行判斷。"
    status = Post.Status.PENDING_REVIEW
    # A factory post counts as checked (clean unless check_findings says otherwise) at its version.
    version = 1
    checked_version = factory.SelfAttribute("version")


class ScheduleFactory(factory.django.DjangoModelFactory[Schedule]):
    class Meta:
        model = Schedule

    name = factory.Sequence(lambda n: f"盤後排程 {n}")
    trigger_type = "top_gainers"
    trigger_config = factory.LazyFunction(lambda: {"limit": 5})
    post_times = factory.LazyFunction(lambda: ["14:30"])


class InteractionSnapshotFactory(factory.django.DjangoModelFactory[InteractionSnapshot]):
    class Meta:
        model = InteractionSnapshot

    post = factory.SubFactory(
        PostFactory,
        status=Post.Status.PUBLISHED,
        approved_at=factory.LazyFunction(timezone.now),
        published_at=factory.LazyFunction(timezone.now),
    )
    captured_at = factory.LazyFunction(timezone.now)
    likes = 3
    comments = 1
    saves = 0
    tips = 0


class TradingDayOverrideFactory(factory.django.DjangoModelFactory[TradingDayOverride]):
    class Meta:
        model = TradingDayOverride

    date = factory.Sequence(lambda n: dt.date(2026, 9, 14) + dt.timedelta(days=n))
    is_open = False
    reason = "颱風停止交易"


class NewsFeedFactory(factory.django.DjangoModelFactory[NewsFeed]):
    class Meta:
        model = NewsFeed

    name = factory.Sequence(lambda n: f"財經新聞 {n}")
    url = factory.Sequence(lambda n: f"https://news.example.com/feed/{n}.xml")


class NewsItemFactory(factory.django.DjangoModelFactory[NewsItem]):
    class Meta:
        model = NewsItem

    origin = NewsItem.Origin.FEED
    feed = factory.SubFactory(NewsFeedFactory)
    source = "財經新聞"
    url = factory.Sequence(lambda n: f"https://news.example.com/articles/{n}")
    title = factory.Sequence(lambda n: f"台積電法說會重點 {n}")
    snippet = "台積電(2330)第四季營收展望優於預期。"
    published_at = factory.LazyFunction(timezone.now)
    fetched_at = factory.LazyFunction(timezone.now)


class ComplianceRuleFactory(factory.django.DjangoModelFactory[ComplianceRule]):
    class Meta:
        model = ComplianceRule
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"test_rule_{n}")
    category = ComplianceRule.Category.OTHER
    phrases = factory.LazyFunction(lambda: ["測試用語"])
    severity = ComplianceRule.Severity.WARN
    message = "測試規則"


def default_compliance_rules() -> None:
    """Seed the default compliance rules again when a transactional test elsewhere flushed them."""
    import importlib

    from django.apps import apps

    if not ComplianceRule.objects.exists():
        importlib.import_module("posting.migrations.0004_seed_compliance_rules").seed(apps, None)
    if not ComplianceRule.objects.filter(code="guaranteed_outcome").exists():
        importlib.import_module("posting.migrations.0010_seed_outcome_and_manipulation_rules").seed(
            apps, None
        )


class ScheduleRunFactory(factory.django.DjangoModelFactory[ScheduleRun]):
    """A post time a schedule skipped (no batch needed); pass status/batch for other outcomes."""

    class Meta:
        model = ScheduleRun

    schedule = factory.SubFactory(ScheduleFactory)
    slot_at = factory.Sequence(
        lambda n: (
            dt.datetime(2026, 11, 20, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
            - dt.timedelta(days=n)
        )
    )
    slot = factory.LazyAttribute(lambda run: timezone.localtime(run.slot_at).isoformat(timespec="minutes"))
    started_at = factory.LazyAttribute(lambda run: run.slot_at)
    finished_at = factory.LazyAttribute(lambda run: run.slot_at)
    status = ScheduleRun.Status.SKIPPED
    skip_reason = ScheduleRun.SkipReason.NO_CANDIDATES
    message = "觸發條件沒有選出任何股票。"


class PublicationFactory(factory.django.DjangoModelFactory[Publication]):
    """An outbox row waiting for a time; publishing tests build theirs through the services instead."""

    class Meta:
        model = Publication

    post = factory.SubFactory(
        PostFactory,
        status=Post.Status.APPROVED,
        approved_at=factory.LazyFunction(timezone.now),
        approved_version=1,
    )
    post_version = 1


class StanceEntryFactory(factory.django.DjangoModelFactory[StanceEntry]):
    """A published stance in the ledger; its post is published by the same KOL on the same stock."""

    class Meta:
        model = StanceEntry

    kol = factory.SubFactory(KOLFactory)
    stock = factory.SubFactory(StockFactory)
    post = factory.LazyAttribute(
        lambda entry: PostFactory(
            kol=entry.kol,
            stock=entry.stock,
            status=Post.Status.PUBLISHED,
            approved_at=entry.published_at,
            published_at=entry.published_at,
        )
    )
    stance = "bullish"
    thesis = "法說會後維持看多"
    published_at = factory.LazyFunction(timezone.now)
