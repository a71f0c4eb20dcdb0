"""A draft's stance on its stock, and its consistency with what the personas said before.

At check time the draft's stance (bullish / bearish / neutral) and its thesis in one line are read by the
LLM when the compliance classifier runs (it answers them with its findings: posting/checks/classifier.py),
else by rules:
cue words for each side, weighted (「看多」 counts more than 「轉強」), a negated strong cue counting for the
other side (「不看好」). The report carries them (``stance`` in the check summary); when the post is
published the lifecycle copies them into the ledger (posting/lifecycle/stance.py).

Two findings come from the ledger:

- ``stance.reversal``: the same persona published the opposite stance on the same stock within
  ``STANCE_REVERSAL_TRADING_DAYS`` trading days and this draft does not say why its view changed
  (「之前看多，但法說會後修正看法」 says why). The finding links the earlier post.
- ``stance.coordinated``: ``STANCE_COORDINATED_PERSONAS`` personas or more (this one included) take the same
  side on the same stock on the same day (Asia/Taipei), counting published posts and live drafts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from kols.models import KOL
from market.calendar import TAIPEI, trading_days
from market.models import Stock
from posting.checks.compliance import is_negated
from posting.checks.text import fold, fold_pattern, fold_phrase, words
from posting.checks.types import Finding
from posting.models import Post, Stance, StanceEntry

_BULL_STRONG = words("看多 看好 偏多 看漲 做多 看俏 轉多 翻多 樂觀看待 長線看好 bullish")
_BULL_WEAK = words(
    "轉強 起漲 續漲 續強 上攻 上看 逢低 布局 佈局 加碼 低接 利多 多頭 強勢 樂觀 有望 可望 值得期待 潛力 突破 站上 買點"
)
_BEAR_STRONG = words("看空 看壞 看淡 偏空 看跌 做空 看衰 轉空 翻空 悲觀看待 bearish")
_BEAR_WEAK = words(
    "轉弱 續跌 續弱 下看 減碼 調節 出場 獲利了結 保守 利空 空頭 弱勢 悲觀 跌破 避開 隱憂 疑慮 下修 過熱 賣壓"
)
STRONG, WEAK = 2, 1
# A side needs this much more weight than the other; below it the draft is neutral.
MARGIN = 2
THESIS_CHARS = 120

# The draft says why its view changed.
_EXPLAINED = (
    r"(改變|修正|調整|更新|轉變|翻轉|下修|上修)(了)?(我的|先前的?|之前的?|原本的?|原先的?)?(看法|觀點|立場|判斷|想法|評價)"
    r"|(先前|之前|上次|原本|原先|日前|上週|上周|前幾天|前陣子|前天|昨天)[^。！？!?\n]{0,12}"
    r"(看多|看好|偏多|看空|偏空|看壞|看淡|樂觀|悲觀|看法|觀點|提到|說過|認為|判斷)"
    r"|認錯|看錯|我錯了|停損出場|改口|轉為(看空|看多|保守|樂觀|中性|偏多|偏空)|不再(看好|看多|看空|樂觀|悲觀)"
    r"|由多(翻|轉)空|由空(翻|轉)多"
)
_SENTENCES = re.compile(r"[^。！？!?\n]+[。！？!?]?")
_LIVE_DRAFT_STATES = (
    Post.Status.DRAFT,
    Post.Status.PENDING_REVIEW,
    Post.Status.CHANGES_REQUESTED,
    Post.Status.APPROVED,
    Post.Status.SCHEDULED,
    Post.Status.PUBLISHING,
)


@dataclass(frozen=True)
class StanceReading:
    stance: str
    thesis: str
    source: str
    explained: bool
    bull: int
    bear: int
    # Where the thesis sentence is in the body (None when it is in the title or there is none).
    start: int | None = None
    end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stance": self.stance,
            "thesis": self.thesis,
            "source": self.source,
            "explained": self.explained,
            "bull": self.bull,
            "bear": self.bear,
        }


@lru_cache(maxsize=1)
def _cues() -> tuple[re.Pattern[str], dict[str, tuple[str, int]], re.Pattern[str]]:
    weights: dict[str, tuple[str, int]] = {}
    for side, cues, weight in (
        ("bull", _BULL_STRONG, STRONG),
        ("bull", _BULL_WEAK, WEAK),
        ("bear", _BEAR_STRONG, STRONG),
        ("bear", _BEAR_WEAK, WEAK),
    ):
        for cue in cues:
            weights[fold_phrase(cue)] = (side, weight)
    alternatives = sorted(weights, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(cue) for cue in alternatives), re.IGNORECASE)
    return pattern, weights, re.compile(fold_pattern(_EXPLAINED), re.IGNORECASE)


def _score(folded: str) -> tuple[int, int, dict[int, int]]:
    """Bull and bear weight, and the net weight per character offset of each cue."""
    pattern, weights, _explained = _cues()
    bull = bear = 0
    at: dict[int, int] = {}
    for match in pattern.finditer(folded):
        side, weight = weights[match.group().lower()]
        if is_negated(folded, match.start(), match.end()):
            if weight < STRONG:
                continue
            side = "bear" if side == "bull" else "bull"
        if side == "bull":
            bull += weight
        else:
            bear += weight
        at[match.start()] = weight if side == "bull" else -weight
    return bull, bear, at


def stance_read(*, title: str, body: str) -> StanceReading:
    """The draft's stance and thesis, read by rules."""
    folded_body = fold(body)
    bull, bear, at = _score(fold(title).text + "\n" + folded_body.text)
    offset = len(fold(title).text) + 1
    if bull - bear >= MARGIN:
        stance = Stance.BULLISH.value
    elif bear - bull >= MARGIN:
        stance = Stance.BEARISH.value
    else:
        stance = Stance.NEUTRAL.value
    explained = bool(_cues()[2].search(folded_body.text)) or bool(_cues()[2].search(fold(title).text))
    thesis, start, end = _thesis(body, folded_body, at, offset, stance)
    return StanceReading(stance, thesis, "rules", explained, bull, bear, start, end)


