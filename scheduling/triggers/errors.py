"""Why a trigger could not be evaluated. Each names what was wrong or missing; none is ever papered over."""

from __future__ import annotations

from config.exceptions import ServiceError


class TriggerConfigError(ServiceError):
    code = "invalid_trigger_config"


class TriggerDataMissing(ServiceError):
    """The stored market data lacks a day (or everything) the trigger needs."""

    code = "trigger_data_missing"


class UnknownStockError(ServiceError):
    code = "unknown_stock"


class UnknownIndustryError(ServiceError):
    code = "unknown_industry"


class IntradaySourceMissing(ServiceError):
    code = "intraday_source_missing"
    status_code = 409
