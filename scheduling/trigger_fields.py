"""A trigger's settings as people read and type them: labels for each schema key, and form fields.

The JSON Schema in trigger_types.py stays the contract (the API validates against it). Here each key
gets a label and help text in the person's language, and ``trigger_form_fields`` builds one Django form
field per key, so a schedule's trigger settings are a form (numbers, lists one per line, choices,
yes/no), not a JSON box. ``trigger_config_from_form`` turns the form back into the config dict.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from unfold.widgets import (
    UnfoldAdminSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanSwitchWidget,
)

from kols.forms import LinesField
from scheduling.trigger_labels import CHOICE_LABELS, TYPE_LABELS, key_label
from scheduling.trigger_types import CONFIG_SCHEMAS, TriggerType, trigger_config_problems

FIELD_PREFIX = "config__"


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str):
        return str(CHOICE_LABELS.get(value, value))
    return json.dumps(value, ensure_ascii=False)


def describe_key(spec: dict[str, Any]) -> str:
    """One key of a config schema, readably: its type, bounds, choices and default."""
    parts = []
    if "enum" in spec:
        choices = "、".join(_value_text(value) for value in spec["enum"])
        parts.append(_("one of %(values)s") % {"values": choices})
    elif spec.get("type") == "array":
        item_type = spec.get("items", {}).get("type", "")
        parts.append(_("a list of %(type)s values") % {"type": TYPE_LABELS.get(item_type, item_type)})
    elif spec.get("type") == "object":
        keys = "、".join(key_label(name) for name in spec.get("properties", {}))
        parts.append(_("an object with %(keys)s") % {"keys": keys})
    else:
        parts.append(str(TYPE_LABELS.get(spec.get("type", ""), spec.get("type", ""))))
    if "minimum" in spec and "maximum" in spec:
        parts.append(f"{spec['minimum']}–{spec['maximum']}")
    elif "minimum" in spec or "maximum" in spec:
        parts.append(f"≥ {spec['minimum']}" if "minimum" in spec else f"≤ {spec['maximum']}")
    if "default" in spec:
        parts.append(_("default %(value)s") % {"value": _value_text(spec["default"])})
    return ", ".join(part for part in parts if part)


# --- A form from the schema --------------------------------------------------------------------------


def _number_field(spec: dict[str, Any], **common: Any) -> forms.Field:
    bounds: dict[str, Any] = {"min_value": spec.get("minimum"), "max_value": spec.get("maximum")}
    widget = UnfoldAdminTextInputWidget(attrs={"inputmode": "decimal"})
    if spec.get("type") == "integer":
        return forms.IntegerField(widget=widget, **bounds, **common)
    return forms.FloatField(widget=widget, **bounds, **common)


def _field(name: str, spec: dict[str, Any], required: bool) -> forms.Field:
    common: dict[str, Any] = {"label": key_label(name), "help_text": describe_key(spec), "required": required}
    if "enum" in spec:
        choices = [("", "—"), *[(value, _value_text(value)) for value in spec["enum"]]]
        return forms.ChoiceField(choices=choices, widget=UnfoldAdminSelectWidget, **common)
    if spec.get("type") == "boolean":
        return forms.BooleanField(widget=UnfoldBooleanSwitchWidget, **{**common, "required": False})
    if spec.get("type") == "array":
        return LinesField(widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}), **common)
    if spec.get("type") in ("integer", "number"):
        return _number_field(spec, **common)
    return forms.CharField(widget=UnfoldAdminTextInputWidget, **common)


def trigger_form_fields(trigger_type: str) -> dict[str, forms.Field]:
    """One form field per top-level key (an object key such as a range becomes two: from and to)."""
    schema = CONFIG_SCHEMAS.get(trigger_type) or {"properties": {}}
    required = set(schema.get("required", []))
    fields: dict[str, forms.Field] = {}
    for name, spec in schema["properties"].items():
        if spec.get("type") == "object":
            for part, part_spec in spec.get("properties", {}).items():
                field = _field(part, part_spec, False)
                field.label = f"{key_label(name)}：{key_label(part)}"
                fields[f"{FIELD_PREFIX}{trigger_type}__{name}__{part}"] = field
            continue
        field = _field(name, spec, False)
        # Required only for the chosen type: the form checks that (trigger_missing_keys), not the field.
        field.label_suffix = " *" if name in required else None
        fields[f"{FIELD_PREFIX}{trigger_type}__{name}"] = field
    return fields


def trigger_missing_keys(trigger_type: str, cleaned: dict[str, Any]) -> list[str]:
    """The form field names of the chosen type's required keys that were left empty."""
    required = CONFIG_SCHEMAS.get(trigger_type, {}).get("required", [])
    names = [f"{FIELD_PREFIX}{trigger_type}__{name}" for name in required]
    return [name for name in names if cleaned.get(name) in (None, "", [])]


