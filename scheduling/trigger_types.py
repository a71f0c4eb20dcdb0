"""Trigger types and the JSON Schema each one's config must satisfy.

The schema is the contract: the admin and the API validate a schedule's ``trigger_config`` against it,
and ``GET /api/triggers/`` publishes it.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from scheduling.trigger_labels import CHOICE_LABELS, TYPE_LABELS, path_label


class TriggerType(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual stocks")
    SECTOR = "sector", _("Sector")
    LIMIT_UP = "limit_up", _("Limit up")
    LIMIT_DOWN = "limit_down", _("Limit down")
    VOLUME_SURGE = "volume_surge", _("Volume surge")
    TURNOVER_LEADERS = "turnover_leaders", _("Turnover leaders")
    TURNOVER_CHANGE = "turnover_change", _("Turnover change")
    TOP_GAINERS = "top_gainers", _("Top gainers")
    TOP_LOSERS = "top_losers", _("Top losers")
    NEWS = "news", _("News keywords")
    MACRO = "macro", _("Macro topics")
    CUSTOM = "custom", _("Custom screen")
    INTRADAY = "intraday", _("Intraday")


_LIMIT: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 200, "default": 10}
_PCT: dict[str, Any] = {"type": "number", "minimum": -100, "maximum": 100}
_RANGE_PCT: dict[str, Any] = {
    "type": "object",
    "properties": {"min": _PCT, "max": _PCT},
    "additionalProperties": False,
}
_TEXTS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": 100},
    "minItems": 1,
    "maxItems": 50,
    "uniqueItems": True,
}
_LOOKBACK: dict[str, Any] = {"type": "integer", "minimum": 5, "maximum": 120, "default": 20}
_WINDOW_HOURS: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 168, "default": 24}
_THRESHOLD: dict[str, Any] = {"type": "number", "minimum": 1, "maximum": 10, "default": 9.5}
# Market-wide triggers judge common stocks only; ETFs join when a trigger's config says so. Other
# instrument types (warrants, ETNs, preferred shares, ...) are never considered.
_INCLUDE_ETFS: dict[str, Any] = {"type": "boolean", "default": False}


def _schema(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
    }


CONFIG_SCHEMAS: dict[str, dict[str, Any]] = {
    TriggerType.INDIVIDUAL: _schema(
        {
            "stock_codes": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[0-9A-Z]{4,6}$"},
                "minItems": 1,
                "maxItems": 200,
                "uniqueItems": True,
            }
        },
        ["stock_codes"],
    ),
    TriggerType.SECTOR: _schema(
        {
            "industries": _TEXTS,
            "rank_by": {"enum": ["change_pct", "turnover", "volume_ratio"], "default": "change_pct"},
            "lookback_days": _LOOKBACK,
            "limit": _LIMIT,
        },
        ["industries"],
    ),
    TriggerType.LIMIT_UP: _schema(
        {"include_etfs": _INCLUDE_ETFS, "threshold_pct": _THRESHOLD, "limit": _LIMIT}
    ),
    TriggerType.LIMIT_DOWN: _schema(
        {"include_etfs": _INCLUDE_ETFS, "threshold_pct": _THRESHOLD, "limit": _LIMIT}
    ),
    TriggerType.VOLUME_SURGE: _schema(
        {
            "ratio": {"type": "number", "minimum": 1, "maximum": 100, "default": 2.0},
            "lookback_days": _LOOKBACK,
            "include_etfs": _INCLUDE_ETFS,
            "limit": _LIMIT,
        }
    ),
    TriggerType.TURNOVER_LEADERS: _schema({"include_etfs": _INCLUDE_ETFS, "limit": _LIMIT}),
    TriggerType.TURNOVER_CHANGE: _schema(
        {
            "min_change_pct": {"type": "number", "minimum": 0, "default": 50},
            "min_turnover_twd": {"type": "number", "minimum": 0, "default": 0},
            "include_etfs": _INCLUDE_ETFS,
            "limit": _LIMIT,
        }
    ),
    TriggerType.TOP_GAINERS: _schema({"include_etfs": _INCLUDE_ETFS, "limit": _LIMIT}),
    TriggerType.TOP_LOSERS: _schema({"include_etfs": _INCLUDE_ETFS, "limit": _LIMIT}),
    TriggerType.NEWS: _schema(
        {"keywords": _TEXTS, "window_hours": _WINDOW_HOURS, "limit": _LIMIT},
        ["keywords"],
    ),
    TriggerType.MACRO: _schema(
        {
            "topics": _TEXTS,
            "window_hours": _WINDOW_HOURS,
            "require_news": {"type": "boolean", "default": False},
            "limit": _LIMIT,
        },
        ["topics"],
    ),
    TriggerType.CUSTOM: _schema(
        {
            "industries": _TEXTS,
            "price": {
                "type": "object",
                "properties": {
                    "min": {"type": "number", "minimum": 0},
                    "max": {"type": "number", "minimum": 0},
                },
                "additionalProperties": False,
            },
            "change_pct": _RANGE_PCT,
            "volume_ratio_min": {"type": "number", "minimum": 0},
            "market_cap_min_twd": {"type": "number", "minimum": 0},
            "market_cap_max_twd": {"type": "number", "minimum": 0},
            "rank_by": {
                "enum": ["turnover", "change_pct", "volume_ratio", "market_cap"],
                "default": "turnover",
            },
            "lookback_days": _LOOKBACK,
            "include_etfs": _INCLUDE_ETFS,
            "limit": _LIMIT,
        }
    ),
    TriggerType.INTRADAY: _schema(
        {"change_pct_min": {"type": "number", "minimum": 0, "default": 3}, "limit": _LIMIT}
    ),
}


def trigger_config_with_defaults(trigger_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config with every top-level default of its schema filled in (the config itself wins)."""
    properties = CONFIG_SCHEMAS[trigger_type]["properties"]
    defaults = {key: spec["default"] for key, spec in properties.items() if "default" in spec}
    return {**defaults, **config}


