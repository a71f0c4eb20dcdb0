"""Triggers: which stocks (or topics) deserve a post today, ranked, each with the numbers behind it.

    result = trigger_evaluate(trigger_type="limit_up", config={"threshold_pct": 9.5})

Evaluating only reads: a preview from the admin or the API is this same call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from scheduling.trigger_types import TriggerType
from scheduling.triggers import intraday, movers, news, screens
from scheduling.triggers.config import trigger_config_clean
from scheduling.triggers.errors import (
    IntradaySourceMissing,
    TriggerConfigError,
    TriggerDataMissing,
    UnknownIndustryError,
    UnknownStockError,
)
from scheduling.triggers.results import Candidate, Exclusion, TriggerResult

Evaluator = Callable[[dict[str, Any], "dt.date | None"], TriggerResult]

EVALUATORS: dict[str, Evaluator] = {
    TriggerType.INDIVIDUAL: screens.individual,
    TriggerType.SECTOR: screens.sector,
    TriggerType.LIMIT_UP: movers.limit_up,
    TriggerType.LIMIT_DOWN: movers.limit_down,
    TriggerType.VOLUME_SURGE: movers.volume_surge,
    TriggerType.TURNOVER_LEADERS: movers.turnover_leaders,
    TriggerType.TURNOVER_CHANGE: movers.turnover_change,
    TriggerType.TOP_GAINERS: movers.top_gainers,
    TriggerType.TOP_LOSERS: movers.top_losers,
    TriggerType.NEWS: news.news,
    TriggerType.MACRO: news.macro,
    TriggerType.CUSTOM: screens.custom,
    TriggerType.INTRADAY: intraday.intraday,
}


def trigger_evaluate(
    *, trigger_type: str, config: Mapping[str, Any] | None, as_of: dt.date | None = None
) -> TriggerResult:
    """Evaluate one trigger over the stored market data, writing nothing.

    ``as_of`` is the trading day to look at (default: the latest day with quotes stored); the news and
    macro triggers read it as "the news window ends that evening" (default: now). Bad config raises
    TriggerConfigError naming the key; missing data raises TriggerDataMissing naming what is missing.
    """
    evaluator = EVALUATORS.get(trigger_type)
    if evaluator is None:
        raise TriggerConfigError(
            _("Unknown trigger type %(type)s; known: %(known)s.")
            % {"type": trigger_type, "known": ", ".join(TriggerType.values)},
            fields={"trigger_type": [str(trigger_type)]},
        )
    cleaned = trigger_config_clean(trigger_type, config)
    return evaluator(cleaned, as_of)


__all__ = [
    "EVALUATORS",
    "Candidate",
    "Exclusion",
    "IntradaySourceMissing",
    "TriggerConfigError",
    "TriggerDataMissing",
    "TriggerResult",
    "UnknownIndustryError",
    "UnknownStockError",
    "trigger_evaluate",
]