def _thesis(
    body: str, folded: Any, at: Mapping[int, int], offset: int, stance: str
) -> tuple[str, int | None, int | None]:
    """The body sentence carrying the most weight for the stance taken (the first sentence when neutral)."""
    sign = {Stance.BULLISH.value: 1, Stance.BEARISH.value: -1}.get(stance, 0)
    best: tuple[int, int, int] | None = None
    for match in _SENTENCES.finditer(folded.text):
        weight = sum(w for pos, w in at.items() if match.start() <= pos - offset < match.end())
        score = weight * sign if sign else 0
        if best is None or score > best[0]:
            best = (score, match.start(), match.end())
    if best is None:
        return "", None, None
    start, end = folded.span(best[1], best[2])
    sentence = body[start:end].strip()
    return sentence[:THESIS_CHARS], start, end


# --- The ledger -------------------------------------------------------------------------------------


def window_start(*, now: dt.datetime | None = None, days: int | None = None) -> dt.datetime:
    """The start (Asia/Taipei midnight) of the oldest of the last ``days`` trading days, today included."""
    days = days or settings.STANCE_REVERSAL_TRADING_DAYS
    today = timezone.localtime(now or timezone.now(), TAIPEI).date()
    span = trading_days(today - dt.timedelta(days=days * 2 + 30), today)
    first = span[-days] if len(span) >= days else (span[0] if span else today)
    return dt.datetime.combine(first, dt.time.min, tzinfo=TAIPEI)


def _opposite(stance: str) -> str | None:
    return {Stance.BULLISH.value: Stance.BEARISH.value, Stance.BEARISH.value: Stance.BULLISH.value}.get(
        stance
    )


def reversal_finding(
    *,
    reading: StanceReading,
    kol: KOL,
    stock: Stock,
    exclude_post_id: Any = None,
    now: dt.datetime | None = None,
) -> Finding | None:
    opposite = _opposite(reading.stance)
    if opposite is None or reading.explained:
        return None
    earlier = (
        StanceEntry.objects.filter(kol=kol, stock=stock, published_at__gte=window_start(now=now))
        .exclude(post_id=exclude_post_id)
        .select_related("post")
        .order_by("-published_at")
        .first()
    )
    if earlier is None or earlier.stance != opposite:
        return None
    when = timezone.localtime(earlier.published_at, TAIPEI)
    values = {
        "kol": kol.nickname,
        "stance": Stance(reading.stance).label,
        "earlier": Stance(earlier.stance).label,
        "stock": stock.code,
        "date": when.strftime("%Y-%m-%d"),
        "title": earlier.post.title,
        "days": settings.STANCE_REVERSAL_TRADING_DAYS,
    }
    return Finding(
        code="stance.reversal",
        severity="warn",
        excerpt=reading.thesis,
        message=_(
            "%(kol)s was %(earlier)s on %(stock)s on %(date)s (「%(title)s」), within %(days)s trading days; "
            "this draft is %(stance)s and does not say why the view changed."
        )
        % values,
        field="body" if reading.start is not None else None,
        start=reading.start,
        end=reading.end,
        detail={
            "rule": "stance.reversal",
            "earlier_post_id": str(earlier.post_id),
            "earlier_stance": earlier.stance,
            "earlier_thesis": earlier.thesis,
            "earlier_published_at": earlier.published_at.isoformat(),
            "stance": reading.stance,
            "window_trading_days": settings.STANCE_REVERSAL_TRADING_DAYS,
        },
    )