# jsonschema's English messages, as sentences naming the setting by its label (trigger_labels.py).
_VALIDATOR_SENTENCES: dict[str, Any] = {
    "minimum": _("%(label)s must be at least %(limit)s."),
    "maximum": _("%(label)s must be at most %(limit)s."),
    "exclusiveMinimum": _("%(label)s must be above %(limit)s."),
    "exclusiveMaximum": _("%(label)s must be below %(limit)s."),
    "minLength": _("Each entry of %(label)s needs at least %(limit)s characters."),
    "maxLength": _("Each entry of %(label)s may have at most %(limit)s characters."),
    "minItems": _("%(label)s needs at least %(limit)s entries."),
    "maxItems": _("%(label)s takes at most %(limit)s entries."),
    "uniqueItems": _("%(label)s lists an entry twice."),
    "pattern": _("%(label)s has an entry in the wrong format: %(value)s."),
}


def _sentence(error: jsonschema.ValidationError, path: list[str]) -> str:
    label = path_label(path) if path else str(_("The trigger settings"))
    validator = str(error.validator)
    if validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else "value"
        kind = TYPE_LABELS.get(expected, expected)
        return str(_("%(label)s must be a %(type)s.")) % {"label": label, "type": kind}
    if validator == "enum":
        choices = "、".join(str(CHOICE_LABELS.get(value, value)) for value in error.validator_value)
        return str(_("%(label)s must be one of %(values)s.")) % {"label": label, "values": choices}
    if validator in _VALIDATOR_SENTENCES:
        values = {"label": label, "limit": error.validator_value, "value": error.instance}
        return str(_VALIDATOR_SENTENCES[validator]) % values
    return f"{label}: {error.message}"


def trigger_config_problems(trigger_type: str, config: object) -> list[tuple[list[str], str]]:
    """Each way ``config`` misses its type's schema: the key path (["stock_codes", "0"]) and a sentence."""
    schema = CONFIG_SCHEMAS[trigger_type]
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(config), key=lambda error: [str(part) for part in error.absolute_path]
    )
    problems: list[tuple[list[str], str]] = []
    for error in errors:
        path = [str(part) for part in error.absolute_path]
        instance = error.instance if isinstance(error.instance, dict) else {}
        if error.validator == "required":
            for name in error.validator_value:
                if name not in instance:
                    sentence = str(_("%(label)s is required.")) % {"label": path_label([*path, name])}
                    problems.append(([*path, name], sentence))
        elif error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            hint = str(_("unknown key (allowed: %(allowed)s).")) % {"allowed": ", ".join(allowed)}
            problems.extend(
                ([*path, str(name)], hint) for name in sorted(map(str, instance)) if name not in allowed
            )
        else:
            problems.append((path, _sentence(error, path)))
    return problems


def validate_trigger_config(trigger_type: str, config: object) -> None:
    """Raise a ValidationError naming the offending key when ``config`` does not fit its type's schema.

    Each message is "key: sentence", the key as the API spells it and the sentence naming its label.
    """
    if trigger_type not in CONFIG_SCHEMAS:
        raise ValidationError({"trigger_type": _("Unknown trigger type: %(type)s") % {"type": trigger_type}})
    problems = trigger_config_problems(trigger_type, config)
    if problems:
        where = str(_("(top level)"))
        messages = [f"{'.'.join(path) or where}: {sentence}" for path, sentence in problems]
        raise ValidationError({"trigger_config": messages})
