"""The LLM's configuration: the server, model, prices and limits from settings, and a KOL's own overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _

from posting.llm.errors import LLMNotConfiguredError

if TYPE_CHECKING:
    from kols.models import KOL

STRUCTURED_OUTPUT_MODES = ("json_schema", "json_object", "prompt")


@dataclass(frozen=True)
class Price:
    input: Decimal
    output: Decimal


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    api_key: str = field(repr=False)
    model: str
    timeout_seconds: float = 60.0
    max_retries: int = 2
    structured_output: str = "json_schema"
    temperature: float = 0.8
    max_tokens: int = 1500
    prices: Mapping[str, Price] = field(default_factory=dict)
    backoff_seconds: float = 1.0
    retry_after_max_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.structured_output not in STRUCTURED_OUTPUT_MODES:
            raise ValueError(f"structured_output must be one of {STRUCTURED_OUTPUT_MODES}")

    @classmethod
    def from_settings(cls) -> LLMConfig:
        if not llm_is_configured():
            raise LLMNotConfiguredError(
                _("No LLM is configured (LLM_BASE_URL is empty); use the template writer instead.")
            )
        return cls(
            base_url=settings.LLM_BASE_URL,
            api_key=settings.LLM_API_KEY,
            model=settings.LLM_MODEL,
            timeout_seconds=settings.LLM_TIMEOUT_SECONDS,
            max_retries=settings.LLM_MAX_RETRIES,
            structured_output=settings.LLM_STRUCTURED_OUTPUT,
            temperature=settings.LLM_TEMPERATURE,
            max_tokens=settings.LLM_MAX_TOKENS,
            prices={
                model: Price(input=Decimal(str(entry["input"])), output=Decimal(str(entry["output"])))
                for model, entry in settings.LLM_PRICES.items()
            },
            backoff_seconds=settings.LLM_RETRY_BACKOFF_SECONDS,
            retry_after_max_seconds=settings.LLM_RETRY_AFTER_MAX_SECONDS,
        )


def llm_is_configured() -> bool:
    return bool(settings.LLM_BASE_URL)


@dataclass(frozen=True)
class CallOptions:
    model: str
    temperature: float
    max_tokens: int


def call_options_for(*, config: LLMConfig, kol: KOL | None = None) -> CallOptions:
    """The KOL's own model, temperature and max tokens where set; the site defaults otherwise."""
    if kol is None:
        return CallOptions(model=config.model, temperature=config.temperature, max_tokens=config.max_tokens)
    return CallOptions(
        model=kol.llm_model or config.model,
        temperature=float(kol.llm_temperature) if kol.llm_temperature is not None else config.temperature,
        max_tokens=kol.llm_max_tokens or config.max_tokens,
    )