def trigger_initial(trigger_type: str, config: dict[str, Any]) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for name, value in (config or {}).items():
        if isinstance(value, dict):
            for part, part_value in value.items():
                initial[f"{FIELD_PREFIX}{trigger_type}__{name}__{part}"] = part_value
        else:
            initial[f"{FIELD_PREFIX}{trigger_type}__{name}"] = value
    return initial


def trigger_config_from_form(trigger_type: str, cleaned: dict[str, Any]) -> dict[str, Any]:
    """The config dict from a cleaned form: empty answers are left out (the schema's defaults apply)."""
    config: dict[str, Any] = {}
    prefix = f"{FIELD_PREFIX}{trigger_type}__"
    for key, value in cleaned.items():
        if not key.startswith(prefix) or value in (None, "", []):
            continue
        name, _sep, part = key[len(prefix) :].partition("__")
        if part:
            config.setdefault(name, {})[part] = value
        else:
            config[name] = value
    for name, value in list(config.items()):
        if value is False and not CONFIG_SCHEMAS[trigger_type]["properties"][name].get("default", False):
            del config[name]
    return config


def all_trigger_form_fields() -> dict[str, forms.Field]:
    """The fields of every trigger type; the page shows those of the chosen type (``conditional_fields``)."""
    return {name: field for value in TriggerType.values for name, field in trigger_form_fields(value).items()}


def trigger_field_conditions() -> dict[str, str]:
    """unfold's ``conditional_fields``: each trigger field shows only while its type is selected."""
    return {name: f"trigger_type == '{name.split('__')[1]}'" for name in all_trigger_form_fields()}


def trigger_field_name(trigger_type: str, path: list[str]) -> str:
    """The form field of a key path (["price", "min"] -> config__custom__price__min; list indexes dropped)."""
    return f"{FIELD_PREFIX}{trigger_type}__{'__'.join(part for part in path if not part.isdigit())}"


def trigger_form_clean(form: forms.BaseForm, trigger_type: str, cleaned: dict[str, Any]) -> dict[str, Any]:
    """The chosen type's config from ``cleaned``; each schema problem is put beside the field it names.

    Required keys left empty get the field's "required" error; the rest come from the schema as sentences
    naming the setting (trigger_types.trigger_config_problems). Problems no field shows go above the form.
    """
    for name in trigger_missing_keys(trigger_type, cleaned):
        form.add_error(name, forms.Field.default_error_messages["required"])
    config = trigger_config_from_form(trigger_type, cleaned)
    prefix = f"{FIELD_PREFIX}{trigger_type}__"
    if any(name.startswith(prefix) for name in form.errors):
        return config  # a field already says what is wrong with it
    for path, sentence in trigger_config_problems(trigger_type, config):
        name = trigger_field_name(trigger_type, path)
        form.add_error(name if name in form.fields else None, sentence)
    return config


def trigger_error_field(trigger_type: str, message: str, fields: Any) -> str | None:
    """The field a "key: problem" message from a service is about, when the form shows that key."""
    key = message.split(":", 1)[0].strip()
    name = trigger_field_name(trigger_type, key.split("."))
    return name if name in fields else None
