from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import formats
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from config.admin_data import data_table
from config.admin_display import DemoColumnMixin
from market.models import DailyQuote, NewsFeed, NewsItem, Stock, TradingDayOverride
from market.news import news_fetch_feeds


@admin.register(Stock)
class StockAdmin(ModelAdmin):
    list_display = [
        "code",
        "name",
        "instrument_type",
        "market",
        "industry",
        "capital_twd",
        "last_seen_on",
        "is_active",
    ]
    list_filter = ["instrument_type", "market", "is_active", "industry"]
    search_fields = ["code", "name"]
    show_full_result_count = False
    readonly_fields = ["instrument_type", "last_seen_on", "created_at", "updated_at"]


@admin.register(DailyQuote)
class DailyQuoteAdmin(DemoColumnMixin, ModelAdmin):
    list_display = [
        "stock",
        "trade_date",
        "open",
        "high",
        "low",
        "close",
        "change",
        "volume_lots",
        "turnover",
        "demo_flag",
    ]
    list_filter = ["trade_date", "stock__market"]
    list_select_related = ["stock"]
    search_fields = ["stock__code", "stock__name"]
    autocomplete_fields = ["stock"]
    date_hierarchy = "trade_date"
    show_full_result_count = False
    readonly_fields = ["created_at"]

    @admin.display(description=_("volume (lots, 張)"), ordering="volume")
    def volume_lots(self, obj: DailyQuote) -> str:
        return f"{obj.volume // 1000:,}"


@admin.register(TradingDayOverride)
class TradingDayOverrideAdmin(ModelAdmin):
    list_display = ["date", "weekday", "is_open", "reason", "updated_at"]
    list_filter = ["is_open"]
    search_fields = ["reason"]
    date_hierarchy = "date"
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description=_("weekday"))
    def weekday(self, obj: TradingDayOverride) -> str:
        return formats.date_format(obj.date, "l")


@admin.register(NewsFeed)
class NewsFeedAdmin(ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "url", "is_active", "last_fetched_at", "last_error_short", "last_error_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    readonly_fields = ["last_fetched_at", "last_error", "last_error_at", "created_at"]
    actions = ["fetch_now"]

    @admin.display(description=_("last error"))
    def last_error_short(self, obj: NewsFeed) -> str:
        return Truncator(obj.last_error).chars(80)

    @admin.action(description=_("Fetch the selected feeds now"), permissions=["change"])
    def fetch_now(self, request: HttpRequest, queryset: QuerySet[NewsFeed]) -> None:
        result = news_fetch_feeds(feeds=queryset)
        self.message_user(
            request,
            _("%(feeds)s feed(s) fetched, %(failed)s failed, %(created)s new item(s).")
            % {"feeds": result.feeds, "failed": result.failed, "created": result.created},
        )


@admin.register(NewsItem)
class NewsItemAdmin(DemoColumnMixin, ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "source", "origin", "published_at", "fetched_at", "stock_codes", "demo_flag"]
    list_filter = ["origin", "feed", "published_at"]
    list_select_related = ["feed"]
    search_fields = ["title", "url", "stocks__code", "stocks__name"]
    autocomplete_fields = ["stocks", "feed"]
    date_hierarchy = "fetched_at"
    show_full_result_count = False
    readonly_fields = ["fetched_at", "raw_shown"]
    exclude = ["raw"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[NewsItem]:
        return super().get_queryset(request).prefetch_related("stocks")

    @admin.display(description=_("raw"))
    def raw_shown(self, obj: NewsItem) -> SafeString | str:
        return data_table(obj.raw)

    @admin.display(description=_("stocks"))
    def stock_codes(self, obj: NewsItem) -> str:
        return ", ".join(stock.code for stock in obj.stocks.all())
