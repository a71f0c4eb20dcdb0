from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from analytics.models import InteractionSnapshot
from demo.world import demo_load
from kols.models import KOL, PlatformAccount
from market.models import DailyQuote, Stock
from posting.models import Post, Publication
from posting.models.publishing import Backend
from scheduling.models import Schedule
from tests.factories import DailyQuoteFactory, KOLFactory, PostFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 11, 10, 0, tzinfo=ZoneInfo("Asia/Taipei"))


def test_the_demo_has_six_personas_sixty_days_of_thirty_stocks_and_every_status(
    demo_world: dict[str, int],
) -> None:
    assert KOL.objects.filter(is_demo=True).count() == 6
    assert DailyQuote.objects.filter(is_demo=True).values("stock").distinct().count() == 30
    assert DailyQuote.objects.filter(is_demo=True).values("trade_date").distinct().count() == 60
    assert set(Post.objects.filter(is_demo=True).values_list("status", flat=True)) == set(Post.Status.values)
    assert InteractionSnapshot.objects.filter(is_demo=True).exists()
    assert Schedule.objects.filter(is_demo=True).count() == 1


def test_demo_publications_are_dry_runs_and_demo_kols_never_reach_a_platform(
    demo_world: dict[str, int],
) -> None:
    assert set(Publication.objects.filter(post__is_demo=True).values_list("backend", flat=True)) == {
        Backend.DRY_RUN
    }
    assert not KOL.objects.filter(is_demo=True, dry_run=False).exists()
    assert not any(account.has_credentials for account in PlatformAccount.objects.filter(is_demo=True))


def test_loading_the_demo_twice_duplicates_nothing(demo_world: dict[str, int]) -> None:
    with time_machine.travel(NOW, tick=False):
        assert demo_load() == demo_world


def test_the_demo_never_overwrites_a_real_quote() -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("load_stocks")
        real = DailyQuoteFactory(
            stock=Stock.objects.get(code="2330"), trade_date=dt.date(2026, 3, 10), close=1000
        )
        demo_load()
    real.refresh_from_db()
    assert real.close == 1000 and not real.is_demo


def test_demo_remove_deletes_exactly_the_demo(demo_world: dict[str, int]) -> None:
    kol = KOLFactory()
    post = PostFactory(kol=kol)
    quote = DailyQuoteFactory()
    call_command("demo", "--remove")
    assert not KOL.objects.filter(is_demo=True).exists()
    assert not Post.objects.filter(is_demo=True).exists()
    assert not DailyQuote.objects.filter(is_demo=True).exists()
    assert not InteractionSnapshot.objects.exists()
    assert not Schedule.objects.exists()
    assert KOL.objects.get() == kol and Post.objects.get() == post and DailyQuote.objects.get() == quote
