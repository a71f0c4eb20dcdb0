"""The intraday trigger, refused: KOL Studio stores daily quotes only, and guessing from them would lie."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from scheduling.triggers.errors import IntradaySourceMissing
from scheduling.triggers.results import TriggerResult


def intraday(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    raise IntradaySourceMissing(
        _(
            "The intraday trigger needs an intraday quote source, and none is configured: KOL Studio "
            "stores daily closing quotes only (TWSE/TPEx daily, FinLab, CSV import). Use a daily trigger "
            "such as top_gainers instead."
        )
    )