def coordinated_finding(
    *,
    reading: StanceReading,
    kol: KOL,
    stock: Stock,
    exclude_post_id: Any = None,
    now: dt.datetime | None = None,
) -> Finding | None:
    if _opposite(reading.stance) is None:
        return None
    local_now = timezone.localtime(now or timezone.now(), TAIPEI)
    day_start = dt.datetime.combine(local_now.date(), dt.time.min, tzinfo=TAIPEI)
    day_end = day_start + dt.timedelta(days=1)
    published = (
        StanceEntry.objects.filter(
            stock=stock, stance=reading.stance, published_at__gte=day_start, published_at__lt=day_end
        )
        .exclude(kol=kol)
        .exclude(post_id=exclude_post_id)
        .values_list("kol_id", flat=True)
    )
    drafts = (
        Post.objects.filter(
            stock=stock,
            status__in=_LIVE_DRAFT_STATES,
            created_at__gte=day_start,
            created_at__lt=day_end,
            check_summary__stance__stance=reading.stance,
        )
        .exclude(kol=kol)
        .exclude(pk=exclude_post_id)
        .values_list("kol_id", flat=True)
    )
    others = set(published) | set(drafts)
    if len(others) + 1 < settings.STANCE_COORDINATED_PERSONAS:
        return None
    names = list(KOL.objects.filter(pk__in=others).order_by("pk").values_list("pk", flat=True))
    return Finding(
        code="stance.coordinated",
        severity="warn",
        excerpt=reading.thesis,
        message=_(
            "%(count)s personas are %(stance)s on %(stock)s today (this one included): "
            "the same side from several voices on one day reads as coordinated."
        )
        % {"count": len(others) + 1, "stance": Stance(reading.stance).label, "stock": stock.code},
        field="body" if reading.start is not None else None,
        start=reading.start,
        end=reading.end,
        detail={
            "rule": "stance.coordinated",
            "stance": reading.stance,
            "other_kol_ids": names,
            "threshold": settings.STANCE_COORDINATED_PERSONAS,
        },
    )


@dataclass(frozen=True)
class StanceCheck:
    reading: StanceReading
    findings: tuple[Finding, ...]


def stance_check(
    *,
    title: str,
    body: str,
    kol: KOL | None,
    stock: Stock | None,
    exclude_post_id: Any = None,
    llm_reading: Mapping[str, str] | None = None,
) -> StanceCheck:
    """The draft's stance, and the ledger's findings when the persona and the stock are known.

    ``llm_reading`` ({"stance", "thesis"}) is the LLM's reading; without it the rules read the stance.
    Whether the draft explains a change of view is always read by rules.
    """
    reading = stance_read(title=title, body=body)
    if llm_reading and llm_reading.get("stance") in Stance.values:
        thesis = llm_reading.get("thesis", "").strip()
        reading = replace(reading, stance=llm_reading["stance"], source="llm")
        if thesis:
            reading = replace(reading, thesis=thesis[:THESIS_CHARS], start=None, end=None)
    if kol is None or stock is None or getattr(stock, "pk", None) is None:
        return StanceCheck(reading, ())
    found = [
        reversal_finding(reading=reading, kol=kol, stock=stock, exclude_post_id=exclude_post_id),
        coordinated_finding(reading=reading, kol=kol, stock=stock, exclude_post_id=exclude_post_id),
    ]
    return StanceCheck(reading, tuple(finding for finding in found if finding is not None))


# --- The post page ----------------------------------------------------------------------------------


def stance_panel(*, post: Post) -> dict[str, Any] | None:
    """The reversal side by side for the post page: this draft's stance and thesis, and the earlier post."""
    finding = next(
        (item for item in post.check_findings or [] if item.get("code") == "stance.reversal"), None
    )
    current = (post.check_summary or {}).get("stance") or {}
    if finding is None:
        return None
    earlier_id = (finding.get("detail") or {}).get("earlier_post_id")
    earlier = (
        Post.objects.filter(pk=earlier_id).select_related("kol", "stance_entry").first()
        if earlier_id
        else None
    )
    return {
        "finding": finding,
        "current": {"stance": current.get("stance", ""), "thesis": current.get("thesis", ""), "post": post},
        "current_label": Stance(current["stance"]).label if current.get("stance") in Stance.values else "",
        "earlier": earlier,
        "earlier_entry": getattr(earlier, "stance_entry", None) if earlier else None,
    }
