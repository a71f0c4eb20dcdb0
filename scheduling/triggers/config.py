"""A trigger's config, checked before anything is read: the schema first, then what a schema cannot say."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from scheduling.trigger_labels import key_label
from scheduling.trigger_types import TriggerType, trigger_config_with_defaults, validate_trigger_config
from scheduling.triggers.errors import TriggerConfigError

_CUSTOM_CRITERIA = (
    "industries",
    "price",
    "change_pct",
    "volume_ratio_min",
    "market_cap_min_twd",
    "market_cap_max_twd",
)


def trigger_config_clean(trigger_type: str, config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The validated config with defaults filled in; TriggerConfigError naming the key otherwise."""
    raw: object = {} if config is None else config
    try:
        validate_trigger_config(trigger_type, dict(raw) if isinstance(raw, Mapping) else raw)
    except ValidationError as exc:
        fields = {key: [str(message) for message in messages] for key, messages in exc.message_dict.items()}
        details = "; ".join(message for messages in fields.values() for message in messages)
        raise TriggerConfigError(
            _("Invalid config for the %(type)s trigger: %(details)s")
            % {"type": trigger_type, "details": details},
            fields=fields,
        ) from exc
    assert isinstance(raw, Mapping)  # the schema requires an object
    cleaned = trigger_config_with_defaults(trigger_type, dict(raw))
    if trigger_type == TriggerType.CUSTOM:
        _check_custom(cleaned)
    return cleaned


def _fail(key: str, message: str) -> TriggerConfigError:
    return TriggerConfigError(
        _("Invalid config for the custom trigger: %(key)s: %(message)s") % {"key": key, "message": message},
        fields={"trigger_config": [f"{key}: {message}"]},
    )


def _check_custom(config: dict[str, Any]) -> None:
    if not any(config.get(key) not in (None, {}) for key in _CUSTOM_CRITERIA):
        raise _fail(
            "(top level)",
            _("give at least one criterion: %(keys)s.")
            % {"keys": "、".join(map(key_label, _CUSTOM_CRITERIA))},
        )
    for key in ("price", "change_pct"):
        bounds = config.get(key) or {}
        if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            raise _fail(key, _("min (%(min)s) is above max (%(max)s).") % bounds)
    low, high = config.get("market_cap_min_twd"), config.get("market_cap_max_twd")
    if low is not None and high is not None and low > high:
        raise _fail(
            "market_cap_min_twd",
            _("%(min)s is above market_cap_max_twd (%(max)s).") % {"min": low, "max": high},
        )
