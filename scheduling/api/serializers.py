from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from config.api.validators import bounded_date
from kols.models import KOL
from scheduling.models import Schedule, ScheduleRun
from scheduling.trigger_types import TriggerType
from scheduling.triggers import TriggerConfigError
from scheduling.triggers.config import trigger_config_clean

_COUNTERS = [
    "next_run_at",
    "last_run_at",
    "last_run_status",
    "runs_count",
    "posts_created_count",
    "created_at",
    "updated_at",
]


def _trigger_config_errors(trigger_type: str, config: object, key: str) -> dict[str, list[str]]:
    """The config's problems under ``key``, each message naming the offending config key."""
    try:
        # The raw value on purpose: a list or a string gets the schema's own "not an object" message.
        trigger_config_clean(trigger_type, cast(Any, config))
    except TriggerConfigError as exc:
        messages = [message for values in exc.fields.values() for message in values]
        return {key: messages or [exc.message]}
    return {}


# "Schedule" alone is taken in the OpenAPI components by posting's "schedule a post" input.
@extend_schema_serializer(component_name="ScheduleDefinition")
class ScheduleSerializer(serializers.ModelSerializer[Schedule]):
    kol_pool = serializers.PrimaryKeyRelatedField(
        many=True, queryset=KOL.objects.all(), required=False, help_text=_("KOL ids.")
    )
    runs_today = serializers.IntegerField(read_only=True, default=None)
    skipped_today = serializers.IntegerField(read_only=True, default=None)
    posts_today = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = Schedule
        fields = [
            "id", "name", "description", "trigger_type", "trigger_config", "allocation_strategy", "kol_pool",
            "post_times", "days_rule", "posts_per_run", "max_posts_per_day", "post_type", "post_length",
            "missed_run_policy", "missed_run_grace_minutes", "publish_offset_minutes", "auto_approve",
            "auto_approve_min_quality", "status", *_COUNTERS, "runs_today", "skipped_today", "posts_today",
        ]  # fmt: skip
        read_only_fields = _COUNTERS

    def _current(self, attrs: dict[str, Any], name: str) -> Any:
        if name in attrs:
            return attrs[name]
        if self.instance is not None:
            return getattr(self.instance, name)
        field = cast("models.Field[Any, Any]", Schedule._meta.get_field(name))
        return field.get_default()

    def validate_description(self, value: str) -> str:
        limit = settings.DESCRIPTION_MAX_CHARS
        if len(value) > limit:
            raise serializers.ValidationError(
                _("At most %(limit)d characters (this has %(count)d).")
                % {"limit": limit, "count": len(value)}
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        trigger_type = self._current(attrs, "trigger_type")
        errors = _trigger_config_errors(
            trigger_type, self._current(attrs, "trigger_config"), "trigger_config"
        )
        per_run, per_day = self._current(attrs, "posts_per_run"), self._current(attrs, "max_posts_per_day")
        if per_run > per_day:
            errors["max_posts_per_day"] = [
                str(_("Must be at least posts_per_run (%(per_run)s).") % {"per_run": per_run})
            ]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ScheduleRunSerializer(serializers.ModelSerializer[ScheduleRun]):
    batch_status = serializers.CharField(source="batch.status", read_only=True, default=None)

    class Meta:
        model = ScheduleRun
        fields = [
            "id", "schedule", "slot", "slot_at", "kind", "status", "skip_reason", "message", "requested_by",
            "started_at", "finished_at", "trigger_as_of", "candidates", "trigger_excluded", "assignments",
            "allocation_skipped", "batch", "batch_status", "posts_created", "auto_approved", "review",
        ]  # fmt: skip
        read_only_fields = fields


class DailyStatsQuerySerializer(serializers.Serializer[Any]):
    date = serializers.DateField(
        required=False, validators=[bounded_date], help_text=_("Asia/Taipei date; default today.")
    )


class TriggerPreviewSerializer(serializers.Serializer[Any]):
    trigger_type = serializers.ChoiceField(choices=TriggerType.choices)
    config = serializers.JSONField(required=False, default=dict)
    as_of = serializers.DateField(
        required=False,
        validators=[bounded_date],
        allow_null=True,
        default=None,
        help_text=_("Market day; default the latest stored."),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = _trigger_config_errors(attrs["trigger_type"], attrs["config"], "config")
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
