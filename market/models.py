from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext


class Market(models.TextChoices):
    TWSE = "TWSE", _("TWSE (listed)")
    TPEX = "TPEx", _("TPEx (OTC)")


class InstrumentType(models.TextChoices):
    """What a code is; see market/instruments.py for the rules that decide it from code and name."""

    COMMON = "common", _("common stock")
    ETF = "etf", _("ETF")
    ETN = "etn", _("ETN")
    WARRANT = "warrant", _("warrant")
    TDR = "tdr", _("TDR (depositary receipt)")
    REIT = "reit", _("REIT")
    PREFERRED = "preferred", _("preferred share")
    OTHER = "other", _("other")


class Stock(models.Model):
    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=100)
    market = models.CharField(
        _("market"), max_length=4, choices=Market.choices, blank=True, help_text=_("Empty where unknown.")
    )
    industry = models.CharField(_("industry"), max_length=50, blank=True, db_index=True)
    issued_shares = models.BigIntegerField(_("issued shares"), null=True, blank=True)
    capital_twd = models.BigIntegerField(_("capital (TWD)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    instrument_type = models.CharField(
        _("instrument type"),
        max_length=10,
        choices=InstrumentType.choices,
        default=InstrumentType.COMMON,
        db_index=True,
        help_text=_("Derived from the code and name: common stock, ETF, warrant, …"),
    )
    last_seen_on = models.DateField(
        _("last seen in its feed"),
        null=True,
        blank=True,
        help_text=_("The last trading day the exchange's daily feed listed this code."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stocks")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(market__in=["TWSE", "TPEx", ""]), name="stock_market_valid"),
            models.CheckConstraint(
                condition=Q(issued_shares__isnull=True) | Q(issued_shares__gte=0),
                name="stock_shares_nonnegative",
            ),
            models.CheckConstraint(condition=~Q(code=""), name="stock_code_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class DailyQuote(models.Model):
    """One trading day of one stock. Prices are empty on a day with no trade (suspended)."""

    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="quotes", verbose_name=_("stock"))
    trade_date = models.DateField(_("trade date"))
    open = models.DecimalField(_("open"), max_digits=12, decimal_places=2, null=True, blank=True)
    high = models.DecimalField(_("high"), max_digits=12, decimal_places=2, null=True, blank=True)
    low = models.DecimalField(_("low"), max_digits=12, decimal_places=2, null=True, blank=True)
    close = models.DecimalField(_("close"), max_digits=12, decimal_places=2, null=True, blank=True)
    change = models.DecimalField(_("change"), max_digits=12, decimal_places=2, null=True, blank=True)
    volume = models.BigIntegerField(_("volume (shares)"), default=0)
    turnover = models.BigIntegerField(_("turnover (TWD)"), default=0)
    transactions = models.IntegerField(_("transactions"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo"), default=False, help_text=_("Created by the demo command."))
    created_at = models.DateTimeField(_("fetched"), auto_now_add=True)

    class Meta:
        verbose_name = _("daily quote")
        verbose_name_plural = _("daily quotes")
        ordering = ["-trade_date", "stock"]
        indexes = [models.Index(fields=["trade_date"], name="quote_trade_date_idx")]
        constraints = [
            models.UniqueConstraint(fields=["stock", "trade_date"], name="quote_one_per_stock_day"),
            models.CheckConstraint(
                condition=Q(volume__gte=0) & Q(turnover__gte=0), name="quote_volume_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(high__isnull=True) | Q(low__isnull=True) | Q(high__gte=F("low")),
                name="quote_high_not_below_low",
            ),
            models.CheckConstraint(
                condition=Q(close__isnull=True) | Q(close__gt=0), name="quote_close_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stock_id} {self.trade_date}"


class TradingDayOverride(models.Model):
    """The exchange's own decision for one day, over the XTAI calendar: a typhoon closure or a make-up day."""

    date = models.DateField(_("date"), unique=True)
    is_open = models.BooleanField(
        _("market open"),
        help_text=_("On: the exchange trades this day (a make-up trading day). Off: it is closed (typhoon)."),
    )
    reason = models.CharField(
        _("reason"), max_length=200, help_text=_("For example: 颱風停止交易 (typhoon).")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("trading day override")
        verbose_name_plural = _("trading day overrides")
        ordering = ["-date"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="trading_override_reason_required")
        ]

    def __str__(self) -> str:
        state = pgettext("trading day", "open") if self.is_open else pgettext("trading day", "closed")
        return f"{self.date} {state}"


class NewsFeed(models.Model):
    """An RSS or Atom feed fetched every half hour while active."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_fetched_at = models.DateTimeField(_("last fetched"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("news feed")
        verbose_name_plural = _("news feeds")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NewsItem(models.Model):
    """One headline from Serper or a feed, stored once per normalised URL and matched to stocks."""

    class Origin(models.TextChoices):
        SERPER = "serper", _("Serper search")
        FEED = "feed", _("RSS/Atom feed")

    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices)
    feed = models.ForeignKey(
        NewsFeed,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="items",
        verbose_name=_("feed"),
    )
    source = models.CharField(_("source"), max_length=100, blank=True, help_text=_("Publisher or feed name."))
    query = models.CharField(_("search query"), max_length=200, blank=True)
    # Without utm_* parameters and the fragment, so one article shared with different tags is one row.
    url = models.URLField(_("URL"), max_length=800, unique=True)
    title = models.CharField(_("title"), max_length=500)
    snippet = models.TextField(_("snippet"), blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    fetched_at = models.DateTimeField(_("fetched"), db_index=True)
    stocks = models.ManyToManyField(Stock, blank=True, related_name="news_items", verbose_name=_("stocks"))
    raw = models.JSONField(_("raw"), default=dict, blank=True)
    is_demo = models.BooleanField(_("demo"), default=False, help_text=_("Created by the demo command."))

    class Meta:
        verbose_name = _("news item")
        verbose_name_plural = _("news items")
        ordering = ["-fetched_at", "-id"]
        indexes = [models.Index(fields=["published_at"], name="newsitem_published_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(origin__in=["serper", "feed"]), name="newsitem_origin_valid"),
            models.CheckConstraint(condition=~Q(title=""), name="newsitem_title_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title
